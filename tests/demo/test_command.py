"""`linli demo`: build once, print sign-ins, print a user's current code."""

from __future__ import annotations

from io import StringIO

import pyotp
import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError

from linli.accounts.models import Role, User
from linli.accounts.services import totp_verify
from linli.audit.models import AuditEvent
from linli.demo.staff import DEMO_PASSWORD
from linli.people.models import Household, Resident, SpecialGroup, SpecialGroupTag
from linli.places.models import Place, PlaceKind

pytestmark = pytest.mark.django_db

NOON = "2026-03-01 04:00:00+00:00"


def run(*args: str) -> str:
    out = StringIO()
    call_command("demo", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def tiny_demo() -> str:
    return run("--scale", "tiny")


def test_build_then_a_second_run_is_a_no_op(tiny_demo: str) -> None:
    assert "built in" in tiny_demo
    assert "Never use this database in production" in tiny_demo
    counts = (Place.objects.count(), Resident.objects.count(), User.objects.count(), AuditEvent.objects.count())
    again = run("--scale", "tiny")
    assert "already" in again and "nothing to do" in again
    assert (Place.objects.count(), Resident.objects.count(), User.objects.count(), AuditEvent.objects.count()) == counts


def test_code_prints_a_code_that_totp_verify_accepts(tiny_demo: str) -> None:
    with time_machine.travel(NOON, tick=False):
        for username in ("admin", "street-1", "lead-1", "staff-1a", "grid-1-1", "auditor-1", "partner-1"):
            code = run("--code", username).strip()
            assert len(code) == 6 and code.isdigit()
            user = User.objects.get(username=username)
            assert totp_verify(user=user, code=code)
            # A code is good once.
            assert not totp_verify(user=user, code=code)


def test_code_refuses_residents_and_unknown_users(tiny_demo: str) -> None:
    with pytest.raises(CommandError, match="no two-factor"):
        run("--code", "resident-1a")
    with pytest.raises(CommandError, match="no user"):
        run("--code", "nobody")


def test_print_signins_needs_a_built_demo() -> None:
    with pytest.raises(CommandError, match="not built"):
        run("--print-signins")
    assert not Place.objects.exists()


def test_print_signins_lists_a_usable_sign_in_for_every_role(tiny_demo: str) -> None:
    events = AuditEvent.objects.count()
    with time_machine.travel(NOON, tick=False):
        output = run("--print-signins")
        assert DEMO_PASSWORD in output
        assert "Never use this database in production" in output
        assert "linli demo --code USERNAME" in output
        for role in Role:
            assert str(role.label) in output, role
        for username in ("admin", "street-1", "lead-1", "staff-1a", "grid-1-1", "auditor-1", "partner-1"):
            user = User.objects.get(username=username)
            line = next(line for line in output.splitlines() if f" {username} " in line)
            assert user.totp_secret in line
            assert pyotp.TOTP(user.totp_secret).now() in line
        for username in ("resident-1a", "resident-1b"):
            user = User.objects.get(username=username)
            line = next(line for line in output.splitlines() if f" {username} " in line)
            assert user.phone in line
    # Printing builds nothing and changes nothing.
    assert AuditEvent.objects.count() == events


def test_full_size_demo_street() -> None:
    output = run()
    assert "built in" in output
    assert Place.objects.filter(kind=PlaceKind.STREET).count() == 1
    assert Place.objects.filter(kind=PlaceKind.COMMUNITY).count() == 3
    assert Place.objects.filter(kind=PlaceKind.GRID).count() == 12
    assert Place.objects.filter(kind=PlaceKind.BUILDING).count() == 60
    assert Household.objects.count() == 3000
    residents = Resident.objects.count()
    assert 6500 <= residents <= 7500
    present = set(SpecialGroupTag.objects.values_list("group", flat=True))
    assert present == set(SpecialGroup.values) - {SpecialGroup.OTHER}
    # Each grid plans 300–500 households (DOMAIN §5), its community the sum.
    for grid in Place.objects.filter(kind=PlaceKind.GRID):
        assert 300 <= grid.households_count <= 500
    assert User.objects.filter(role_assignments__role=Role.GRID_WORKER).count() == 12
    assert AuditEvent.objects.filter(action="demo.build").count() == 1
    # Besides the build's own event, only what the services write for what the demo does
    # through them (surveys opened and closed, paper answers entered, votes run, the model run).
    others = set(AuditEvent.objects.exclude(action="demo.build").values_list("action", flat=True))
    assert others and all(action.startswith(("surveys.", "deliberation.", "insights.")) for action in others), others
