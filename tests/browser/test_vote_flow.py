"""An owners' vote in a real browser, end to end: staff import the owners' roll (preview,
then import), link an owner's account and draft a vote under Civil Code Art. 278; the
committee lead opens it; the owner votes on a 360 px phone and gets a receipt; a paper
ballot is typed in by one member of staff and confirmed by a second; the lead closes and
publishes; anyone, signed out, finds the receipt in the public result. The ballot, the
receipt and the public result are also checked (and photographed) in elder mode."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, BrowserContext, Page, expect

from linli.deliberation.models import (
    OpenBallot,
    PaperBallotEntry,
    PaperEntryStatus,
    Vote,
    VoteStatus,
)
from linli.web.context_processors import ELDER_COOKIE
from tests.browser.conftest import DESKTOP, Watch, new_context, run_axe, screenshot, sign_in_as
from tests.browser.test_elder_mode import assert_elder_layout
from tests.conftest import Personas, Tree

pytestmark = pytest.mark.browser

PHONE_360 = {"width": 360, "height": 760}
REGISTER = "房屋,业主,建筑面积\n3-2-502,王秀英,89.37\n3-2-601,李建国,95.5\n"


def _shot(page: Page, name: str) -> None:
    screenshot(page, name)  # test-artifacts/screenshots/<name>.png, for review by eye


def _elder(context: BrowserContext, live_server: Any) -> None:
    context.add_cookies([{"name": ELDER_COOKIE, "value": "1", "url": live_server.url}])


def _local(minutes: int) -> str:
    return timezone.localtime(timezone.now() + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M")


def test_owners_vote_from_roll_import_to_public_receipt(
    browser: Browser, live_server: Any, watch: Watch, personas: Personas, tree: Tree, transactional_db: None,
    tmp_path: Any,
) -> None:
    # 1. Staff import the owners' roll: preview first, then the same file.
    staff = new_context(browser, live_server, watch, viewport=DESKTOP)
    sign_in_as(staff, live_server, personas.staff)
    desk = staff.new_page()
    desk.goto("/votes/owner-rolls/import/")
    register = tmp_path / "register.csv"
    register.write_text(REGISTER, encoding="utf-8")
    desk.get_by_label("物业管理区域").select_option(value=str(tree.community.pk))
    desk.get_by_label("名册名称（可不填）").fill("樱花园业主名册")
    desk.get_by_label("房产登记册（.xlsx 或 .csv）").set_input_files(str(register))
    desk.get_by_role("button", name="预览").click()
    preview = desk.locator("#roll-preview")
    expect(preview).to_contain_text("预览：可以导入")
    expect(preview).to_contain_text("184.87")
    desk.get_by_role("button", name="确认导入").click()
    expect(desk.locator("main")).to_contain_text("名册已导入：2 套专有部分，按规定计为 2 名业主")

    # 2. The owner's identity checked, staff link the account they vote with.
    desk.get_by_label("王秀英 的账号").fill(personas.resident.username)
    desk.get_by_role("button", name="保存 王秀英").click()
    expect(desk.locator("main")).to_contain_text("今后用账号 resident 投票")

    # 3. Staff draft the vote under Art. 278 (an ordinary matter), named, as the law needs.
    desk.goto("/votes/new/")
    desk.get_by_label("表决事项").fill("选聘新的物业服务企业")
    desk.get_by_label("范围").select_option(value=str(tree.community.pk))
    desk.get_by_label("赞成/反对/弃权").check()
    desk.get_by_label("业主（按专有部分面积和人数）").check()
    desk.get_by_label("业主名册（业主表决）").select_option(index=1)
    desk.get_by_label("业主共同决定：一般事项（民法典第278条）").check()
    desk.locator("input[name=ballot][value=named]").check()
    desk.get_by_label("开始时间").fill(_local(-5))
    desk.get_by_label("截止时间").fill(_local(60 * 24))
    desk.get_by_role("button", name="保存草稿").click()
    expect(desk.locator("main")).to_contain_text("表决已保存为草稿")
    expect(desk.locator("main")).to_contain_text("按现在的登记，名册将有 2 名投票人")
    vote = Vote.objects.get()
    assert (vote.eligibility, vote.rule, vote.secret) == ("owners", "civil_code_ordinary", False)

    # 4. The committee lead opens it: the roll is built and frozen.
    lead = new_context(browser, live_server, watch, viewport=DESKTOP)
    sign_in_as(lead, live_server, personas.lead)
    chair = lead.new_page()
    chair.goto(f"/votes/{vote.pk}/")
    chair.get_by_role("button", name="开始投票（生成名册）").click()
    expect(chair.locator("main")).to_contain_text("投票已开始：名册共 2 人")
    expect(chair.get_by_test_id("turnout")).to_contain_text("已投票 0 / 2")

    # 5. The owner votes on a phone, reviews the choice and gets a receipt.
    owner = new_context(browser, live_server, watch, viewport=PHONE_360)
    sign_in_as(owner, live_server, personas.resident)
    phone = owner.new_page()
    phone.goto("/")
    phone.get_by_role("link", name="投票表决").first.click()
    phone.get_by_role("link", name="去投票").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("选聘新的物业服务企业")
    _shot(phone, "vote-ballot-360")
    assert run_axe(phone) == []
    phone.get_by_text("赞成", exact=True).click()
    phone.get_by_role("button", name="下一步：核对").click()
    expect(phone.get_by_test_id("review-choice")).to_have_text("赞成")
    phone.get_by_role("button", name="确认投票").click()
    code = phone.get_by_test_id("receipt-code").inner_text().strip()
    assert code == OpenBallot.objects.get(vote=vote).receipt
    _shot(phone, "vote-receipt-360")
    assert run_axe(phone) == []

    # 6. A paper ballot: typed in by staff, confirmed by a second person (the lead).
    desk.goto(f"/votes/{vote.pk}/paper/")
    desk.get_by_label("查找投票人").fill("李建国")
    desk.get_by_role("button", name="查找").click()
    desk.get_by_role("link", name="录入 李建国 的选票").click()
    desk.get_by_text("赞成", exact=True).click()
    desk.get_by_role("button", name="保存，待复核").click()
    expect(desk.locator("main")).to_contain_text("待复核（1 张）")
    expect(desk.locator("main")).to_contain_text("这是您录入的，须由另一名工作人员复核")
    expect(desk.get_by_role("button", name="核对无误，计入")).to_have_count(0)
    chair.goto(f"/votes/{vote.pk}/paper/")
    expect(chair.locator("main")).to_contain_text("录入的选择：赞成")
    chair.get_by_role("button", name="核对无误，计入").click()
    expect(chair.locator("main")).to_contain_text("已复核，这张纸质选票已计入")
    assert PaperBallotEntry.objects.get().status == PaperEntryStatus.CONFIRMED

    # 7. Everyone on the roll has voted: the lead closes early and publishes.
    chair.goto(f"/votes/{vote.pk}/")
    chair.get_by_role("button", name="结束投票").click()
    expect(chair.locator("main")).to_contain_text("计票结果（尚未公布）")
    expect(chair.locator(".verdict")).to_have_text("通过")
    chair.get_by_role("button", name="公布结果").click()
    expect(chair.locator("main")).to_contain_text("结果已公布")
    vote.refresh_from_db()
    assert vote.status == VoteStatus.PUBLISHED

    # 8. Anyone, signed out, finds the receipt in the public result.
    public = new_context(browser, live_server, watch, viewport=PHONE_360)
    reader = public.new_page()
    reader.goto("/votes/results/")
    reader.get_by_role("link", name="选聘新的物业服务企业").click()
    expect(reader.get_by_test_id("sha256")).to_have_text(vote.published.sha256)
    reader.get_by_role("textbox", name="回执码").fill(code.lower().replace("-", " "))
    reader.get_by_role("button", name="查找").click()
    expect(reader.get_by_test_id("receipt-found")).to_contain_text(code)
    expect(reader.get_by_test_id("receipt-found")).to_contain_text("赞成")
    _shot(reader, "vote-public-result-360")
    assert run_axe(reader) == []

    # 9. The same pages in elder mode (长辈版): big text, big targets.
    elder_owner = new_context(browser, live_server, watch, viewport=PHONE_360)
    sign_in_as(elder_owner, live_server, personas.resident)
    _elder(elder_owner, live_server)
    big = elder_owner.new_page()
    big.goto(f"/votes/{vote.pk}/receipt/")
    expect(big.get_by_test_id("receipt-code")).to_have_text(code)
    assert_elder_layout(big)
    _shot(big, "vote-receipt-360-elder")
    elder_public = new_context(browser, live_server, watch, viewport=PHONE_360)
    _elder(elder_public, live_server)
    board = elder_public.new_page()
    board.goto(f"/votes/results/{vote.pk}/?receipt={code}")
    expect(board.get_by_test_id("receipt-found")).to_contain_text(code)
    assert_elder_layout(board)
    _shot(board, "vote-public-result-360-elder")
    for context in (staff, lead, owner, public, elder_owner, elder_public):
        context.close()


def test_secret_ballot_in_elder_mode_on_a_small_phone(
    browser: Browser, live_server: Any, watch: Watch, personas: Personas, tree: Tree, transactional_db: None,
) -> None:
    """A residents' secret vote: the ballot and its one-time receipt, big and clear."""
    from tests.deliberation.conftest import make_neighbourhood
    from tests.deliberation.test_vote_views_support import new_vote

    make_neighbourhood(tree, personas)
    vote = new_vote(tree, personas, question_kind="single", rule="simple_majority",
                    title="小区中心花园改造方案", options=["方案一：增加健身器材", "方案二：增加休息座椅和凉亭",
                                                        "方案三：保持现状"])
    context = new_context(browser, live_server, watch, viewport=PHONE_360)
    sign_in_as(context, live_server, personas.resident)
    _elder(context, live_server)
    page = context.new_page()
    page.goto(f"/votes/{vote.pk}/ballot/")
    assert_elder_layout(page)
    _shot(page, "vote-ballot-360-elder")
    page.get_by_role("button", name="下一步：核对").click()
    expect(page.locator(".errorlist")).to_contain_text("请选择一项")
    page.get_by_text("方案二：增加休息座椅和凉亭").click()
    page.get_by_role("button", name="下一步：核对").click()
    expect(page.get_by_test_id("review-choice")).to_have_text("方案二：增加休息座椅和凉亭")
    assert_elder_layout(page)
    page.get_by_role("button", name="确认投票").click()
    expect(page.get_by_test_id("receipt-code")).to_be_visible()
    expect(page.locator("main")).to_contain_text("只显示这一次")
    assert_elder_layout(page)
    _shot(page, "vote-receipt-secret-360-elder")
    assert run_axe(page) == []
    context.close()
