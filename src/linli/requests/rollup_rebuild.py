"""Rebuilding the request rollups from the requests themselves.

The services keep the rollups current as events happen (``rollups.py``); this computes
the same rows from scratch, for an operator who suspects drift (``linli requests
rebuild-rollups``) and for data written in bulk (the demo street, the benchmarks).

What the services add, and where this finds it again:

* ``submitted`` counts on the local day of submission under (community, grid, category)
  with handler and partner 0: one grouped count over the requests.
* A closed request's counts (``rollups.close_counts``) go to the local day it closed,
  under the handler and partner it had then: one grouped count with a filter per
  counter. A closed request cannot change any more, so its columns still say what
  was counted.
* A reopen of a closed request takes its close counts back and adds ``reopened`` to the
  key it was counted under. The counts taken back are gone with the close itself; the
  ``reopened`` count needs the handler, partner and day of that earlier close, which
  only the history tells, so the few reopened requests are replayed event by event.
* A transfer moves a request to another community, but its ``submitted`` count stays
  where it arrived: the history's first transfer names that community. (The grid it
  arrived in is not recorded by ``request_transfer``; it is taken from the event's
  ``from_grid`` when present, else counted as none.)

The finest level (``RequestRollup``) is computed; each coarser level of ``ROLLUP_LEVELS``
is its sum over the columns that level leaves out (``project``).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Any, NamedTuple

from django.db import connection, transaction
from django.db.models import Count, DateField, F, Field, Func, Q, Value
from django.db.models.functions import TruncDate

from linli.places.models import Place
from linli.requests.calendar import TIME_ZONE
from linli.requests.models import (
    ROLLUP_COUNTERS,
    ROLLUP_LEVELS,
    CloseReason,
    EventKind,
    Request,
    RequestEvent,
    RequestRollup,
    RollupBase,
    Status,
)
from linli.requests.rollups import RATING_COUNTER, local_day

Key = tuple[int, int, int, int, int, date]  # community, grid, category, handler, partner, day

_RESOLVED = Q(close_reason=CloseReason.RESOLVED)
_RATED = _RESOLVED & Q(rating__isnull=False)
_COUNTED_RATING = _RATED & Q(category__excluded_from_satisfaction=False)
# The close counts of ``rollups.close_counts``, as filtered counts over closed requests.
CLOSE_COUNTERS: dict[str, Q] = {
    "valid": _RESOLVED,
    "not_dispatched": ~_RESOLVED,
    "responded_in_time": _RESOLVED & Q(first_contact_at__isnull=False, contact_due_at__isnull=False,
                                       first_contact_at__lte=F("contact_due_at")),
    "resolved_in_time": _RESOLVED & Q(resolved_at__isnull=False, resolve_due_at__isnull=False,
                                      resolved_at__lte=F("resolve_due_at")),
    "breached": _RESOLVED & Q(resolved_at__isnull=False, resolve_due_at__isnull=False,
                              resolved_at__gt=F("resolve_due_at")),
    "solved": _RESOLVED & Q(solved=True),
    "rated": _COUNTED_RATING,
    "rated_excluded": _RATED & Q(category__excluded_from_satisfaction=True),
    **{counter: _COUNTED_RATING & Q(rating=int(level)) for level, counter in RATING_COUNTER.items()},
}
# Events that never change a request's status, handler, partner or community: a replay
# can skip them (each event records the status, so the status before a reopen is that
# of the last event kept before it).
STATUS_NEUTRAL_KINDS = (
    EventKind.REPLIED, EventKind.NOTED, EventKind.CONTACTED, EventKind.WARNED, EventKind.ESCALATED,
    EventKind.FOLLOWED, EventKind.CONTESTED, EventKind.PRIORITY, EventKind.REVIEW,
)
_CHUNK = 500


@dataclass(frozen=True)
class RebuildResult:
    rows: int  # at the finest level
    requests: int
    replayed: int
    seconds: float
    # Rows per level (model name → rows), the finest included.
    levels: dict[str, int] = field(default_factory=dict)


def _key(community: int, grid: int | None, category: int, handler: int | None, partner: int | None,
         day: date) -> Key:
    return (community, grid or 0, category, handler or 0, partner or 0, day)


@lru_cache(maxsize=1)
def _fixed_offset_seconds() -> int | None:
    """The time zone's UTC offset if it is the same all year in every year requests can
    have (Asia/Shanghai has kept +08:00 since 1991), else None."""
    offsets = {
        datetime(year, month, 1, 12, tzinfo=TIME_ZONE).utcoffset() for year in range(1992, 2101) for month in (1, 7)
    }
    if len(offsets) != 1:
        return None
    offset = offsets.pop()
    return None if offset is None else int(offset.total_seconds())


def _local_day(field: str) -> Any:
    """The local calendar day of a datetime column. On PostgreSQL ``AT TIME ZONE`` does it;
    SQLite would call a Python function per row (minutes over a million requests), so
    where the offset is fixed its own ``date()`` shifts by it instead (same result)."""
    offset = _fixed_offset_seconds() if connection.vendor == "sqlite" else None
    if offset is None:
        return TruncDate(field, tzinfo=TIME_ZONE)
    return Func(F(field), Value(f"{offset:+d} seconds"), function="date", output_field=DateField())


def _scoped(queryset: Any, community_ids: list[int] | None) -> Any:
    return queryset if community_ids is None else queryset.filter(community_id__in=community_ids)


class _Step(NamedTuple):
    kind: str
    status: str
    at: datetime
    actor_id: int | None
    data: dict[str, Any]


class _Moved(NamedTuple):
    community_id: int
    grid_id: int | None
    category_id: int
    submitted_at: datetime


def _replay(request: _Moved, events: list[_Step], totals: dict[Key, dict[str, int]],
            wanted: set[int] | None) -> None:
    """Correct the grouped counts for one request whose history moved it or reopened it."""
    first_transfer = next((e for e in events if e.kind == EventKind.TRANSFERRED), None)
    community, grid = request.community_id, request.grid_id
    if first_transfer is not None:
        community = int((first_transfer.data or {}).get("from_community") or request.community_id)
        grid = (first_transfer.data or {}).get("from_grid")
        # The grouped count put its submission under where it is now: move it to where it arrived.
        day = local_day(request.submitted_at)
        if wanted is None or request.community_id in wanted:
            totals[_key(request.community_id, request.grid_id, request.category_id, 0, 0, day)]["submitted"] -= 1
        if wanted is None or community in wanted:
            totals[_key(community, grid, request.category_id, 0, 0, day)]["submitted"] += 1
    handler: int | None = None
    partner: int | None = None
    last_close: Key | None = None
    status = Status.SUBMITTED
    for event in events:
        data = event.data or {}
        if event.kind == EventKind.REOPENED and status == Status.CLOSED and last_close is not None:
            if wanted is None or last_close[0] in wanted:
                totals[last_close]["reopened"] += 1
        elif event.kind == EventKind.ASSIGNED:
            handler, partner = data.get("handler"), None
        elif event.kind == EventKind.DISPATCHED:
            handler, partner = None, data.get("organisation")
        elif event.kind == EventKind.RETURNED:
            handler = partner = None
        elif event.kind == EventKind.TRANSFERRED:
            community = int(data.get("to_community") or community)
            grid, handler, partner = data.get("to_grid"), None, None
        elif event.kind == EventKind.STARTED and handler is None and partner is None:
            handler = event.actor_id
        if event.status == Status.CLOSED and status != Status.CLOSED:
            last_close = _key(community, grid, request.category_id, handler, partner, local_day(event.at))
        status = Status(event.status)


def _moved_or_reopened() -> list[int]:
    """The requests a replay must correct, found without reading every event: reopened
    ones count their reopens, and a transfer leaves a request at its new community
    itself (``request_transfer`` sets the place to it), so only requests placed at their
    community are looked up for a transfer, through the event timeline index."""
    ids = set(Request.objects.filter(reopen_count__gt=0).values_list("id", flat=True))
    at_community = list(Request.objects.filter(place_id=F("community_id")).values_list("id", flat=True))
    for start in range(0, len(at_community), _CHUNK):
        ids.update(RequestEvent.objects.filter(request_id__in=at_community[start:start + _CHUNK],
                                               kind=EventKind.TRANSFERRED).values_list("request_id", flat=True))
    return sorted(ids)


def rollups_compute(*, community_ids: Iterable[int] | None = None) -> dict[Key, dict[str, int]]:
    """The rollup counts the services would have kept, from the requests and their history."""
    return _compute(community_ids)[0]


def _compute(community_ids: Iterable[int] | None) -> tuple[dict[Key, dict[str, int]], int]:
    wanted = None if community_ids is None else sorted(set(community_ids))
    totals: dict[Key, dict[str, int]] = defaultdict(lambda: dict.fromkeys(ROLLUP_COUNTERS, 0))
    submitted = (
        _scoped(Request.objects.all(), wanted)
        .annotate(day=_local_day("submitted_at"))
        .values_list("community_id", "grid_id", "category_id", "day")
        .annotate(n=Count("id"))
        .order_by()
    )
    for community, grid, category, day, n in submitted:
        totals[_key(community, grid, category, 0, 0, day)]["submitted"] += n
    names = list(CLOSE_COUNTERS)
    closed = (
        _scoped(Request.objects.filter(status=Status.CLOSED), wanted)
        .annotate(day=_local_day("closed_at"))
        .values_list("community_id", "grid_id", "category_id", "handler_id", "organisation_id", "day")
        .annotate(**{name: Count("id", filter=CLOSE_COUNTERS[name]) for name in names})
        .order_by()
    )
    for community, grid, category, handler, partner, day, *counts in closed:
        row = totals[_key(community, grid, category, handler, partner, day)]
        for name, value in zip(names, counts, strict=True):
            row[name] += value
    # The history decides the rest; only requests that moved or were reopened need it.
    wanted_set = None if wanted is None else set(wanted)
    ids = _moved_or_reopened()
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start:start + _CHUNK]
        history: dict[int, list[_Step]] = defaultdict(list)
        steps = (RequestEvent.objects.filter(request_id__in=chunk).exclude(kind__in=STATUS_NEUTRAL_KINDS)
                 .order_by("request_id", "at", "id")
                 .values_list("request_id", "kind", "status", "at", "actor_id", "data"))
        for request_id, *step in steps:
            history[request_id].append(_Step(*step))
        moved = Request.objects.filter(pk__in=chunk).values_list("id", "community_id", "grid_id", "category_id",
                                                                 "submitted_at")
        for pk, community_id, grid_id, category_id, submitted_at in moved:
            _replay(_Moved(community_id, grid_id, category_id, submitted_at), history[pk], totals, wanted_set)
    return {key: counts for key, counts in totals.items() if any(counts.values())}, len(ids)


def rollups_rebuild(*, community_ids: Iterable[int] | None = None, batch_size: int = 5000) -> RebuildResult:
    """Replace the rollups of ``community_ids`` (all communities when None) with counts
    recomputed from the requests. Writers of requests wait while it runs (SQLite takes
    the write lock when the transaction begins; on PostgreSQL the requests table is
    locked against writes), so no change slips between the count and the write."""
    started = time.perf_counter()
    wanted = None if community_ids is None else sorted(set(community_ids))
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {Request._meta.db_table} IN SHARE MODE")
        totals, replayed = _compute(wanted)
        paths = dict(Place.objects.filter(pk__in={key[0] for key in totals}).values_list("pk", "path"))
        levels: dict[str, int] = {}
        for level in ROLLUP_LEVELS:
            _scoped(level._default_manager.all(), wanted).delete()
            level_rows = [(key[0], paths[key[0]], *key[1:], *counts)
                          for key, counts in sorted(project(totals, level).items())]
            _insert(level, level_rows, batch_size)
            levels[level.__name__] = len(level_rows)
        requests = _scoped(Request.objects.all(), wanted).count()
    # The dashboards cache sums of rollup pieces; rows rewritten here behind the services'
    # back would otherwise be read stale.
    from linli.insights.rollup_cache import rates_cache_clear

    rates_cache_clear()
    return RebuildResult(rows=levels[RequestRollup.__name__], requests=requests, replayed=replayed,
                         seconds=time.perf_counter() - started, levels=levels)


_FINE_KEY = RequestRollup.KEY


def project(totals: dict[Key, dict[str, int]], level: type[RollupBase]) -> dict[tuple[Any, ...], tuple[int, ...]]:
    """The finest level's counts summed onto ``level``'s key (its columns, in its order)."""
    positions = [_FINE_KEY.index(column) for column in level.KEY]
    out: dict[tuple[Any, ...], list[int]] = {}
    for key, counts in totals.items():
        row = out.setdefault(tuple(key[i] for i in positions), [0] * len(ROLLUP_COUNTERS))
        for index, name in enumerate(ROLLUP_COUNTERS):
            row[index] += counts[name]
    return {key: tuple(counts) for key, counts in out.items() if any(counts)}


def _insert(level: type[RollupBase], rows: list[tuple[Any, ...]], batch_size: int) -> None:
    """Plain parameterised INSERTs: the values are only ints, a path and a date, and
    ``bulk_create`` would spend longer preparing them than the database takes to store
    them (hundreds of thousands of rows at street scale)."""
    opts = level._meta
    names = [level.KEY[0], "community_path", *level.KEY[1:], *ROLLUP_COUNTERS]  # get_field knows "…_id" too
    columns = []
    for name in names:
        model_field = opts.get_field(name)
        assert isinstance(model_field, Field) and model_field.column  # noqa: S101 - concrete fields only
        columns.append(connection.ops.quote_name(model_field.column))
    sql = (f"INSERT INTO {connection.ops.quote_name(opts.db_table)} ({', '.join(columns)}) "  # noqa: S608 - names from the model
           f"VALUES ({', '.join(['%s'] * len(columns))})")
    with connection.cursor() as cursor:
        for start in range(0, len(rows), batch_size):
            cursor.executemany(sql, rows[start:start + batch_size])


def rollups_snapshot(*, community_ids: Iterable[int] | None = None) -> dict[Key, dict[str, int]]:
    """The rollup rows as they are, keyed like ``rollups_compute`` (rows of all zeros left out)."""
    return {
        _key(*key): dict(zip(ROLLUP_COUNTERS, counts, strict=True))
        for key, counts in level_snapshot(RequestRollup, community_ids=community_ids).items()
    }


def level_snapshot(level: type[RollupBase], *, community_ids: Iterable[int] | None = None
                   ) -> dict[tuple[Any, ...], tuple[int, ...]]:
    """One level's rows as they are, keyed by its ``KEY`` columns, like ``project`` gives
    them (rows of all zeros left out)."""
    rows = _scoped(level._default_manager.all(), None if community_ids is None else list(community_ids))
    out = {}
    for row in rows.values_list(*level.KEY, *ROLLUP_COUNTERS):
        counts = tuple(row[len(level.KEY):])
        if any(counts):
            out[tuple(row[:len(level.KEY)])] = counts
    return out
