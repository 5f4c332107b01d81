from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from linli.audit.services import audit_verify


class Command(BaseCommand):
    help = "Audit log tools. `linli audit verify` checks the whole hash chain."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("action", choices=["verify"])

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        checked, problems = audit_verify()
        if problems:
            for problem in problems:
                self.stderr.write(f"audit event {problem}")
            raise CommandError(f"audit chain BROKEN: {len(problems)} problem(s) in {checked} events")
        self.stdout.write(f"audit chain OK: {checked} events verified")
