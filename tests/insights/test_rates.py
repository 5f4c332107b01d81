"""The three rates against numbers worked out by hand, from requests handled through
the real services with deadlines met or missed on purpose."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from linli.accounts.models import Organisation, User
from linli.insights.forms import local_today
from linli.insights.periods import Period, custom_period, month_period, quarter_period, year_period
from linli.insights.selectors import (
    DEFAULT_WEIGHTS,
    Dashboard,
    Filters,
    Ranking,
    Weights,
    dashboard,
    ranking,
    rates_nodes,
    rates_scope,
    weights_for,
)
from linli.places.models import Place
from linli.requests import services as svc
from linli.requests.models import Category, RatesConfig, Rating
from tests.conftest import Personas, Tree
from tests.insights.conftest import Cases, at

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("rates_clock")]
NOV = month_period(2026, 11)
DEC = month_period(2026, 12)


def board(user: User, place: Place | None = None, period: Period = NOV, **filters: Any) -> Dashboard:
    scope = rates_scope(rates_nodes(user), place.pk if place is not None else None)
    categories = list(Category.objects.order_by("order", "code"))
    return dashboard(scope, Filters(period=period, **filters), today=local_today(), categories=categories)


def rank(user: User, place: Place, period: Period) -> Ranking:
    scope = rates_scope(rates_nodes(user, ranking=True), place.pk, ranking=True)
    return ranking(scope, period, today=local_today(), categories=list(Category.objects.all()))


def four_cases(cases: Cases, **fields: Any) -> None:
    """4 valid cases: 3 contacted in time, 2 solved, 1 resolved late; rated 5, 4, 3, 2."""
    cases.handle(rating=Rating.VERY_SATISFIED, **fields)
    cases.handle(rating=Rating.SATISFIED, solved=False, **fields)
    cases.handle(rating=Rating.BASICALLY_SATISFIED, resolve_in_time=False, **fields)
    cases.handle(rating=Rating.DISSATISFIED, contact_in_time=False, solved=False, **fields)


def test_the_three_rates_and_the_composite(cases: Cases, personas: Personas, tree: Tree) -> None:
    four_cases(cases)
    b = board(personas.street_supervisor, tree.community)
    counts = b.totals.counts
    assert (counts["valid"], counts["responded_in_time"], counts["solved"], counts["rated"]) == (4, 3, 2, 4)
    assert b.totals.response == pytest.approx(3 / 4)  # 75 %
    assert b.totals.resolution == pytest.approx(2 / 4)  # 50 %
    # (very satisfied + satisfied + 0.9 × basically satisfied) ÷ rated = (1 + 1 + 0.9) / 4
    assert b.totals.satisfaction == pytest.approx(2.9 / 4)
    assert b.totals.composite == pytest.approx(0.1 * 0.75 + 0.5 * 0.5 + 0.4 * 0.725)  # 0.615
    assert b.totals.timeliness == pytest.approx(3 / 4)
    assert counts["breached"] == 1 and counts["resolved_in_time"] == 3
    assert counts["submitted"] == 4 and counts["not_dispatched"] == 0
    assert b.weights == DEFAULT_WEIGHTS


def test_configured_weights_nearest_place_on_the_chain_wins(cases: Cases, personas: Personas, tree: Tree) -> None:
    four_cases(cases)
    four_cases(cases, place=tree.far_household)
    RatesConfig.objects.create(place=None, response_weight=1, resolution_weight=0, satisfaction_weight=0,
                               basic_weight="0.5")
    RatesConfig.objects.create(place=tree.street, response_weight="0.3", resolution_weight="0.35",
                               satisfaction_weight="0.35", basic_weight="0.9")
    RatesConfig.objects.create(place=tree.community, response_weight="0.2", resolution_weight="0.4",
                               satisfaction_weight="0.4", basic_weight="0.8")
    mine = board(personas.street_supervisor, tree.community)
    # The community's own row: satisfaction (1 + 1 + 0.8 × 1) / 4 = 0.7
    assert mine.weights == Weights(0.2, 0.4, 0.4, 0.8, source=tree.community.name)
    assert mine.totals.satisfaction == pytest.approx(0.7)
    assert mine.totals.composite == pytest.approx(0.2 * 0.75 + 0.4 * 0.5 + 0.4 * 0.7)  # 0.63
    # The other community has none of its own: the street's row applies.
    other = board(personas.street_supervisor, tree.other_community)
    assert other.weights.source == tree.street.name
    assert other.totals.composite == pytest.approx(0.3 * 0.75 + 0.35 * 0.5 + 0.35 * 0.725)
    # Above the street, the row without a place; without any row, the defaults.
    assert weights_for(tree.district) == Weights(1.0, 0.0, 0.0, 0.5, source="")
    RatesConfig.objects.all().delete()
    assert weights_for(tree.community) == DEFAULT_WEIGHTS == Weights(0.1, 0.5, 0.4, 0.9)


@pytest.mark.parametrize(("basic", "expected"), [(None, 0.9), ("0.5", 0.5), ("1", 1.0), ("0", 0.0)])
def test_the_basically_satisfied_weight(cases: Cases, personas: Personas, tree: Tree, basic: str | None,
                                        expected: float) -> None:
    cases.handle(rating=Rating.BASICALLY_SATISFIED)
    cases.handle(rating=Rating.BASICALLY_SATISFIED)
    if basic is not None:
        RatesConfig.objects.create(place=None, basic_weight=basic)
    b = board(personas.street_supervisor, tree.community)
    assert b.totals.counts["basically_satisfied"] == 2
    assert b.totals.satisfaction == pytest.approx(expected)  # 2 × w ÷ 2


def test_mediation_cases_are_left_out_of_the_satisfaction_rate(cases: Cases, personas: Personas, tree: Tree,
                                                               dispute: Category) -> None:
    assert dispute.excluded_from_satisfaction
    cases.handle(rating=Rating.VERY_DISSATISFIED, category=dispute, attributes={}, title="邻居噪音纠纷")
    cases.handle(rating=Rating.SATISFIED)
    b = board(personas.street_supervisor, tree.community)
    counts = b.totals.counts
    assert counts["valid"] == 2 and counts["rated"] == 1 and counts["rated_excluded"] == 1
    assert counts["very_dissatisfied"] == 0
    assert b.totals.satisfaction == pytest.approx(1.0)  # the mediation's rating does not count
    assert b.totals.response == pytest.approx(1.0) and b.totals.resolution == pytest.approx(1.0)
    by_code = {row.code: row for row in b.by_category}
    assert by_code["dispute"].rates.satisfaction is None  # rated, but nothing counts: "—"
    assert by_code["dispute"].rates.counts["rated_excluded"] == 1


def test_a_reopen_takes_the_earlier_counts_back(cases: Cases, personas: Personas, tree: Tree) -> None:
    req = cases.handle(rating=Rating.DISSATISFIED, solved=False, rate_at=at(2026, 11, 20, 18, 0))
    cases.handle(rating=Rating.VERY_SATISFIED)
    before = board(personas.street_supervisor, tree.community).totals
    assert before.counts["valid"] == 2 and before.satisfaction == pytest.approx(0.5)
    req = svc.request_reopen(request=req, by=personas.resident, reason="问题没有解决", at=at(2026, 11, 25, 9, 0))
    after = board(personas.street_supervisor, tree.community).totals
    assert after.counts["valid"] == 1 and after.counts["dissatisfied"] == 0 and after.counts["reopened"] == 1
    assert after.satisfaction == pytest.approx(1.0) and after.resolution == pytest.approx(1.0)
    # Handled again and rated in December: it counts there, once.
    req = svc.request_resolve(request=req, by=personas.staff, resolution="重新处理好了。", at=at(2026, 12, 1, 10, 0))
    svc.request_rate(request=req, by=personas.resident, rating=Rating.SATISFIED, solved=True,
                     at=at(2026, 12, 1, 18, 0))
    dec = board(personas.street_supervisor, tree.community, period=DEC).totals
    assert dec.counts["valid"] == 1 and dec.counts["satisfied"] == 1 and dec.counts["reopened"] == 0
    quarter = board(personas.street_supervisor, tree.community, period=quarter_period(2026, 4)).totals
    assert quarter.counts["valid"] == 2 and quarter.counts["reopened"] == 1
    assert quarter.satisfaction == pytest.approx(1.0)


def test_not_dispatched_and_intake_counts(cases: Cases, personas: Personas, tree: Tree) -> None:
    cases.not_dispatched()
    cases.not_dispatched()
    cases.submit(at=at(2026, 11, 10, 9, 0))  # still open
    b = board(personas.street_supervisor, tree.community)
    counts = b.totals.counts
    assert counts["submitted"] == 3 and counts["not_dispatched"] == 2 and counts["valid"] == 0
    # Nothing valid: every rate has a zero denominator, so none is given (not 0 %).
    assert (b.totals.response, b.totals.resolution, b.totals.satisfaction, b.totals.composite) == (None,) * 4


def test_zero_denominators_give_no_rate(cases: Cases, personas: Personas, tree: Tree) -> None:
    empty = board(personas.street_supervisor, tree.community)
    assert empty.totals.counts["valid"] == 0 and empty.totals.composite is None
    assert [p.rates.response for p in empty.trend] == [None] * 12
    cases.handle(rating=None)  # resolved, never rated
    svc_rated = board(personas.street_supervisor, tree.community, period=NOV)
    assert svc_rated.totals.counts["valid"] == 0  # still waiting for its return visit
    from linli.requests.deadlines import request_autoclose_unrated

    assert request_autoclose_unrated(at=at(2026, 11, 30, 9, 0)) == 1  # closed without a rating
    b = board(personas.street_supervisor, tree.community)
    assert b.totals.counts["valid"] == 1 and b.totals.counts["rated"] == 0
    assert b.totals.response == pytest.approx(1.0) and b.totals.satisfaction is None
    assert b.totals.composite is None  # a missing rate never counts as zero


def test_the_closing_day_decides_the_period(cases: Cases, personas: Personas, tree: Tree) -> None:
    # Local (Asia/Shanghai) days: 23:30 on 30 November and 00:30 on 1 December.
    cases.handle(start=at(2026, 11, 23, 9, 0), rate_at=at(2026, 11, 30, 23, 30))
    cases.handle(start=at(2026, 11, 23, 9, 0), rate_at=at(2026, 12, 1, 0, 30), rating=Rating.SATISFIED)
    valid = {period.key: board(personas.street_supervisor, tree.community, period=period).totals.counts["valid"]
             for period in (NOV, DEC, quarter_period(2026, 4), year_period(2026), year_period(2025),
                            custom_period(at(2026, 11, 30).date(), at(2026, 12, 1).date(), today=local_today()),
                            custom_period(at(2026, 12, 1).date(), at(2026, 12, 1).date(), today=local_today()))}
    assert valid == {"2026-11": 1, "2026-12": 1, "2026-Q4": 2, "2026": 2, "2025": 0,
                     "2026-11-30~2026-12-01": 2, "2026-12-01~2026-12-01": 1}


def test_the_monthly_trend(cases: Cases, personas: Personas, tree: Tree) -> None:
    cases.handle(start=at(2026, 10, 12, 9, 0), contact_in_time=False)
    cases.handle()
    cases.handle(start=at(2026, 12, 7, 9, 0))
    b = board(personas.street_supervisor, tree.community, period=DEC)
    assert [p.key for p in b.trend] == [f"2026-{m:02d}" for m in range(1, 13)]
    trend = {p.key: p.rates for p in b.trend}
    assert trend["2026-10"].response == 0.0 and trend["2026-11"].response == 1.0
    assert trend["2026-12"].counts["valid"] == 1 and trend["2026-09"].response is None
    assert b.totals.counts["valid"] == 1  # the period is December only
    # A custom range that starts and ends inside months still gives whole months in the trend.
    custom = custom_period(at(2026, 10, 15).date(), at(2026, 11, 15).date(), today=local_today())
    b = board(personas.street_supervisor, tree.community, period=custom)
    trend = {p.key: p.rates for p in b.trend}
    assert trend["2026-10"].counts["valid"] == 1 and trend["2026-11"].counts["valid"] == 1
    assert b.totals.counts["valid"] == 1  # the October case closed before the 15th


def test_breakdowns_by_place(cases: Cases, personas: Personas, tree: Tree) -> None:
    other_building = Place.objects.get(code="b2")
    four_cases(cases)
    cases.handle(place=other_building, contact_in_time=False)
    cases.handle(place=tree.far_household, rating=Rating.SATISFIED)
    street = board(personas.street_supervisor, tree.street)
    assert street.child_label == "社区"
    rows = {row.label: row.rates for row in street.by_place}
    assert set(rows) == {tree.community.name, tree.other_community.name}
    assert rows[tree.community.name].counts["valid"] == 5
    assert rows[tree.community.name].response == pytest.approx(3 / 5)
    assert rows[tree.other_community.name].counts["valid"] == 1
    assert street.totals.counts["valid"] == 6
    community = board(personas.street_supervisor, tree.community)
    assert community.child_label == "网格"
    grids = {row.label: row.rates.counts["valid"] for row in community.by_place}
    assert grids == {tree.grid.name: 4, tree.other_grid.name: 1}
    grid = board(personas.street_supervisor, tree.other_grid)
    assert grid.totals.counts["valid"] == 1 and grid.totals.response == 0.0 and grid.by_place == []


def test_breakdowns_by_handler_and_partner_and_their_filters(cases: Cases, personas: Personas, tree: Tree,
                                                             property_manager: Organisation) -> None:
    cases.handle(handler=personas.grid_worker)
    cases.handle(handler=personas.grid_worker, contact_in_time=False, rating=Rating.SATISFIED)
    cases.handle(partner=property_manager, solved=False)
    cases.handle()  # nobody assigned: the community handled it itself
    b = board(personas.street_supervisor, tree.community)
    handlers = {row.key: row.rates for row in b.by_handler}
    assert handlers[personas.grid_worker.pk].counts["valid"] == 2
    assert handlers[personas.grid_worker.pk].response == pytest.approx(0.5)
    assert handlers[0].counts["valid"] == 2  # the partner's case and the unassigned one
    assert [row.label for row in b.by_handler] == [str(personas.grid_worker), "未分派到个人"]
    partners = {row.label: row.rates for row in b.by_partner}
    assert partners[property_manager.name].counts["valid"] == 1
    assert partners[property_manager.name].resolution == 0.0
    assert partners["社区自办"].counts["valid"] == 3

    mine = board(personas.street_supervisor, tree.community, handler=personas.grid_worker.pk)
    assert mine.totals.counts["valid"] == 2 and mine.totals.response == pytest.approx(0.5)
    assert mine.totals.satisfaction == pytest.approx(1.0)
    assert not mine.intake_counted and mine.totals.counts["submitted"] == 0
    # The handler breakdown keeps every handler (the chosen one marked); partners follow the filter.
    assert {row.key for row in mine.by_handler} == {personas.grid_worker.pk, 0}
    assert [row.selected for row in mine.by_handler] == [True, False]
    assert {row.label: row.rates.counts["valid"] for row in mine.by_partner} == {"社区自办": 2}

    theirs = board(personas.street_supervisor, tree.community, partner=property_manager.pk)
    assert theirs.totals.counts["valid"] == 1 and theirs.totals.resolution == 0.0
    assert {row.key: row.rates.counts["valid"] for row in theirs.by_handler} == {0: 1}


def test_category_filter_and_its_breakdown(cases: Cases, personas: Personas, tree: Tree,
                                           suggestion: Category) -> None:
    cases.handle(contact_in_time=False)
    cases.handle(category=suggestion, attributes={}, title="建议增加健身器材")
    repairs = Category.objects.get(code="repairs")
    b = board(personas.street_supervisor, tree.community, category=repairs)
    assert b.totals.counts["valid"] == 1 and b.totals.response == 0.0
    assert b.totals.counts["submitted"] == 1 and b.intake_counted
    assert {row.code: (row.rates.counts["valid"], row.selected) for row in b.by_category} == {
        "repairs": (1, True), "suggestion": (1, False)}
    assert [p.rates.counts["valid"] for p in b.trend if p.key == "2026-11"] == [1]
    assert {row.label: row.rates.counts["valid"] for row in b.by_place} == {tree.grid.name: 1,
                                                                             tree.other_grid.name: 0}


def test_the_ranking_orders_communities_and_shows_the_change(cases: Cases, personas: Personas,
                                                             tree: Tree) -> None:
    # November: this community does everything right, the other misses its contacts.
    cases.handle()
    cases.handle(place=tree.far_household, contact_in_time=False, solved=False, rating=Rating.DISSATISFIED)
    # December: the other way round.
    cases.handle(start=at(2026, 12, 7, 9, 0), contact_in_time=False, solved=False, rating=Rating.DISSATISFIED)
    cases.handle(start=at(2026, 12, 7, 9, 0), place=tree.far_household)
    nov = rank(personas.street_supervisor, tree.street, NOV)
    assert [(r.place.name, r.rank) for r in nov.rows] == [(tree.community.name, 1), (tree.other_community.name, 2)]
    assert nov.rows[0].rates.composite == pytest.approx(1.0)
    assert nov.rows[1].rates.composite == pytest.approx(0.1 * 0 + 0.5 * 0 + 0.4 * 0)
    dec = rank(personas.street_supervisor, tree.street, DEC)
    assert dec.previous.key == "2026-11"
    assert [(r.place.name, r.rank, r.previous_rank, r.change) for r in dec.rows] == [
        (tree.other_community.name, 1, 2, 1), (tree.community.name, 2, 1, -1)]
    oct_ = rank(personas.street_supervisor, tree.street, month_period(2026, 10))
    assert [(r.rank, r.previous_rank, r.change) for r in oct_.rows] == [(None, None, None)] * 2


def test_equal_scores_share_a_rank(cases: Cases, personas: Personas, tree: Tree) -> None:
    cases.handle()
    cases.handle(place=tree.far_household)
    nov = rank(personas.street_supervisor, tree.street, NOV)
    assert [r.rank for r in nov.rows] == [1, 1]


def test_scope(cases: Cases, personas: Personas, tree: Tree) -> None:
    lead_nodes = rates_nodes(personas.lead)
    assert {p.pk for p in lead_nodes} == {tree.community.pk, tree.grid.pk, tree.other_grid.pk}
    assert rates_scope(lead_nodes, None).node == tree.community
    with pytest.raises(Http404):
        rates_scope(lead_nodes, tree.other_community.pk)
    with pytest.raises(Http404):
        rates_scope(lead_nodes, tree.street.pk)
    street_nodes = rates_nodes(personas.street_supervisor)
    assert rates_scope(street_nodes, None).node == tree.street
    assert rates_scope(street_nodes, tree.other_community.pk).node == tree.other_community
    for who in ("outsider", "resident", "grid_worker", "partner"):
        with pytest.raises(PermissionDenied):
            rates_nodes(getattr(personas, who))
    with pytest.raises(PermissionDenied):
        rates_nodes(personas.lead, ranking=True)  # a community has nothing to rank against
    assert [p.pk for p in rates_nodes(personas.auditor)] == [p.pk for p in lead_nodes]
