"""Decisions and their actions: recording a decision of a meeting with the proposals and
requests behind it, nested actions with owners and due dates, progress updates with
photos (re-encoded, no EXIF), and the public pages that show it all without personal
information."""

from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from linli.deliberation import services
from linli.deliberation.models import (
    Action,
    ActionPhoto,
    ActionStatus,
    Decision,
    DeliberationConfig,
)
from linli.requests.intake import request_submit
from linli.requests.models import Category, Channel, Request
from tests.conftest import Personas, Tree, login
from tests.deliberation.conftest import Neighbourhood

pytestmark = pytest.mark.django_db


def body(response: Any) -> str:
    return str(response.content.decode())


def jpeg_with_gps() -> SimpleUploadedFile:
    image = Image.new("RGB", (40, 30), (40, 160, 60))
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (39.0, 54.0, 27.0), 3: "E", 4: (116.0, 23.0, 50.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return SimpleUploadedFile("site.jpg", out.getvalue(), content_type="image/jpeg")


def a_request(personas: Personas, tree: Tree) -> Request:
    return request_submit(by=personas.resident, category=Category.objects.get(code="repairs"),
                          place=tree.household, title="车棚漏雨", description="3号楼车棚漏雨",
                          channel=Channel.WEB, attributes={"facility": "other"})


def test_record_a_decision_of_a_meeting_with_what_led_to_it(
        client: Client, hood: Neighbourhood, tree: Tree, personas: Personas) -> None:
    proposal = services.proposal_create(by=hood.voters[0], place=tree.community, title="修缮车棚", body="漏雨")
    meeting = services.meeting_create(by=personas.staff, place=tree.community, kind="council", title="议事会",
                                      starts_at=timezone.now())
    services.meeting_agenda_add(meeting=meeting, by=personas.staff, proposal=proposal)
    request = a_request(personas, tree)
    login(client, personas.staff)
    url = reverse("deliberation:decision_new") + f"?meeting={meeting.pk}"
    page = body(client.get(url))
    assert "修缮车棚" in page and "checked" in page  # the agenda's proposal is ticked
    data = {"meeting": meeting.pk, "title": "修缮3号楼车棚", "text": "年内修缮 3 号楼车棚。",
            "proposals": [proposal.pk], "requests": f"{request.pk}, 99999"}
    response = client.post(reverse("deliberation:decision_new"), data)
    assert response.status_code == 400 and "#99999" in body(response) and "年内修缮 3 号楼车棚。" in body(response)
    data["requests"] = f"#{request.pk}，"
    response = client.post(reverse("deliberation:decision_new"), data)
    decision = Decision.objects.get()
    assert response.status_code == 302
    assert decision.meeting == meeting and list(decision.proposals.all()) == [proposal]
    assert list(decision.requests.all()) == [request]
    response = client.post(reverse("deliberation:decision_new"), {**data, "requests": "abc"})
    assert response.status_code == 400 and "不是诉求编号" in body(response)


@pytest.mark.parametrize(("who", "of_meeting", "plain"), [
    ("auditor", 403, 403), ("grid_worker", 404, 403), ("outside_staff", 404, 200), ("resident", 404, 403)])
def test_recording_is_for_those_who_manage(client: Client, hood: Neighbourhood, tree: Tree, personas: Personas,
                                           who: str, of_meeting: int, plain: int) -> None:
    """A meeting's decision: 404 for whoever does not reach the meeting, 403 for those who
    only read it. The plain page: for whoever manages somewhere (the other community's
    staff manage theirs)."""
    meeting = services.meeting_create(by=personas.staff, place=tree.community, kind="council", title="议事会",
                                      starts_at=timezone.now())
    login(client, getattr(personas, who))
    assert client.get(reverse("deliberation:decision_new") + f"?meeting={meeting.pk}").status_code == of_meeting
    assert client.get(reverse("deliberation:decision_new")).status_code == plain


def test_actions_nest_take_updates_with_photos_and_show_on_the_public_page(
        client: Client, hood: Neighbourhood, tree: Tree, personas: Personas, tmp_path: Any, settings: Any) -> None:
    settings.MEDIA_ROOT = tmp_path
    DeliberationConfig.objects.create(place=tree.community, progress_in_progress=40)
    proposal = services.proposal_create(by=hood.voters[0], place=tree.community, title="修缮车棚", body="漏雨")
    request = a_request(personas, tree)
    decision = services.decision_record(by=personas.staff, place=tree.community, title="修缮车棚",
                                        text="年内修缮 3 号楼车棚。", proposals=[proposal], requests=[request])
    login(client, personas.staff)
    detail = reverse("deliberation:decision_detail", args=[decision.pk])
    page = body(client.get(detail))
    assert "grid_worker" in page  # the grid worker of the community may own an action
    add = reverse("deliberation:action_new", args=[decision.pk])
    due = (timezone.localdate() + timedelta(days=60)).isoformat()
    response = client.post(add, {"title": "车棚修缮", "due_on": due})
    assert response.status_code == 400 and "请选择负责人账号，或填写负责单位" in body(response)
    client.post(add, {"title": "车棚修缮", "due_on": due, "owner": personas.grid_worker.pk,
                      "proposals": [proposal.pk], "requests": [request.pk]})
    parent = Action.objects.get()
    # The public label is the committee's, not the owner's name.
    assert parent.owner == personas.grid_worker and parent.owner_label == "樱花园社区居委会"
    assert list(parent.proposals.all()) == [proposal] and list(parent.requests.all()) == [request]
    for title in ("更换顶棚", "加装照明"):
        client.post(add, {"title": title, "due_on": due, "owner_label": "安居物业", "parent": parent.pk})
    roof, lights = Action.objects.filter(parent=parent).order_by("pk")

    update = reverse("deliberation:action_update", args=[roof.pk])
    response = client.post(update, {"progress": 101, "body": "材料已到"})
    assert response.status_code == 400 and "材料已到" in body(response)
    response = client.post(update, {"status": "in_progress", "body": "材料已到", "photos": jpeg_with_gps()})
    assert response.status_code == 302
    roof.refresh_from_db()
    parent.refresh_from_db()
    assert roof.progress == 40 and parent.rolled_progress == Decimal("20.00")
    photo = ActionPhoto.objects.get()
    with photo.file.open("rb") as handle:
        assert not Image.open(handle).getexif(), "the stored photo still carries EXIF data"
    not_a_photo = SimpleUploadedFile("x.jpg", b"not a photo", content_type="image/jpeg")
    response = client.post(update, {"body": "第二张", "photos": not_a_photo})
    assert response.status_code == 400 and "不是支持的照片格式" in body(response)

    # The owner (a grid worker) reports on their own action; a resident cannot.
    worker = Client()
    login(worker, personas.grid_worker)
    assert worker.post(reverse("deliberation:action_update", args=[parent.pk]),
                       {"body": "已与物业确认工期"}).status_code == 302
    assert worker.post(reverse("deliberation:action_update", args=[lights.pk]),
                       {"body": "不是我的"}).status_code == 404  # lights is the community's, not in their grid
    resident = Client()
    login(resident, hood.voters[0])
    assert resident.get(reverse("deliberation:action_detail", args=[roof.pk])).status_code == 404
    auditor = Client()
    login(auditor, personas.auditor)
    assert auditor.get(reverse("deliberation:action_detail", args=[roof.pk])).status_code == 200
    assert auditor.post(update, {"body": "审计"}).status_code == 403

    client.post(reverse("deliberation:action_update", args=[lights.pk]), {"status": "done"})
    public = body(Client().get(reverse("deliberation:public_decision", args=[decision.pk])))
    assert "年内修缮 3 号楼车棚。" in public and "材料已到" in public and "70%" in public
    assert "源自 1 项居民提议" in public and "关联 1 件居民诉求" in public
    for private in ("grid_worker", "staff", "车棚漏雨", "王秀英"):
        assert private not in public, private
    assert Client().get(reverse("deliberation:action_photo", args=[photo.pk])).status_code == 200
    index = body(Client().get(reverse("deliberation:public")))
    assert "修缮车棚" in index and "70%" in index


def test_overdue_actions_are_marked(client: Client, hood: Neighbourhood, tree: Tree, personas: Personas) -> None:
    decision = services.decision_record(by=personas.staff, place=tree.community, title="清理楼道", text="清理杂物")
    action = services.action_create(decision=decision, by=personas.staff, title="清理 3 号楼楼道",
                                    due_on=date(2020, 1, 1), owner_label="网格员")
    login(client, personas.staff)
    assert "已超期" in body(client.get(reverse("deliberation:desk")))
    assert "已超期" in body(client.get(reverse("deliberation:action_detail", args=[action.pk])))
    services.action_update(action=action, by=personas.staff, status=ActionStatus.DONE)
    assert "已超期" not in body(client.get(reverse("deliberation:action_detail", args=[action.pk])))


def test_decision_lists_run_few_queries(client: Client, hood: Neighbourhood, tree: Tree, personas: Personas,
                                        django_assert_max_num_queries: Any) -> None:
    def add(n: int) -> None:
        for i in range(n):
            decision = services.decision_record(by=personas.staff, place=tree.community, title=f"决定{i}",
                                                text="内容")
            services.action_create(decision=decision, by=personas.staff, title="事项", due_on=date(2030, 1, 1),
                                   owner_label="居委会")

    login(client, personas.staff)
    add(2)
    for url, limit in ((reverse("deliberation:decisions"), 10), (reverse("deliberation:desk"), 14)):
        client.get(url)
        with django_assert_max_num_queries(limit):
            client.get(url)
    add(5)
    for url, limit in ((reverse("deliberation:decisions"), 10), (reverse("deliberation:desk"), 14)):
        with django_assert_max_num_queries(limit):
            client.get(url)
    anonymous = Client()
    with django_assert_max_num_queries(6):
        response = anonymous.get(reverse("deliberation:public"))
    assert body(response).count("决定") >= 7
    decision = Decision.objects.first()
    assert decision is not None
    with django_assert_max_num_queries(10):
        anonymous.get(reverse("deliberation:public_decision", args=[decision.pk]))


def test_a_decision_rests_on_its_published_vote_and_links_to_it(
        client: Client, hood: Neighbourhood, tree: Tree, personas: Personas, make_vote: Any) -> None:
    from tests.deliberation.conftest import AFTER, DURING

    passed = make_vote(title="增设充电桩")
    failed = make_vote(title="拆除花坛")
    for vote, choice in ((passed, "for"), (failed, "against")):
        for voter in hood.voters[:4]:
            services.vote_cast(vote=vote, by=voter, choice=choice, at=DURING)
        services.vote_close(vote=vote, by=personas.lead, at=AFTER)
        services.vote_publish(vote=vote, by=personas.lead, at=AFTER)
    login(client, personas.staff)
    form = body(client.get(reverse("deliberation:decision_new")))
    assert "增设充电桩" in form and "拆除花坛" in form
    data = {"title": "增设充电桩", "text": "按表决结果增设。", "place": tree.community.pk, "vote": failed.pk}
    response = client.post(reverse("deliberation:decision_new"), data)
    assert response.status_code == 400 and "未通过" in body(response) and "按表决结果增设。" in body(response)
    client.post(reverse("deliberation:decision_new"), {**data, "vote": passed.pk})
    decision = Decision.objects.get()
    assert decision.vote == passed and decision.result_sha256
    staff_page = body(client.get(reverse("deliberation:decision_detail", args=[decision.pk])))
    assert reverse("votes:detail", args=[passed.pk]) in staff_page and decision.result_sha256 in staff_page
    public = body(Client().get(reverse("deliberation:public_decision", args=[decision.pk])))
    assert reverse("votes:public_detail", args=[passed.pk]) in public and "表决通过" in public
    # A vote already decided on is no longer offered.
    assert "增设充电桩" not in body(client.get(reverse("deliberation:decision_new"))).split('name="vote"')[1]
