"""The resident's pages: reporting a problem (questions, photos, similar requests, "me
too"), my requests, the public timeline, rating, reopening, adding information,
withdrawing, and the photos they may see."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from linli.accounts.models import User
from linli.requests import services as svc
from linli.requests.intake import request_follow
from linli.requests.models import (
    Attachment,
    Category,
    Channel,
    CloseReason,
    EventKind,
    Follower,
    Rating,
    Request,
    Status,
)
from tests.conftest import Personas, Tree, login
from tests.requests.conftest import Submit

pytestmark = pytest.mark.django_db

NEW = "/requests/new/"


def png(name: str = "photo.png", colour: str = "red") -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (24, 16), colour).save(out, "PNG")
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/png")


def report(kind: Category, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "category": kind.pk, "title": "楼道灯坏了", "description": "3号楼2单元5层楼道灯不亮，晚上看不清台阶。",
        "address": "5 层楼梯间", "attr_facility": "light", "attr_floor": "5 层",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def body(response: Any) -> str:
    return str(response.content.decode())


def resolved(submit: Submit, personas: Personas, **fields: Any) -> Request:
    req = submit(**fields)
    req = svc.request_accept(request=req, by=personas.staff)
    return svc.request_resolve(request=req, by=personas.staff, resolution="已更换灯泡。")


# Reporting ------------------------------------------------------------------------------

def test_report_page_shows_the_home_and_the_categories(client: Client, personas: Personas, repairs: Category) -> None:
    login(client, personas.resident)
    response = client.get(NEW)
    page = body(response)
    assert response.status_code == 200
    assert "3号楼2单元502室" in page and repairs.name in page
    # HTMX reloads the questions; the no-JS button posts the form back for them.
    assert 'hx-get="/requests/new/"' in page and 'name="refresh"' in page
    assert 'accept="image/*"' in page and 'capture="environment"' in page and "multiple" in page


@pytest.mark.parametrize("who", ["staff", "auditor", "partner", "outsider"])
def test_report_page_is_for_residents(client: Client, personas: Personas, who: str) -> None:
    login(client, getattr(personas, who))
    assert client.get(NEW).status_code == 403


def test_report_page_needs_sign_in(client: Client, tree: Tree) -> None:
    response = client.get(NEW)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_questions_follow_the_category_with_htmx(client: Client, personas: Personas, repairs: Category,
                                                 suggestion: Category) -> None:
    login(client, personas.resident)
    response = client.get(NEW, {"category": repairs.pk}, HTTP_HX_REQUEST="true")
    fragment = body(response)
    assert response.status_code == 200 and "<html" not in fragment
    assert 'name="attr_facility"' in fragment and "楼道灯" in fragment and 'name="attr_floor"' in fragment
    assert 'id="similar" hx-swap-oob="true"' in fragment
    assert 'name="anonymous"' not in fragment  # repairs does not take anonymous requests
    fragment = body(client.get(NEW, {"category": suggestion.pk}, HTTP_HX_REQUEST="true"))
    assert 'name="attr_facility"' not in fragment and 'name="anonymous"' in fragment


def test_without_javascript_the_refresh_button_shows_the_questions_and_keeps_the_text(
    client: Client, personas: Personas, repairs: Category
) -> None:
    login(client, personas.resident)
    data = report(repairs, attr_facility=None, attr_floor=None, refresh="1", title="单元门关不上")
    response = client.post(NEW, data)
    page = body(response)
    assert response.status_code == 200
    assert 'value="单元门关不上"' in page and "3号楼2单元5层楼道灯不亮" in page
    assert 'name="attr_facility"' in page and "errorlist" not in page
    assert not Request.objects.exists()


def test_report_with_a_photo(client: Client, personas: Personas, repairs: Category) -> None:
    login(client, personas.resident)
    response = client.post(NEW, {**report(repairs), "photos": [png(), png("b.png", "blue")]})
    req = Request.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("requests:mine_detail", args=[req.pk])
    assert req.channel == Channel.WEB and req.reporter == personas.resident and req.status == Status.SUBMITTED
    assert req.attributes == {"facility": "light", "floor": "5 层"} and req.address == "5 层楼梯间"
    assert Attachment.objects.filter(request=req, public=True).count() == 2
    page = body(client.get(response["Location"]))
    assert "已收到您的诉求" in page and "楼道灯坏了" in page


def test_missing_fields_are_named_and_what_was_typed_stays(client: Client, personas: Personas,
                                                           repairs: Category) -> None:
    login(client, personas.resident)
    response = client.post(NEW, report(repairs, title="", attr_facility=None))
    page = body(response)
    assert response.status_code == 400
    assert 'id="id_title_error"' in page and 'id="id_attr_facility_error"' in page
    assert "3号楼2单元5层楼道灯不亮" in page and 'value="5 层楼梯间"' in page
    assert not Request.objects.exists()


def test_no_category_is_an_error_not_a_crash(client: Client, personas: Personas, repairs: Category) -> None:
    login(client, personas.resident)
    for value in ("", "abc", "999999", "1" * 40):
        response = client.post(NEW, report(repairs, category=value))
        assert response.status_code == 400 and 'id="id_category_error"' in body(response)
    assert not Request.objects.exists()


@pytest.fixture
def survey_category(db: None) -> Category:
    """A category with every kind of extra question."""
    return Category.objects.create(code="lift", name="电梯故障", group="居住环境", attributes=[
        {"code": "people", "datatype": "number", "required": True, "description": "被困人数", "order": 1},
        {"code": "since", "datatype": "datetime", "required": True, "description": "何时停运", "order": 2},
        {"code": "signs", "datatype": "multivaluelist", "required": False, "description": "现象", "order": 3,
         "values": [{"key": "noise", "name": "异响"}, {"key": "stop", "name": "停在两层之间"}]},
        {"code": "note", "datatype": "string", "required": False, "description": "其他", "order": 4},
    ])


def test_bad_answers_to_the_questions(client: Client, personas: Personas, survey_category: Category) -> None:
    login(client, personas.resident)
    data = report(survey_category, attr_facility=None, attr_floor=None, attr_people="很多", attr_since="昨天",
                  attr_signs=["noise", "fire"])
    response = client.post(NEW, data)
    page = body(response)
    assert response.status_code == 400
    for name in ("people", "since", "signs"):
        assert f'id="id_attr_{name}_error"' in page
    assert not Request.objects.exists()
    good = report(survey_category, attr_facility=None, attr_floor=None, attr_people="2",
                  attr_since="2026-05-04T08:30", attr_signs=["noise", "stop"], attr_note="3 号梯")
    response = client.post(NEW, good)
    assert response.status_code == 302
    answers = Request.objects.get().attributes
    assert answers["people"] == "2" and answers["signs"] == ["noise", "stop"] and answers["note"] == "3 号梯"
    assert answers["since"].startswith("2026-05-04T08:30:00+08:00")


def test_a_file_that_is_not_a_photo_is_refused(client: Client, personas: Personas, repairs: Category) -> None:
    login(client, personas.resident)
    fake = SimpleUploadedFile("photo.jpg", b"#!/bin/sh\necho not a photo\n", content_type="image/jpeg")
    response = client.post(NEW, {**report(repairs), "photos": [png(), fake]})
    page = body(response)
    assert response.status_code == 400
    assert "“photo.jpg”不是支持的照片格式" in page and "请重新选择" in page
    assert "3号楼2单元5层楼道灯不亮" in page
    assert not Request.objects.exists() and not Attachment.objects.exists()


def test_too_many_photos(client: Client, personas: Personas, repairs: Category, settings: Any) -> None:
    settings.REQUEST_PHOTOS_MAX = 2
    login(client, personas.resident)
    response = client.post(NEW, {**report(repairs), "photos": [png(f"{i}.png") for i in range(3)]})
    assert response.status_code == 400 and "最多上传 2 张照片" in body(response)
    assert not Request.objects.exists()


def test_anonymous_only_where_the_category_allows_it(client: Client, personas: Personas, repairs: Category,
                                                    suggestion: Category) -> None:
    login(client, personas.resident)
    assert 'name="anonymous"' not in body(client.get(NEW, {"category": repairs.pk}))
    # A hand-made "anonymous" for a category that does not allow it is ignored, not obeyed.
    client.post(NEW, report(repairs, anonymous="on"))
    assert Request.objects.get().reporter == personas.resident
    assert 'name="anonymous"' in body(client.get(NEW, {"category": suggestion.pk}))
    response = client.post(NEW, report(suggestion, attr_facility=None, attr_floor=None, anonymous="on",
                                       title="希望增加健身器材"))
    assert response.status_code == 302 and response["Location"] == reverse("requests:mine")
    anonymous = Request.objects.get(title="希望增加健身器材")
    assert anonymous.anonymous and anonymous.reporter is None


def test_similar_open_requests_are_offered_once_before_filing(client: Client, personas: Personas, submit: Submit,
                                                              repairs: Category, tree: Tree) -> None:
    neighbours = submit(by=personas.other_resident, place=tree.other_household, title="楼道灯不亮")
    login(client, personas.resident)
    response = client.post(NEW, {**report(repairs), "photos": [png()]})
    page = body(response)
    assert response.status_code == 200
    assert f"#{neighbours.pk} 楼道灯不亮" in page and "这也是我的问题" in page
    assert f'formaction="/requests/{neighbours.pk}/follow/"' in page and "请重新选择" in page
    assert f'name="similar_seen" value="{neighbours.pk}"' in page
    assert Request.objects.count() == 1
    # Seen, and still a different problem: the second submit files it.
    response = client.post(NEW, report(repairs, similar_seen=str(neighbours.pk)))
    assert response.status_code == 302 and Request.objects.count() == 2


def test_similar_requests_show_on_the_page_before_submitting(client: Client, personas: Personas, submit: Submit,
                                                             repairs: Category, tree: Tree) -> None:
    neighbours = submit(by=personas.other_resident, place=tree.other_household)
    mine = submit()
    login(client, personas.resident)
    page = body(client.get(NEW, {"category": repairs.pk}))
    assert f'data-testid="me-too-{neighbours.pk}"' in page
    # The resident's own request is a link to it, not a "me too".
    assert f'data-testid="me-too-{mine.pk}"' not in page and reverse("requests:mine_detail", args=[mine.pk]) in page


def test_me_too_follows_instead_of_filing(client: Client, personas: Personas, submit: Submit, tree: Tree) -> None:
    neighbours = submit(by=personas.other_resident, place=tree.other_household)
    login(client, personas.resident)
    assert client.get(reverse("requests:mine_detail", args=[neighbours.pk])).status_code == 404
    response = client.post(reverse("requests:follow", args=[neighbours.pk]), {"title": "ignored"})
    assert response.status_code == 302
    assert response["Location"] == reverse("requests:mine_detail", args=[neighbours.pk])
    assert Follower.objects.filter(request=neighbours, user=personas.resident).exists()
    assert Request.objects.count() == 1
    event = neighbours.events.get(kind=EventKind.FOLLOWED)
    assert not event.public
    page = body(client.get(response["Location"]))
    assert "您也遇到了这个问题" in page
    assert "通过“网页”提交" in page and "诉求人" in page


def test_only_nearby_open_requests_can_be_followed(client: Client, personas: Personas, submit: Submit,
                                                   tree: Tree) -> None:
    far = submit(by=personas.outside_staff, place=tree.far_household, channel=Channel.PHONE, contact_name="王")
    closed = submit(by=personas.other_resident, place=tree.other_household)
    svc.request_close(request=closed, by=personas.staff, reason=CloseReason.OUTSIDE_DUTY, answer="请联系供电公司")
    login(client, personas.resident)
    for req in (far, closed):
        assert client.post(reverse("requests:follow", args=[req.pk])).status_code == 404
    login(client, personas.staff)
    assert client.post(reverse("requests:follow", args=[closed.pk])).status_code == 404
    assert not Follower.objects.exclude(user__in=[personas.other_resident]).filter(request__in=[far, closed]).exists()


def test_report_works_in_elder_mode(client: Client, personas: Personas, repairs: Category) -> None:
    User.objects.filter(pk=personas.resident.pk).update(elder_mode=True)
    login(client, personas.resident)
    page = body(client.get(NEW, {"category": repairs.pk}))
    assert 'class="elder"' in page and 'name="attr_facility"' in page


# My requests ----------------------------------------------------------------------------

def _count_queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_my_requests_list_runs_a_constant_number_of_queries(client: Client, personas: Personas, submit: Submit,
                                                            tree: Tree) -> None:
    for i in range(3):
        submit(title=f"问题 {i}")
    login(client, personas.resident)
    url = reverse("requests:mine")
    few = _count_queries(client, url)
    for i in range(12):
        req = submit(by=personas.other_resident, place=tree.other_household, title=f"邻居的问题 {i}")
        request_follow(request=req, user=personas.resident)
    many = _count_queries(client, url)
    assert few == many
    page = body(client.get(url))
    assert "问题 0" in page and "邻居的问题 11" in page and "我也反映过" in page


def test_my_requests_show_status_and_ask_for_a_rating(client: Client, personas: Personas, submit: Submit) -> None:
    resolved(submit, personas, title="已办结的问题")
    submit(title="刚提交的问题")
    submit(by=personas.other_resident, title="别人的问题")
    login(client, personas.resident)
    page = body(client.get(reverse("requests:mine")))
    assert "已办结的问题" in page and "刚提交的问题" in page and "别人的问题" not in page
    assert "请您评价" in page and "已办结待回访" in page and "已提交" in page


def test_the_public_timeline_leaves_internal_steps_out(client: Client, personas: Personas, submit: Submit) -> None:
    req = svc.request_accept(request=submit(), by=personas.staff)
    svc.request_reply(request=req, by=personas.staff, body="明天上午来修。")
    svc.request_reply(request=req, by=personas.staff, body="电工老李 13912345678", public=False,
                      photos=[png("internal.png")])
    login(client, personas.resident)
    page = body(client.get(reverse("requests:mine_detail", args=[req.pk])))
    assert "明天上午来修。" in page and "13912345678" not in page and "内部" not in page
    assert "预计" in page and "前办结" in page
    internal = Attachment.objects.get(public=False)
    assert reverse("requests:attachment", args=[internal.pk]) not in page
    assert client.get(reverse("requests:attachment", args=[internal.pk])).status_code == 404


@pytest.mark.parametrize("who", ["other_resident", "staff", "outsider"])
def test_someone_elses_request_is_not_found(client: Client, personas: Personas, submit: Submit, who: str) -> None:
    req = submit()
    login(client, getattr(personas, who))
    assert client.get(reverse("requests:mine_detail", args=[req.pk])).status_code == 404
    assert client.post(reverse("requests:mine_action", args=[req.pk, "comment"]),
                       {"comment-body": "x"}).status_code == 404


def test_rate_a_resolved_request(client: Client, personas: Personas, submit: Submit) -> None:
    req = resolved(submit, personas)
    login(client, personas.resident)
    url = reverse("requests:mine_detail", args=[req.pk])
    page = body(client.get(url))
    assert 'data-testid="rate-form"' in page and "非常满意" in page and "已更换灯泡。" in page
    response = client.post(reverse("requests:mine_action", args=[req.pk, "rate"]), {
        "rate-rating": Rating.VERY_SATISFIED, "rate-solved": "yes", "rate-comment": "修得很快",
        "rate-expected_version": req.version,
    })
    assert response.status_code == 302
    req.refresh_from_db()
    assert req.status == Status.CLOSED and req.rating == 5 and req.solved is True
    page = body(client.get(url))
    assert "感谢您的评价" in page and 'data-testid="rate-form"' not in page and "修得很快" in page


def test_a_rating_needs_a_choice_and_keeps_the_comment(client: Client, personas: Personas, submit: Submit) -> None:
    req = resolved(submit, personas)
    login(client, personas.resident)
    response = client.post(reverse("requests:mine_action", args=[req.pk, "rate"]),
                           {"rate-solved": "no", "rate-comment": "灯还是闪", "rate-rating": "9"})
    page = body(response)
    assert response.status_code == 400 and "errorlist" in page and "灯还是闪" in page
    req.refresh_from_db()
    assert req.status == Status.RESOLVED


def test_a_stale_page_cannot_rate(client: Client, personas: Personas, submit: Submit) -> None:
    req = resolved(submit, personas)
    stale = req.version - 1
    login(client, personas.resident)
    response = client.post(reverse("requests:mine_action", args=[req.pk, "rate"]), {
        "rate-rating": 4, "rate-solved": "yes", "rate-comment": "还行", "rate-expected_version": stale})
    page = body(response)
    assert response.status_code == 409 and "刚被他人处理过" in page and "还行" in page
    req.refresh_from_db()
    assert req.status == Status.RESOLVED


def test_reopen_within_thirty_days(client: Client, personas: Personas, submit: Submit) -> None:
    req = resolved(submit, personas)
    svc.request_rate(request=req, by=personas.resident, rating=Rating.DISSATISFIED, solved=False)
    login(client, personas.resident)
    url = reverse("requests:mine_detail", args=[req.pk])
    assert "申请重新办理" in body(client.get(url))
    response = client.post(reverse("requests:mine_action", args=[req.pk, "reopen"]), {"reopen-reason": "灯又坏了"})
    assert response.status_code == 302
    req.refresh_from_db()
    assert req.status in (Status.ACCEPTED, Status.IN_PROGRESS) and req.reopen_count == 1


def test_no_reopen_after_thirty_days(client: Client, personas: Personas, submit: Submit) -> None:
    req = resolved(submit, personas)
    svc.request_rate(request=req, by=personas.resident, rating=Rating.SATISFIED, solved=True,
                     at=timezone.now() - timedelta(days=31))
    login(client, personas.resident)
    assert "申请重新办理" not in body(client.get(reverse("requests:mine_detail", args=[req.pk])))
    response = client.post(reverse("requests:mine_action", args=[req.pk, "reopen"]), {"reopen-reason": "又坏了"})
    assert response.status_code == 400 and "已超过 30 天" in body(response)


def test_add_information_restarts_the_clock(client: Client, personas: Personas, submit: Submit) -> None:
    req = svc.request_accept(request=submit(), by=personas.staff)
    req = svc.request_wait(request=req, by=personas.staff, question="是哪一层？")
    login(client, personas.resident)
    page = body(client.get(reverse("requests:mine_detail", args=[req.pk])))
    assert "是哪一层？" in page and "请您补充信息" in page
    response = client.post(reverse("requests:mine_action", args=[req.pk, "comment"]),
                           {"comment-body": "5 层", "comment-photos": [png()]})
    assert response.status_code == 302
    req.refresh_from_db()
    assert req.status == Status.ACCEPTED and req.paused_at is None
    assert req.attachments.count() == 1


def test_withdraw_while_open(client: Client, personas: Personas, submit: Submit) -> None:
    req = submit()
    request_follow(request=req, user=personas.other_resident)
    login(client, personas.other_resident)
    assert reverse("requests:mine_action", args=[req.pk, "withdraw"]) not in body(
        client.get(reverse("requests:mine_detail", args=[req.pk])))
    assert client.post(reverse("requests:mine_action", args=[req.pk, "withdraw"])).status_code == 403
    login(client, personas.resident)
    assert "撤回此诉求" in body(client.get(reverse("requests:mine_detail", args=[req.pk])))
    assert client.post(reverse("requests:mine_action", args=[req.pk, "withdraw"])).status_code == 302
    req.refresh_from_db()
    assert req.status == Status.CLOSED and req.close_reason == CloseReason.WITHDRAWN
    # Closed: nothing more to add, and a second withdrawal is a message, not a crash.
    page = body(client.get(reverse("requests:mine_detail", args=[req.pk])))
    assert reverse("requests:mine_action", args=[req.pk, "comment"]) not in page
    assert reverse("requests:mine_action", args=[req.pk, "withdraw"]) not in page
    response = client.post(reverse("requests:mine_action", args=[req.pk, "withdraw"]))
    assert response.status_code == 400 and "不能撤回" in body(response)


def test_unknown_action_is_not_found(client: Client, personas: Personas, submit: Submit) -> None:
    req = submit()
    login(client, personas.resident)
    assert client.post(reverse("requests:mine_action", args=[req.pk, "delete"])).status_code == 404


# Photos ---------------------------------------------------------------------------------

def test_photos_are_served_to_those_who_may_see_them(client: Client, personas: Personas, submit: Submit,
                                                     property_manager: Any) -> None:
    req = submit(photos=[png()])
    photo = req.attachments.get()
    url = reverse("requests:attachment", args=[photo.pk])
    for who, status in (("resident", 200), ("staff", 200), ("auditor", 200), ("grid_worker", 200),
                        ("other_resident", 404), ("outsider", 404), ("outside_staff", 404), ("partner", 404)):
        login(client, getattr(personas, who))
        response = client.get(url)
        assert response.status_code == status, who
        if status == 200:
            assert response["Content-Type"] == "image/png" and "private" in response["Cache-Control"]
            assert b"".join(response.streaming_content).startswith(b"\x89PNG")  # type: ignore[attr-defined]
    req = svc.request_accept(request=req, by=personas.staff)
    svc.request_dispatch(request=req, by=personas.staff, organisation=property_manager)
    login(client, personas.partner)
    assert client.get(url).status_code == 200
    request_follow(request=req, user=personas.other_resident)
    login(client, personas.other_resident)
    assert client.get(url).status_code == 200
    assert client.get(reverse("requests:attachment", args=[photo.pk + 1000])).status_code == 404
