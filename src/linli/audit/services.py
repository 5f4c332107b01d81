from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction
from django.utils import timezone

from linli.audit.models import AuditEvent, AuditHead

GENESIS = "0" * 64


def _canonical(value: Any) -> Any:
    """JSON as the database returns it, so hashing before and after storage agrees."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False))


def event_hash(
    *, seq: int, at: datetime, actor_id: int | None, actor_label: str, action: str, object_type: str,
    object_id: str, community_id: int | None, before: Any, after: Any, prev_hash: str,
) -> str:
    payload = json.dumps(
        [seq, at.astimezone(UTC).isoformat(timespec="microseconds"), actor_id, actor_label, action,
         object_type, object_id, community_id, before, after, prev_hash],
        sort_keys=True, ensure_ascii=False, separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _community_of(obj: models.Model | None) -> int | None:
    if obj is None:
        return None
    for attr in ("community_id",):
        value = getattr(obj, attr, None)
        if isinstance(value, int):
            return value
    return None


def audit_record(
    *, actor: Any, action: str, obj: models.Model | None = None, before: Any = None, after: Any = None,
    object_type: str = "", object_id: str = "", community_id: int | None = None, at: datetime | None = None,
) -> AuditEvent:
    """Append one event. Call it inside the service's transaction, so the event and
    the change it describes commit together or not at all."""
    at = at or timezone.now()
    actor_id = getattr(actor, "pk", None) if actor is not None else None
    actor_label = getattr(actor, "username", "") if actor is not None else "system"
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        community_id = community_id if community_id is not None else _community_of(obj)
    before, after = _canonical(before), _canonical(after)
    values: dict[str, Any] = {
        "at": at, "actor": actor_id, "actor_label": actor_label, "action": action, "object_type": object_type,
        "object_id": object_id, "community_id": community_id, "before": before, "after": after,
    }
    # No savepoint inside the caller's transaction: a failed append leaves that whole
    # transaction to roll back (Django refuses to go on in it), so a change can never
    # commit without its event. The head row lock is held from the first statement to
    # the commit, which makes appends take turns; two statements keep that short (it
    # is what every vote cast waits on).
    with transaction.atomic(savepoint=False):
        claimed = _claim_seq()
        if claimed is None:  # the very first event: make the head row, then take it
            AuditHead.objects.get_or_create(id=1)
            claimed = _claim_seq()
        if claimed is None:
            raise RuntimeError("the audit chain head cannot be taken")
        seq, prev_hash = claimed
        digest = event_hash(
            seq=seq, at=at, actor_id=actor_id, actor_label=actor_label, action=action, object_type=object_type,
            object_id=object_id, community_id=community_id, before=before, after=after, prev_hash=prev_hash,
        )
        values.update(seq=seq, prev_hash=prev_hash, hash=digest)
        pk = _insert_and_move_head(values, digest)
    event = AuditEvent(id=pk, **{("actor_id" if k == "actor" else k): v for k, v in values.items()})
    event._state.adding = False
    event._state.db = connection.alias
    return event


def _quoted() -> tuple[str, str]:
    quote = connection.ops.quote_name
    return quote(AuditEvent._meta.db_table), quote(AuditHead._meta.db_table)


def _claim_seq() -> tuple[int, str] | None:
    """Take the head row (the lock that makes appends take turns) and the next sequence
    number, with the hash of the event before it (unchanged by this statement)."""
    _events, head = _quoted()
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {head} SET last_seq = last_seq + 1 WHERE id = 1 "  # noqa: S608
                       "RETURNING last_seq, last_hash")
        row = cursor.fetchone()
    return (int(row[0]), str(row[1])) if row else None


def _insert_and_move_head(values: dict[str, Any], digest: str) -> int:
    """INSERT the event and record its hash in the head: one round trip on PostgreSQL.
    Raw SQL, with each value prepared by its field exactly as the ORM would, because
    this runs once per write of the whole system."""
    events, head = _quoted()
    fields = [cast("models.Field[Any, Any]", AuditEvent._meta.get_field(name)) for name in values]
    columns = ", ".join(connection.ops.quote_name(str(f.column)) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    params = [f.get_db_prep_save(values[f.name], connection) for f in fields]
    insert = f"INSERT INTO {events} ({columns}) VALUES ({marks})"  # noqa: S608
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"WITH e AS ({insert} RETURNING id) "  # noqa: S608
                           f"UPDATE {head} SET last_hash = %s FROM e WHERE {head}.id = 1 RETURNING e.id",
                           [*params, digest])
            return int(cursor.fetchone()[0])
        cursor.execute(insert + " RETURNING id", params)
        pk = int(cursor.fetchone()[0])
        cursor.execute(f"UPDATE {head} SET last_hash = %s WHERE id = 1", [digest])  # noqa: S608
        return pk


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    problem: str

    def __str__(self) -> str:
        return f"#{self.seq}: {self.problem}"


def audit_verify(*, batch: int = 5000) -> tuple[int, list[ChainProblem]]:
    """Walk the chain; return how many events were checked and every problem found.

    The head is read first and only events up to it are checked, so events appended
    while the walk runs (the system stays in use) are not mistaken for tampering."""
    problems: list[ChainProblem] = []
    head = AuditHead.objects.filter(id=1).first()
    events = AuditEvent.objects.order_by("seq")
    if head is not None:
        events = events.filter(seq__lte=head.last_seq)
    expected_seq = 1
    prev_hash = GENESIS
    checked = 0
    last_seq = 0
    while True:
        rows = list(events.filter(seq__gt=last_seq)[:batch])
        if not rows:
            break
        for event in rows:
            checked += 1
            if event.seq != expected_seq:
                problems.append(ChainProblem(expected_seq, f"missing (removed); next present is #{event.seq}"))
            if event.prev_hash != prev_hash:
                problems.append(ChainProblem(event.seq, "link to the previous entry is broken"))
            recomputed = event_hash(
                seq=event.seq, at=event.at, actor_id=event.actor_id, actor_label=event.actor_label,
                action=event.action, object_type=event.object_type, object_id=event.object_id,
                community_id=event.community_id, before=event.before, after=event.after, prev_hash=event.prev_hash,
            )
            if recomputed != event.hash:
                problems.append(ChainProblem(event.seq, "content altered (hash does not match)"))
            prev_hash = event.hash
            expected_seq = event.seq + 1
            last_seq = event.seq
    if head is not None:
        if head.last_seq >= expected_seq:
            problems.append(ChainProblem(expected_seq, f"entries #{expected_seq}–#{head.last_seq} removed from the end"))
        elif head.last_seq == expected_seq - 1 and head.last_hash != prev_hash:
            problems.append(ChainProblem(head.last_seq, "last entry differs from the recorded chain head"))
    elif checked:
        problems.append(ChainProblem(0, "chain head missing"))
    return checked, problems
