"""The rates over JSON: the same numbers as the page, the API's error shape."""

from __future__ import annotations

import pytest
from django.test import Client

from linli.accounts.models import Organisation
from linli.requests.models import Rating
from tests.conftest import Personas, Tree, login
from tests.insights.conftest import Cases, at
from tests.insights.test_rates import four_cases

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("rates_clock")]
RATES = "/api/v1/insights/rates"
RANKING = "/api/v1/insights/ranking"


def test_rates_as_json(client: Client, cases: Cases, personas: Personas, tree: Tree,
                       property_manager: Organisation) -> None:
    four_cases(cases)
    cases.handle(partner=property_manager, rating=Rating.SATISFIED, contact_in_time=False)
    login(client, personas.lead)
    response = client.get(RATES, {"period": "2026-11"})
    assert response.status_code == 200
    data = response.json()
    assert data["place"] == {"id": tree.community.pk, "name": tree.community.name, "kind": "community"}
    assert data["period"] == {"key": "2026-11", "label": "2026年11月", "start": "2026-11-01", "end": "2026-11-30"}
    assert data["weights"] == {"response": 0.1, "resolution": 0.5, "satisfaction": 0.4, "basic": 0.9,
                               "source": None}
    totals = data["totals"]
    assert totals["counts"]["valid"] == 5 and totals["counts"]["submitted"] == 5
    assert totals["response"] == pytest.approx(3 / 5) and totals["resolution"] == pytest.approx(3 / 5)
    assert totals["satisfaction"] == pytest.approx((1 + 2 + 0.9) / 5)
    assert totals["composite"] == pytest.approx(0.1 * 0.6 + 0.5 * 0.6 + 0.4 * 0.78)
    assert len(data["trend"]) == 12 and data["trend"][-1]["month"] == "2026-11"
    assert {r["name"]: r["rates"]["counts"]["valid"] for r in data["by_partner"]} == {property_manager.name: 1,
                                                                                      "社区自办": 4}
    assert {r["name"] for r in data["by_place"]} == {tree.grid.name, tree.other_grid.name}
    assert [r["code"] for r in data["by_category"]] == ["repairs"]
    filtered = client.get(RATES, {"period": "2026-11", "partner": property_manager.pk}).json()
    assert filtered["partner"] == property_manager.pk and not filtered["intake_counted"]
    assert filtered["totals"]["response"] == 0.0 and filtered["totals"]["counts"]["valid"] == 1


def test_zero_denominators_are_null(client: Client, personas: Personas) -> None:
    login(client, personas.lead)
    totals = client.get(RATES).json()["totals"]
    assert totals["counts"]["valid"] == 0
    assert [totals[k] for k in ("response", "resolution", "satisfaction", "timeliness", "composite")] == [None] * 5


def test_ranking_as_json(client: Client, cases: Cases, personas: Personas, tree: Tree) -> None:
    cases.handle()
    cases.handle(place=tree.far_household, contact_in_time=False, solved=False, rating=Rating.DISSATISFIED)
    cases.handle(start=at(2026, 12, 7, 9, 0), contact_in_time=False, solved=False, rating=Rating.DISSATISFIED)
    cases.handle(start=at(2026, 12, 7, 9, 0), place=tree.far_household)
    login(client, personas.street_supervisor)
    data = client.get(RANKING, {"period": "2026-12"}).json()
    assert data["place"]["id"] == tree.street.pk and data["previous_period"]["key"] == "2026-11"
    assert [(r["place"]["name"], r["rank"], r["previous_rank"], r["change"]) for r in data["rows"]] == [
        (tree.other_community.name, 1, 2, 1), (tree.community.name, 2, 1, -1)]
    assert data["rows"][0]["rates"]["composite"] == pytest.approx(1.0)
    assert data["rows"][1]["previous"]["composite"] == pytest.approx(1.0)


def test_errors_in_the_api_shape(client: Client, personas: Personas, tree: Tree) -> None:
    anonymous = client.get(RATES)
    assert anonymous.status_code == 401 and set(anonymous.json()) == {"error"}
    login(client, personas.resident)
    forbidden = client.get(RATES)
    assert forbidden.status_code == 403 and forbidden.json()["error"]["code"] == "forbidden"
    login(client, personas.lead)
    outside = client.get(RATES, {"place": tree.other_community.pk})
    assert outside.status_code == 404 and outside.json()["error"]["code"] == "not_found"
    assert client.get(RANKING).status_code == 403
    bad = client.get(RATES, {"period": "2026-13"})
    assert bad.status_code == 422
    assert "月份须在 1 至 12 之间" in bad.json()["error"]["fields"]["period"][0]
    assert client.get(RATES, {"place": "abc"}).status_code == 422
    assert client.get(RATES, {"start": "2026-11-10"}).status_code == 422
    assert "category" in client.get(RATES, {"category": "nope"}).json()["error"]["fields"]
    login(client, personas.street_supervisor)
    assert client.get(RANKING, {"place": tree.community.pk}).status_code == 404
