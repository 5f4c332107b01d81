"""Signing in: a resident with a phone number; staff with two-factor enrolment, then verification."""

from __future__ import annotations

import time
from typing import Any

import pyotp
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from linli.accounts.services import enrol_code_issue
from tests.browser.conftest import Watch, new_context, screenshot
from tests.conftest import PASSWORD, Personas

pytestmark = pytest.mark.browser


def fill_sign_in(page: Page, identifier: str, password: str = PASSWORD) -> None:
    """Sign in through the form, in Chinese (its labels are what a person reads)."""
    page.goto("/accounts/login/")
    page.get_by_role("textbox", name="手机号或用户名").fill(identifier)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录", exact=True).click()


def test_resident_signs_in_with_a_phone_number(page: Page, personas: Personas) -> None:
    page.goto("/")
    page.get_by_role("link", name="登录").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("登录")
    fill_sign_in(page, "138 0013 8000")
    expect(page.get_by_role("heading", name="您好，resident")).to_be_visible()
    expect(page.get_by_test_id("scopes")).to_contain_text("居民")
    expect(page.get_by_role("navigation", name="主导航").get_by_role("link", name="我的信息")).to_be_visible()


def test_wrong_password_says_so_in_words(page: Page, personas: Personas) -> None:
    fill_sign_in(page, "13800138000", "not-the-password")
    expect(page.get_by_role("alert")).to_contain_text("手机号/用户名或密码不正确")
    expect(page.get_by_role("heading", level=1)).to_have_text("登录")


def test_staff_enrol_two_factor_then_verify_at_the_next_sign_in(
    page: Page, context: BrowserContext, personas: Personas, browser: Any, live_server: Any, watch: Watch
) -> None:
    # The administrator issues an enrolment code and hands it over out of band.
    enrol_code = enrol_code_issue(user=personas.staff, by=None)
    fill_sign_in(page, "staff")
    expect(page.get_by_role("heading", level=1)).to_have_text("两步验证")
    # Until the code is given, nothing else opens.
    page.goto("/places/")
    expect(page.get_by_role("heading", level=1)).to_have_text("两步验证")
    # The password alone shows no secret: first the enrolment code.
    expect(page.get_by_text("工作人员首次登录需要管理员发放的开通码")).to_be_visible()
    expect(page.get_by_test_id("totp-secret")).to_have_count(0)
    expect(page.get_by_role("img", name="验证器二维码")).to_have_count(0)
    page.get_by_role("textbox", name="开通码").fill("0000-0000" if enrol_code != "0000-0000" else "1111-1111")
    page.get_by_role("button", name="下一步").click()
    expect(page.get_by_role("alert")).to_contain_text("开通码不正确或已过期")
    expect(page.get_by_test_id("totp-secret")).to_have_count(0)
    page.get_by_role("textbox", name="开通码").fill(enrol_code)
    page.get_by_role("button", name="下一步").click()
    qr = page.get_by_role("img", name="验证器二维码")
    expect(qr).to_be_visible()
    assert qr.evaluate("(img) => img.complete && img.naturalWidth > 0"), "the QR code does not display"
    secret = page.get_by_test_id("totp-secret").inner_text().strip()
    totp = pyotp.TOTP(secret)
    screenshot(page, "two-factor-enrol-zh-phone")
    page.get_by_role("textbox", name="验证码").fill(totp.now())
    page.get_by_role("button", name="验证").click()
    expect(page).to_have_url(f"{live_server.url}/places/")  # back where the person was going
    page.goto("/")
    expect(page.get_by_role("heading", name="您好，staff")).to_be_visible()
    expect(page.get_by_test_id("scopes")).to_contain_text("社区工作者")
    expect(page.get_by_test_id("scopes")).to_contain_text("樱花园社区")
    page.get_by_role("button", name="退出").click()
    expect(page.get_by_role("link", name="登录").first).to_be_visible()

    # Later, in another browser: password, then the code (the next time step: a code is never accepted twice).
    later = new_context(browser, live_server, watch).new_page()
    fill_sign_in(later, "staff")
    expect(later.get_by_role("heading", level=1)).to_have_text("两步验证")
    expect(later.get_by_test_id("totp-secret")).to_have_count(0)
    later.get_by_role("textbox", name="验证码").fill("000000" if totp.now() != "000000" else "111111")
    later.get_by_role("button", name="验证").click()
    expect(later.get_by_role("alert")).to_contain_text("验证码不正确")
    later.get_by_role("textbox", name="验证码").fill(totp.at(time.time() + totp.interval))
    later.get_by_role("button", name="验证").click()
    expect(later.get_by_role("heading", name="您好，staff")).to_be_visible()
    later.goto("/places/")
    expect(later.get_by_role("heading", level=1)).not_to_have_text("两步验证")
    later.context.close()
