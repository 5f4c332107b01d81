"""The demo's residents' requests: consistent with what the services would have written,
spread over every channel, category, community, grid and handler, and with ratings that
depend on the handling."""

from __future__ import annotations

import random
import statistics
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.db.models import Sum

from linli.accounts.models import Organisation, OrganisationKind, Role, RoleAssignment, User
from linli.demo.build import DemoBuild, build_demo
from linli.demo.generator import SCALES
from linli.demo.request_life import Lived, WorkingSpans
from linli.demo.requests import REQUESTS_PER_HOUSEHOLD, everyone_for, requests_plan
from linli.places.models import Place, PlaceKind
from linli.requests import rollups, sla
from linli.requests.calendar import DEFAULT_WINDOWS, TIME_ZONE, WorkCalendar, parse_windows
from linli.requests.intake import _grid_of
from linli.requests.models import (
    ACTIVE_STATUSES,
    NOT_DISPATCHED_REASONS,
    Channel,
    CloseReason,
    EventKind,
    Follower,
    Request,
    RequestEvent,
    RequestRollup,
    Status,
    TimeUnit,
)
from linli.requests.rollup_rebuild import rollups_compute, rollups_snapshot

pytestmark = pytest.mark.django_db

# A Friday morning; the demo's year runs back from here.
NOW = datetime(2026, 11, 27, 10, 30, tzinfo=TIME_ZONE)


@pytest.fixture
def demo() -> DemoBuild:
    with time_machine.travel(NOW, tick=False):
        build = build_demo(scale=SCALES["tiny"], seed=7)
    assert build is not None and build.requests is not None
    return build


@pytest.fixture
def year(demo: DemoBuild) -> list[Lived]:
    """A larger year lived over the same street, in memory: enough requests for rates."""
    ids = list(Place.objects.filter(kind=PlaceKind.COMMUNITY).order_by("pk").values_list("pk", flat=True))
    now = int(NOW.timestamp())
    everyone = everyone_for(ids, seed=11, now=now, days=365)
    return [lived for batch in requests_plan(everyone, 6000, seed=11, now=now, first_id=10**6) for lived in batch]


def test_the_demo_writes_about_a_years_requests(demo: DemoBuild) -> None:
    built = demo.requests
    assert built is not None
    households = SCALES["tiny"].households
    assert built.requests == Request.objects.count()
    assert built.requests == round(households * REQUESTS_PER_HOUSEHOLD)
    assert built.events == RequestEvent.objects.count() > 5 * built.requests
    assert built.open == Request.objects.exclude(status=Status.CLOSED).count() > 0
    first = Request.objects.order_by("submitted_at").first()
    assert first is not None and NOW - timedelta(days=366) < first.submitted_at
    assert not Request.objects.filter(submitted_at__gt=NOW).exists()
    assert not RequestEvent.objects.filter(at__gt=NOW).exists()
    assert set(Request.objects.values_list("channel", flat=True)) == set(Channel.values)
    assert set(Request.objects.values_list("category__code", flat=True)) >= {
        "repairs", "utilities", "sanitation", "noise", "dispute", "elderly_help", "suggestion", "complaint"}
    assert set(Request.objects.values_list("community_id", flat=True)) == set(demo.generated.community_ids)
    grids = set(Place.objects.filter(kind=PlaceKind.GRID).values_list("pk", flat=True))
    assert set(Request.objects.exclude(grid=None).values_list("grid_id", flat=True)) == grids
    # Ids follow the order of submission.
    ordered = list(Request.objects.order_by("submitted_at", "pk").values_list("pk", flat=True))
    assert ordered == sorted(ordered)


def test_rows_are_what_the_services_would_have_written(demo: DemoBuild) -> None:
    events: dict[int, list[RequestEvent]] = {}
    for event in RequestEvent.objects.order_by("at", "pk"):
        events.setdefault(event.request_id, []).append(event)
    categories = {r.pk: r for r in Request.objects.select_related("category", "place", "community")}
    for req in categories.values():
        history = events[req.pk]
        assert history[0].kind == EventKind.SUBMITTED and history[0].at == req.submitted_at
        assert all(e.at >= req.submitted_at for e in history), req.pk
        assert history[-1].status == req.status or history[-1].kind == EventKind.MERGED
        assert req.place_path == req.place.path
        assert req.grid_id == (g.pk if (g := _grid_of(req.place)) else None)
        assert req.community_id == req.place.community_id
        # Written by the last transition (the sweep's warnings and a merge's note on the
        # main request leave it alone).
        assert req.submitted_at <= req.updated_at <= history[-1].at
        if req.closed_at:
            assert req.updated_at == req.closed_at
        if req.accepted_at:
            assert req.submitted_at <= req.accepted_at
            assert req.contact_due_at and req.resolve_due_at
        if req.resolved_at:
            assert req.accepted_at and req.accepted_at <= req.resolved_at and req.first_contact_at
        if req.status == Status.CLOSED:
            assert req.close_reason and req.closed_at
            excluded = req.category.excluded_from_satisfaction
            assert req.counted == {"key": rollups.rollup_key(req, rollups.local_day(req.closed_at)),
                                   "counts": rollups.close_counts(req, excluded=excluded)}
            if req.close_reason != CloseReason.RESOLVED:
                assert req.answer, req.pk
            if req.rating is not None:
                assert req.rated_at == req.closed_at and req.solved is not None
                assert req.needs_review == (req.rating <= 2)
        else:
            assert not req.close_reason and req.counted is None and req.closed_at is None
        assert (req.paused_at is not None) == (req.status == Status.WAITING)
        if req.merged_into_id:
            assert req.close_reason == CloseReason.DUPLICATE
            assert RequestEvent.objects.filter(request_id=req.merged_into_id, kind=EventKind.MERGED,
                                               data__from=req.pk).exists()
        if req.reporter_id:
            assert Follower.objects.filter(request=req, user_id=req.reporter_id).exists()
        if req.channel in (Channel.WEB,):
            assert req.reporter_id
        if req.channel in (Channel.PHONE, Channel.VISIT, Channel.HOTLINE, Channel.SUGGESTION_BOX, Channel.FORUM):
            assert req.entered_by_id
    assert Request.objects.filter(status=Status.CLOSED, close_reason="").count() == 0


def test_deadlines_come_from_the_sla_on_the_working_calendar(demo: DemoBuild) -> None:
    checked = 0
    for req in Request.objects.order_by("pk"):
        targets = sla.targets_for(community_id=req.community_id, category_id=req.category_id, priority=req.priority)
        cal = sla.calendar(req.community_id)
        assert req.accept_due_at == cal.due(req.submitted_at, targets.accept.amount, targets.accept.unit)
        plain = not req.events.filter(kind__in=[EventKind.RESUMED, EventKind.REOPENED]).exists()
        if req.accepted_at and plain:
            assert req.resolve_due_at == cal.due(req.accepted_at, targets.resolve.amount, targets.resolve.unit)
            assert req.contact_due_at == cal.due(req.accepted_at, targets.contact.amount, targets.contact.unit)
            checked += 1
    assert checked > 100


def test_the_rollups_are_rebuilt_from_the_requests(demo: DemoBuild) -> None:
    assert RequestRollup.objects.exists()
    assert rollups_snapshot() == rollups_compute()
    sums = RequestRollup.objects.aggregate(**{n: Sum(n) for n in ("submitted", "valid", "not_dispatched", "reopened",
                                                                    "breached", "resolved_in_time")})
    closed = Request.objects.filter(status=Status.CLOSED)
    assert sums["submitted"] == Request.objects.count()
    assert sums["valid"] == closed.filter(close_reason=CloseReason.RESOLVED).count()
    assert sums["not_dispatched"] == closed.exclude(close_reason=CloseReason.RESOLVED).count()
    assert sums["breached"] + sums["resolved_in_time"] == sums["valid"]
    reopened_after_close = 0
    for req in Request.objects.filter(reopen_count__gt=0):
        previous = None
        for event in req.events.order_by("at", "pk"):
            if event.kind == EventKind.REOPENED and previous == Status.CLOSED:
                reopened_after_close += 1
            previous = event.status
    assert sums["reopened"] == reopened_after_close > 0


def test_partners_and_handlers_take_their_share(demo: DemoBuild) -> None:
    communities = demo.generated.community_ids
    for community_id in communities:
        assert Organisation.objects.filter(place__community_id=community_id,
                                           kind=OrganisationKind.PROPERTY_MANAGER).exists()
    partner = User.objects.get(username="partner-1")
    assert partner.organisation is not None
    second = User.objects.get(username="partner-1b")
    assert second.organisation is not None and second.organisation != partner.organisation and second.has_totp
    dispatched = Request.objects.exclude(organisation=None).select_related("organisation__place")
    assert dispatched.exists()
    assert set(dispatched.values_list("category__code", flat=True)) <= {"repairs", "utilities"}
    for req in dispatched:
        assert req.organisation is not None and req.place_path.startswith(req.organisation.place.path)
    # Every grid worker and every community's staff handle some.
    handlers = set(Request.objects.exclude(handler=None).values_list("handler_id", flat=True))
    workers = set(RoleAssignment.objects.filter(role__in=[Role.GRID_WORKER, Role.COMMUNITY_STAFF])
                  .values_list("user_id", flat=True))
    assert workers <= handlers
    acting_partners = set(RequestEvent.objects.filter(request__organisation__isnull=False, kind=EventKind.RESOLVED)
                          .values_list("actor__organisation_id", flat=True))
    assert acting_partners and None not in acting_partners


def test_a_year_holds_every_path_and_status(year: list[Lived]) -> None:
    statuses = Counter(lived.rec.status for lived in year)
    assert set(statuses) == set(Status.values), statuses
    assert statuses[Status.CLOSED] > 0.9 * len(year)
    reasons = Counter(lived.rec.close_reason for lived in year if lived.rec.status == Status.CLOSED)
    assert set(reasons) == {CloseReason.RESOLVED, *NOT_DISPATCHED_REASONS}
    kinds = Counter(e.kind for lived in year for e in lived.events)
    assert set(kinds) >= set(EventKind.values) - {EventKind.TRANSFERRED, EventKind.CONTESTED, EventKind.PRIORITY,
                                                  EventKind.REVIEW, EventKind.FOLLOWED}
    now = int(NOW.timestamp())
    active = [lived.rec for lived in year if lived.rec.status in ACTIVE_STATUSES and lived.rec.paused_at is None]
    overdue = [r for r in active if r.resolve_due_at < now]
    due_soon = [r for r in active if now <= r.resolve_due_at < now + 2 * 86_400]
    assert overdue and due_soon
    assert all(r.escalation >= 2 and r.breached_at for r in overdue)
    # Most are accepted within the two working hours, first contacted and resolved in time.
    handled = [lived.rec for lived in year if lived.rec.close_reason == CloseReason.RESOLVED]
    breached = [r for r in handled if r.resolved_at > r.resolve_due_at]
    assert 0.04 <= len(breached) / len(handled) <= 0.12
    accepted = [lived.rec for lived in year if lived.rec.accepted_at]
    late_accept = [r for r in accepted if r.accepted_at > r.accept_due_at]
    assert len(late_accept) / len(accepted) < 0.08
    waited = [lived for lived in year if any(e.kind == EventKind.WAITING for e in lived.events)]
    reopened = [lived for lived in year if lived.rec.reopen_count]
    assert 0.02 < len(waited) / len(year) < 0.15 and reopened


def test_ratings_depend_on_the_handling(year: list[Lived]) -> None:
    rated = [lived.rec for lived in year if lived.rec.rating is not None]
    assert {r.rating for r in rated} == {1, 2, 3, 4, 5}
    on_time = [r.rating for r in rated if r.resolved_at <= r.resolve_due_at]
    late = [r.rating for r in rated if r.resolved_at > r.resolve_due_at]
    assert statistics.fmean(late) < statistics.fmean(on_time) - 0.4
    solved = [r.rating for r in rated if r.solved]
    unsolved = [r.rating for r in rated if not r.solved]
    assert statistics.fmean(unsolved) < statistics.fmean(solved) - 0.8
    again = [r.rating for r in rated if r.reopen_count]
    assert again and statistics.fmean(again) < statistics.fmean(on_time)
    satisfied = sum(r.rating >= 4 for r in rated) / len(rated)
    assert 0.6 < satisfied < 0.9


def test_the_same_seed_lives_the_same_year(demo: DemoBuild) -> None:
    ids = list(Place.objects.filter(kind=PlaceKind.COMMUNITY).order_by("pk").values_list("pk", flat=True))
    now = int(NOW.timestamp())

    def year(seed: int) -> list[tuple[object, ...]]:
        everyone = everyone_for(ids, seed=seed, now=now, days=365)
        return [(lived.rec.submitted_at, lived.rec.status, lived.rec.rating, len(lived.events))
                for batch in requests_plan(everyone, 500, seed=seed, now=now) for lived in batch]

    assert year(3) == year(3)
    assert year(3) != year(4)


@pytest.mark.parametrize("unit,amounts", [
    (TimeUnit.WORKING_HOURS, [1, 2, 24]), (TimeUnit.WORKING_DAYS, [1, 3, 7, 15]), (TimeUnit.HOURS, [2, 24]),
])
def test_working_spans_count_like_the_calendar(db: None, unit: str, amounts: list[int]) -> None:
    """Across the National Day week, Spring Festival and their adjusted working weekends."""
    cal = WorkCalendar(windows=parse_windows(DEFAULT_WINDOWS))
    spans = WorkingSpans(cal, date(2025, 9, 1), 30)
    rng = random.Random(5)
    starts = [datetime(2025, 9, 20, tzinfo=UTC) + timedelta(seconds=rng.randrange(200 * 86_400)) for _ in range(300)]
    starts += [datetime(2025, 9, 30, 9, 30, tzinfo=TIME_ZONE), datetime(2026, 2, 13, 17, 30, tzinfo=TIME_ZONE)]
    for start in starts:
        t = int(start.timestamp())
        for amount in amounts:
            assert spans.due(t, amount, unit) == int(cal.due(start, amount, unit).timestamp()), (start, amount)
        later = start + timedelta(seconds=rng.randrange(5 * 86_400))
        assert spans.working_between(t, int(later.timestamp())) == int(cal.working_between(start, later)
                                                                         .total_seconds())
        deadline = cal.due(start, 7, TimeUnit.WORKING_DAYS)
        assert spans.shift(int(deadline.timestamp()), unit, t, int(later.timestamp())) == int(
            cal.shift(deadline, unit, start, later).timestamp())
