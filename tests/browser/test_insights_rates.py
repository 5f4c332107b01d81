# ruff: noqa: F811 - pytest fixtures are imported by name and taken as arguments
"""The rates pages in Debian's Chromium: the charts draw from our own static files (no
network, nothing the CSP blocks), on a desktop and on a 390px phone, in elder mode too."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse
from playwright.sync_api import Browser, Page, expect

from linli.accounts.models import Organisation
from linli.requests.models import Category, Rating
from tests.browser.conftest import DESKTOP, PHONE, Watch, new_context, screenshot, sign_in_as
from tests.conftest import Personas, Tree
from tests.insights.conftest import Cases, at, cases, dispute, rates_clock  # noqa: F401 - fixtures
from tests.requests.conftest import property_manager, repairs, submit  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("rates_clock")]


def _year_of_cases(cases: Cases, tree: Tree, personas: Personas, partner: Organisation) -> None:
    categories = {c.code: c for c in Category.objects.filter(code__in=["repairs", "sanitation", "noise", "dispute"])}
    extra = {"repairs": {}, "sanitation": {"attributes": {}}, "noise": {"attributes": {"when": "night"}},
             "dispute": {"attributes": {}}}
    plan: list[tuple[int, str, dict[str, Any]]] = [
        (9, "repairs", {"handler": personas.grid_worker}),
        (9, "sanitation", {"contact_in_time": False, "rating": Rating.SATISFIED}),
        (10, "repairs", {"partner": partner, "solved": False, "rating": Rating.DISSATISFIED}),
        (10, "noise", {"place": tree.far_household}),
        (10, "sanitation", {"place": tree.far_household, "rating": Rating.BASICALLY_SATISFIED}),
        (11, "repairs", {"handler": personas.grid_worker, "resolve_in_time": False}),
        (11, "dispute", {"rating": Rating.VERY_DISSATISFIED}),
        (11, "noise", {"place": tree.far_household, "contact_in_time": False, "solved": False}),
        (11, "repairs", {"partner": partner}),
        (12, "sanitation", {}),
        (12, "repairs", {"place": tree.far_household, "rating": Rating.SATISFIED}),
    ]
    for month, code, options in plan:
        cases.handle(start=at(2026, month, 7, 9, 0), category=categories[code], title=f"{categories[code].name}问题",
                     **extra[code], **options)
    cases.not_dispatched(start=at(2026, 11, 16, 9, 0))


def _check_charts(page: Page, names: list[str]) -> None:
    for name in names:
        chart = page.locator(f'[data-chart="{name}"]')
        expect(chart).to_have_attribute("data-rendered", "true")
        expect(chart.locator("canvas").first).to_be_visible()


@pytest.mark.django_db(transaction=True)
def test_dashboard_and_ranking_render_with_charts(browser: Browser, live_server: Any, watch: Watch,  # noqa: F811
                                                  cases: Cases, tree: Tree, personas: Personas,
                                                  property_manager: Organisation) -> None:
    _year_of_cases(cases, tree, personas, property_manager)
    for viewport, size in ((DESKTOP, "desktop"), (PHONE, "phone")):
        context = new_context(browser, live_server, watch, viewport=viewport)
        sign_in_as(context, live_server, personas.street_supervisor)
        page = context.new_page()
        page.goto(reverse("insights:rates") + "?period=2026-Q4")
        expect(page.get_by_role("heading", level=1)).to_have_text("诉求办理三率")
        expect(page.get_by_test_id("valid")).to_have_text("9")
        _check_charts(page, ["trend", "categories"])
        screenshot(page, f"rates-street-{size}")
        page.get_by_role("link", name=tree.community.name).first.click()
        expect(page.get_by_role("heading", level=2).first).to_contain_text(tree.community.name)
        _check_charts(page, ["trend", "categories"])
        page.goto(reverse("insights:ranking") + "?period=2026-11")
        expect(page.locator("tbody tr")).to_have_count(2)
        _check_charts(page, ["ranking"])
        screenshot(page, f"ranking-street-{size}")
        context.close()
    watch.assert_clean()


@pytest.mark.django_db(transaction=True)
def test_elder_mode_dashboard_on_a_phone(browser: Browser, live_server: Any, watch: Watch,  # noqa: F811
                                         cases: Cases, tree: Tree, personas: Personas,
                                         property_manager: Organisation) -> None:
    _year_of_cases(cases, tree, personas, property_manager)
    personas.lead.elder_mode = True
    personas.lead.save(update_fields=["elder_mode"])
    context = new_context(browser, live_server, watch, viewport=PHONE)
    sign_in_as(context, live_server, personas.lead)
    page = context.new_page()
    page.goto(reverse("insights:rates") + "?period=2026-11")
    expect(page.locator("html")).to_have_class("elder")
    value = page.get_by_test_id("response")
    expect(value).to_have_text("100.0%")  # 3 valid in November, all contacted in time
    assert float(value.evaluate("el => parseFloat(getComputedStyle(el).fontSize)")) >= 24
    _check_charts(page, ["trend", "categories"])
    screenshot(page, "rates-community-phone-elder")
    context.close()
    watch.assert_clean()
