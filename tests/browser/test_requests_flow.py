"""The main flow of 接诉即办 in a real browser: a resident reports a problem with a photo
on their phone; staff accept, assign, reply and resolve it; the resident rates it and
then reopens it; the street's ranking of communities moves with each step."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from linli.requests import services as svc
from linli.requests.catalogue import categories_install
from linli.requests.intake import request_submit
from linli.requests.models import Attachment, Category, Channel, Rating, Request, Status
from tests.browser.conftest import DESKTOP, Watch, new_context, screenshot, sign_in_as
from tests.conftest import Personas, Tree

pytestmark = pytest.mark.browser


def jpeg_with_gps() -> bytes:
    """A photo as a phone takes it: with the GPS position in its EXIF data."""
    image = Image.new("RGB", (64, 48), (200, 120, 40))
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (39.0, 54.0, 27.0), 3: "E", 4: (116.0, 23.0, 50.0)}  # GPSInfo
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def open_action(page: Page, name: str) -> None:
    """Unfold an action of the request page (a primary one may already be unfolded)."""
    page.locator(f"#act-{name}").evaluate("node => { node.open = true; }")


def ranking_row(page: Page, community: str) -> str:
    page.goto("/insights/ranking/")
    row = page.locator("tbody tr", has=page.get_by_role("rowheader", name=community))
    expect(row).to_be_visible()
    return " ".join(row.inner_text().split())


def test_report_handle_rate_reopen_and_the_ranking_moves(
    browser: Browser, live_server: Any, watch: Watch, personas: Personas, tree: Tree, transactional_db: None,
    tmp_path: Any,
) -> None:
    categories_install()
    repairs = Category.objects.get(code="repairs")
    # The other community has one request handled and rated, so the ranking has a leader.
    far = request_submit(by=personas.outside_staff, category=repairs, place=tree.far_household, title="井盖松动",
                         description="1号楼前井盖松动", channel=Channel.PHONE, contact_name="王先生",
                         attributes={"facility": "other"})
    far = svc.request_accept(request=far, by=personas.outside_staff)
    far = svc.request_resolve(request=far, by=personas.outside_staff, resolution="已更换井盖")
    svc.request_rate(request=far, by=personas.outside_staff, rating=Rating.SATISFIED, solved=True, channel="phone")

    street = new_context(browser, live_server, watch, viewport=DESKTOP)
    sign_in_as(street, live_server, personas.street_supervisor)
    board = street.new_page()
    before = ranking_row(board, "樱花园社区")

    # 1. The resident reports on a phone, with a photo.
    resident = new_context(browser, live_server, watch)
    sign_in_as(resident, live_server, personas.resident)
    page = resident.new_page()
    page.goto("/")
    page.get_by_role("link", name="反映问题").first.click()
    page.get_by_label("问题类别").select_option(label="设施报修")
    page.get_by_label("楼道灯").check()
    page.get_by_label("标题").fill("5层楼道灯坏了")
    page.get_by_label("详细描述").fill("3号楼2单元5层楼道灯不亮，晚上看不清台阶。")
    photo = tmp_path / "light.jpg"
    photo.write_bytes(jpeg_with_gps())
    page.locator('input[type="file"][multiple]').set_input_files(str(photo))
    page.get_by_role("button", name="提交诉求").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("5层楼道灯坏了")
    screenshot(page, "requests-resident-submitted-phone")
    req = Request.objects.get(title="5层楼道灯坏了")
    assert req.status == Status.SUBMITTED and req.reporter == personas.resident
    stored = Attachment.objects.get(request=req)
    with stored.file.open("rb") as handle:
        assert not Image.open(handle).getexif(), "the stored photo still carries EXIF data"

    # 2. Staff accept, assign, reply and resolve it.
    staff = new_context(browser, live_server, watch, viewport=DESKTOP)
    sign_in_as(staff, live_server, personas.staff)
    desk = staff.new_page()
    desk.goto("/requests/queue/")
    desk.get_by_role("link", name="5层楼道灯坏了").click()
    desk.locator("#act-accept").get_by_role("button", name="受理").click()
    expect(desk.locator("main")).to_contain_text("已受理")
    open_action(desk, "assign")
    desk.locator("#id_assign-handler").select_option(label=str(personas.grid_worker))
    desk.locator("#act-assign").get_by_role("button", name="分派给工作人员").click()
    expect(desk.locator("main")).to_contain_text("已分派")
    open_action(desk, "reply")
    desk.locator("#id_reply-body").fill("已联系电工，明天上午更换灯泡。")
    desk.locator("#act-reply").get_by_role("button", name="答复居民").click()
    expect(desk.locator("main")).to_contain_text("已联系电工")
    open_action(desk, "resolve")
    desk.locator("#id_resolve-resolution").fill("已更换 5 层楼道灯泡，恢复照明。")
    desk.locator("#act-resolve").get_by_role("button", name="办结", exact=True).click()
    expect(desk.locator("main")).to_contain_text("已办结待回访")
    screenshot(desk, "requests-staff-resolved-desktop")

    # 3. The resident sees the reply and rates the handling; the ranking takes it in.
    page.reload()
    expect(page.locator("main")).to_contain_text("已联系电工，明天上午更换灯泡。")
    page.get_by_label("非常满意").check()
    page.get_by_label("是，问题已解决").check()
    page.get_by_role("button", name="提交评价").click()
    expect(page.locator("main")).to_contain_text("非常满意")
    req.refresh_from_db()
    assert req.status == Status.CLOSED and req.rating == Rating.VERY_SATISFIED
    rated = ranking_row(board, "樱花园社区")
    assert rated != before
    assert "100" in rated  # one valid case: contacted and solved in time, very satisfied

    # 4. The light fails again: the resident reopens, and the rated case leaves the rates.
    page.get_by_text("问题没有解决？申请重新办理").click()
    page.locator("#reopen").get_by_label("原因").fill("灯泡又坏了，晚上还是黑的。")
    page.get_by_role("button", name="申请重新办理").click()
    expect(page.locator("main")).to_contain_text("办理中")
    req.refresh_from_db()
    assert req.reopen_count == 1 and req.status == Status.IN_PROGRESS
    assert ranking_row(board, "樱花园社区") == before
    screenshot(board, "requests-ranking-desktop")
    for context in (resident, staff, street):
        context.close()
