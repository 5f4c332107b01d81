from __future__ import annotations

import unicodedata
from collections import Counter
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from linli.accounts.models import User
from linli.demo.build import (
    DEMO_SEED,
    build_demo,
    current_code,
    demo_exists,
    demo_signins,
    login_path,
)
from linli.demo.generator import SCALES
from linli.demo.staff import DEMO_PASSWORD

WARNING = "DEMO DATA ONLY — synthetic people and a published password. Never use this database in production."


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(_width(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = []
    for row in [header, *rows]:
        lines.append("  ".join(cell + " " * (widths[i] - _width(cell)) for i, cell in enumerate(row)).rstrip())
    return lines


class Command(BaseCommand):
    help = (
        "Build the demo street (deterministic; does nothing when it is already built), "
        "or print sign-ins for every role (--print-signins) or a user's current two-factor code (--code)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--print-signins", action="store_true", help="print usable sign-ins; builds nothing")
        parser.add_argument("--code", metavar="USERNAME", help="print USERNAME's current 6-digit two-factor code")
        parser.add_argument("--seed", type=int, default=DEMO_SEED, help=f"random seed (default {DEMO_SEED})")
        parser.add_argument(
            "--scale", choices=["tiny", "community", "street"], default="street",
            help="how much to build (default: street — 3 communities, about 7,000 residents)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["code"]:
            self._code(options["code"])
        elif options["print_signins"]:
            self._print_signins()
        else:
            self._build(seed=options["seed"], scale=options["scale"], verbosity=options["verbosity"])

    def _code(self, username: str) -> None:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user {username!r}")
        if not user.has_totp:
            raise CommandError(f"{username!r} has no two-factor secret (residents sign in with a password only)")
        self.stdout.write(current_code(user))

    def _build(self, *, seed: int, scale: str, verbosity: int) -> None:
        if demo_exists():
            self.stdout.write("linli demo: the demo street is already in this database; nothing to do.")
            return

        def progress(done: int, total: int, counts: Counter[str]) -> None:
            if verbosity >= 2:
                self.stdout.write(f"  community {done}/{total}: {counts['residents']} residents so far")

        build = build_demo(scale=SCALES[scale], seed=seed, progress=progress)
        if build is None:  # built by someone else meanwhile
            self.stdout.write("linli demo: the demo street is already in this database; nothing to do.")
            return
        counts = build.generated.counts
        self.stdout.write(self.style.SUCCESS(
            f"linli demo: built in {build.seconds:.1f} s — {counts['communities']} communities, {counts['grids']} grids, "
            f"{counts['buildings']} buildings, {counts['households']} households, {counts['residents']} residents, "
            f"{counts['special_group_tags']} special-group tags, {counts['consents']} consent records, "
            f"{len(build.accounts)} accounts."
        ))
        for username in build.skipped_usernames:
            self.stderr.write(f"linli demo: an account {username!r} already existed and was left as it was.")
        self.stdout.write(self.style.WARNING(WARNING))
        self.stdout.write("Sign-ins: linli demo --print-signins")

    def _print_signins(self) -> None:
        if not demo_exists():
            raise CommandError("the demo is not built yet: run `linli demo` first")
        rows = demo_signins()
        out = self.stdout.write
        out("")
        out(self.style.WARNING(WARNING))
        out(f"Sign in at {login_path()} with a username or a resident's mobile number.")
        out(f"Password for every demo account: {DEMO_PASSWORD}")
        out("")
        for line in _table(
            ["role", "username", "phone", "two-factor secret (TOTP)", "code now", "scope"],
            [[r.role, r.username, r.phone or "-", r.totp_secret or "-", r.code or "-", r.scope] for r in rows],
        ):
            out(line)
        out("")
        out("Staff sign in with a second factor: add the secret to any authenticator app (TOTP, 6 digits, 30 s),")
        out("or print the current code at any time with:  linli demo --code USERNAME")
        out("A code is accepted once; wait for the next one to sign in again.")
        out("Other accounts follow the pattern: lead-N, staff-Na/-Nb, auditor-N, partner-N, grid-N-G, resident-Na/-Nb")
        out("(community N, grid G), street-1, and admin (superuser, /admin/).")
        out("")
