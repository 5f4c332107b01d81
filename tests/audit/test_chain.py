from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from linli.audit.models import AppendOnlyError, AuditEvent
from linli.audit.services import audit_record, audit_verify

pytestmark = pytest.mark.django_db


def _chain(n: int) -> list[AuditEvent]:
    return [audit_record(actor=None, action="test.event", object_type="x", object_id=str(i), after={"i": i, "名": "张三"}) for i in range(n)]


def test_events_chain_and_verify_clean() -> None:
    events = _chain(5)
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert events[1].prev_hash == events[0].hash
    checked, problems = audit_verify()
    assert (checked, problems) == (5, [])


def test_events_cannot_be_changed_or_deleted_through_the_orm() -> None:
    event = _chain(1)[0]
    event.action = "tampered"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()


def test_sql_alteration_is_found_and_named() -> None:
    _chain(4)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET action = 'forged' WHERE seq = 3")
    checked, problems = audit_verify()
    assert checked == 4
    assert [p.seq for p in problems] == [3]
    with pytest.raises(CommandError, match="BROKEN"):
        call_command("audit", "verify")


def test_sql_removal_in_the_middle_and_at_the_end_is_found() -> None:
    _chain(6)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE seq IN (2, 6)")
    _, problems = audit_verify()
    seqs = {p.seq for p in problems}
    assert 2 in seqs and 6 in seqs


def test_verify_command_reports_ok(capsys: pytest.CaptureFixture[str]) -> None:
    _chain(2)
    call_command("audit", "verify")
    assert "2 events verified" in capsys.readouterr().out
