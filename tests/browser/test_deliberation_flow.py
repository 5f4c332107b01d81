"""The main flow of 议事协商 in a real browser: a resident proposes on their phone, two
neighbours support it onto the committee's agenda; staff convene a residents' meeting
with a time poll, fix the time most can attend, put the proposal on the agenda and sign
residents in at the door until the live quorum shows it is reached (the last one signs
in on their own phone, and the desk's display catches up by itself); the meeting ends,
its decision is recorded, an action is created and its progress reported with a photo;
anyone sees the progress on the public page without signing in."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from PIL import Image
from playwright.sync_api import Browser, expect

from linli.deliberation.models import (
    Action,
    ActionPhoto,
    Attendance,
    DeliberationConfig,
    Meeting,
    MeetingStatus,
    Proposal,
    ProposalStatus,
)
from tests.browser.conftest import DESKTOP, Watch, new_context, screenshot, sign_in_as
from tests.conftest import Personas, Tree
from tests.deliberation.conftest import make_neighbourhood

pytestmark = pytest.mark.browser


def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (64, 48), (60, 140, 60))
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (39.0, 54.0, 27.0), 3: "E", 4: (116.0, 23.0, 50.0)}  # GPSInfo
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def local_input(days: int, hour: int) -> str:
    when = timezone.localtime() + timedelta(days=days)
    return when.replace(hour=hour, minute=0).strftime("%Y-%m-%dT%H:%M")


def test_propose_support_meet_sign_in_to_quorum_decide_act_and_publish(
    browser: Browser, live_server: Any, watch: Watch, personas: Personas, tree: Tree, transactional_db: None,
    tmp_path: Any,
) -> None:
    hood = make_neighbourhood(tree, personas)  # six adults with accounts: the quorum needs four
    DeliberationConfig.objects.create(place=tree.community, support_threshold=2)

    # 1. A resident proposes on their phone.
    proposer = new_context(browser, live_server, watch)
    sign_in_as(proposer, live_server, hood.voters[0])
    phone = proposer.new_page()
    phone.goto("/")
    phone.get_by_role("link", name="居民提议").first.click()
    phone.get_by_role("link", name="我要提议").click()
    phone.get_by_label("提议标题").fill("3号楼前增设休息座椅")
    phone.get_by_label("具体内容").fill("老人散步需要歇脚的地方，建议在3号楼前增设两张座椅。")
    phone.get_by_role("button", name="提交提议").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("3号楼前增设休息座椅")
    expect(phone.locator("main")).to_contain_text("0 / 2 人附议")
    proposal = Proposal.objects.get()
    assert proposal.proposer == hood.voters[0] and proposal.status == ProposalStatus.OPEN

    # 2. Two neighbours support it: at the second it reaches the committee's agenda.
    neighbours = []
    for voter in hood.voters[1:3]:
        context = new_context(browser, live_server, watch)
        sign_in_as(context, live_server, voter)
        page = context.new_page()
        page.goto("/deliberation/proposals/")
        page.get_by_role("link", name="3号楼前增设休息座椅").click()
        page.get_by_role("button", name="我也支持（附议）").click()
        expect(page.locator("main")).to_contain_text("您已附议这项提议")
        neighbours.append(context)
    expect(page.locator(".messages")).to_contain_text("列入居委会议程")
    screenshot(page, "deliberation-proposal-agenda-phone")
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.AGENDA and proposal.supports_count == 2

    # 3. Staff convene a residents' meeting with a time poll; a resident answers it; staff
    #    fix the time most can attend and put the proposal on the agenda.
    staff = new_context(browser, live_server, watch, viewport=DESKTOP)
    sign_in_as(staff, live_server, personas.staff)
    desk = staff.new_page()
    desk.goto("/deliberation/")
    expect(desk.locator("main")).to_contain_text("3号楼前增设休息座椅")  # waiting for an answer
    desk.get_by_role("link", name="召集会议").first.click()
    desk.get_by_label("居民会议", exact=True).check()
    desk.get_by_label("会议名称").fill("2026年第四季度居民会议")
    desk.get_by_label("地点（可选）").fill("社区活动室")
    desk.get_by_label("给出几个备选时间，请居民投票").check()
    expect(desk.get_by_label("开始时间")).to_be_hidden()  # only the poll's fields stay
    desk.get_by_label("备选时间 1").fill(local_input(3, 19))
    desk.get_by_label("备选时间 2").fill(local_input(4, 19))
    desk.get_by_role("button", name="创建会议").click()
    expect(desk.get_by_role("heading", level=1)).to_have_text("2026年第四季度居民会议")
    meeting = Meeting.objects.get()
    assert meeting.status == MeetingStatus.PLANNING and meeting.body_kind == "adults"
    first, second = meeting.time_options.order_by("starts_at")

    voter_page = neighbours[0].pages[0]
    voter_page.goto(f"/deliberation/meetings/{meeting.pk}/")
    voter_page.locator(f"input[name='poll-option_{first.pk}'][value='no']").check()
    voter_page.locator(f"input[name='poll-option_{second.pk}'][value='yes']").check()
    voter_page.get_by_role("button", name="提交我的选择").click()
    expect(voter_page.locator(".messages")).to_contain_text("已记下")

    desk.reload()
    expect(desk.locator(".poll-list li.best")).to_contain_text("最多人可参加")
    desk.get_by_text("确定会议时间").click()
    desk.get_by_role("button", name="确定时间").click()
    expect(desk.locator(".messages")).to_contain_text("会议时间已确定")
    meeting.refresh_from_db()
    assert meeting.status == MeetingStatus.SCHEDULED and meeting.starts_at == second.starts_at
    desk.get_by_text("添加议题").click()
    desk.get_by_label("居民提议").select_option(index=1)
    desk.get_by_role("button", name="加入议程").click()
    expect(desk.locator("ol.agenda")).to_contain_text("3号楼前增设休息座椅")

    # 4. At the door: staff sign three residents in; the quorum display follows at once.
    desk.get_by_role("link", name="签到台：为居民代签").click()
    expect(desk.get_by_test_id("quorum-state")).to_contain_text("还差 4 人")
    desk.get_by_label("姓名或房号").fill("居民")
    desk.get_by_role("button", name="查找").click()
    for name, missing in (("居民0", 3), ("居民1", 2), ("居民2", 1)):
        desk.get_by_role("button", name=f"为{name}签到").click()
        expect(desk.locator("#desk-results")).to_contain_text(f"{name} 已签到")
        expect(desk.get_by_test_id("quorum-state")).to_contain_text(f"还差 {missing} 人")
    # The fourth signs in on their own phone; the desk's display catches up by polling.
    phone.goto(f"/deliberation/meetings/{meeting.pk}/")
    phone.get_by_role("button", name="我已到场，签到").click()
    expect(phone.locator("main")).to_contain_text("您已签到")
    expect(desk.get_by_test_id("quorum-state")).to_contain_text("已达到法定人数", timeout=15_000)
    screenshot(desk, "deliberation-quorum-reached-desktop")
    assert Attendance.objects.filter(meeting=meeting).count() == 4

    # 5. The meeting ends; its decision is recorded, an action created and its progress reported.
    desk.goto(f"/deliberation/meetings/{meeting.pk}/")
    desk.get_by_role("button", name="会议结束，记录到会人数").click()
    expect(desk.locator(".messages")).to_contain_text("会议已结束")
    desk.get_by_role("textbox", name="会议纪要").fill("到会 4 人，超过半数。议定：在3号楼前增设两张休息座椅。")
    desk.get_by_role("button", name="保存并公开").click()
    expect(desk.locator(".messages")).to_contain_text("纪要已公开")
    desk.get_by_role("link", name="记录决定").click()
    desk.get_by_label("决定事项").fill("在3号楼前增设休息座椅")
    desk.get_by_label("决定内容（公开）").fill("年内在3号楼前增设两张休息座椅，由物业负责安装。")
    desk.get_by_role("button", name="记录并公布决定").click()
    expect(desk.get_by_role("heading", level=1)).to_have_text("在3号楼前增设休息座椅")
    desk.get_by_role("textbox", name="落实事项").fill("采购并安装座椅")
    desk.get_by_label("公开显示的负责人或负责单位").fill("安居物业")
    desk.get_by_label("完成期限").fill((timezone.localdate() + timedelta(days=60)).isoformat())
    desk.get_by_role("button", name="添加", exact=True).click()
    expect(desk.locator(".action-tree")).to_contain_text("采购并安装座椅")
    desk.get_by_role("link", name="采购并安装座椅").click()
    desk.get_by_label("进行中").check()
    desk.get_by_label("进展说明（公开）").fill("座椅已到货，下周安装。")
    photo = tmp_path / "site.jpg"
    photo.write_bytes(jpeg_with_gps())
    desk.locator('input[type="file"][multiple]').set_input_files(str(photo))
    desk.get_by_role("button", name="提交进展").click()
    expect(desk.locator(".messages")).to_contain_text("进展已更新")
    action = Action.objects.get()
    assert action.progress == 50 and action.status == "in_progress"
    stored = ActionPhoto.objects.get()
    with stored.file.open("rb") as handle:
        assert not Image.open(handle).getexif(), "the stored photo still carries EXIF data"

    # 6. Anyone sees the decision and its progress on the public page, without signing in.
    public = new_context(browser, live_server, watch)
    page = public.new_page()
    page.goto("/deliberation/public/")
    expect(page.locator("main")).to_contain_text("50%")
    page.get_by_role("link", name="在3号楼前增设休息座椅").click()
    expect(page.locator("main")).to_contain_text("采购并安装座椅")
    expect(page.locator("main")).to_contain_text("50%")
    page.get_by_text("进展记录").click()
    expect(page.locator("main")).to_contain_text("座椅已到货，下周安装。")
    expect(page.locator(".photos img")).to_be_visible()
    page.get_by_role("link", name="2026年第四季度居民会议").click()
    expect(page.locator("main")).to_contain_text("达到法定人数")
    main_text = page.locator("main").inner_text()
    for private in ("王秀英", "居民0", hood.voters[0].username, personas.staff.username):
        assert private not in main_text
    screenshot(page, "deliberation-public-phone")

    for context in (proposer, *neighbours, staff, public):
        context.close()
    watch.assert_clean()
