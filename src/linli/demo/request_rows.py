"""Writing lived requests fast: rows straight to the driver.

``bulk_create`` prepares every value of every row through the model fields, which costs
more than living the requests does (and sets ``updated_at`` to now). Here the columns'
conversions are chosen once per field — times to the backend's form, JSON to text,
sealed fields encrypted as ``EncryptedTextField`` does — and the rows go to PostgreSQL
with ``COPY`` and to SQLite with ``executemany``, inside the caller's transaction. Ids
are given up front; ``sequences_reset`` moves PostgreSQL's sequences past them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any

from django.core.management.color import no_style
from django.db import connection, models
from django.db.models import Max

from linli.core import crypto
from linli.core.fields import EncryptedTextField
from linli.demo.request_life import Lived
from linli.requests.models import Follower, Request, RequestEvent, Status

Convert = Callable[[Any], Any]


def _time_converter() -> Convert:
    if connection.vendor != "sqlite":
        return lambda t: None if t is None else datetime.fromtimestamp(t, UTC)
    # What django.db.backends.sqlite3 stores: naive UTC, "YYYY-MM-DD HH:MM:SS" (whole seconds here).
    days: dict[int, str] = {}

    def to_text(t: int | None) -> str | None:
        if t is None:
            return None
        day, second = divmod(t, 86_400)
        text = days.get(day)
        if text is None:
            text = days[day] = time.strftime("%Y-%m-%d", time.gmtime(day * 86_400))
        hour, rest = divmod(second, 3600)
        return f"{text} {hour:02d}:{rest // 60:02d}:{rest % 60:02d}"

    return to_text


def _json(value: Any) -> Any:
    if value is None:
        return None
    return json.dumps(value) if value else "{}"


def _sealed(value: Any) -> Any:
    return crypto.encrypt(str(value)) if value not in (None, "") else value


def _converter(model_field: models.Field[Any, Any], to_time: Convert) -> Convert | None:
    if isinstance(model_field, models.DateTimeField):
        return to_time
    if isinstance(model_field, models.JSONField):
        return _json
    if isinstance(model_field, EncryptedTextField):
        return _sealed
    return None


def _memo(convert: Convert, *, key: Callable[[Any], Any] = lambda value: value, size: int = 50_000) -> Convert:
    """``convert`` remembered for up to ``size`` distinct inputs at a time (values and
    event data repeat: a handful of shapes cover most of a million rows)."""
    seen: dict[Any, Any] = {}

    def remembered(value: Any) -> Any:
        k = key(value)
        try:
            return seen[k]
        except KeyError:
            if len(seen) >= size:
                seen.clear()
            out = seen[k] = convert(value)
            return out
        except TypeError:  # unhashable: not remembered
            return convert(value)

    return remembered


def insert(model: type[models.Model], columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Insert ``rows`` (values already in the driver's form) into ``model``'s table."""
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    connection.ensure_connection()
    count = 0
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
        return count
    raw = connection.connection
    batch = list(rows)
    raw.executemany(f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(columns))})", batch)  # noqa: S608
    return len(batch)


@dataclass
class RowSink:
    """Writes batches of lived requests with their events and followers.

    ``reuse_sealed`` seals each distinct contact value once and reuses the ciphertext
    (the benchmarks: a million rows with a few thousand residents' names). It shows
    which rows share a value to whoever reads the raw table, so the demo does not."""

    reuse_sealed: bool = False
    counts: dict[str, int] = field(default_factory=lambda: {"requests": 0, "events": 0, "followers": 0, "open": 0})
    seconds: float = 0.0

    def __post_init__(self) -> None:
        to_time = _time_converter()
        self.to_time = to_time
        fields = list(Request._meta.concrete_fields)
        self.request_columns = [str(f.column) for f in fields]
        self.request_values = attrgetter(*(f.attname for f in fields))
        sealed: Convert = _sealed
        if self.reuse_sealed:
            sealed = _memo(_sealed)
        self.request_converters = [
            (i, sealed if convert is _sealed else convert)
            for i, f in enumerate(fields) if (convert := _converter(f, to_time)) is not None
        ]
        self.event_data = _memo(_json, key=lambda data: tuple(data.items()) if data else ())
        self.event_columns = _columns(RequestEvent, ["id", "request", "kind", "at", "actor", "actor_label", "public",
                                                     "body", "status", "data"])
        self.follower_columns = _columns(Follower, ["id", "request", "user", "email", "from_request"])
        self.next_event = next_id(RequestEvent)
        self.next_follower = next_id(Follower)

    def request_row(self, rec: Any) -> list[Any]:
        row = list(self.request_values(rec))
        for i, convert in self.request_converters:
            row[i] = convert(row[i])
        return row

    def __call__(self, batch: list[Lived]) -> None:
        started = time.perf_counter()
        to_time, event_data = self.to_time, self.event_data
        requests, events, followers = [], [], []
        for lived in batch:
            rec = lived.rec
            requests.append(self.request_row(rec))
            for e in lived.events:
                events.append((self.next_event, rec.id, e.kind, to_time(e.at), e.actor_id, e.actor_label[:150],
                               e.public, e.body, e.status, event_data(e.data)))
                self.next_event += 1
            seen: set[int] = set()
            for user_id, from_request in lived.followers:
                if user_id not in seen:
                    seen.add(user_id)
                    followers.append((self.next_follower, rec.id, user_id, "", from_request))
                    self.next_follower += 1
            self.counts["open"] += rec.status != Status.CLOSED
        insert(Request, self.request_columns, requests)
        insert(RequestEvent, self.event_columns, events)
        insert(Follower, self.follower_columns, followers)
        self.counts["requests"] += len(requests)
        self.counts["events"] += len(events)
        self.counts["followers"] += len(followers)
        self.seconds += time.perf_counter() - started


def _columns(model: type[models.Model], names: list[str]) -> list[str]:
    columns = []
    for name in names:
        model_field = model._meta.get_field(name)
        assert isinstance(model_field, models.Field) and model_field.column  # noqa: S101 - concrete fields only
        columns.append(model_field.column)
    return columns


def next_id(model: type[models.Model]) -> int:
    return int(model._default_manager.aggregate(top=Max("id"))["top"] or 0) + 1


def sequences_reset() -> None:
    """Explicit ids do not move a PostgreSQL sequence: move them, or the services would collide."""
    statements = connection.ops.sequence_reset_sql(no_style(), [Request, RequestEvent, Follower])
    if statements:
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)
