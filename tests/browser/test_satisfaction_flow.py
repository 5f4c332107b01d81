"""满意度分析 in a real browser: staff build a survey from the 满意度测评 template and send
it; two residents answer on their phones and a third resident's paper questionnaire is
entered by staff; the model is run from the web. Three answers are far too few for the
model: the page says so and shows the dimensions' mean scores. With enough further
answers (stored through the services) the index, the importance–performance matrix and
the list of what to improve appear, each chart exportable as a PNG; the one-page
summary prints. Screenshots on a desktop and a 360 px phone."""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from linli.insights.models import RunStatus, SatisfactionRun
from linli.people.services import household_create, resident_create
from linli.places.models import Place
from linli.requests import services as request_services
from linli.requests.catalogue import categories_install
from linli.requests.intake import request_submit
from linli.requests.models import Category, Channel, Rating
from linli.surveys.models import Invitation, Questionnaire, Template
from linli.surveys.responses import questions_of
from tests.browser.conftest import DESKTOP, SCREENSHOTS, Watch, new_context, run_axe, sign_in_as
from tests.conftest import Personas, Tree
from tests.insights.satisfaction_fixtures import answer, register, shifted
from tests.surveys.synthetic import draw_answers

pytestmark = pytest.mark.browser

# Screenshots go with the others (test-artifacts/screenshots), or where LINLI_SHOTS_DIR says.
SHOTS = Path(os.environ.get("LINLI_SHOTS_DIR") or SCREENSHOTS)
PHONE_360 = {"width": 360, "height": 780}
FURTHER = 110


def _shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"satisfaction-{name}.png"), full_page=True)


def _fill_sheet(page: Page, questionnaire: Questionnaire, score: int, comment: str = "") -> None:
    """Answer every question on the sheet: ``score`` on the scales, the first option of
    the choice questions, and the comment in the written question."""
    for question in questions_of(questionnaire):
        name = f"q{question.pk}"
        if question.scale is not None:
            page.locator(f'input[name="{name}"][value="{score}"]').check()
        elif question.kind in ("single", "multiple"):
            option = question.options.all()[0].pk
            page.locator(f'input[name="{name}"][value="{option}"]').check()
        elif comment:
            page.locator(f'textarea[name="{name}"]').fill(comment)


def _residents(tree: Tree, personas: Personas) -> None:
    home = household_create(ref="B-1", place=tree.household, by=None)
    next_door = household_create(ref="B-2", place=tree.other_household, by=None)
    resident_create(household=home, name="王秀英", birth_date=date(1958, 5, 1), by=None, user=personas.resident)
    resident_create(household=next_door, name="李建国", birth_date=date(1962, 9, 1), by=None,
                    user=personas.other_resident)
    flat = household_create(ref="B-3", parent=Place.objects.get(code="b2"), room="302室", by=None)
    resident_create(household=flat, name="赵大爷", birth_date=date(1944, 2, 1), by=None)


def _requests(tree: Tree, personas: Personas) -> None:
    """A few months of handled and rated requests (the return-visit stream), and two open ones."""
    categories_install()
    repairs = Category.objects.get(code="repairs")
    now = timezone.now()
    ratings = [Rating.VERY_SATISFIED, Rating.SATISFIED, Rating.DISSATISFIED, Rating.SATISFIED,
               Rating.BASICALLY_SATISFIED, Rating.VERY_SATISFIED, Rating.VERY_DISSATISFIED, Rating.SATISFIED]
    for n, rating in enumerate(ratings):
        start = now - timedelta(days=20 + 25 * n)
        req = request_submit(by=personas.resident, category=repairs, place=tree.household, title=f"楼道灯坏了 {n}",
                             description="楼道灯不亮", channel=Channel.WEB, attributes={"facility": "light"}, at=start)
        req = request_services.request_accept(request=req, by=personas.staff, at=start + timedelta(hours=1))
        req = request_services.request_resolve(request=req, by=personas.staff, resolution="已更换灯泡",
                                               at=start + timedelta(hours=5))
        request_services.request_rate(request=req, by=personas.resident, rating=rating, solved=rating >= 3,
                                      at=start + timedelta(hours=8))
    for title in ("电梯异响", "单元门禁坏了"):
        request_submit(by=personas.resident, category=repairs, place=tree.household, title=title,
                       description=title, channel=Channel.WEB, attributes={"facility": "other"})


def test_survey_to_index_ipa_and_what_to_improve(browser: Browser, live_server: Any, watch: Watch,
                                                 personas: Personas, tree: Tree, transactional_db: None) -> None:
    _residents(tree, personas)
    _requests(tree, personas)

    # 1. Staff build the questionnaire from the template, open it and send it to everyone.
    staff = new_context(browser, live_server, watch, viewport=DESKTOP)
    sign_in_as(staff, live_server, personas.staff)
    desk = staff.new_page()
    desk.emulate_media(reduced_motion="reduce")  # charts drawn at once, for the screenshots
    desk.goto("/surveys/new/")
    desk.get_by_label("模板：社区居民满意度测评", exact=False).check()
    desk.get_by_role("button", name="创建草稿").click()
    expect(desk.get_by_role("heading", level=1)).to_contain_text("社区居民满意度测评")
    questionnaire = Questionnaire.objects.get(template=Template.SATISFACTION)
    desk.get_by_role("button", name="开始问卷").click()
    desk.get_by_role("link", name="发放问卷").first.click()
    desk.get_by_label("全体居民").check()
    desk.get_by_role("button", name="预览方案").click()
    desk.get_by_role("button", name="确认，向 3 位居民发出邀请").click()
    assert Invitation.objects.filter(questionnaire=questionnaire).count() == 3

    # 2. Two residents answer on their phones.
    for user, score, comment in ((personas.resident, 6, "楼道里的垃圾清运不及时，希望每天清理。"),
                                 (personas.other_resident, 8, "")):
        phone = new_context(browser, live_server, watch)
        sign_in_as(phone, live_server, user)
        page = phone.new_page()
        page.goto("/surveys/mine/")
        page.get_by_role("link", name="去填写").click()
        _fill_sheet(page, questionnaire, score, comment)
        page.get_by_role("button", name="提交问卷").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("感谢")
        phone.close()

    # 3. Staff enter the third resident's paper questionnaire.
    paper = Invitation.objects.get(questionnaire=questionnaire, resident__name="赵大爷")
    desk.goto(f"/surveys/{questionnaire.pk}/paper/")
    desk.get_by_label("编号").fill(paper.code)
    desk.get_by_role("button", name="下一步").click()
    _fill_sheet(desk, questionnaire, 4, "希望多组织老年人活动。")
    desk.get_by_role("button", name="保存这份纸质问卷").click()
    expect(desk.locator(".messages")).to_contain_text("已录入")

    # 4. The model is run from the web: three answers are too few for it.
    desk.goto("/")
    desk.get_by_role("link", name="满意度分析").first.click()
    expect(desk.get_by_role("heading", level=1)).to_have_text("满意度分析")
    desk.get_by_role("link", name="新建分析").click()
    desk.locator("#id_survey-questionnaire").select_option(str(questionnaire.pk))
    desk.get_by_test_id("run-survey").click()
    expect(desk.get_by_test_id("too-few")).to_contain_text("现有完整答卷 3 份")
    expect(desk.get_by_test_id("too-few")).to_contain_text("至少需要 90 份")
    # What three answers can show: each dimension's mean score, as performance.
    scores = desk.get_by_test_id("scores-table")
    expect(scores.locator("tbody tr")).to_have_count(12)
    mean = (6 + 8 + 4) / 3
    expect(scores.locator("tbody tr", has_text="诉求办理")).to_contain_text(f"{(mean - 1) / 9 * 100:.1f}")
    expect(desk.get_by_role("heading", name="重要性—表现矩阵")).to_have_count(0)
    expect(desk.get_by_test_id("improve-list")).to_have_count(0)
    expect(desk.locator('[data-chart="scores"]')).to_have_attribute("data-rendered", "true")
    _shot(desk, "run-too-few-desktop")
    assert run_axe(desk) == []

    # 5. Enough further answers arrive (through the services), and the model is run again.
    register(tree, FURTHER, tag="F")
    sample = shifted(draw_answers(FURTHER, 20260401), {"RESP": -2.0, "ENV": 1.0, "ACT": 1.0})
    answer(questionnaire, personas, sample, texts={0: "反映的问题处理太慢，没有人回复。", 1: "希望垃圾分类更规范。"})
    desk.get_by_role("button", name="用最新答卷重新计算").click()
    expect(desk.get_by_test_id("index-SAT")).to_be_visible()
    run = SatisfactionRun.objects.filter(questionnaire=questionnaire).order_by("-pk").first()
    assert run is not None and run.status == RunStatus.DONE and run.summary["fitted"] is True
    assert run.summary["n"] == FURTHER + 3
    expect(desk.get_by_test_id("index-SAT")).to_have_text(f"{run.summary['index']['SAT'][0]:.1f}")
    expect(desk.locator('[data-chart="ipa"]')).to_have_attribute("data-rendered", "true")
    expect(desk.locator('[data-chart="gauges"]')).to_have_attribute("data-rendered", "true")
    expect(desk.locator('[data-chart="drivers"]')).to_have_attribute("data-rendered", "true")
    improve = desk.get_by_test_id("improve-list")
    expect(improve.locator("> li").first).to_contain_text("诉求办理")
    expect(improve.locator("> li").first.get_by_role("link", name="全部未办结诉求（2 件）")).to_be_visible()
    expect(improve.locator("> li").first).to_contain_text("反映的问题处理太慢")
    expect(desk.get_by_role("heading", name="重要性—表现矩阵")).to_be_visible()
    # Every chart can be saved as a picture, drawn in the browser.
    with desk.expect_download() as download:
        desk.locator('[data-png="chart-ipa"]').click()
    assert download.value.suggested_filename == "ipa.png"
    assert Path(download.value.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    _shot(desk, "dashboard-desktop")
    assert run_axe(desk) == []

    desk.get_by_role("link", name="打印一页摘要").click()
    expect(desk.get_by_test_id("print-summary")).to_contain_text("下一步改进重点")
    expect(desk.get_by_test_id("print-index-SAT")).to_have_text(f"{run.summary['index']['SAT'][0]:.1f}")
    expect(desk.locator('[data-chart="ipa"]')).to_have_attribute("data-rendered", "true")
    _shot(desk, "print-desktop")
    assert run_axe(desk) == []
    # As printed: A4 at 96 dpi is 794 px wide; the summary is one page.
    desk.set_viewport_size({"width": 794, "height": 1123})
    desk.emulate_media(media="print", reduced_motion="reduce")
    _shot(desk, "print-a4")
    desk.pdf(path=str(SHOTS / "satisfaction-print.pdf"), format="A4", print_background=True)
    assert desk.evaluate("document.documentElement.scrollHeight") <= 1123 + 40, "the summary runs past one page"
    desk.emulate_media(media="screen")
    desk.set_viewport_size(DESKTOP)

    # 6. The same on a 360 px phone.
    phone = new_context(browser, live_server, watch, viewport=PHONE_360)
    sign_in_as(phone, live_server, personas.lead)
    mobile = phone.new_page()
    mobile.emulate_media(reduced_motion="reduce")
    mobile.goto(f"/insights/satisfaction/runs/{run.pk}/")
    expect(mobile.get_by_test_id("index-SAT")).to_be_visible()
    expect(mobile.locator('[data-chart="ipa"]')).to_have_attribute("data-rendered", "true")
    assert mobile.evaluate("document.documentElement.scrollWidth") <= 360, "the page scrolls sideways"
    expect(mobile.locator('[data-chart="stream"]')).to_have_attribute("data-rendered", "true")
    _shot(mobile, "dashboard-phone")
    mobile.goto(f"/insights/satisfaction/runs/{run.pk}/print/")
    expect(mobile.get_by_test_id("print-summary")).to_be_visible()
    assert mobile.evaluate("document.documentElement.scrollWidth") <= 360, "the summary scrolls sideways"
    _shot(mobile, "print-phone")
    mobile.goto("/insights/satisfaction/")
    expect(mobile.get_by_test_id("latest-index")).to_have_text(f"{run.summary['index']['SAT'][0]:.1f}")
    _shot(mobile, "overview-phone")
    assert run_axe(mobile) == []
    # 长辈版: larger type, one column, still no sideways scrolling.
    mobile.get_by_test_id("elder-entry").click()
    mobile.goto(f"/insights/satisfaction/runs/{run.pk}/")
    expect(mobile.locator("html")).to_have_class("elder")
    expect(mobile.locator('[data-chart="ipa"]')).to_have_attribute("data-rendered", "true")
    assert mobile.evaluate("document.documentElement.scrollWidth") <= 360, "elder mode scrolls sideways"
    _shot(mobile, "dashboard-phone-elder")
    phone.close()
    staff.close()
    watch.assert_clean()
