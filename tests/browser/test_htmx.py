"""HTMX from our own static files: swaps are announced, POSTs carry the CSRF token
from <body hx-headers>, and htmx adds no inline style that the CSP would refuse."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import Watch, sign_in_as
from tests.conftest import Personas, Tree
from tests.web import catalogue

pytestmark = pytest.mark.browser


def test_a_swap_is_announced_and_adds_no_inline_style(
    page: Page, context: BrowserContext, live_server: Any, personas: Personas, tree: Tree
) -> None:
    sign_in_as(context, live_server, personas.staff)
    page.goto("/places/")
    assert page.evaluate("typeof htmx") == "object"
    live = page.locator("#live")
    expect(live).to_have_attribute("aria-live", "polite")
    expect(live).to_have_text("")
    page.get_by_test_id("expand-c1").click()
    children = page.locator(f"#children-{tree.community.pk}")
    expect(children.get_by_role("link", name="第一网格").first).to_be_visible()
    expect(live).to_have_text("内容已更新")
    assert page.evaluate("document.querySelectorAll('style').length") == 0
    assert page.evaluate("document.querySelectorAll('[style]').length") == 0


def test_htmx_requests_carry_the_csrf_token_from_the_body(
    page: Page, context: BrowserContext, personas: Personas, watch: Watch
) -> None:
    page.goto("/prefs/")
    # Without the token Django refuses the POST...
    status = page.evaluate(
        "async () => (await fetch('/prefs/elder/', {method: 'POST', body: new URLSearchParams({elder: '1'})})).status"
    )
    assert status == 403
    assert [r.split()[0] for r in watch.failed_resources] == ["403"]
    watch.failed_resources.clear()  # refused on purpose
    # ...and an htmx request with no form (so no hidden token field) is accepted.
    page.evaluate(
        """() => new Promise((resolve) => {
          document.body.addEventListener("htmx:afterSettle", resolve, {once: true});
          htmx.ajax("POST", "/prefs/elder/", {source: "#main", values: {elder: "1", next: "/prefs/"}, target: "#main h1", swap: "none"});
        })"""
    )
    assert {c["name"]: c["value"] for c in context.cookies()}.get("linli_elder") == "1"
    page.reload()
    expect(page.locator("html")).to_have_class("elder")


def test_a_revealed_field_is_swapped_in_place(
    page: Page, context: BrowserContext, live_server: Any, personas: Personas, tree: Tree
) -> None:
    resident = catalogue.register_resident(tree, personas)
    sign_in_as(context, live_server, personas.grid_worker)
    page.goto(f"/people/residents/{resident.pk}/")
    phone = page.locator("#sensitive-phone")
    expect(phone).to_contain_text("138****8000")
    phone.locator("summary").click()
    phone.get_by_role("textbox", name="查看事由").fill("上门走访核对联系方式")
    phone.get_by_role("button").click()
    expect(page.locator("#sensitive-phone")).to_contain_text(catalogue.PHONE)
    expect(page.locator("#live")).not_to_have_text("")
    assert page.url.endswith(f"/people/residents/{resident.pk}/")  # swapped, not a new page
