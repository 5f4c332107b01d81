"""Elder mode (长辈版, DOMAIN §8): offered on the first visit, big and clear, and kept."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from linli.accounts.models import User
from tests.browser.conftest import screenshot
from tests.browser.test_signin import fill_sign_in
from tests.conftest import Personas, Tree
from tests.web import catalogue

pytestmark = pytest.mark.browser

# Sizes of what a person reads and taps, as the browser lays them out.
MEASURE = """
() => {
  const visible = (el) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  const text = [...document.querySelectorAll("main p, main li, main label, main dd, main td")].filter(visible).map((el) => {
    const s = getComputedStyle(el);
    return {text: el.textContent.trim().slice(0, 30), size: parseFloat(s.fontSize), line: parseFloat(s.lineHeight)};
  });
  // A radio button inside its label is tapped through the label, so the label is measured.
  const targets = [...document.querySelectorAll(
    "main button, main .button, main input:not([type=hidden]), main select, main .tile, main label.choice, main summary, " +
    ".main-nav a, .prefs button, .account button, .masthead .button"
  )].filter(visible).filter((el) => !(el.matches("input[type=radio], input[type=checkbox]") && el.closest("label"))).map((el) => {
    const r = el.getBoundingClientRect();
    return {text: (el.textContent || el.name || "").trim().slice(0, 30), width: r.width, height: r.height};
  });
  return {elder: document.documentElement.classList.contains("elder"), text, targets};
}
"""


def assert_elder_layout(page: Page) -> None:
    measured = page.evaluate(MEASURE)
    assert measured["elder"]
    assert measured["text"], "no body text measured"
    small = [t for t in measured["text"] if t["size"] < 24]
    assert small == [], "body text under 24px in elder mode"
    tight = [t for t in measured["text"] if t["line"] < 1.3 * t["size"]]
    assert tight == [], "line height under 1.3 in elder mode"
    assert measured["targets"], "no tap targets measured"
    tiny = [t for t in measured["targets"] if t["height"] < 60 or t["width"] < 60]
    assert tiny == [], "tap targets under 60 x 60px in elder mode"


def test_elder_mode_from_the_first_visit_offer(page: Page, personas: Personas, tree: Tree, live_server: Any) -> None:
    catalogue.register_resident(tree, personas)
    page.goto("/")
    offer = page.get_by_test_id("elder-offer")
    expect(offer).to_be_visible()
    expect(page.locator("html")).not_to_have_class("elder")
    body_size = page.evaluate("parseFloat(getComputedStyle(document.querySelector('main p')).fontSize)")
    assert body_size < 24  # standard mode is smaller: the switch must change something

    offer.get_by_role("button", name="使用长辈版").click()
    expect(page.locator("html")).to_have_class("elder")
    expect(page.get_by_test_id("elder-offer")).to_have_count(0)
    expect(page.get_by_role("status")).to_contain_text("已切换到长辈版")
    assert_elder_layout(page)
    screenshot(page, "elder-home-anonymous-phone")

    page.reload()
    expect(page.locator("html")).to_have_class("elder")
    expect(page.get_by_test_id("elder-offer")).to_have_count(0)

    fill_sign_in(page, catalogue.PHONE)
    expect(page.get_by_role("heading", name="您好，resident")).to_be_visible()
    expect(page.locator("html")).to_have_class("elder")
    assert_elder_layout(page)
    screenshot(page, "elder-home-resident-phone")
    assert User.objects.get(pk=personas.resident.pk).elder_mode is True

    # Simpler navigation: the top bar keeps only what a resident needs.
    nav = page.get_by_role("navigation", name="主导航").get_by_role("link")
    expect(nav).to_have_text(["首页", "反映问题", "我的诉求", "我的信息", "投票表决", "设置"])

    page.get_by_role("navigation", name="主导航").get_by_role("link", name="我的信息").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("我的信息")
    assert_elder_layout(page)

    page.goto("/prefs/")
    assert_elder_layout(page)
    page.get_by_role("radio", name="标准版").check()
    page.get_by_role("button", name="保存显示方式").click()
    expect(page.locator("html")).not_to_have_class("elder")
    assert User.objects.get(pk=personas.resident.pk).elder_mode is False


def test_declining_the_offer_keeps_standard_mode_and_stops_asking(page: Page, personas: Personas) -> None:
    page.goto("/")
    page.get_by_test_id("elder-offer").get_by_role("button", name="使用标准版").click()
    expect(page.get_by_test_id("elder-offer")).to_have_count(0)
    expect(page.locator("html")).not_to_have_class("elder")
    page.reload()
    expect(page.get_by_test_id("elder-offer")).to_have_count(0)
    # Still one tap away, at the top of every page.
    page.get_by_test_id("elder-entry").click()
    expect(page.locator("html")).to_have_class("elder")
