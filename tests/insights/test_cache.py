"""The sums behind the pages are cached per month: months that can no longer change are
kept, newer ones only until the next request event. The numbers never go stale."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from linli.insights.forms import local_today
from linli.insights.periods import month_period, year_period
from linli.insights.rollup_cache import Piece, frozen_before, rates_cache_clear, split_months
from linli.insights.selectors import Filters, dashboard, rates_nodes, rates_scope
from linli.requests import services as svc
from linli.requests.models import ROLLUP_LEVELS, Category, Rating, RequestRollup
from tests.conftest import Personas, Tree
from tests.insights.conftest import Cases, at

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("rates_clock")]


def _rollup_queries(personas: Personas, tree: Tree, period):  # type: ignore[no-untyped-def]
    scope = rates_scope(rates_nodes(personas.street_supervisor), tree.street.pk)
    categories = list(Category.objects.all())
    with CaptureQueriesContext(connection) as ctx:
        board = dashboard(scope, Filters(period=period), today=local_today(), categories=categories)
    tables = [level._meta.db_table for level in ROLLUP_LEVELS]
    return board, [q["sql"] for q in ctx.captured_queries if any(table in q["sql"] for table in tables)]


def test_each_tier_is_summed_again_only_when_it_may_have_changed(cases: Cases, personas: Personas,
                                                                  tree: Tree) -> None:
    assert frozen_before(local_today()) == at(2026, 11, 18).date()  # 20 Dec less 30 + 2 days
    cases.handle(start=at(2026, 9, 7, 9, 0))  # frozen
    december = cases.handle(start=at(2026, 12, 7, 9, 0), rating=Rating.DISSATISFIED)  # settled
    cases.submit()  # today
    board, queries = _rollup_queries(personas, tree, year_period(2026))
    assert board.totals.counts["valid"] == 2 and board.totals.counts["submitted"] == 3 and len(queries) == 2
    # Without a filter the page reads the coarser levels, never the finest.
    assert not any(RequestRollup._meta.db_table in sql for sql in queries)
    board, queries = _rollup_queries(personas, tree, year_period(2026))
    assert board.totals.counts["submitted"] == 3 and queries == []  # nothing written since
    # Something happens today: only today is summed again.
    cases.submit()
    board, queries = _rollup_queries(personas, tree, year_period(2026))
    assert board.totals.counts["submitted"] == 4 and len(queries) == 2
    assert "2026-12-20" in queries[0] and "2026-12-01" not in queries[0] and "2026-09-01" not in queries[0]
    # A reopen takes counts back from an earlier day: the days since the frozen ones too.
    svc.request_reopen(request=december, by=personas.resident, reason="还是坏的")
    board, queries = _rollup_queries(personas, tree, year_period(2026))
    assert board.totals.counts["valid"] == 1 and board.totals.counts["reopened"] == 1 and len(queries) == 2
    assert "2026-12-01" in queries[0] and "2026-11-01" in queries[0] and "2026-09-01" not in queries[0]


def test_a_change_is_seen_at_once(cases: Cases, personas: Personas, tree: Tree) -> None:
    req = cases.handle(start=at(2026, 12, 7, 9, 0), rating=Rating.DISSATISFIED, solved=False)
    board, _queries = _rollup_queries(personas, tree, month_period(2026, 12))
    assert board.totals.counts["valid"] == 1
    svc.request_reopen(request=req, by=personas.resident, reason="还是坏的", at=at(2026, 12, 15, 9, 0))
    board, _queries = _rollup_queries(personas, tree, month_period(2026, 12))
    assert board.totals.counts["valid"] == 0 and board.totals.counts["reopened"] == 1


def test_clearing_the_cache_after_a_bulk_change(cases: Cases, personas: Personas, tree: Tree) -> None:
    cases.handle(start=at(2026, 9, 7, 9, 0))
    board, _queries = _rollup_queries(personas, tree, month_period(2026, 9))
    assert board.totals.counts["valid"] == 1
    for level in ROLLUP_LEVELS:  # what a rebuild or a bulk load may do
        level._default_manager.filter(day__month=9).update(valid=5)
    board, _queries = _rollup_queries(personas, tree, month_period(2026, 9))
    assert board.totals.counts["valid"] == 1  # September cannot change through the services
    rates_cache_clear()
    board, _queries = _rollup_queries(personas, tree, month_period(2026, 9))
    assert board.totals.counts["valid"] == 5


def test_pieces_of_months() -> None:
    assert split_months(at(2026, 11, 20).date(), at(2027, 1, 5).date()) == [
        Piece(at(2026, 11, 20).date(), at(2026, 11, 30).date()),
        Piece(at(2026, 12, 1).date(), at(2026, 12, 31).date()),
        Piece(at(2027, 1, 1).date(), at(2027, 1, 5).date()),
    ]


@pytest.mark.django_db(transaction=True)
def test_a_moved_community_leaves_the_street_at_once(cases: Cases, personas: Personas, tree: Tree) -> None:
    from linli.places.models import PlaceKind
    from linli.places.services import place_create, place_move

    cases.handle(start=at(2026, 9, 7, 9, 0))
    cases.handle(start=at(2026, 9, 7, 9, 0), place=tree.far_household)
    board, _queries = _rollup_queries(personas, tree, month_period(2026, 9))
    assert board.totals.counts["valid"] == 2  # both communities, September now cached
    other_street = place_create(parent=tree.district, kind=PlaceKind.STREET, name="新华街道", code="s2")
    place_move(place=tree.other_community, parent=other_street)
    board, _queries = _rollup_queries(personas, tree, month_period(2026, 9))
    assert board.totals.counts["valid"] == 1
    assert [row.label for row in board.by_place] == [tree.community.name]


def test_each_read_goes_to_the_coarsest_level_that_has_its_columns() -> None:
    from linli.insights.rollup_cache import level_for
    from linli.requests.models import PeopleRollup, PlaceRollup

    assert level_for(("category_id", "grid_id")) is PlaceRollup
    assert level_for(("category_id", "community_id")) is PlaceRollup
    assert level_for(("handler_id", "organisation_id")) is PeopleRollup
    assert level_for(("handler_id", "organisation_id", "category_id")) is RequestRollup
    assert level_for(("category_id", "grid_id", "handler_id")) is RequestRollup
    with pytest.raises(ValueError, match="no rollup level"):
        level_for(("rating",))


def test_warming_fills_the_cache_for_the_first_visitor(cases: Cases, personas: Personas, tree: Tree) -> None:
    from linli.core.jobs import registered_jobs
    from linli.insights.periods import default_period
    from linli.insights.warm import rates_cache_warm
    from linli.requests.tasks import warm_rates

    cases.handle(start=at(2026, 12, 7, 9, 0))
    rates_cache_clear()
    board, queries = _rollup_queries(personas, tree, default_period(local_today()))
    assert queries  # a cold cache sums
    rates_cache_clear()
    done = rates_cache_warm()
    from linli.places.models import Place, PlaceKind

    kinds = Place.objects.filter(is_active=True).values_list("kind", flat=True)
    assert done["dashboards"] == sum(k in (PlaceKind.DISTRICT, PlaceKind.STREET, PlaceKind.COMMUNITY) for k in kinds) >= 3
    assert done["rankings"] == sum(k in (PlaceKind.DISTRICT, PlaceKind.STREET) for k in kinds) >= 1
    warmed, queries = _rollup_queries(personas, tree, default_period(local_today()))
    assert queries == [] and warmed.totals.counts == board.totals.counts
    jobs = {job.name: job for job in registered_jobs()}
    assert jobs["insights.warm_rates"].task is warm_rates and warm_rates.call()["dashboards"] == done["dashboards"]


def test_a_piece_still_valid_is_stored_again_so_later_views_scan_only_new_events(
        cases: Cases, personas: Personas, tree: Tree, monkeypatch: pytest.MonkeyPatch) -> None:
    from django.db.models import Max

    from linli.insights import rollup_cache
    from linli.requests.models import RequestEvent

    monkeypatch.setattr(rollup_cache, "RENEW_AFTER_EVENTS", 2)
    monkeypatch.setattr(rollup_cache, "_seen", [])  # no sightings from other tests' databases
    cases.handle(start=at(2026, 9, 7, 9, 0))  # a frozen month
    _rollup_queries(personas, tree, year_period(2026))
    before = RequestEvent.objects.aggregate(last=Max("id"))["last"]
    cases.submit()
    cases.submit()  # today: newer events; September is still right
    newest = RequestEvent.objects.aggregate(last=Max("id"))["last"]
    assert newest >= before + 2

    def marks_sql() -> str:
        with CaptureQueriesContext(connection) as ctx:
            board = dashboard(rates_scope(rates_nodes(personas.street_supervisor), tree.street.pk),
                              Filters(period=year_period(2026)), today=local_today(),
                              categories=list(Category.objects.all()))
        assert board.totals.counts["submitted"] == 3
        [sql] = [q["sql"] for q in ctx.captured_queries if "MAX" in q["sql"] and "requestevent" in q["sql"]]
        return sql

    assert f"> {before}" in marks_sql()  # September was summed before the two new requests
    # Renewed only up to an event seen RENEW_LAG_SECONDS ago (one committed late is not passed over):
    assert f"> {before}" in marks_sql()
    monkeypatch.setattr(rollup_cache, "RENEW_LAG_SECONDS", 0.0)
    assert f"> {before}" in marks_sql()  # this view renews September ...
    assert f"> {newest}" in marks_sql()  # ... so it is known right as of the newest event
