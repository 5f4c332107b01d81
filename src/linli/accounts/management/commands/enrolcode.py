from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from linli.accounts import services
from linli.accounts.models import User


class Command(BaseCommand):
    help = ("Issue a one-time two-factor enrolment code for a user (staff need one to bind an authenticator "
            "at their first sign-in). Prints the code once; any earlier code stops working.")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, username: str, **options: Any) -> None:
        user = User.objects.filter(username__iexact=username).first()
        if user is None:
            raise CommandError(f"no user {username!r}")
        try:
            code = services.enrol_code_issue(user=user, by=None)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(code)
        hours = int(services.ENROL_CODE_VALID.total_seconds() // 3600)
        self.stderr.write(f"Enrolment code for {user.username}: valid {hours} hours, once; it is shown only this once.")
