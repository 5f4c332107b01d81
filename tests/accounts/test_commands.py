"""`linli enrolcode USERNAME`: prints a new enrolment code once."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from linli.accounts.models import User
from linli.accounts.services import enrol_code_accept
from linli.audit.models import AuditEvent
from tests.conftest import PASSWORD, Personas

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("enrolcode", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_prints_a_code_that_works(client: Client, personas: Personas) -> None:
    out, err = run("STAFF")
    code = out.strip()
    assert re.fullmatch(r"\d{4}-\d{4}", code)
    assert "72 hours" in err and code not in err
    assert AuditEvent.objects.filter(action="user.enrol_code_issue", object_id=str(personas.staff.pk)).exists()
    client.post(reverse("accounts:login"), {"identifier": "staff", "password": PASSWORD})
    response = client.post(reverse("accounts:two_factor"), {"enrol_code": code})
    assert response.status_code == 302
    assert "secret" in client.get(reverse("accounts:two_factor")).context


def test_a_new_code_replaces_the_old(personas: Personas) -> None:
    first = run("staff")[0].strip()
    second = run("staff")[0].strip()
    user = User.objects.get(pk=personas.staff.pk)
    if first != second:
        assert enrol_code_accept(user=user, code=first) is None
    assert enrol_code_accept(user=user, code=second)


def test_unknown_or_enrolled_user(personas: Personas) -> None:
    with pytest.raises(CommandError, match="no user"):
        run("nobody")
    User.objects.filter(pk=personas.staff.pk).update(totp_secret="JBSWY3DPEHPK3PXP", totp_confirmed_at=timezone.now())
    with pytest.raises(CommandError):
        run("staff")
