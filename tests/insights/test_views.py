"""The rates pages: what each persona reaches, what the page says, how many queries it
takes, and the Excel export holding the same numbers."""

from __future__ import annotations

from io import BytesIO
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from linli.accounts.models import Organisation
from linli.requests.models import Rating
from tests.conftest import Personas, Tree, login
from tests.insights.conftest import Cases, at
from tests.insights.test_rates import four_cases

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("rates_clock")]
RATES = reverse("insights:rates")
RANKING = reverse("insights:ranking")
EXPORT = reverse("insights:export")
RANKING_EXPORT = reverse("insights:ranking_export")


def get(client: Client, url: str, **params: Any) -> Any:
    return client.get(url, params)


def test_dashboard_shows_the_rates_with_their_counts(client: Client, cases: Cases, personas: Personas,
                                                     tree: Tree) -> None:
    four_cases(cases)
    login(client, personas.lead)
    response = get(client, RATES, period="2026-11")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-testid="response">75.0%' in body
    assert 'data-testid="resolution">50.0%' in body
    assert 'data-testid="satisfaction">72.5%' in body
    assert 'data-testid="composite">61.5' in body


def test_dashboard_counts_and_method(client: Client, cases: Cases, personas: Personas, tree: Tree) -> None:
    four_cases(cases)
    cases.not_dispatched()
    login(client, personas.staff)
    body = get(client, RATES, period="2026-11").content.decode()
    assert 'data-testid="submitted">5<' in body and 'data-testid="valid">4<' in body
    assert 'data-testid="timeliness">75.0%' in body and 'data-testid="breached">1<' in body
    assert 'data-testid="not_dispatched">1<' in body and 'data-testid="reopened">0<' in body
    assert "按时联系 3 / 有效 4 件" in body and "已解决 2 / 有效 4 件" in body
    assert "非常满意 1、满意 1、基本满意 1 / 评价 4 件" in body
    assert "权重：系统默认值。" in body and "0.9 × 基本满意" in body
    assert 'id="rates-data"' in body and "vendor/echarts.min.js" in body and "insights/charts.js" in body
    assert "<script>" not in body  # data travels in json_script, never an inline script


def test_zero_denominators_show_a_dash(client: Client, cases: Cases, personas: Personas) -> None:
    cases.not_dispatched()
    login(client, personas.lead)
    body = get(client, RATES, period="2026-11").content.decode()
    for key in ("response", "resolution", "satisfaction", "composite", "timeliness"):
        assert f'data-testid="{key}">—' in body, key
    assert "0.0%" not in body
    assert "不是 0 分" in body


def test_a_community_lead_sees_only_their_community(client: Client, cases: Cases, personas: Personas,
                                                    tree: Tree) -> None:
    cases.handle()
    cases.handle(place=tree.far_household, contact_in_time=False)
    login(client, personas.lead)
    response = get(client, RATES, period="2026-11")
    body = response.content.decode()
    assert response.status_code == 200
    assert tree.community.name in body and tree.other_community.name not in body
    assert 'data-testid="response">100.0%' in body
    assert reverse("insights:ranking") not in body  # nothing to rank against
    assert get(client, RATES, place=tree.other_community.pk).status_code == 404
    assert get(client, RATES, place=tree.street.pk).status_code == 404
    assert get(client, EXPORT, place=tree.other_community.pk).status_code == 404
    assert get(client, RATES, place=tree.grid.pk, period="2026-11").status_code == 200


def test_the_street_supervisor_reaches_both_communities(client: Client, cases: Cases, personas: Personas,
                                                        tree: Tree) -> None:
    cases.handle()
    cases.handle(place=tree.far_household, contact_in_time=False)
    login(client, personas.street_supervisor)
    body = get(client, RATES, period="2026-11").content.decode()
    assert tree.street.name in body and 'data-testid="response">50.0%' in body
    assert tree.community.name in body and tree.other_community.name in body
    body = get(client, RATES, period="2026-11", place=tree.other_community.pk).content.decode()
    assert 'data-testid="response">0.0%' in body


@pytest.mark.parametrize("who", ["resident", "grid_worker", "partner", "outsider"])
def test_people_without_the_rates_get_403(client: Client, personas: Personas, who: str) -> None:
    login(client, getattr(personas, who))
    for url in (RATES, EXPORT, RANKING, RANKING_EXPORT):
        assert client.get(url).status_code == 403, url


def test_the_auditor_reads_the_rates_but_ranks_nothing(client: Client, personas: Personas) -> None:
    login(client, personas.auditor)
    assert client.get(RATES).status_code == 200
    assert client.get(EXPORT).status_code == 200
    assert client.get(RANKING).status_code == 403


def test_sign_in_is_required(client: Client) -> None:
    for url in (RATES, EXPORT, RANKING, RANKING_EXPORT):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize(("params", "message"), [
    ({"period": "2026-13"}, "月份须在 1 至 12 之间"),
    ({"period": "1999"}, "年份须在"),
    ({"period": "next week"}, "统计期格式应为"),
    ({"period": "<script>alert(1)</script>"}, "统计期格式应为"),
    ({"period": "custom", "start": "2026-11-01"}, "自定义时段请填写开始和结束日期"),
    ({"period": "custom", "start": "2026-11-09", "end": "2026-11-01"}, "结束日期不能早于开始日期"),
    ({"period": "custom", "start": "2020-01-01", "end": "2026-11-01"}, "自定义时段最长 3 年"),
    ({"start": "2026-02-30", "end": "2026-03-01"}, "日期"),
    ({"category": "nope"}, "nope"),
    ({"handler": "-1"}, "承办人"),
    ({"partner": "x"}, "合作单位"),
    ({"place": "abc"}, "地点"),
    ({"place": "99999999999999999999999"}, "地点"),
])
def test_bad_filters_get_a_clear_message(client: Client, personas: Personas, params: dict[str, str],
                                         message: str) -> None:
    login(client, personas.street_supervisor)
    response = client.get(RATES, params)
    assert response.status_code == 400
    body = response.content.decode()
    assert 'class="errorlist"' in body and message in body
    assert "请修正上面的筛选条件" in body
    assert client.get(EXPORT, params).status_code == 400
    if "handler" not in params and "partner" not in params:
        assert client.get(RANKING, params).status_code == 400


def test_the_ranking_page(client: Client, cases: Cases, personas: Personas, tree: Tree) -> None:
    cases.handle()
    cases.handle(place=tree.far_household, contact_in_time=False, solved=False, rating=Rating.DISSATISFIED)
    cases.handle(start=at(2026, 12, 7, 9, 0), contact_in_time=False, solved=False, rating=Rating.DISSATISFIED)
    cases.handle(start=at(2026, 12, 7, 9, 0), place=tree.far_household)
    login(client, personas.street_supervisor)
    response = get(client, RANKING, period="2026-12")
    body = response.content.decode()
    assert response.status_code == 200
    assert body.index(tree.other_community.name) < body.index(tree.community.name, body.index("<tbody>"))
    assert "上升 1 位" in body and "下降 1 位" in body and "2026年11月" in body
    assert get(client, RANKING, place=tree.community.pk).status_code == 404  # a community ranks nothing
    assert get(client, RANKING, place=tree.district.pk).status_code == 404  # above the scope


def test_htmx_gets_only_the_results(client: Client, cases: Cases, personas: Personas) -> None:
    cases.handle()
    login(client, personas.lead)
    body = client.get(RATES, {"period": "2026-11"}, headers={"HX-Request": "true"}).content.decode()
    assert body.lstrip().startswith('<div id="results">') and "<html" not in body
    assert 'data-testid="response">100.0%' in body


def test_handler_filter_leaves_intake_uncounted(client: Client, cases: Cases, personas: Personas,
                                                property_manager: Organisation) -> None:
    cases.handle(handler=personas.grid_worker)
    cases.handle(partner=property_manager)
    login(client, personas.lead)
    body = get(client, RATES, period="2026-11", handler=personas.grid_worker.pk).content.decode()
    assert 'data-testid="valid">1<' in body and 'data-testid="submitted">—<' in body
    assert "按承办人或合作单位筛选时不显示" in body
    assert f'<option value="{personas.grid_worker.pk}" selected>{personas.grid_worker}</option>' in body
    body = get(client, RATES, period="2026-11", partner=property_manager.pk).content.decode()
    assert f'<option value="{property_manager.pk}" selected>{property_manager.name}</option>' in body


def test_elder_mode_renders(client: Client, cases: Cases, personas: Personas) -> None:
    cases.handle()
    personas.lead.elder_mode = True
    personas.lead.save(update_fields=["elder_mode"])
    login(client, personas.lead)
    body = get(client, RATES, period="2026-11").content.decode()
    assert 'class="elder"' in body and 'data-testid="composite">100.0' in body


# Query counts ---------------------------------------------------------------------------

def _many(cases: Cases, tree: Tree, personas: Personas, organisation: Organisation, n: int) -> None:
    from linli.requests.models import Category

    categories = [c for c in Category.objects.filter(code__in=["repairs", "sanitation", "noise", "suggestion"])]
    places = [tree.household, tree.far_household]
    for i in range(n):
        extra: dict[str, Any] = {"category": categories[i % 4], "place": places[i % 2], "title": f"诉求 {i}"}
        if categories[i % 4].code != "repairs":
            extra["attributes"] = {} if categories[i % 4].code != "noise" else {"when": "night"}
        if i % 5 == 1:
            cases.not_dispatched(**extra)
            continue
        if i % 3 == 0 and places[i % 2] == tree.household:
            extra["handler"] = personas.grid_worker
        elif i % 3 == 1 and places[i % 2] == tree.household:
            extra["partner"] = organisation
        cases.handle(start=at(2026, 9 + i % 3, 7, 9, 0), contact_in_time=i % 4 != 0, rating=1 + i % 5,
                     solved=i % 3 != 2, **extra)


def _count(client: Client, url: str, params: dict[str, Any]) -> int:
    from django.core.cache import cache

    cache.clear()
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(ctx.captured_queries)


PAGES = [
    (RATES, {"period": "2026-Q4"}),
    (RATES, {"period": "2026", "category": "repairs"}),
    (EXPORT, {"period": "2026-Q4"}),
    (RANKING, {"period": "2026-11"}),
    (RANKING_EXPORT, {"period": "2026-11"}),
    ("/api/v1/insights/rates", {"period": "2026-Q4"}),
    ("/api/v1/insights/ranking", {"period": "2026-11"}),
]


def test_query_counts_do_not_grow_with_the_requests(client: Client, cases: Cases, personas: Personas, tree: Tree,
                                                     property_manager: Organisation) -> None:
    login(client, personas.street_supervisor)
    _many(cases, tree, personas, property_manager, 10)
    with_10 = [_count(client, url, params) for url, params in PAGES]
    _many(cases, tree, personas, property_manager, 40)
    with_50 = [_count(client, url, params) for url, params in PAGES]
    assert with_10 == with_50
    # The JSON and the exports: session, user, grants; scope nodes, categories, weights;
    # the newest event; the grouped rollup queries (two for the dashboard, one for the
    # ranking); the names of handlers and partners. The pages add what the base
    # template reads (e.g. the unread notifications).
    assert [with_50[2], with_50[4], with_50[5], with_50[6]] == [11, 8, 11, 8], with_50
    assert with_50[0] <= 13 and with_50[3] <= 10, with_50


def test_query_count_of_the_lead_dashboard(client: Client, cases: Cases, personas: Personas,
                                           property_manager: Organisation, tree: Tree) -> None:
    login(client, personas.lead)
    counts = []
    for n in (3, 12):
        _many(cases, tree, personas, property_manager, n)
        counts.append(_count(client, "/api/v1/insights/rates", {"period": "2026-Q4"}))
    assert counts == [11, 11]


# The Excel export -------------------------------------------------------------------------

def _sheet_rows(content: bytes, title: str) -> list[tuple[Any, ...]]:
    book = load_workbook(BytesIO(content))
    return [tuple(row) for row in book[title].iter_rows(values_only=True)]


def test_the_export_holds_the_numbers_of_the_page(client: Client, cases: Cases, personas: Personas,
                                                  tree: Tree, property_manager: Organisation) -> None:
    four_cases(cases)
    cases.handle(place=tree.far_household, partner=None, contact_in_time=False)
    cases.handle(partner=property_manager, rating=Rating.BASICALLY_SATISFIED)
    login(client, personas.street_supervisor)
    response = get(client, EXPORT, period="2026-11", place=tree.community.pk)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    assert "attachment;" in response["Content-Disposition"] and ".xlsx" in response["Content-Disposition"]
    book = load_workbook(BytesIO(response.content))
    assert book.sheetnames == ["概览", "月度趋势", "按类别", "按网格", "按承办人", "按合作单位"]
    summary = [row for row in book["概览"].iter_rows(values_only=True)]
    info = {row[0]: row[1] for row in summary if row and row[0]}
    assert info["地点"] == tree.community.name and info["统计期"] == "2026年11月"
    assert info["受理量（按提交日）"] == 5 and info["响应率权重"] == pytest.approx(0.1)
    header = next(row for row in summary if row[1] == "有效件")
    total = dict(zip(header, summary[summary.index(header) + 1], strict=True))
    # 5 valid: 4 contacted in time; 3 solved; ratings 5, 4, 3, 2, 3.
    assert total["有效件"] == 5
    assert total["响应率"] == pytest.approx(4 / 5) and total["解决率"] == pytest.approx(3 / 5)
    assert total["满意率"] == pytest.approx((1 + 1 + 0.9 * 2) / 5)
    assert total["综合得分"] == pytest.approx(round(100 * (0.1 * 0.8 + 0.5 * 0.6 + 0.4 * 0.76), 2))
    partners = _sheet_rows(response.content, "按合作单位")
    assert partners[0][:3] == ("合作单位", "有效件", "响应率")
    assert {row[0]: row[1] for row in partners[1:]} == {property_manager.name: 1, "社区自办": 4}
    # The page says the same.
    body = get(client, RATES, period="2026-11", place=tree.community.pk).content.decode()
    assert 'data-testid="response">80.0%' in body and 'data-testid="satisfaction">76.0%' in body


def test_the_export_follows_the_filters_and_shows_dashes(client: Client, cases: Cases, personas: Personas,
                                                         tree: Tree) -> None:
    cases.handle(handler=personas.grid_worker, contact_in_time=False)
    cases.handle()
    login(client, personas.lead)
    response = get(client, EXPORT, period="2026-11", handler=personas.grid_worker.pk)
    book = load_workbook(BytesIO(response.content))
    info = {row[0]: row[1] for row in book["概览"].iter_rows(values_only=True) if row and row[0]}
    assert info["承办人"] == str(personas.grid_worker) and info["受理量（按提交日）"] == "—"
    trend = {row[0]: row for row in book["月度趋势"].iter_rows(values_only=True)}
    assert trend["2026年11月"][1:3] == (1, 0)  # one valid case, contacted late
    assert trend["2026年10月"][1:6] == (0, "—", "—", "—", "—")  # nothing there: no rate, not 0 %


def test_the_ranking_export(client: Client, cases: Cases, personas: Personas, tree: Tree) -> None:
    cases.handle()
    cases.handle(place=tree.far_household, contact_in_time=False)
    login(client, personas.street_supervisor)
    response = get(client, RANKING_EXPORT, period="2026-11")
    rows = _sheet_rows(response.content, "社区排名")
    assert rows[0][:6] == ("名次", "社区", "上期名次", "上期得分", "有效件", "响应率")
    assert [(r[0], r[1], r[4], r[5]) for r in rows[1:]] == [(1, tree.community.name, 1, 1.0),
                                                         (2, tree.other_community.name, 1, 0.0)]
