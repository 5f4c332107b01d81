"""The staff workbench: the queue (scope, filters, countdowns, bulk assignment), entry on
a resident's behalf, and a request's page with every action, each shown only to whoever
may take it, refused (403) to the auditor and not found (404) outside scope."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from linli.accounts.models import Organisation, Role
from linli.places.models import Place, PlaceKind
from linli.places.services import place_create
from linli.requests import services as svc
from linli.requests.models import (
    Attachment,
    Category,
    Channel,
    CloseReason,
    EventKind,
    Priority,
    Rating,
    ReplyTemplate,
    Request,
    RequestEvent,
    Status,
)
from linli.requests.selectors import countdown
from tests.conftest import Personas, Tree, login, make_user
from tests.requests.conftest import Submit
from tests.requests.test_views_resident import body, png

pytestmark = pytest.mark.django_db

QUEUE = "/requests/queue/"


def accepted(submit: Submit, personas: Personas, **fields: Any) -> Request:
    return svc.request_accept(request=submit(**fields), by=personas.staff)


def act(req: Request, name: str) -> str:
    return reverse("requests:action", args=[req.pk, name])


def detail(req: Request) -> str:
    return reverse("requests:detail", args=[req.pk])


def far(submit: Submit, personas: Personas, tree: Tree, **fields: Any) -> Request:
    return submit(by=personas.outside_staff, place=tree.far_household, channel=Channel.PHONE, contact_name="王先生",
                  title=fields.pop("title", "井盖松动"), **fields)


def set_due(req: Request, delta: timedelta) -> Request:
    """Put the resolve deadline ``delta`` from now (a test set-up: the calendar is tested elsewhere)."""
    Request.objects.filter(pk=req.pk).update(resolve_due_at=timezone.now() + delta)
    req.refresh_from_db()
    return req


# The queue ------------------------------------------------------------------------------

def test_queue_is_limited_to_the_scope(client: Client, personas: Personas, submit: Submit, tree: Tree,
                                       property_manager: Organisation) -> None:
    inside = submit(title="楼道灯坏了")
    outside = far(submit, personas, tree)
    dispatched = svc.request_dispatch(request=accepted(submit, personas, title="电梯异响"), by=personas.staff,
                                      organisation=property_manager)
    login(client, personas.staff)
    page = body(client.get(QUEUE))
    assert inside.title in page and dispatched.title in page and outside.title not in page
    login(client, personas.outside_staff)
    page = body(client.get(QUEUE))
    assert outside.title in page and inside.title not in page
    login(client, personas.partner)
    page = body(client.get(QUEUE))
    assert dispatched.title in page and inside.title not in page
    assert 'name="ids"' not in page  # partners do not assign
    login(client, personas.auditor)
    page = body(client.get(QUEUE))
    assert inside.title in page and 'name="ids"' not in page
    for who in ("resident", "outsider"):
        login(client, getattr(personas, who))
        assert client.get(QUEUE).status_code == 403


def test_queue_filters(client: Client, personas: Personas, submit: Submit, tree: Tree, suggestion: Category) -> None:
    new = submit(title="新提交的")
    mine = svc.request_assign(request=accepted(submit, personas, title="分给网格员的"), by=personas.staff,
                              handler=personas.grid_worker)
    late = set_due(accepted(submit, personas, title="已超时的"), -timedelta(days=2, hours=1))
    soon = set_due(accepted(submit, personas, title="快到期的"), timedelta(hours=3, minutes=10))
    phoned = submit(title="电话反映的", channel=Channel.PHONE, contact_name="李", category=suggestion, attributes={})
    closed = svc.request_close(request=submit(title="已关闭的"), by=personas.staff, reason=CloseReason.OUTSIDE_DUTY,
                               answer="请联系供电公司")
    del new, mine, soon, phoned, late, closed
    login(client, personas.grid_worker)

    def titles(**params: Any) -> set[str]:
        response = client.get(QUEUE, params)
        assert response.status_code == 200
        page = body(response)
        return {t for t in ("新提交的", "分给网格员的", "已超时的", "快到期的", "电话反映的", "已关闭的") if t in page}

    assert titles() == {"新提交的", "分给网格员的", "已超时的", "快到期的", "电话反映的"}
    assert titles(status="all") == titles() | {"已关闭的"}
    assert titles(status=Status.CLOSED) == {"已关闭的"}
    assert titles(status=Status.SUBMITTED) == {"新提交的", "电话反映的"}
    assert titles(category=suggestion.pk) == {"电话反映的"}
    assert titles(channel=Channel.PHONE) == {"电话反映的"}
    assert titles(grid=tree.grid.pk) == titles()
    # A grid outside the grid worker's own is not a choice; for community staff it is (and empty).
    assert client.get(QUEUE, {"grid": tree.other_grid.pk}).status_code == 400
    assert titles(overdue="on") == {"已超时的"}
    assert titles(due_soon="on") == {"快到期的"}
    assert titles(mine="on") == {"分给网格员的"}
    assert titles(q="快到") == {"快到期的"}
    page = body(client.get(QUEUE))
    assert "剩 3 小时" in page and "已超时 2 天" in page
    login(client, personas.staff)
    assert titles(grid=tree.other_grid.pk) == set()


@pytest.mark.parametrize("params", [{"status": "asleep"}, {"category": "abc"}, {"channel": "pigeon"},
                                    {"grid": "999999"}, {"category": "9" * 30}])
def test_queue_with_bad_filters_says_so(client: Client, personas: Personas, submit: Submit,
                                        params: dict[str, str]) -> None:
    submit()
    login(client, personas.staff)
    response = client.get(QUEUE, params)
    assert response.status_code == 400 and "errorlist" in body(response) and "楼道灯坏了" not in body(response)


def test_countdown_words(submit: Submit, personas: Personas) -> None:
    req = accepted(submit, personas)
    now = timezone.now()
    assert req.resolve_due_at is not None
    assert countdown(req, req.resolve_due_at - timedelta(hours=3, minutes=5)).text == "剩 3 小时"  # type: ignore[union-attr]
    assert countdown(req, req.resolve_due_at + timedelta(days=2, hours=2)).text == "已超时 2 天"  # type: ignore[union-attr]
    assert countdown(req, req.resolve_due_at - timedelta(minutes=20)).state == "soon"  # type: ignore[union-attr]
    assert countdown(req, req.resolve_due_at - timedelta(days=3)).state == "ok"  # type: ignore[union-attr]
    waiting = svc.request_wait(request=req, by=personas.staff, question="几层？")
    assert countdown(waiting, now).state == "paused"  # type: ignore[union-attr]
    resolved = svc.request_resolve(request=svc.request_resume(request=waiting, by=personas.staff), by=personas.staff,
                                   resolution="好了")
    assert countdown(resolved, now) is None


def _queue_queries(client: Client, params: dict[str, Any] | None = None) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(QUEUE, params or {}).status_code == 200
    return len(ctx.captured_queries)


def test_queue_runs_a_constant_number_of_queries(client: Client, personas: Personas, submit: Submit,
                                                 property_manager: Organisation) -> None:
    def batch(n: int) -> None:
        for i in range(n):
            req = accepted(submit, personas, title=f"问题 {i}")
            if i % 3 == 0:
                svc.request_assign(request=req, by=personas.staff, handler=personas.grid_worker)
            elif i % 3 == 1:
                svc.request_dispatch(request=req, by=personas.staff, organisation=property_manager)

    batch(3)
    login(client, personas.staff)
    few = (_queue_queries(client), _queue_queries(client, {"status": "all", "overdue": "on"}))
    batch(12)
    many = (_queue_queries(client), _queue_queries(client, {"status": "all", "overdue": "on"}))
    assert few == many


def test_queue_filters_answer_htmx_with_the_results_only(client: Client, personas: Personas, submit: Submit) -> None:
    submit()
    login(client, personas.staff)
    response = client.get(QUEUE, {"q": "楼道"}, HTTP_HX_REQUEST="true")
    fragment = body(response)
    assert response.status_code == 200 and "<html" not in fragment and fragment.strip().startswith('<div id="results">')
    assert "楼道灯坏了" in fragment


def test_the_queue_fits_a_phone(client: Client, personas: Personas, submit: Submit) -> None:
    """Narrow screens get cards: every cell names itself (the stylesheet shows the label)."""
    submit()
    login(client, personas.staff)
    page = body(client.get(QUEUE))
    for label in ("状态", "时限", "地点", "承办", "来源"):
        assert f'data-label="{label}"' in page
    assert "requests/requests.css" in page


def test_bulk_assignment_reports_each_failure(client: Client, personas: Personas, submit: Submit,
                                             tree: Tree) -> None:
    ready = [accepted(submit, personas, title=f"可分派 {i}") for i in range(2)]
    new = submit(title="未受理的")
    outside = far(submit, personas, tree)
    login(client, personas.staff)
    response = client.post(reverse("requests:bulk_assign"), {
        "ids": [r.pk for r in (*ready, new, outside)], "handler": personas.grid_worker.pk,
        "next": f"{QUEUE}?status=all",
    })
    assert response.status_code == 302 and response["Location"] == f"{QUEUE}?status=all"
    page = body(client.get(response["Location"]))
    assert "已将 2 件诉求分派给 grid_worker" in page
    assert f"#{new.pk}：请先受理诉求，再分派。" in page
    assert f"#{outside.pk}：找不到该诉求，或不在您的范围内。" in page
    for req in ready:
        req.refresh_from_db()
        assert req.handler == personas.grid_worker and req.status == Status.ASSIGNED
    new.refresh_from_db()
    outside.refresh_from_db()
    assert new.handler is None and outside.handler is None


def test_bulk_assignment_needs_a_handler_and_a_tick(client: Client, personas: Personas, submit: Submit) -> None:
    req = accepted(submit, personas)
    login(client, personas.staff)
    for data in ({"ids": [req.pk]}, {"handler": personas.grid_worker.pk}, {"ids": ["x"], "handler": personas.grid_worker.pk},
                 {"ids": [req.pk], "handler": personas.outside_staff.pk}):
        response = client.post(reverse("requests:bulk_assign"), data)
        assert response.status_code == 302
        assert '<li class="error">' in body(client.get(QUEUE))
    req.refresh_from_db()
    assert req.handler is None
    # An address elsewhere is not followed back.
    response = client.post(reverse("requests:bulk_assign"), {"ids": [req.pk], "handler": personas.grid_worker.pk,
                                                            "next": "https://evil.example/"})
    assert response["Location"] == QUEUE


@pytest.mark.parametrize("who", ["grid_worker", "auditor", "partner", "resident"])
def test_bulk_assignment_is_for_managers(client: Client, personas: Personas, submit: Submit, who: str) -> None:
    req = accepted(submit, personas)
    login(client, getattr(personas, who))
    response = client.post(reverse("requests:bulk_assign"), {"ids": [req.pk], "handler": personas.grid_worker.pk})
    assert response.status_code == 403
    req.refresh_from_db()
    assert req.handler is None


# Entry on a resident's behalf -----------------------------------------------------------

ENTRY = "/requests/entry/"


def entry(category: Category, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "channel": Channel.PHONE, "category": category.pk, "title": "楼道灯坏了", "description": "居民来电：5 层楼道灯不亮",
        "contact_name": "张阿姨", "contact_phone": "13700001111", "attr_facility": "light",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_staff_enter_a_request_by_phone(client: Client, personas: Personas, repairs: Category, tree: Tree) -> None:
    login(client, personas.grid_worker)
    page = body(client.get(ENTRY))
    assert "12345 热线转办" in page and tree.grid.name in page and tree.other_community.name not in page
    response = client.post(ENTRY, {**entry(repairs, place=tree.building.pk), "photos": [png()]})
    req = Request.objects.get()
    assert response.status_code == 302 and response["Location"] == detail(req)
    assert req.channel == Channel.PHONE and req.place == tree.building and req.reporter is None
    assert req.entered_by == personas.grid_worker and req.contact_name == "张阿姨"
    assert req.attachments.count() == 1
    # A household is given by its code.
    response = client.post(ENTRY, entry(repairs, channel=Channel.VISIT, place_code=tree.household.code))
    assert response.status_code == 302
    assert Request.objects.get(channel=Channel.VISIT).place == tree.household


def test_staff_entry_refuses_places_outside_the_scope(client: Client, personas: Personas, repairs: Category,
                                                      tree: Tree) -> None:
    login(client, personas.grid_worker)
    for data in (entry(repairs, place_code=tree.far_household.code), entry(repairs, place_code="no-such-code"),
                 entry(repairs, place=tree.other_grid.pk), entry(repairs, place=tree.far_household.pk)):
        response = client.post(ENTRY, data)
        assert response.status_code == 400
        assert "居民来电：5 层楼道灯不亮" in body(response)
    assert not Request.objects.exists()


def test_staff_entry_needs_a_place_and_a_contact(client: Client, personas: Personas, repairs: Category,
                                                suggestion: Category, tree: Tree) -> None:
    login(client, personas.staff)
    response = client.post(ENTRY, entry(repairs, contact_name="", contact_phone=""))
    page = body(response)
    assert response.status_code == 400 and 'id="id_place_error"' in page and 'id="id_contact_name_error"' in page
    # An anonymous suggestion from the suggestion box needs no contact.
    response = client.post(ENTRY, entry(suggestion, channel=Channel.SUGGESTION_BOX, contact_name="", contact_phone="",
                                        attr_facility=None, anonymous="on", place=tree.community.pk))
    assert response.status_code == 302
    assert Request.objects.get().anonymous


def test_staff_entry_questions_come_with_htmx(client: Client, personas: Personas, repairs: Category) -> None:
    login(client, personas.staff)
    fragment = body(client.get(ENTRY, {"category": repairs.pk}, HTTP_HX_REQUEST="true"))
    assert "<html" not in fragment and 'name="attr_facility"' in fragment
    page = body(client.post(ENTRY, entry(repairs, refresh="1", attr_facility=None)))
    assert 'name="attr_facility"' in page and "张阿姨" in page and "errorlist" not in page


@pytest.mark.parametrize("who", ["auditor", "partner", "resident", "outsider"])
def test_staff_entry_is_for_those_who_work_on_requests(client: Client, personas: Personas, who: str) -> None:
    login(client, getattr(personas, who))
    assert client.get(ENTRY).status_code == 403


# A request's page -----------------------------------------------------------------------

def test_detail_shows_everything_with_internal_notes_marked(client: Client, personas: Personas,
                                                            submit: Submit) -> None:
    req = accepted(submit, personas, photos=[png()])
    svc.request_reply(request=req, by=personas.staff, body="明天上午来修。")
    svc.request_reply(request=req, by=personas.staff, body="电工电话 13912345678", public=False)
    login(client, personas.grid_worker)
    page = body(client.get(detail(req)))
    assert "明天上午来修。" in page and "电工电话 13912345678" in page
    assert 'class="event kind-noted internal"' in page and "内部" in page
    assert "办结时限" in page and "剩 " in page and "按时完成" in page  # accepted within its deadline
    assert reverse("requests:attachment", args=[req.attachments.get().pk]) in page
    for name in ("start", "reply", "note", "resolve", "wait"):
        assert act(req, name) in page
    # Assigning, dispatching and closing are for managers.
    for name in ("assign", "dispatch", "close", "transfer"):
        assert act(req, name) not in page


def test_the_auditor_reads_but_may_not_act(client: Client, personas: Personas, submit: Submit) -> None:
    req = accepted(submit, personas, contact_phone="13700001111")
    login(client, personas.auditor)
    page = body(client.get(detail(req)))
    assert "只有查看权限" in page and "<form method=\"post\" action=\"/requests/" not in page
    for name, data in (("note", {"note-body": "x"}), ("accept", {"accept-priority": "normal"}),
                       ("close", {"close-reason": "privacy", "close-answer": "x"})):
        assert client.post(act(req, name), data).status_code == 403
    assert not RequestEvent.objects.filter(kind=EventKind.NOTED).exists()


@pytest.mark.parametrize("who", ["outsider", "outside_staff", "resident", "other_resident"])
def test_outside_the_scope_nothing_is_found(client: Client, personas: Personas, submit: Submit, who: str) -> None:
    req = accepted(submit, personas)
    login(client, getattr(personas, who))
    assert client.get(detail(req)).status_code == 404
    assert client.post(act(req, "note"), {"note-body": "x"}).status_code == 404


def test_partners_see_what_is_dispatched_to_them(client: Client, personas: Personas, submit: Submit,
                                                property_manager: Organisation) -> None:
    req = accepted(submit, personas)
    login(client, personas.partner)
    assert client.get(detail(req)).status_code == 404
    req = svc.request_dispatch(request=req, by=personas.staff, organisation=property_manager)
    page = body(client.get(detail(req)))
    assert act(req, "start") in page and act(req, "return") in page and act(req, "assign") not in page
    assert client.post(act(req, "assign"), {"assign-handler": personas.grid_worker.pk}).status_code == 403
    assert client.post(act(req, "start"), {"start-expected_version": req.version}).status_code == 302
    response = client.post(act(req, "return"), {"return-reason": "不属于物业管理范围"})
    # Handed back: it is no longer the partner's to see.
    assert response.status_code == 302 and response["Location"] == reverse("requests:queue")
    req.refresh_from_db()
    assert req.status == Status.ACCEPTED and req.organisation is None


def test_unknown_action_is_not_found(client: Client, personas: Personas, submit: Submit) -> None:
    req = submit()
    login(client, personas.staff)
    assert client.post(act(req, "explode")).status_code == 404
    assert client.get(act(req, "note")).status_code == 405


def test_the_whole_handling_from_the_page(client: Client, personas: Personas, submit: Submit) -> None:
    req = submit()
    login(client, personas.staff)
    page = body(client.get(detail(req)))
    assert f'name="accept-expected_version" value="{req.version}"' in page

    def post(name: str, data: dict[str, Any], who: Any = personas.staff) -> Request:
        login(client, who)
        current = Request.objects.get(pk=req.pk)
        payload = {f"{name}-{k}": v for k, v in data.items()}
        payload[f"{name}-expected_version"] = current.version
        response = client.post(act(req, name), payload)
        assert response.status_code == 302, body(response)[:2000]
        return Request.objects.get(pk=req.pk)

    assert post("accept", {"priority": Priority.HIGH}).priority == Priority.HIGH
    assert post("assign", {"handler": personas.grid_worker.pk, "reason": "本网格"}).handler == personas.grid_worker
    assert post("start", {}, personas.grid_worker).status == Status.IN_PROGRESS
    post("contact", {"method": "phone", "body": "已电话联系"}, personas.grid_worker)
    post("reply", {"body": "明天上午更换。", "photos": png()}, personas.grid_worker)
    post("note", {"body": "需要梯子"}, personas.grid_worker)
    waiting = post("wait", {"question": "是哪一层？"}, personas.grid_worker)
    assert waiting.status == Status.WAITING and waiting.paused_at is not None
    assert post("resume", {}, personas.grid_worker).status == Status.IN_PROGRESS
    assert post("priority", {"priority": Priority.NORMAL, "reason": "不影响通行"}).priority == Priority.NORMAL
    done = post("resolve", {"resolution": "已更换灯泡。", "photos": png("after.png")}, personas.grid_worker)
    assert done.status == Status.RESOLVED
    closed = post("visit", {"channel": "phone", "rating": Rating.DISSATISFIED, "solved": "no", "comment": "还是暗"})
    assert closed.status == Status.CLOSED and closed.rating == 2 and closed.needs_review
    reopened = post("reopen", {"reason": "复核：灯泡瓦数不够"}, personas.lead)
    assert reopened.status == Status.IN_PROGRESS and reopened.reopen_count == 1
    kinds = list(RequestEvent.objects.filter(request=req).values_list("kind", flat=True))
    for kind in (EventKind.ACCEPTED, EventKind.ASSIGNED, EventKind.STARTED, EventKind.CONTACTED, EventKind.REPLIED,
                 EventKind.NOTED, EventKind.WAITING, EventKind.RESUMED, EventKind.PRIORITY, EventKind.RESOLVED,
                 EventKind.RATED, EventKind.REOPENED):
        assert kind in kinds
    assert Attachment.objects.filter(request=req).count() == 2


def test_dispatch_close_merge_transfer_and_contest(client: Client, personas: Personas, submit: Submit, tree: Tree,
                                                  property_manager: Organisation) -> None:
    main = accepted(submit, personas, title="电梯坏了")
    dup = submit(by=personas.other_resident, place=tree.other_household, title="电梯又坏了")
    login(client, personas.staff)
    page = body(client.get(detail(dup)))
    assert f"#{main.pk} 电梯坏了" in page  # offered as a merge target
    assert client.post(act(dup, "merge"), {"merge-into": main.pk}).status_code == 302
    dup.refresh_from_db()
    assert dup.merged_into == main and dup.close_reason == CloseReason.DUPLICATE
    response = client.post(act(main, "dispatch"), {"dispatch-organisation": property_manager.pk,
                                                   "dispatch-reason": "电梯由物业维保"})
    assert response.status_code == 302
    main.refresh_from_db()
    assert main.status == Status.DISPATCHED and main.organisation == property_manager
    other = submit(title="想咨询低保政策")
    response = client.post(act(other, "close"), {"close-reason": CloseReason.OUTSIDE_DUTY,
                                                 "close-answer": "请到街道社保所咨询。"})
    assert response.status_code == 302
    other.refresh_from_db()
    assert other.status == Status.CLOSED and other.answer == "请到街道社保所咨询。"
    # Transfer is for leads and the street.
    moving = submit(title="和平里的路灯")
    assert act(moving, "transfer") not in body(client.get(detail(moving)))
    assert client.post(act(moving, "transfer"), {"transfer-to": tree.other_community.pk,
                                                 "transfer-reason": "x"}).status_code == 403
    login(client, personas.lead)
    assert act(moving, "transfer") in body(client.get(detail(moving)))
    response = client.post(act(moving, "transfer"), {"transfer-to": tree.other_community.pk,
                                                     "transfer-reason": "路灯在和平里社区"})
    assert response.status_code == 302 and response["Location"] == reverse("requests:queue")
    moving.refresh_from_db()
    assert moving.community == tree.other_community
    # The receiving community contests it.
    login(client, personas.outside_staff)
    assert act(moving, "contest") in body(client.get(detail(moving)))
    assert client.post(act(moving, "contest"), {"contest-reason": "路灯属于樱花园"}).status_code == 302
    moving.refresh_from_db()
    assert moving.needs_review


def test_bad_input_on_an_action_keeps_what_was_typed(client: Client, personas: Personas, submit: Submit,
                                                    tree: Tree) -> None:
    req = accepted(submit, personas)
    login(client, personas.staff)
    response = client.post(act(req, "close"), {"close-reason": CloseReason.DUPLICATE, "close-answer": "我的答复草稿"})
    page = body(response)
    assert response.status_code == 400 and "我的答复草稿" in page and "errorlist" in page
    assert 'id="act-close" open' in page
    response = client.post(act(req, "assign"), {"assign-handler": personas.outside_staff.pk})
    assert response.status_code == 400 and "errorlist" in body(response)
    response = client.post(act(req, "transfer"), {"transfer-to": tree.other_community.pk})
    assert response.status_code == 403
    response = client.post(act(req, "resolve"), {"resolve-resolution": "已修好",
                                                 "resolve-photos": [png(f"{i}.png") for i in range(7)]})
    assert response.status_code == 400 and "最多上传" in body(response) and "已修好" in body(response)
    req.refresh_from_db()
    assert req.status == Status.ACCEPTED and req.handler is None


def test_a_stale_page_gets_a_clear_message_and_keeps_the_text(client: Client, personas: Personas,
                                                              submit: Submit) -> None:
    req = accepted(submit, personas)
    seen = req.version
    svc.request_resolve(request=req, by=personas.lead, resolution="负责人已处理")
    login(client, personas.staff)
    response = client.post(act(req, "resolve"), {"resolve-resolution": "我写的办理结果",
                                                  "resolve-expected_version": seen})
    page = body(response)
    assert response.status_code == 409 and "刚被他人处理过" in page and "我写的办理结果" in page
    req.refresh_from_db()
    assert req.resolution == "负责人已处理"
    response = client.post(act(req, "note"), {"note-body": "备注草稿", "note-expected_version": seen})
    assert response.status_code == 409 and "备注草稿" in body(response)


def test_reply_templates_fill_the_reply(client: Client, personas: Personas, submit: Submit, tree: Tree,
                                       repairs: Category) -> None:
    req = accepted(submit, personas)
    template = ReplyTemplate.objects.create(title="已派维修", body="您好，已安排维修人员，预计明天上午上门。",
                                            category=repairs)
    ReplyTemplate.objects.create(title="别的社区的", body="x", place=tree.other_community)
    login(client, personas.staff)
    page = body(client.get(detail(req)))
    assert 'data-fill="id_reply-body"' in page and 'data-body="您好，已安排维修人员，预计明天上午上门。"' in page
    assert "别的社区的" not in page
    # Without JavaScript: "use template" reloads the page with the reply filled in.
    page = body(client.get(detail(req), {"template": template.pk}))
    assert "您好，已安排维修人员，预计明天上午上门。</textarea>" in page and 'id="act-reply" open' in page
    assert client.get(detail(req), {"template": "abc"}).status_code == 200


def test_a_return_visit_needs_its_channel(client: Client, personas: Personas, submit: Submit) -> None:
    req = svc.request_resolve(request=accepted(submit, personas), by=personas.staff, resolution="好了")
    login(client, personas.staff)
    response = client.post(act(req, "visit"), {"visit-rating": 5, "visit-solved": "yes", "visit-channel": "online"})
    assert response.status_code == 400
    req.refresh_from_db()
    assert req.status == Status.RESOLVED


def test_the_street_can_act_across_communities(client: Client, personas: Personas, submit: Submit,
                                              tree: Tree) -> None:
    outside = far(submit, personas, tree)
    login(client, personas.street_supervisor)
    assert client.post(act(outside, "accept"), {"accept-priority": "normal"}).status_code == 302
    outside.refresh_from_db()
    assert outside.status == Status.ACCEPTED


def test_a_grid_worker_in_another_grid_sees_nothing(client: Client, personas: Personas, submit: Submit,
                                                    tree: Tree) -> None:
    other_grid_worker = make_user("gw2", Role.GRID_WORKER, tree.other_grid)
    building = place_create(parent=tree.other_grid, kind=PlaceKind.BUILDING, name="9号楼", code="b9")
    there = submit(place=Place.objects.get(pk=building.pk), title="9号楼的问题")
    here = submit(title="3号楼的问题")
    login(client, other_grid_worker)
    page = body(client.get(QUEUE))
    assert "9号楼的问题" in page and "3号楼的问题" not in page
    assert client.get(detail(here)).status_code == 404
    assert client.get(detail(there)).status_code == 200


def test_absurd_ids_are_not_found(client: Client, personas: Personas) -> None:
    huge = 10**25
    login(client, personas.staff)
    for url in (f"/requests/{huge}/", f"/requests/mine/{huge}/", f"/requests/attachments/{huge}/",
                f"/api/v1/requests/{huge}"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/requests/{huge}/act/note/", {"note-body": "x"}).status_code == 404
    assert client.get(QUEUE, {"page": str(huge)}).status_code == 200
    response = client.post("/requests/queue/assign/", {"ids": [str(huge)], "handler": personas.grid_worker.pk})
    assert response.status_code == 302
