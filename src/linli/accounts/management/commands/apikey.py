from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from linli.accounts import services
from linli.accounts.models import ApiKey, Role
from linli.places.models import Place


def _place(ref: str) -> Place:
    place = Place.objects.filter(code=ref).first()
    if place is None and ref.isdigit():
        place = Place.objects.filter(pk=int(ref)).first()
    if place is None:
        raise CommandError(f"no place with code or id {ref!r}")
    return place


class Command(BaseCommand):
    help = "Manage API keys for machine clients: create (prints the key once), list, revoke."

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a key scoped to a place node.")
        create.add_argument("--name", required=True)
        create.add_argument("--place", required=True, help="place code or id")
        create.add_argument("--role", default=Role.COMMUNITY_STAFF, choices=[r for r in Role.values if r != Role.RESIDENT])
        sub.add_parser("list", help="List keys (never the keys themselves).")
        revoke = sub.add_parser("revoke", help="Revoke a key by its prefix.")
        revoke.add_argument("prefix")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        if action == "create":
            try:
                key, raw = services.apikey_create(name=options["name"], place=_place(options["place"]), role=options["role"])
            except ValidationError as exc:
                raise CommandError("; ".join(exc.messages)) from exc
            self.stdout.write(raw)
            self.stderr.write(f"API key {key.prefix} for {key.place} ({key.role}); it is shown only this once.")
        elif action == "list":
            for key in ApiKey.objects.select_related("place").order_by("created_at"):
                state = "revoked" if key.revoked_at else "active"
                self.stdout.write(f"{key.prefix}\t{state}\t{key.role}\t{key.place.code}\t{key.name}")
        else:
            found = ApiKey.objects.select_related("place").filter(prefix=options["prefix"]).first()
            if found is None:
                raise CommandError(f"no API key with prefix {options['prefix']!r}")
            services.apikey_revoke(key=found)
            self.stdout.write(f"revoked {found.prefix}")
