"""Chinese first, whatever the browser prefers; English on request, kept from page to page."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import PASSWORD, Personas

pytestmark = pytest.mark.browser


def test_switch_to_english_and_back_and_it_persists(page: Page, personas: Personas, live_server: Any) -> None:
    page.goto("/")  # the browser's locale is en-US
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_role("heading", level=1)).to_have_text("邻里")

    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_role("status")).to_contain_text("Switched to English.")
    nav = page.get_by_role("navigation", name="Main navigation")
    expect(nav.get_by_role("link", name="Home")).to_be_visible()
    expect(page.get_by_role("button", name="English")).to_have_attribute("aria-pressed", "true")

    nav.get_by_role("link", name="Settings").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Settings")
    page.goto("/accounts/login/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    fill_sign_in_en(page)
    expect(page.get_by_role("heading", name="Hello, resident")).to_be_visible()
    expect(page.get_by_test_id("scopes")).to_contain_text("Resident")
    page.reload()
    expect(page.locator("html")).to_have_attribute("lang", "en")

    page.get_by_role("button", name="简体中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_role("heading", name="您好，resident")).to_be_visible()
    page.goto("/prefs/")
    expect(page.get_by_role("heading", level=1)).to_have_text("设置")


def fill_sign_in_en(page: Page) -> None:
    page.get_by_role("textbox", name="Mobile number or username").fill("13800138000")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()


def test_language_chosen_in_settings(page: Page, personas: Personas) -> None:
    page.goto("/prefs/")
    page.get_by_role("radio", name="English").check()
    page.get_by_role("button", name="保存语言").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Settings")
    expect(page.get_by_role("radio", name="English")).to_be_checked()
    page.goto("/accounts/login/")
    fill_sign_in_en(page)
    expect(page.get_by_role("heading", name="Hello, resident")).to_be_visible()
