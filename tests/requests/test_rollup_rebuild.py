"""Rebuilding the rollups from the requests gives exactly what the services kept as
events happened: every lifecycle path, local days across midnight, reopens, transfers,
partners, categories left out of the satisfaction rate, and a rebuild of one community."""

from __future__ import annotations

from datetime import datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Sum

from linli.accounts.models import Organisation
from linli.requests import services as svc
from linli.requests.calendar import TIME_ZONE
from linli.requests.deadlines import request_autoclose_unrated
from linli.requests.models import (
    ROLLUP_LEVELS,
    Category,
    CloseReason,
    PeopleRollup,
    PlaceRollup,
    Rating,
    Request,
    RequestRollup,
)
from linli.requests.rollup_rebuild import (
    level_snapshot,
    project,
    rollups_compute,
    rollups_rebuild,
    rollups_snapshot,
)
from tests.conftest import Personas, Tree
from tests.requests.conftest import Submit


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=TIME_ZONE)  # type: ignore[misc]


@pytest.fixture
def history(submit: Submit, personas: Personas, tree: Tree, property_manager: Organisation) -> list[Request]:
    """Requests through the services along every path the rollups care about."""
    staff, lead, worker, resident = personas.staff, personas.lead, personas.grid_worker, personas.resident
    made = []

    # Handled in time and rated; submitted late in the evening, so its local day is not its UTC day.
    req = submit(at=at(2026, 11, 23, 23, 40))
    req = svc.request_accept(request=req, by=staff, at=at(2026, 11, 24, 9, 10))
    req = svc.request_assign(request=req, by=lead, handler=worker, at=at(2026, 11, 24, 9, 15))
    req = svc.request_start(request=req, by=worker, at=at(2026, 11, 24, 10, 0))
    svc.request_reply(request=req, by=worker, body="明天上午来修。", at=at(2026, 11, 24, 10, 5))
    req = svc.request_resolve(request=req, by=worker, resolution="已更换灯泡。", at=at(2026, 11, 25, 10, 0))
    made.append(svc.request_rate(request=req, by=resident, rating=Rating.SATISFIED, solved=True,
                                 at=at(2026, 11, 25, 23, 50)))

    # Dispatched to the property manager, resolved after its deadline, rated badly, reopened
    # after closing (the reopen counts under the first close's partner and day), then
    # handled by a grid worker and closed again.
    req = svc.request_accept(request=submit(at=at(2026, 11, 2, 9, 0)), by=staff, at=at(2026, 11, 2, 9, 30))
    req = svc.request_dispatch(request=req, by=staff, organisation=property_manager, at=at(2026, 11, 2, 9, 40))
    req = svc.request_start(request=req, by=personas.partner, at=at(2026, 11, 2, 14, 0))
    req = svc.request_resolve(request=req, by=personas.partner, resolution="已修", at=at(2026, 11, 20, 10, 0))
    req = svc.request_rate(request=req, by=resident, rating=Rating.VERY_DISSATISFIED, solved=False,
                           at=at(2026, 11, 20, 18, 0))
    req = svc.request_reopen(request=req, by=resident, reason="还是坏的", at=at(2026, 11, 21, 9, 0))
    req = svc.request_return(request=req, by=personas.partner, reason="不属于物业", at=at(2026, 11, 23, 9, 0))
    req = svc.request_assign(request=req, by=lead, handler=worker, at=at(2026, 11, 23, 9, 30))
    req = svc.request_resolve(request=req, by=worker, resolution="已彻底修好", at=at(2026, 11, 24, 15, 0))
    made.append(svc.request_rate(request=req, by=staff, rating=Rating.BASICALLY_SATISFIED, solved=True,
                                 channel="phone", at=at(2026, 11, 25, 10, 0)))

    # Reopened before any rating (no close to take back), then left unrated: closed by the worker.
    req = svc.request_accept(request=submit(at=at(2026, 11, 9, 10, 0)), by=staff, at=at(2026, 11, 9, 10, 30))
    req = svc.request_start(request=req, by=staff, at=at(2026, 11, 9, 11, 0))
    req = svc.request_resolve(request=req, by=staff, resolution="已处理", at=at(2026, 11, 10, 11, 0))
    req = svc.request_reopen(request=req, by=resident, reason="没修好", at=at(2026, 11, 10, 12, 0))
    req = svc.request_resolve(request=req, by=staff, resolution="已处理好", at=at(2026, 11, 11, 16, 0))
    request_autoclose_unrated(at=at(2026, 11, 19, 9, 0))
    req.refresh_from_db()
    made.append(req)

    # Waiting on the resident, then resolved and rated in a category left out of the satisfaction rate.
    dispute = Category.objects.get(code="dispute")
    req = submit(category=dispute, title="邻里纠纷", description="楼上漏水", attributes={}, at=at(2026, 11, 3, 9, 0))
    req = svc.request_accept(request=req, by=staff, at=at(2026, 11, 3, 9, 30))
    req = svc.request_wait(request=req, by=staff, question="什么时候方便调解？", at=at(2026, 11, 3, 10, 0))
    svc.request_comment(request=req, by=resident, body="周六", at=at(2026, 11, 5, 10, 0))
    req.refresh_from_db()
    req = svc.request_resolve(request=req, by=staff, resolution="调解成功", at=at(2026, 11, 9, 16, 0))
    made.append(svc.request_rate(request=req, by=resident, rating=Rating.VERY_SATISFIED, solved=True,
                                 at=at(2026, 11, 10, 9, 0)))

    # Closed without dispatch, before and after acceptance; withdrawn by the resident.
    made.append(svc.request_close(request=submit(at=at(2026, 11, 4, 8, 0)), by=staff,
                                  reason=CloseReason.EMERGENCY, answer="已转 119", at=at(2026, 11, 4, 8, 5)))
    req = svc.request_accept(request=submit(at=at(2026, 11, 4, 9, 0)), by=staff, at=at(2026, 11, 4, 9, 5))
    req = svc.request_assign(request=req, by=lead, handler=worker, at=at(2026, 11, 4, 9, 6))
    made.append(svc.request_close(request=req, by=lead, reason=CloseReason.OUTSIDE_DUTY, answer="请联系开发商",
                                  at=at(2026, 11, 5, 9, 0)))
    made.append(svc.request_withdraw(request=submit(at=at(2026, 11, 6, 9, 0)), by=resident,
                                     at=at(2026, 11, 6, 12, 0)))

    # A duplicate merged into an open request, from another household.
    main = submit(at=at(2026, 11, 26, 9, 0))
    dup = submit(by=personas.other_resident, place=tree.other_household, at=at(2026, 11, 26, 10, 0))
    svc.request_merge(request=dup, into=main, by=staff, at=at(2026, 11, 26, 11, 0))
    made += [main, dup]

    # Transferred to another community before acceptance (it arrived at the community
    # itself: ``request_transfer`` does not record the grid it leaves), then handled there.
    req = submit(place=tree.community, at=at(2026, 11, 12, 9, 0))
    req = svc.request_transfer(request=req, by=staff, to=tree.other_community, reason="属和平里社区",
                               at=at(2026, 11, 12, 10, 0))
    req = svc.request_accept(request=req, by=personas.street_supervisor, at=at(2026, 11, 12, 11, 0))
    req = svc.request_resolve(request=req, by=personas.street_supervisor, resolution="已处理",
                              at=at(2026, 11, 13, 11, 0))
    made.append(svc.request_rate(request=req, by=resident, rating=Rating.DISSATISFIED, solved=False,
                                 at=at(2026, 11, 13, 20, 0)))

    # Still open: accepted and overdue, and one only submitted.
    made.append(svc.request_accept(request=submit(at=at(2026, 10, 1, 9, 0)), by=staff, at=at(2026, 10, 9, 9, 0)))
    made.append(submit(at=at(2026, 11, 27, 9, 0)))
    return made


def test_the_rebuild_equals_what_the_services_kept(history: list[Request]) -> None:
    kept = rollups_snapshot()
    assert kept  # the services wrote rollups
    assert sum(row["reopened"] for row in kept.values()) == 1  # the fixture exercises the replay
    assert rollups_compute() == kept
    result = rollups_rebuild()
    assert result.rows == len(kept) and result.requests == Request.objects.count() == 12
    assert result.replayed == 3  # two reopened, one transferred
    assert rollups_snapshot() == kept


def _levels_agree() -> None:
    """Each coarser level holds the finest level's counts summed over what it leaves out."""
    fine = rollups_snapshot()
    for level in (PlaceRollup, PeopleRollup):
        assert level_snapshot(level) == project(fine, level), level.__name__


def test_the_services_keep_every_level_in_step(history: list[Request], tree: Tree) -> None:
    _levels_agree()
    # Spot checks against the requests themselves, not the projection.
    assert sum(c[0] for c in level_snapshot(PlaceRollup).values()) == Request.objects.count()
    handled = {(k[2], k[3]) for k, c in level_snapshot(PeopleRollup).items() if c[1]}  # (handler, partner) with valid
    assert handled == {(r.handler_id or 0, r.organisation_id or 0)
                       for r in Request.objects.filter(status="closed", close_reason=CloseReason.RESOLVED)}
    assert PlaceRollup.objects.count() <= RequestRollup.objects.count()


def test_a_rebuild_writes_every_level(history: list[Request]) -> None:
    kept = {level: level_snapshot(level) for level in ROLLUP_LEVELS}
    PlaceRollup.objects.all().delete()
    PeopleRollup.objects.update(valid=77)
    result = rollups_rebuild()
    assert {level: level_snapshot(level) for level in ROLLUP_LEVELS} == kept
    assert result.levels == {level.__name__: len(rows) for level, rows in kept.items()}
    _levels_agree()


def test_a_rebuild_repairs_drift(history: list[Request]) -> None:
    kept = rollups_snapshot()
    RequestRollup.objects.filter(submitted__gt=0).update(submitted=99)
    RequestRollup.objects.filter(valid__gt=0).delete()
    RequestRollup.objects.create(community_id=history[0].community_id, community_path="x", category_id=history[0].category_id,
                                 day=at(2020, 1, 1).date(), submitted=5)
    assert rollups_snapshot() != kept
    rollups_rebuild()
    assert rollups_snapshot() == kept


def test_counted_on_the_local_day(history: list[Request]) -> None:
    first = history[0]
    row = RequestRollup.objects.get(submitted=1, category_id=first.category_id, community_id=first.community_id,
                                    day=at(2026, 11, 23).date())
    assert row.handler_id == 0
    # Closed at 23:50 local on the 25th (15:50 UTC), under its handler, beside the reopened
    # request that the same grid worker closed that morning.
    closed = RequestRollup.objects.get(valid__gt=0, handler_id=first.handler_id, day=at(2026, 11, 25).date())
    assert (closed.valid, closed.satisfied, closed.basically_satisfied, closed.breached) == (2, 1, 1, 0)


def test_one_community_is_rebuilt_alone(history: list[Request], tree: Tree) -> None:
    kept = rollups_snapshot()
    other = RequestRollup.objects.filter(community=tree.other_community)
    other_ids = set(other.values_list("pk", flat=True))
    assert other_ids  # the transferred request closed there
    RequestRollup.objects.filter(community=tree.community).delete()
    result = rollups_rebuild(community_ids=[tree.community.pk])
    assert set(other.values_list("pk", flat=True)) == other_ids  # untouched
    assert result.requests == Request.objects.filter(community=tree.community).count()
    assert rollups_snapshot() == kept
    assert rollups_snapshot(community_ids=[tree.community.pk]) == rollups_compute(community_ids=[tree.community.pk])


def test_totals_match_the_requests(history: list[Request]) -> None:
    rollups_rebuild()
    sums = RequestRollup.objects.aggregate(**{name: Sum(name) for name in ("submitted", "valid", "not_dispatched",
                                                                           "rated", "rated_excluded", "reopened")})
    closed = Request.objects.filter(status="closed")
    assert sums["submitted"] == Request.objects.count()
    assert sums["valid"] == closed.filter(close_reason=CloseReason.RESOLVED).count()
    assert sums["not_dispatched"] == closed.exclude(close_reason=CloseReason.RESOLVED).count() == 4
    assert sums["rated_excluded"] == 1  # the dispute
    assert sums["rated"] == closed.filter(rating__isnull=False).count() - 1
    assert sums["reopened"] == 1


def test_the_command_rebuilds_and_checks_its_arguments(history: list[Request], tree: Tree) -> None:
    kept = rollups_snapshot()
    RequestRollup.objects.all().delete()
    out = StringIO()
    call_command("requests", "rebuild-rollups", stdout=out)
    assert "已重建" in out.getvalue() and str(len(kept)) in out.getvalue()
    assert rollups_snapshot() == kept
    RequestRollup.objects.filter(community=tree.community).delete()
    call_command("requests", "rebuild-rollups", "--community", tree.community.code, stdout=StringIO())
    assert rollups_snapshot() == kept
    with pytest.raises(CommandError, match="找不到"):
        call_command("requests", "rebuild-rollups", "--community", "nope", stdout=StringIO())
    with pytest.raises(CommandError, match="不是社区"):
        call_command("requests", "rebuild-rollups", "--community", tree.grid.code, stdout=StringIO())


def test_without_requests_a_rebuild_clears_stale_rows(tree: Tree, repairs: Category) -> None:
    RequestRollup.objects.create(community=tree.community, community_path=tree.community.path, category=repairs,
                                 day=at(2026, 1, 1).date(), submitted=3)
    result = rollups_rebuild()
    assert (result.rows, result.requests, result.replayed) == (0, 0, 0)
    assert not RequestRollup.objects.exists()
