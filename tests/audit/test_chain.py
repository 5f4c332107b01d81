from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction

from linli.audit.models import AppendOnlyError, AuditEvent, AuditHead
from linli.audit.services import audit_record, audit_verify, event_hash
from tests.conftest import Personas, Tree

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


def test_an_empty_log_verifies() -> None:
    assert audit_verify() == (0, [])


def test_event_rolls_back_with_the_change_it_describes() -> None:
    _chain(2)
    with pytest.raises(RuntimeError), transaction.atomic():
        audit_record(actor=None, action="test.doomed", object_type="x", object_id="9")
        raise RuntimeError("the service failed after recording")
    assert not AuditEvent.objects.filter(action="test.doomed").exists()
    assert audit_verify() == (2, [])
    # The next event continues the chain where the committed events left it.
    assert audit_record(actor=None, action="test.after", object_type="x", object_id="3").seq == 3
    assert audit_verify() == (3, [])


def test_rich_values_verify_after_storage() -> None:
    audit_record(
        actor=None, action="test.rich", object_type="x", object_id="1",
        before={"when": date(2026, 3, 2), "at": datetime(2026, 3, 2, 8, 30, tzinfo=UTC), "amount": Decimal("12.50")},
        after={"名单": ["张三", "李四"], "嵌套": {"数": 1, "空": None}, "真": True},
    )
    assert audit_verify() == (1, [])


def test_the_actor_and_object_are_recorded(tree: Tree, personas: Personas) -> None:
    event = audit_record(actor=personas.staff, action="test.touch", obj=tree.household, after={"x": 1})
    assert (event.actor_id, event.actor_label) == (personas.staff.pk, "staff")
    assert (event.object_type, event.object_id) == ("places.place", str(tree.household.pk))
    assert event.community_id == tree.community.pk
    system = audit_record(actor=None, action="test.system", object_type="x", object_id="1")
    assert (system.actor_id, system.actor_label) == (None, "system")


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("actor_label", "'someone else'"),
        ("object_id", "'999'"),
        ("after", "'{\"i\": 99}'"),
        ("before", "'{\"forged\": true}'"),
        ("community_id", "42"),
    ],
)
def test_any_altered_column_is_found(column: str, value: str) -> None:
    _chain(3)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE audit_auditevent SET {column} = {value} WHERE seq = 2")  # noqa: S608
    _, problems = audit_verify()
    assert [(p.seq, p.problem) for p in problems] == [(2, "content altered (hash does not match)")]


def test_an_altered_time_is_found() -> None:
    _chain(3)
    AuditEvent.objects.filter(seq=1).update(at=datetime(2020, 1, 1, tzinfo=UTC))
    assert [p.seq for p in audit_verify()[1]] == [1]


def test_rehashing_a_forged_entry_breaks_the_next_link() -> None:
    events = _chain(4)
    forged = events[1]
    new_hash = event_hash(
        seq=forged.seq, at=forged.at, actor_id=forged.actor_id, actor_label=forged.actor_label, action="forged",
        object_type=forged.object_type, object_id=forged.object_id, community_id=forged.community_id,
        before=forged.before, after=forged.after, prev_hash=forged.prev_hash,
    )
    AuditEvent.objects.filter(seq=forged.seq).update(action="forged", hash=new_hash)
    _, problems = audit_verify()
    assert [(p.seq, p.problem) for p in problems] == [(3, "link to the previous entry is broken")]


def test_entries_removed_from_the_end_are_found() -> None:
    _chain(5)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE seq >= 4")
    checked, problems = audit_verify()
    assert checked == 3
    assert [p.seq for p in problems] == [4]
    assert "removed from the end" in problems[0].problem


def test_a_removed_chain_head_is_found() -> None:
    _chain(2)
    AuditHead.objects.all().delete()
    assert [str(p) for p in audit_verify()[1]] == ["#0: chain head missing"]


def test_verify_walks_the_chain_in_batches() -> None:
    _chain(7)
    assert audit_verify(batch=2) == (7, [])
    AuditEvent.objects.filter(seq=6).update(object_id="x")
    assert [p.seq for p in audit_verify(batch=2)[1]] == [6]


def test_verify_command_names_each_broken_entry(capsys: pytest.CaptureFixture[str]) -> None:
    _chain(4)
    AuditEvent.objects.filter(seq=2).update(action="forged")
    with pytest.raises(CommandError, match=r"audit chain BROKEN: 1 problem\(s\) in 4 events"):
        call_command("audit", "verify")
    assert "audit event #2: content altered" in capsys.readouterr().err


def test_removing_a_user_does_not_rewrite_history() -> None:
    from linli.accounts.services import user_create

    user = user_create(username="leaver", password="x-very-long-password-1")
    audit_record(actor=user, action="test.by_user", object_type="x", object_id="1")
    user.delete()
    event = AuditEvent.objects.get(action="test.by_user")
    assert event.actor_label == "leaver"
    assert audit_verify()[1] == []


def test_events_appended_during_a_verify_are_not_called_tampering() -> None:
    # The walk reads the chain head first; an append landing after that moment must not be
    # reported as "removed from the end" (the system stays in use while it is verified).
    first = [audit_record(actor=None, action="test.before", object_type="x", object_id=str(i)) for i in range(3)]
    head_then = AuditHead(id=1, last_seq=first[-1].seq, last_hash=first[-1].hash)
    audit_record(actor=None, action="test.during", object_type="x", object_id="late")
    from unittest import mock

    with mock.patch("linli.audit.services.AuditHead.objects.filter") as head_query:
        head_query.return_value.first.return_value = head_then
        checked, problems = audit_verify()
    assert (checked, problems) == (3, [])
