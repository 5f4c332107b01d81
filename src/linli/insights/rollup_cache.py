"""Summing request rollup rows over pieces of time, with a cache in front.

Each read goes to the coarsest level of ``ROLLUP_LEVELS`` that has the columns it groups
and filters by (``level_for``): a street's year is tens of thousands of rows per place
and category, against about a million at the finest level. Summing even those on every
page view would be too slow, so every read here is cut into **pieces**, spans of days inside one calendar month (today apart), and the sums of each
piece are cached with the newest request event at the time (see ``RollupReader``).
Every change to a rollup happens in a transaction that also writes a ``RequestEvent``
dated when it happened, and the services count everything on the day it happens: a
closed request adds to the day it closed, and only a reopen, within ``REOPEN_WINDOW``,
takes counts back from an earlier day. So a piece is summed again only when an event
since could have changed it.

The pieces the cache does not hold are summed in **one** grouped query, each row tagged
with its piece. ``rates_cache_clear`` drops everything, for rollups written behind the
services' back (a rebuild, a bulk load; a moved place does it by itself, apps.py).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import reduce
from operator import add as plus
from operator import or_
from time import monotonic
from typing import Any

from django.core.cache import cache
from django.db.models import Case, IntegerField, Max, Q, Sum, Value, When

from linli.requests.calendar import TIME_ZONE
from linli.requests.models import (
    ROLLUP_COUNTERS,
    ROLLUP_LEVELS,
    EventKind,
    RequestEvent,
    RollupBase,
)
from linli.requests.services import REOPEN_WINDOW

Counts = tuple[int, ...]  # one value per name in ROLLUP_COUNTERS, in that order
ZERO: Counts = (0,) * len(ROLLUP_COUNTERS)
# Rows of one piece: the group key (as a tuple of ints) → the summed counters.
PieceRows = dict[tuple[int, ...], Counts]

FROZEN_TTL = 24 * 3600
RECENT_TTL = 10 * 60
# A cached piece still valid after this many newer events is stored again, marked with
# the newest event seen at least RENEW_LAG_SECONDS ago: on PostgreSQL an event whose
# number was drawn earlier may commit later, and must not be passed over.
RENEW_AFTER_EVENTS = 500
RENEW_LAG_SECONDS = 10.0
_seen: list[tuple[float, int]] = []  # (monotonic time, newest event then), oldest first
_seen_lock = threading.Lock()


def _observe(last: int) -> None:
    now = monotonic()
    with _seen_lock:
        if not _seen or last > _seen[-1][1]:
            _seen.append((now, last))
        # Only the newest sighting older than the lag is needed, and those after it.
        while len(_seen) > 1 and _seen[1][0] <= now - RENEW_LAG_SECONDS:
            _seen.pop(0)


def _watermark() -> int | None:
    """The newest event seen at least RENEW_LAG_SECONDS ago in this process."""
    with _seen_lock:
        if _seen and _seen[0][0] <= monotonic() - RENEW_LAG_SECONDS:
            return _seen[0][1]
    return None
# Days on top of the reopen window: local days against UTC instants, and a late job.
FROZEN_MARGIN = timedelta(days=2)
VERSION_KEY = "insights:rates:version"
# Bumped when what a cache entry holds changes shape.
FORMAT = 3


@dataclass(frozen=True, order=True)
class Piece:
    start: date
    end: date  # inclusive, in the same month as start


def add(a: Counts, b: Counts) -> Counts:
    return tuple(map(plus, a, b))


@dataclass(frozen=True)
class PieceSums:
    """The sums of one piece: per group key, per value of each group column alone (the
    margins, so that a page without a filter adds a few rows, not the cross product),
    and in all."""

    rows: PieceRows
    margins: tuple[dict[int, Counts], ...]
    total: Counts

    @classmethod
    def of(cls, rows: PieceRows, width: int) -> PieceSums:
        margins: list[dict[int, Counts]] = [{} for _ in range(width)]
        total = ZERO
        for key, counts in rows.items():
            total = add(total, counts)
            for column, value in enumerate(key):
                margin = margins[column]
                margin[value] = add(margin[value], counts) if value in margin else counts
        return cls(rows, tuple(margins), total)



def frozen_before(today: date) -> date:
    """The first day whose rollups may still change."""
    return today - REOPEN_WINDOW - FROZEN_MARGIN


def split_months(start: date, end: date) -> list[Piece]:
    """``start``..``end`` cut at month boundaries."""
    pieces = []
    day = start
    while day <= end:
        next_month = date(day.year + day.month // 12, day.month % 12 + 1, 1)
        last = min(end, next_month - timedelta(days=1))
        pieces.append(Piece(day, last))
        day = last + timedelta(days=1)
    return pieces


def rates_cache_clear() -> None:
    """Forget every cached sum (after a rebuild or a bulk load of rollups)."""
    try:
        cache.incr(VERSION_KEY)
    except ValueError:
        cache.set(VERSION_KEY, 2, None)


def _key(*parts: Any) -> str:
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()[:40]
    return f"insights:rates:{digest}"


def _ranges(pieces: Sequence[Piece]) -> list[tuple[date, date]]:
    """Adjacent pieces merged, so the query's day filter stays short."""
    merged: list[tuple[date, date]] = []
    for piece in sorted(pieces):
        if merged and merged[-1][1] + timedelta(days=1) >= piece.start:
            merged[-1] = (merged[-1][0], max(merged[-1][1], piece.end))
        else:
            merged.append((piece.start, piece.end))
    return merged


def merge(a: PieceSums, b: PieceSums) -> PieceSums:
    """The sums of two pieces together."""
    rows = dict(a.rows)
    for key, counts in b.rows.items():
        rows[key] = add(rows[key], counts) if key in rows else counts
    margins = []
    for left, right in zip(a.margins, b.margins, strict=True):
        margin = dict(left)
        for value, counts in right.items():
            margin[value] = add(margin[value], counts) if value in margin else counts
        margins.append(margin)
    return PieceSums(rows, tuple(margins), add(a.total, b.total))


@dataclass(frozen=True)
class Marks:
    """The request events written after ``since``: the newest of all, the newest that
    changed a day before today (a reopen, or anything dated in the past), and the newest
    dated before the frozen days ended."""

    since: int
    last: int | None
    past: int | None
    old: int | None

    def still_valid(self, tier: str, seen: int) -> bool:
        newest = {"frozen": self.old, "settled": self.past, "today": self.last}[tier]
        return newest is None or newest <= seen


class RollupReader:
    """Sums rollups for one page. Each cached piece remembers the newest request event
    when it was summed (every change to a rollup writes one in the same transaction), and
    is used again only while no event since could have changed it:

    * frozen, a piece that ended before ``frozen_before``: only an event dated that far
      back (a bulk load) could;
    * settled, a piece that ended before today: a reopen (it takes counts back from the
      day the request closed) or an event dated in the past could;
    * today: any event could.

    One query over the events written since the oldest piece found answers all three.
    """

    def __init__(self, *, today: date) -> None:
        self.today = today
        self.boundary = frozen_before(today)
        self._version: int | None = None
        self._token: int | None = None
        self._marks: Marks | None = None

    def version(self) -> int:
        if self._version is None:
            self._version = int(cache.get(VERSION_KEY, 1))
        return self._version

    def token(self) -> int:
        """The newest request event now."""
        if self._token is None:
            self._token = RequestEvent.objects.aggregate(last=Max("id"))["last"] or 0
        return self._token

    def marks(self, since: int) -> Marks:
        if self._marks is None or self._marks.since > since:
            today_starts = datetime.combine(self.today, time.min, tzinfo=TIME_ZONE)
            frozen_ends = datetime.combine(self.boundary, time.min, tzinfo=TIME_ZONE)
            found = RequestEvent.objects.filter(id__gt=since).aggregate(
                last=Max("id"),
                past=Max("id", filter=Q(kind=EventKind.REOPENED) | Q(at__lt=today_starts)),
                old=Max("id", filter=Q(at__lt=frozen_ends)),
            )
            self._marks = Marks(since, found["last"], found["past"], found["old"])
            if found["last"] is not None:
                _observe(found["last"])
            if self._token is None:
                self._token = found["last"] or since
        return self._marks

    def _tier(self, piece: Piece) -> str:
        if piece.end < self.boundary:
            return "frozen"
        return "settled" if piece.end < self.today else "today"

    def _split(self, piece: Piece) -> list[Piece]:
        """Today apart from the days before it, which change far less often."""
        if piece.start < self.today <= piece.end:
            return [Piece(piece.start, self.today - timedelta(days=1)), Piece(self.today, piece.end)]
        return [piece]

    def sums(self, *, scope: Q, scope_key: tuple[Any, ...], pieces: Sequence[Piece], group: Sequence[str],
             filters: dict[str, int]) -> dict[Piece, PieceSums]:
        """The counters of the rollups matching ``scope`` and ``filters``, summed per piece
        and per ``group`` columns. ``scope_key`` names the scope in cache keys."""
        empty = PieceSums({}, tuple({} for _ in group), ZERO)
        wanted = [p for p in dict.fromkeys(pieces) if p.start <= self.today]
        parts = {p: self._split(p) for p in wanted}
        subs = list(dict.fromkeys(sub for split in parts.values() for sub in split))
        common = (FORMAT, self.version(), scope_key, tuple(group), tuple(sorted(filters.items())))
        keys = {sub: _key(*common, sub.start, sub.end, self._tier(sub), self.today) for sub in subs}
        cached: dict[str, tuple[int, PieceSums]] = cache.get_many(list(keys.values())) if keys else {}
        found: dict[Piece, PieceSums] = {}
        if cached:
            marks = self.marks(min(seen for seen, _sums in cached.values()))
            renewed: dict[str, dict[str, tuple[int, PieceSums]]] = {}
            watermark = _watermark()
            mark = min(marks.last, watermark) if marks.last is not None and watermark is not None else None
            for sub, key in keys.items():
                if key in cached and marks.still_valid(self._tier(sub), cached[key][0]):
                    found[sub] = cached[key][1]
                    # Still right as of the newest events: say so, or every later view would
                    # scan all the events since this piece was summed (a day's, for a frozen
                    # piece). Only after many events, to write rarely.
                    if mark is not None and mark - cached[key][0] >= RENEW_AFTER_EVENTS:
                        renewed.setdefault(self._tier(sub), {})[key] = (mark, cached[key][1])
            for tier, entries in renewed.items():
                cache.set_many(entries, RECENT_TTL if tier == "today" else FROZEN_TTL)
        missing = [sub for sub in subs if sub not in found]
        if missing:
            seen = self.token()  # read before the sums: a change made meanwhile is not missed
            fresh = {sub: PieceSums.of(rows, len(group)) for sub, rows in _query(scope, missing, group, filters).items()}
            found.update(fresh)
            for tier, ttl in (("frozen", FROZEN_TTL), ("settled", FROZEN_TTL), ("today", RECENT_TTL)):
                entries = {keys[sub]: (seen, fresh[sub]) for sub in missing if self._tier(sub) == tier}
                if entries:
                    cache.set_many(entries, ttl)
        result: dict[Piece, PieceSums] = {p: empty for p in pieces if p.start > self.today}  # nothing yet
        for piece, split in parts.items():
            sums = found[split[0]]
            for sub in split[1:]:
                sums = merge(sums, found[sub])
            result[piece] = sums
        return result


def level_for(columns: Iterable[str]) -> type[RollupBase]:
    """The coarsest rollup level that has every one of ``columns`` (scopes need only the
    community path and grid, which every level has)."""
    needed = set(columns)
    for level in sorted(ROLLUP_LEVELS, key=lambda model: len(model.KEY)):
        if needed <= set(level.KEY):
            return level
    raise ValueError(f"no rollup level has {sorted(needed)}")


def _query(scope: Q, pieces: list[Piece], group: Sequence[str], filters: dict[str, int]) -> dict[Piece, PieceRows]:
    """One grouped query over every piece, each row tagged with the piece it falls in."""
    days = reduce(or_, [Q(day__range=r) for r in _ranges(pieces)])
    tag = Case(*[When(day__range=(p.start, p.end), then=Value(i)) for i, p in enumerate(pieces)],
               output_field=IntegerField())
    rows = (
        level_for((*group, *filters))._default_manager.filter(scope, days, **filters)
        .annotate(piece=tag)
        .values("piece", *group)
        .annotate(**{f"sum_{name}": Sum(name) for name in ROLLUP_COUNTERS})
        .order_by()
    )
    fresh: dict[Piece, PieceRows] = {p: {} for p in pieces}
    for row in rows:
        if row["piece"] is None:  # pragma: no cover - the day filter and the tags agree
            continue
        group_key = tuple(int(row[name] or 0) for name in group)
        fresh[pieces[row["piece"]]][group_key] = tuple(int(row[f"sum_{name}"] or 0) for name in ROLLUP_COUNTERS)
    return fresh
