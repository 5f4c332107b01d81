"""The meeting pages: convening with a time poll, residents' answers, fixing the time,
the agenda, sign-in (self and at the staff's desk), the live quorum partial, comments,
the end of the meeting and its minutes; who may see and do what."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from linli.deliberation import services
from linli.deliberation.models import (
    AgendaItem,
    Attendance,
    Meeting,
    MeetingComment,
    MeetingStatus,
    TimeOption,
    TimePollAnswer,
)
from linli.notifications.models import Notification
from tests.conftest import Personas, Tree, login
from tests.deliberation.conftest import Neighbourhood

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def body(response: Any) -> str:
    return str(response.content.decode())


def local(days: int, hour: int) -> str:
    when = timezone.localtime() + timedelta(days=days)
    return when.replace(hour=hour, minute=0).strftime("%Y-%m-%dT%H:%M")


def residents_meeting(tree: Tree, personas: Personas) -> Meeting:
    start = timezone.now() + timedelta(hours=1)
    return services.meeting_create(by=personas.staff, place=tree.community, kind="residents_meeting",
                                   title="年度居民会议", starts_at=start, location="社区活动室")


def test_staff_convene_with_a_time_poll_and_fix_the_time_most_can_attend(
        client: Client, hood: Neighbourhood, tree: Tree, personas: Personas) -> None:
    login(client, personas.staff)
    form = body(client.get(reverse("deliberation:meeting_new")))
    assert 'type="datetime-local"' in form and "樱花园社区" in form
    data = {"place": tree.community.pk, "kind": "council", "title": "车棚改造议事会", "location": "活动室",
            "timing": "poll", "duration": 90, "option_1": local(3, 19), "option_2": local(4, 19),
            "option_3": "明天晚上"}
    response = client.post(reverse("deliberation:meeting_new"), data)
    # A time that is not a time: the form says so and keeps the rest.
    assert response.status_code == 400 and "车棚改造议事会" in body(response) and not Meeting.objects.exists()
    data["option_3"] = ""
    response = client.post(reverse("deliberation:meeting_new"), data)
    meeting = Meeting.objects.get()
    assert response.status_code == 302 and meeting.status == MeetingStatus.PLANNING
    first, second = TimeOption.objects.filter(meeting=meeting).order_by("starts_at")
    assert second.ends_at - second.starts_at == timedelta(minutes=90)

    for voter, answer in ((hood.voters[0], "no"), (hood.voters[1], "yes"), (hood.voters[2], "yes")):
        resident = Client()
        login(resident, voter)
        page = body(resident.get(reverse("deliberation:meeting_detail", args=[meeting.pk])))
        assert 'data-testid="poll-form"' in page and "schedule-form" not in page
        response = resident.post(reverse("deliberation:meeting_poll", args=[meeting.pk]), {
            f"poll-option_{first.pk}": "no", f"poll-option_{second.pk}": answer})
        assert response.status_code == 302
    assert TimePollAnswer.objects.filter(option=second, answer="yes").count() == 2
    # An empty answer is refused in words.
    resident = Client()
    login(resident, hood.voters[3])
    response = resident.post(reverse("deliberation:meeting_poll", args=[meeting.pk]), {})
    assert response.status_code == 400 and "请至少对一个时间作出选择" in body(response)

    page = body(client.get(reverse("deliberation:meeting_detail", args=[meeting.pk])))
    assert "最多人可参加" in page and 'data-testid="schedule-form"' in page
    response = client.post(reverse("deliberation:meeting_schedule", args=[meeting.pk]), {"schedule-option": second.pk,
                                                                                          "schedule-duration": 120})
    assert response.status_code == 302
    meeting.refresh_from_db()
    assert meeting.status == MeetingStatus.SCHEDULED and meeting.starts_at == second.starts_at
    assert Notification.objects.filter(user=hood.voters[1], title__contains="定于").exists()


def test_a_fixed_time_meeting_needs_its_time(client: Client, hood: Neighbourhood, tree: Tree,
                                             personas: Personas) -> None:
    login(client, personas.staff)
    response = client.post(reverse("deliberation:meeting_new"), {
        "place": tree.community.pk, "kind": "residents_meeting", "title": "年度居民会议", "timing": "fixed",
        "duration": 120})
    assert response.status_code == 400 and "请填写开始时间" in body(response)
    response = client.post(reverse("deliberation:meeting_new"), {
        "place": tree.community.pk, "kind": "residents_meeting", "title": "年度居民会议", "timing": "fixed",
        "duration": 120, "starts_at": local(2, 9), "body_kind": "households"})
    meeting = Meeting.objects.get()
    assert response.status_code == 302 and meeting.body_kind == "households"


def test_a_representatives_meeting_lists_its_members_by_name(client: Client, hood: Neighbourhood, tree: Tree,
                                                               personas: Personas) -> None:
    login(client, personas.staff)
    data = {"place": tree.community.pk, "kind": "residents_meeting", "title": "居民代表会议", "timing": "fixed",
            "duration": 120, "starts_at": local(2, 9), "body_kind": "representatives"}
    response = client.post(reverse("deliberation:meeting_new"), {**data, "representatives": ""})
    assert response.status_code == 400 and "请列出参会的居民代表" in body(response)
    response = client.post(reverse("deliberation:meeting_new"), {**data, "representatives": "王秀英\n查无此人"})
    assert response.status_code == 400 and "找不到“查无此人”" in body(response)
    assert "查无此人" in body(response)  # what was typed stays in the form
    assert not Meeting.objects.exists()
    response = client.post(reverse("deliberation:meeting_new"), {**data, "representatives": "王秀英\n李建国"})
    meeting = Meeting.objects.get()
    assert response.status_code == 302 and meeting.body_kind == "representatives"
    assert set(meeting.members.values_list("resident_id", flat=True)) == {hood.adults[0].pk, hood.adults[1].pk}


@pytest.mark.parametrize("who", ["auditor", "grid_worker", "resident", "outsider", "street_supervisor"])
def test_only_those_who_manage_convene(client: Client, hood: Neighbourhood, personas: Personas, who: str) -> None:
    login(client, getattr(personas, who))
    assert client.get(reverse("deliberation:meeting_new")).status_code == 403


def test_agenda_takes_a_proposal_or_a_motion(client: Client, hood: Neighbourhood, tree: Tree,
                                              personas: Personas) -> None:
    meeting = residents_meeting(tree, personas)
    proposal = services.proposal_create(by=hood.voters[0], place=tree.community, title="加装电梯", body="老楼")
    login(client, personas.staff)
    url = reverse("deliberation:meeting_agenda_add", args=[meeting.pk])
    response = client.post(url, {"agenda-body": "只有说明"})
    assert response.status_code == 400 and "请选择一项提议，或填写议题" in body(response) and "只有说明" in body(response)
    assert client.post(url, {"agenda-proposal": proposal.pk}).status_code == 302
    assert client.post(url, {"agenda-title": "垃圾分类督导", "agenda-body": ""}).status_code == 302
    assert list(AgendaItem.objects.filter(meeting=meeting).values_list("kind", "title")) == [
        ("proposal", "加装电梯"), ("motion", "垃圾分类督导")]
    login(client, personas.auditor)
    assert client.post(url, {"agenda-title": "审计员的动议"}).status_code == 403


def test_sign_in_until_the_live_quorum_is_reached(client: Client, hood: Neighbourhood, tree: Tree,
                                                   personas: Personas) -> None:
    meeting = residents_meeting(tree, personas)  # six adults: quorum needs four
    quorum_url = reverse("deliberation:meeting_quorum", args=[meeting.pk])
    resident = Client()
    login(resident, hood.voters[0])
    page = body(resident.get(reverse("deliberation:meeting_detail", args=[meeting.pk])))
    assert 'hx-trigger="every 5s' in page and "还差 4 人" in page
    assert resident.post(reverse("deliberation:meeting_sign_in", args=[meeting.pk])).status_code == 302
    again = resident.post(reverse("deliberation:meeting_sign_in", args=[meeting.pk]), follow=True)
    assert "已经签到" in body(again) and Attendance.objects.filter(meeting=meeting).count() == 1

    login(client, personas.staff)
    desk = reverse("deliberation:meeting_desk", args=[meeting.pk])
    found = body(client.get(desk, {"q": "居民"}))
    assert found.count('name="resident"') == 4
    # Staff sign three in; one is a repeat of a resident who signed themselves in.
    for adult in hood.adults[1:4]:
        assert client.post(desk + "?q=居民", {"resident": adult.pk}).status_code == 302
    response = client.post(desk, {"resident": hood.adults[0].pk})
    assert response.status_code == 400 and "已经签到" in body(response)
    # A resident of the other community cannot be signed in, nor a made-up id.
    assert client.post(desk, {"resident": 10**9}).status_code == 400
    assert Attendance.objects.filter(meeting=meeting).count() == 4

    live = client.get(quorum_url, **HTMX)
    assert live.status_code == 200 and "已达到法定人数" in body(live) and 'value="4-6"' in body(live)
    # Nothing changed since what the page shows: nothing to swap.
    assert client.get(quorum_url, {"shown": "4-6"}, **HTMX).status_code == 204
    # With HTMX, signing in answers with the list and asks the quorum box to refresh.
    response = client.post(desk + "?q=居民", {"resident": hood.adults[4].pk}, **HTMX)
    assert response.status_code == 200 and response["HX-Trigger"] == "quorum-changed"
    assert "居民2 已签到" in body(response)
    assert client.get(quorum_url, {"shown": "4-6"}, **HTMX).status_code == 200

    assert client.post(reverse("deliberation:meeting_end", args=[meeting.pk])).status_code == 302
    meeting.refresh_from_db()
    assert meeting.status == MeetingStatus.HELD and (meeting.present_count, meeting.body_size) == (5, 6)
    # Once the meeting is over, the poll is told to stop (htmx's 286).
    assert client.get(quorum_url, {"shown": "5-6"}, **HTMX).status_code == 286


@pytest.mark.parametrize(("who", "code"), [("auditor", 403), ("street_supervisor", 403), ("resident", 404),
                                           ("outside_staff", 404)])
def test_the_sign_in_desk_is_for_those_who_work(client: Client, hood: Neighbourhood, tree: Tree,
                                                personas: Personas, who: str, code: int) -> None:
    meeting = residents_meeting(tree, personas)
    login(client, getattr(personas, who))
    desk = reverse("deliberation:meeting_desk", args=[meeting.pk])
    # A resident reaches the meeting's page, but the desk is a staff page: 404 as for any outsider.
    assert client.get(desk).status_code == code
    assert client.post(desk, {"resident": hood.adults[1].pk}).status_code == code
    assert not Attendance.objects.exists()


def test_comments_minutes_and_the_public_record(client: Client, hood: Neighbourhood, tree: Tree,
                                                personas: Personas) -> None:
    meeting = residents_meeting(tree, personas)
    resident = Client()
    login(resident, hood.voters[0])
    url = reverse("deliberation:meeting_detail", args=[meeting.pk])
    response = resident.post(reverse("deliberation:meeting_comment", args=[meeting.pk]), {"comment-body": "  "})
    assert response.status_code == 400 and 'role="alert"' in body(response)
    resident.post(reverse("deliberation:meeting_comment", args=[meeting.pk]), {"comment-body": "建议每季度开一次。"})
    resident.post(reverse("deliberation:meeting_comment", args=[meeting.pk]), {"comment-body": "我的电话 13800000000"})
    neighbour = Client()
    login(neighbour, hood.voters[1])
    page = body(neighbour.get(url))
    # Other residents see what was said, not who said it.
    assert "建议每季度开一次。" in page and "resident" not in page.split('id="comments"')[1].split("</section>")[0]

    login(client, personas.staff)
    phone = MeetingComment.objects.get(body__contains="138")
    assert client.post(reverse("deliberation:comment_hide", args=[phone.pk])).status_code == 302
    assert "13800000000" not in body(neighbour.get(url))
    auditor = Client()
    login(auditor, personas.auditor)
    assert auditor.post(reverse("deliberation:comment_hide", args=[phone.pk])).status_code == 403

    minutes = reverse("deliberation:meeting_minutes", args=[meeting.pk])
    response = client.post(minutes, {"minutes-minutes": "到会 4 人，议定……", "publish": "1"})
    assert response.status_code == 400 and "会议结束后才能公开纪要" in body(response)
    assert client.post(minutes, {"minutes-minutes": "草稿：到会 4 人"}).status_code == 302
    assert "草稿：到会 4 人" not in body(neighbour.get(url))
    public = reverse("deliberation:public_meeting", args=[meeting.pk])
    assert Client().get(public).status_code == 404
    client.post(reverse("deliberation:meeting_end", args=[meeting.pk]))
    assert client.post(minutes, {"minutes-minutes": "议定：每季度召开一次居民议事会。", "publish": "1"}).status_code == 302
    page = body(Client().get(public))
    assert "议定：每季度召开一次居民议事会。" in page and "未达到法定人数" in page
    for private in ("建议每季度开一次", "王秀英", "resident", "13800000000"):
        assert private not in page


def test_cancel_tells_those_who_answered(client: Client, hood: Neighbourhood, tree: Tree,
                                         personas: Personas) -> None:
    start = timezone.now() + timedelta(days=3)
    meeting = services.meeting_create(by=personas.staff, place=tree.community, kind="forum", title="座谈会",
                                      time_options=[(start, start + timedelta(hours=2))])
    services.meeting_poll_answer(option=meeting.time_options.get(), by=hood.voters[0], answer="yes")
    login(client, personas.staff)
    url = reverse("deliberation:meeting_cancel", args=[meeting.pk])
    assert client.post(url, {"cancel-reason": ""}).status_code == 400
    assert client.post(url, {"cancel-reason": "场地临时维修"}).status_code == 302
    meeting.refresh_from_db()
    assert meeting.status == MeetingStatus.CANCELLED
    assert Notification.objects.filter(user=hood.voters[0], title__contains="已取消").exists()


@pytest.mark.parametrize("who", ["outsider", "outside_staff", "partner"])
def test_outsiders_see_nothing_of_a_meeting(client: Client, hood: Neighbourhood, tree: Tree,
                                            personas: Personas, who: str) -> None:
    meeting = residents_meeting(tree, personas)
    login(client, getattr(personas, who))
    for name in ("meeting_detail", "meeting_quorum", "meeting_desk"):
        assert client.get(reverse(f"deliberation:{name}", args=[meeting.pk])).status_code == 404, name
    for name in ("meeting_poll", "meeting_sign_in", "meeting_comment", "meeting_end", "meeting_minutes",
                 "meeting_agenda_add", "meeting_schedule", "meeting_cancel", "meeting_option_add"):
        assert client.post(reverse(f"deliberation:{name}", args=[meeting.pk])).status_code == 404, name


def test_the_meeting_list_runs_few_queries(client: Client, hood: Neighbourhood, tree: Tree, personas: Personas,
                                           django_assert_max_num_queries: Any) -> None:
    login(client, hood.voters[0])
    client.get(reverse("deliberation:meetings"))

    def count_for(n: int) -> None:
        with django_assert_max_num_queries(12):
            response = client.get(reverse("deliberation:meetings"))
        assert body(response).count("meeting-card") == n

    residents_meeting(tree, personas)
    count_for(1)
    for _i in range(4):
        residents_meeting(tree, personas)
    count_for(5)
