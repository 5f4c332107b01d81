"""One request's life, computed in memory as the services would have lived it.

``Life`` moves a request through the transitions of ``linli.requests.services`` — each
method changes the fields as the service of the same name does and appends the event
it writes — and runs the SLA sweep (``linli.requests.deadlines.sla_sweep``) between
them as the worker would have every five minutes, and the hourly closing of unrated
requests. A transition planned after ``now`` does not happen, nor anything after it,
so a request's state is where it stands today. Times are epoch seconds; deadlines come
from ``WorkingSpans``, the community's working calendar laid out for binary search.

Used by the demo (``linli.demo.requests``) and the benchmarks (``bench.requests_data``),
which write the results in bulk instead of calling the services row by row.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

from linli.demo import request_texts as texts
from linli.requests import rollups, sla
from linli.requests.calendar import WorkCalendar
from linli.requests.models import (
    ACTIVE_STATUSES,
    CloseReason,
    EventKind,
    Request,
    Status,
    TimeUnit,
)

HOUR = 3600
DAY = 86_400
# The worker's recurring jobs (linli.requests.tasks): the SLA sweep and the closing of unrated requests.
SWEEP_EVERY = 5 * 60
AUTOCLOSE_EVERY = HOUR
RATING_WINDOW = 7 * DAY  # linli.requests.services.RATING_WINDOW


# The working calendar, fast ---------------------------------------------------------

class WorkingSpans:
    """A community's working windows laid out on a time line with their running total,
    so that ``due`` is a binary search instead of a walk over days. Built from the
    community's ``WorkCalendar`` (the same windows, holidays and 调休 as the services
    count on) and equal to ``WorkCalendar.due`` for whole-second times (the tests
    compare them). Times are epoch seconds."""

    def __init__(self, calendar: WorkCalendar, first: date, days: int) -> None:
        self.calendar = calendar
        self.standard_day = int(calendar.standard_day().total_seconds())
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.totals: list[int] = []  # working seconds up to each span's end
        self.first = first
        self.last = first
        self._extend(days)

    def _extend(self, days: int) -> None:
        total = self.totals[-1] if self.totals else 0
        day = self.last
        for _ in range(days):
            for start, end in self.calendar.windows_on(day):
                a, b = int(start.timestamp()), int(end.timestamp())
                total += b - a
                self.starts.append(a)
                self.ends.append(b)
                self.totals.append(total)
            day += timedelta(days=1)
        self.last = day

    def _cover(self, t: int) -> None:
        while not self.ends or self.ends[-1] < t + 40 * DAY:
            self._extend(120)

    def is_workday(self, day: date) -> bool:
        return self.calendar.is_workday(day)

    def position(self, t: int) -> int:
        """Working seconds from the start of the table to ``t``."""
        self._cover(t)
        i = bisect.bisect_right(self.starts, t) - 1
        if i < 0:
            return 0
        before = self.totals[i] - (self.ends[i] - self.starts[i])
        return before + min(t - self.starts[i], self.ends[i] - self.starts[i])

    def at_position(self, p: int) -> int:
        """The moment the running total reaches ``p`` (the end of a span when it is reached exactly)."""
        while self.totals[-1] < p:
            self._extend(120)
        j = bisect.bisect_left(self.totals, p)
        return self.ends[j] - (self.totals[j] - p)

    def add_working(self, t: int, seconds: int) -> int:
        if seconds <= 0:
            return t
        return self.at_position(self.position(t) + seconds)

    def due(self, t: int, amount: int, unit: str) -> int:
        if unit == TimeUnit.HOURS:
            return t + amount * HOUR
        if unit == TimeUnit.WORKING_HOURS:
            return self.add_working(t, amount * HOUR)
        return self.add_working(t, amount * self.standard_day)

    def working_between(self, a: int, b: int) -> int:
        return max(0, self.position(b) - self.position(a)) if b > a else 0

    def shift(self, deadline: int, unit: str, paused_from: int, paused_to: int) -> int:
        if unit == TimeUnit.HOURS:
            return deadline + (paused_to - paused_from)
        return self.add_working(deadline, self.working_between(paused_from, paused_to))

    def along(self, a: int, b: int, fraction: float, unit: str) -> int:
        """The moment ``fraction`` of the way from ``a`` to ``b``, counted as ``unit`` counts time."""
        if unit == TimeUnit.HOURS:
            return a + int((b - a) * fraction)
        pa = self.position(a)
        return self.at_position(pa + max(1, int((self.position(b) - pa) * fraction)))


def _dt(t: int | None) -> datetime | None:
    return None if t is None else datetime.fromtimestamp(t, UTC)


def _iso(t: int) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat()


def _tick_at_or_after(t: float, every: int, phase: int) -> int:
    return phase + math.ceil((t - phase) / every) * every


def _tick_after(t: float, every: int, phase: int) -> int:
    tick = _tick_at_or_after(t, every, phase)
    return tick + every if tick <= t else tick


# One request, lived -------------------------------------------------------------------

@dataclass(slots=True)
class Rec:
    """The fields of one ``Request``, named as the model's attributes (times in epoch
    seconds until written, so typed loosely)."""

    id: Any = None
    community_id: Any = None
    place_id: Any = None
    place_path: Any = None
    grid_id: Any = None
    category_id: Any = None
    priority: Any = None
    status: Any = None
    channel: Any = None
    title: Any = None
    description: Any = None
    address: Any = None
    lat: Any = None
    long: Any = None
    attributes: Any = None
    reporter_id: Any = None
    anonymous: Any = None
    contact_name: Any = None
    contact_phone: Any = None
    contact_email: Any = None
    entered_by_id: Any = None
    device_id: Any = None
    account_id: Any = None
    client_ref: Any = None
    handler_id: Any = None
    organisation_id: Any = None
    merged_into_id: Any = None
    submitted_at: Any = None
    accepted_at: Any = None
    first_contact_at: Any = None
    resolved_at: Any = None
    closed_at: Any = None
    accept_due_at: Any = None
    contact_due_at: Any = None
    resolve_due_at: Any = None
    paused_at: Any = None
    warned_at: Any = None
    escalation: Any = None
    breached_at: Any = None
    resolution: Any = None
    close_reason: Any = None
    answer: Any = None
    rating: Any = None
    solved: Any = None
    rated_at: Any = None
    reopen_count: Any = None
    needs_review: Any = None
    counted: Any = None
    version: Any = None
    updated_at: Any = None


@dataclass(slots=True)
class Ev:
    """One ``RequestEvent``."""

    at: int
    kind: str
    actor_id: int | None
    actor_label: str
    public: bool
    body: str
    status: str
    data: dict[str, Any]


@dataclass(slots=True)
class Lived:
    rec: Rec
    events: list[Ev]
    followers: list[tuple[int, int | None]] = field(default_factory=list)  # user id, from request id


class Life:
    """One request moved through the services' transitions, stopping at ``now``.

    Each method changes the fields as the service of the same name does and appends its
    event; before it, the SLA sweep runs as the worker would have every five minutes.
    A transition planned after ``now`` does not happen, nor does anything after it."""

    def __init__(self, rec: Rec, *, cal: WorkingSpans, targets: sla.Targets, excluded: bool, now: int,
                 labels: dict[int, str], sweep_phase: int, close_phase: int, actor_label: str,
                 actor_id: int | None) -> None:
        self.r = rec
        self.cal = cal
        self.targets = targets
        self.excluded = excluded
        self.now = now
        self.labels = labels
        self.sweep_phase = sweep_phase
        self.close_phase = close_phase
        self.events: list[Ev] = []
        self._sweep_key: tuple[Any, ...] = ()
        self._sweep_next: int | None = None
        self.stopped = rec.submitted_at > now
        self.last = rec.submitted_at
        rec.status = Status.SUBMITTED
        rec.escalation = 0
        rec.reopen_count = 0
        rec.version = 0
        rec.updated_at = rec.submitted_at
        rec.needs_review = False
        rec.close_reason = rec.resolution = rec.answer = ""
        rec.accept_due_at = cal.due(rec.submitted_at, targets.accept.amount, targets.accept.unit)
        self._event(rec.submitted_at, EventKind.SUBMITTED, actor_id, {"channel": rec.channel}, label=actor_label)

    # Plumbing
    def _event(self, at: int, kind: str, by: int | None, data: dict[str, Any] | None = None, *, body: str = "",
               public: bool = True, label: str | None = None) -> None:
        self.events.append(Ev(at, kind, by, label if label is not None else self.labels.get(by or 0, "system"),
                              public, body, self.r.status, data or {}))

    def _at(self, t: int) -> int | None:
        if self.stopped:
            return None
        t = max(int(t), self.last)
        self._sweep_until(t)
        if t > self.now:
            self.stopped = True
            return None
        self.last = t
        return t

    def _street_at(self) -> int:
        return self.cal.due(self.r.resolve_due_at, self.targets.street_after_days, TimeUnit.WORKING_DAYS)

    def _warn_at(self) -> int:
        """When the policy's share of the time to resolve has passed, counted back from the
        deadline as the target counts time (``deadlines._time_is_short``)."""
        r, resolve = self.r, self.targets.resolve
        left = (100 - self.targets.warn_at_percent) / 100
        if resolve.unit == TimeUnit.HOURS:
            return math.ceil(r.resolve_due_at - resolve.amount * HOUR * left)
        total = resolve.amount * (HOUR if resolve.unit == TimeUnit.WORKING_HOURS else self.cal.standard_day)
        return self.cal.at_position(math.ceil(self.cal.position(r.resolve_due_at) - total * left))

    def _sweep_until(self, t: int) -> None:
        """The sweeps between the last transition and ``t`` (and not after ``now``)."""
        r = self.r
        while True:
            key = (r.status, r.paused_at, r.resolve_due_at, r.accepted_at, r.escalation)
            if key != self._sweep_key:  # the next sweep that does something changes only with these
                self._sweep_key = key
                self._sweep_next = None
                if (r.status in ACTIVE_STATUSES and r.paused_at is None and r.resolve_due_at is not None
                        and r.accepted_at is not None and r.escalation < 3):
                    candidates = []
                    if r.escalation < 1:
                        candidates.append(_tick_at_or_after(self._warn_at(), SWEEP_EVERY, self.sweep_phase))
                    if r.escalation < 2:
                        candidates.append(_tick_after(r.resolve_due_at, SWEEP_EVERY, self.sweep_phase))
                    if r.escalation == 2:
                        candidates.append(_tick_after(self._street_at(), SWEEP_EVERY, self.sweep_phase))
                    self._sweep_next = min(candidates)
            if self._sweep_next is None:
                return
            tick = max(self._sweep_next, _tick_after(self.last, SWEEP_EVERY, self.sweep_phase))
            if tick >= t or tick > self.now:
                return
            # One pass of ``sla_sweep`` at ``tick``.
            if r.escalation < 1 and tick >= self._warn_at():
                self._escalate(1, tick)
            if r.escalation < 2 and tick > r.resolve_due_at:
                self._escalate(2, tick)
            if r.escalation == 2 and tick > self._street_at():
                self._escalate(3, tick)
            self.last = tick

    def _escalate(self, level: int, at: int) -> None:
        r = self.r
        r.escalation = level
        if level == 1:
            r.warned_at = at
        if level >= 2 and r.breached_at is None:
            r.breached_at = at
        # Not a transition: the sweep writes without bumping ``version``.
        self._event(at, EventKind.WARNED if level == 1 else EventKind.ESCALATED, None, {"level": level},
                    public=False)

    def _saved(self, at: int) -> None:
        """What ``services._save`` does besides the fields: the version and ``updated_at``."""
        self.r.version += 1
        self.r.updated_at = at

    def _close(self, at: int, reason: str) -> None:
        r = self.r
        r.status = Status.CLOSED
        r.closed_at = at
        r.close_reason = reason
        request = cast(Request, r)
        r.counted = {"key": rollups.rollup_key(request, rollups.local_day(datetime.fromtimestamp(at, UTC))),
                     "counts": rollups.close_counts(request, excluded=self.excluded)}

    # Transitions (named after the services)
    def accept(self, t: int, by: int) -> bool:
        at = self._at(t)
        if at is None:
            return False
        r = self.r
        r.status = Status.ACCEPTED
        r.accepted_at = at
        r.contact_due_at = self.cal.due(at, self.targets.contact.amount, self.targets.contact.unit)
        r.resolve_due_at = self.cal.due(at, self.targets.resolve.amount, self.targets.resolve.unit)
        self._saved(at)
        self._event(at, EventKind.ACCEPTED, by, {"priority": r.priority, "resolve_due_at": _iso(r.resolve_due_at)})
        return True

    def assign(self, t: int, by: int, handler: int) -> bool:
        at = self._at(t)
        if at is None:
            return False
        r = self.r
        previous = r.handler_id
        r.handler_id, r.organisation_id, r.status = handler, None, Status.ASSIGNED
        self._saved(at)
        self._event(at, EventKind.ASSIGNED, by, {"handler": handler, "from": previous}, public=False)
        return True

    def dispatch(self, t: int, by: int, organisation_id: int, organisation_name: str) -> bool:
        at = self._at(t)
        if at is None:
            return False
        r = self.r
        r.organisation_id, r.handler_id, r.status = organisation_id, None, Status.DISPATCHED
        self._saved(at)
        self._event(at, EventKind.DISPATCHED, by, {"organisation": organisation_id,
                                                   "organisation_name": organisation_name})
        return True

    def return_(self, t: int, by: int, reason: str) -> bool:
        at = self._at(t)
        if at is None:
            return False
        r = self.r
        data = {"handler": r.handler_id, "organisation": r.organisation_id}
        r.handler_id = r.organisation_id = None
        r.status = Status.ACCEPTED
        self._saved(at)
        self._event(at, EventKind.RETURNED, by, data, body=reason, public=False)
        return True

    def start(self, t: int, by: int) -> bool:
        at = self._at(t)
        if at is None:
            return False
        r = self.r
        if r.handler_id is None and r.organisation_id is None:
            r.handler_id = by
        r.status = Status.IN_PROGRESS
        self._saved(at)
        self._event(at, EventKind.STARTED, by)
        return True

    def reply(self, t: int, by: int, body: str, *, public: bool = True) -> bool:
        at = self._at(t)
        if at is None:
            return False
        r = self.r
        self._event(at, EventKind.REPLIED if public else EventKind.NOTED, by, body=body, public=public)
        if public and r.first_contact_at is None and r.status != Status.SUBMITTED:
            r.first_contact_at = at
            self._saved(at)
        return True

    def contact(self, t: int, by: int, method: str, body: str) -> bool:
        at = self._at(t)
        if at is None:
            return False
        r = self.r
        self._event(at, EventKind.CONTACTED, by, {"method": method}, body=body)
        if r.first_contact_at is None:
            r.first_contact_at = at
            self._saved(at)
        return True

    def wait(self, t: int, by: int, question: str) -> bool:
        at = self._at(t)
        if at is None:
            return False
        r = self.r
        previous = r.status
        r.status = Status.WAITING
        r.paused_at = at
        if r.first_contact_at is None:
            r.first_contact_at = at
        self._saved(at)
        self._event(at, EventKind.WAITING, by, {"previous": previous}, body=question)
        return True

    def _resume(self, at: int, by: int | None) -> None:
        r = self.r
        paused_from = r.paused_at if r.paused_at is not None else at
        last_wait = next((e for e in reversed(self.events) if e.kind == EventKind.WAITING), None)
        previous = (last_wait.data.get("previous") if last_wait else None) or Status.IN_PROGRESS
        if r.resolve_due_at is not None:
            r.resolve_due_at = self.cal.shift(r.resolve_due_at, self.targets.resolve.unit, paused_from, at)
        if r.contact_due_at is not None and r.first_contact_at is None:
            r.contact_due_at = self.cal.shift(r.contact_due_at, self.targets.contact.unit, paused_from, at)
        r.status = previous
        r.paused_at = None
        self._saved(at)
        self._event(at, EventKind.RESUMED, by, {"paused_from": _iso(paused_from)})

    def comment(self, t: int, by: int, body: str) -> bool:
        at = self._at(t)
        if at is None:
            return False
        self._event(at, EventKind.REPLIED, by, {"from_resident": True}, body=body)
        if self.r.status == Status.WAITING:
            self._resume(at, by)
        return True

    def resume(self, t: int, by: int) -> bool:
        at = self._at(t)
        if at is None:
            return False
        self._resume(at, by)
        return True

    def resolve(self, t: int, by: int, text: str) -> bool:
        at = self._at(t)
        if at is None:
            return False
        r = self.r
        r.status, r.resolved_at, r.resolution = Status.RESOLVED, at, text
        if r.first_contact_at is None:
            r.first_contact_at = at
        self._saved(at)
        self._event(at, EventKind.RESOLVED, by, body=text)
        return True

    def rate(self, t: int, by: int | None, rating: int, solved: bool, channel: str, comment: str) -> bool:
        at = self._at(t)
        if at is None:
            return False
        r = self.r
        r.rating, r.solved, r.rated_at = rating, solved, at
        r.needs_review = rating <= 2
        self._close(at, CloseReason.RESOLVED)
        self._saved(at)
        self._event(at, EventKind.RATED, by, {"rating": rating, "solved": solved, "channel": channel}, body=comment)
        self._event(at, EventKind.CLOSED, by, {"reason": CloseReason.RESOLVED})
        return True

    def autoclose(self) -> bool:
        r = self.r
        at = self._at(_tick_after(r.resolved_at + RATING_WINDOW, AUTOCLOSE_EVERY, self.close_phase))
        if at is None:
            return False
        self._close(at, CloseReason.RESOLVED)
        self._saved(at)
        self._event(at, EventKind.CLOSED, None, {"reason": CloseReason.RESOLVED, "unrated": True})
        return True

    def reopen(self, t: int, by: int, reason: str) -> bool:
        at = self._at(t)
        if at is None:
            return False
        r = self.r
        r.status = Status.IN_PROGRESS if (r.handler_id or r.organisation_id) else Status.ACCEPTED
        if r.organisation_id and not r.handler_id:
            r.status = Status.DISPATCHED
        r.reopen_count += 1
        r.closed_at = r.counted = r.resolved_at = r.rating = r.solved = r.rated_at = r.warned_at = None
        r.close_reason = ""
        r.needs_review = False
        r.escalation = 0
        r.resolve_due_at = self.cal.due(at, self.targets.resolve.amount, self.targets.resolve.unit)
        self._saved(at)
        self._event(at, EventKind.REOPENED, by, body=reason)
        return True

    def close(self, t: int, by: int, reason: str, answer: str) -> bool:
        at = self._at(t)
        if at is None:
            return False
        r = self.r
        r.answer = answer
        self._close(at, reason)
        r.paused_at = None
        self._saved(at)
        self._event(at, EventKind.CLOSED, by, {"reason": reason}, body=answer)
        return True

    def withdraw(self, t: int, by: int) -> bool:
        at = self._at(t)
        if at is None:
            return False
        r = self.r
        r.answer = texts.RESIDENT_WITHDRAWN
        self._close(at, CloseReason.WITHDRAWN)
        r.paused_at = None
        self._saved(at)
        self._event(at, EventKind.CLOSED, by, {"reason": CloseReason.WITHDRAWN})
        return True

    def merge_into(self, t: int, by: int, main: Lived) -> bool:
        at = self._at(t)
        if at is None:
            return False
        r = self.r
        r.merged_into_id = main.rec.id
        r.answer = texts.MERGED_ANSWER.format(n=main.rec.id)
        self._close(at, CloseReason.DUPLICATE)
        r.paused_at = None
        self._saved(at)
        self._event(at, EventKind.MERGED, by, {"into": main.rec.id}, body=r.answer)
        # The main request's history gets its half of the merge, in its state at that moment.
        status = next((e.status for e in reversed(main.events) if e.at <= at), Status.SUBMITTED)
        main.events.append(Ev(at, EventKind.MERGED, by, self.labels.get(by, "system"), False, "", status,
                              {"from": r.id}))
        main.events.sort(key=lambda e: e.at)
        return True

    def finish(self) -> Lived:
        if not self.stopped:
            self._sweep_until(self.now + 1)
        return Lived(self.r, self.events)
