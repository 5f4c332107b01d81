"""Every page of the surveys app over HTTP: who reaches it (404 outside scope, 403
read-only), what it does with and without HTMX, and constant query counts on lists."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from linli.surveys import services as svc
from linli.surveys.models import Invitation, Kind, Questionnaire, Response, ResponseChannel, Status
from linli.surveys.responses import questions_of, response_submit
from linli.web.context_processors import ELDER_COOKIE
from tests.conftest import Personas, Tree, login
from tests.surveys.conftest import Neighbourhood, as_post, full_answers, open_and_invite_all

HTMX = {"HTTP_HX_REQUEST": "true"}


def _as(client: Client, user: Any) -> Client:
    return login(client, user)


# The list and creating ---------------------------------------------------------------------

def test_list_who_reaches_it(client: Client, personas: Personas, satisfaction: Questionnaire) -> None:
    url = reverse("surveys:list")
    assert client.get(url).status_code == 302
    for user, status in [(personas.staff, 200), (personas.lead, 200), (personas.auditor, 200),
                         (personas.street_supervisor, 200), (personas.outside_staff, 200), (personas.grid_worker, 403),
                         (personas.resident, 403), (personas.partner, 403)]:
        response = _as(Client(), user).get(url)
        assert response.status_code == status, user
    body = _as(client, personas.staff).get(url).content.decode()
    assert satisfaction.title in body and reverse("surveys:new") in body
    assert satisfaction.title not in _as(Client(), personas.outside_staff).get(url).content.decode()
    assert reverse("surveys:new") not in _as(Client(), personas.auditor).get(url).content.decode()


def _queries(client: Client, url: str, **params: Any) -> int:
    with CaptureQueriesContext(connection) as context:
        assert client.get(url, params).status_code == 200
    return len(context.captured_queries)


def test_list_costs_the_same_queries_for_more_rows(client: Client, tree: Tree, personas: Personas,
                                                   django_assert_num_queries: Any) -> None:
    svc.questionnaire_create(place=tree.community, title="一", by=personas.staff)
    _as(client, personas.staff)
    url = reverse("surveys:list")
    client.get(url)  # warm the session
    one = _queries(client, url)
    for i in range(6):
        svc.questionnaire_create(place=tree.community, title=f"第{i}份", by=personas.staff)
    with django_assert_num_queries(one):
        assert client.get(url).content.decode().count("第") >= 6


def test_new_from_template_and_blank(client: Client, tree: Tree, personas: Personas) -> None:
    _as(client, personas.staff)
    assert client.get(reverse("surveys:new")).status_code == 200
    response = client.post(reverse("surveys:new"), {"place": tree.community.pk, "template": "satisfaction"})
    created = Questionnaire.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("surveys:detail", args=[created.pk])
    assert created.questions.count() == 40 and created.created_by == personas.staff
    response = client.post(reverse("surveys:new"), {"place": tree.community.pk, "template": ""})
    assert response.status_code == 400 and "空白问卷请填写标题" in response.content.decode()
    response = client.post(reverse("surveys:new"), {"place": tree.community.pk, "template": "", "title": "停车调查"})
    assert Questionnaire.objects.filter(title="停车调查", template="").exists()
    # A place outside the caller's scope is refused, and never offered.
    response = client.post(reverse("surveys:new"), {"place": tree.other_community.pk, "template": "needs"})
    assert response.status_code == 400 and Questionnaire.objects.count() == 2


def test_new_is_refused_to_readers(client: Client, personas: Personas) -> None:
    assert _as(client, personas.auditor).get(reverse("surveys:new")).status_code == 403
    assert _as(Client(), personas.grid_worker).get(reverse("surveys:new")).status_code == 403


# The builder --------------------------------------------------------------------------------

def test_detail_scope(personas: Personas, satisfaction: Questionnaire) -> None:
    url = reverse("surveys:detail", args=[satisfaction.pk])
    for user, status in [(personas.staff, 200), (personas.auditor, 200), (personas.street_supervisor, 200),
                         (personas.outside_staff, 404), (personas.grid_worker, 404), (personas.resident, 404)]:
        assert _as(Client(), user).get(url).status_code == status, user
    staff_page = _as(Client(), personas.staff).get(url).content.decode()
    assert "添加题目" in staff_page and "COMM1" in staff_page and "开始问卷" in staff_page
    auditor_page = _as(Client(), personas.auditor).get(url).content.decode()
    assert "添加题目" not in auditor_page and "开始问卷" not in auditor_page


def test_detail_costs_the_same_queries_for_more_questions(client: Client, tree: Tree, personas: Personas,
                                                          django_assert_num_queries: Any) -> None:
    q = svc.questionnaire_create(place=tree.community, title="小问卷", by=personas.staff)
    svc.question_add(questionnaire=q, by=personas.staff,
                     data=svc.QuestionInput(kind=Kind.SINGLE, text="甲", options=["a", "b"]))
    _as(client, personas.staff)
    url = reverse("surveys:detail", args=[q.pk])
    client.get(url)
    few = _queries(client, url)
    for i in range(5):
        svc.question_add(questionnaire=q, by=personas.staff,
                         data=svc.QuestionInput(kind=Kind.MULTIPLE, text=f"题{i}", options=["x", "y", "z"]))
    with django_assert_num_queries(few):
        assert client.get(url).status_code == 200


def test_builder_without_javascript_and_with_htmx(client: Client, tree: Tree, personas: Personas) -> None:
    q = svc.questionnaire_create(place=tree.community, title="楼道", by=personas.staff)
    _as(client, personas.staff)
    add = reverse("surveys:question_add", args=[q.pk])
    response = client.post(add, {"new-kind": Kind.SCALE_1_10, "new-text": "楼道亮吗", "new-required": "on",
                                 "new-low_label": "很暗", "new-high_label": "很亮"})
    assert response.status_code == 302 and response["Location"].endswith("#questions")
    first = q.questions.get()
    assert first.low_label == "很暗" and first.required
    response = client.post(add, {"new-kind": Kind.SINGLE, "new-text": "哪层最暗", "new-options": "一层\r\n二层\r\n三层"},
                           **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="questions"') and "哪层最暗" in body and "<html" not in body
    second = q.questions.get(text="哪层最暗")
    assert list(second.options.values_list("label", flat=True)) == ["一层", "二层", "三层"]
    # Errors come back with the field named and the typed text kept.
    response = client.post(add, {"new-kind": Kind.SINGLE, "new-text": "只有一个选项", "new-options": "唯一"}, **HTMX)
    body = response.content.decode()
    assert response.status_code == 200 and "至少需要两个选项" in body and "只有一个选项" in body
    response = client.post(add, {"new-kind": Kind.SINGLE, "new-text": "只有一个选项", "new-options": "唯一"})
    assert response.status_code == 400 and "至少需要两个选项" in response.content.decode()
    move = reverse("surveys:question_move", args=[second.pk])
    assert client.post(move, {"direction": "up"}, **HTMX).status_code == 200
    assert list(q.questions.order_by("order").values_list("pk", flat=True)) == [second.pk, first.pk]
    assert client.post(move, {"direction": "down"}).status_code == 302
    assert list(q.questions.order_by("order").values_list("pk", flat=True)) == [first.pk, second.pk]
    edit = reverse("surveys:question_edit", args=[second.pk])
    assert "二层" in client.get(edit).content.decode()
    response = client.post(edit, {"kind": Kind.MULTIPLE, "text": "哪些层暗", "options": "三层\n一层", "max_choices": "2"})
    assert response.status_code == 302
    second.refresh_from_db()
    assert second.kind == Kind.MULTIPLE and second.max_choices == 2
    response = client.post(edit, {"kind": Kind.MULTIPLE, "text": "", "options": "三层\n一层"})
    assert response.status_code == 400 and "errorlist" in response.content.decode()
    assert client.post(reverse("surveys:question_delete", args=[second.pk]), **HTMX).status_code == 200
    assert list(q.questions.values_list("pk", flat=True)) == [first.pk]


def test_dimensions_pages(client: Client, tree: Tree, personas: Personas) -> None:
    q = svc.questionnaire_create(place=tree.community, title="维度", by=personas.staff)
    _as(client, personas.staff)
    add = reverse("surveys:dimension_add", args=[q.pk])
    assert client.post(add, {"dim-code": "env", "dim-name": "环境", "dim-mechanism": "environment",
                             "dim-mode": "A"}).status_code == 302
    dim = q.dimensions.get()
    assert dim.code == "ENV"
    response = client.post(add, {"dim-code": "ENV", "dim-name": "重复", "dim-mechanism": "other", "dim-mode": "A"})
    assert response.status_code == 400 and "已被本问卷的其他维度使用" in response.content.decode()
    edit = reverse("surveys:dimension_edit", args=[dim.pk])
    assert client.get(edit).status_code == 200
    assert client.post(edit, {"code": "ENV", "name": "环境与安全", "mechanism": "environment",
                              "mode": "B"}).status_code == 302
    dim.refresh_from_db()
    assert dim.name == "环境与安全" and dim.mode == "B"
    assert client.post(edit, {"code": "ENV", "name": "x", "mechanism": "environment", "mode": "A",
                              "delete": "1"}).status_code == 302
    assert not q.dimensions.exists()


def test_builder_changes_are_refused_to_readers_and_outsiders(personas: Personas, satisfaction: Questionnaire) -> None:
    question = satisfaction.questions.get(code="SAT1")
    dimension = satisfaction.dimensions.get(code="SAT")
    posts = [
        (reverse("surveys:settings", args=[satisfaction.pk]), {"title": "x", "retention_months": "36"}),
        (reverse("surveys:status", args=[satisfaction.pk]), {"action": "open"}),
        (reverse("surveys:copy", args=[satisfaction.pk]), {}),
        (reverse("surveys:dimension_add", args=[satisfaction.pk]), {"dim-code": "X", "dim-name": "x"}),
        (reverse("surveys:dimension_edit", args=[dimension.pk]), {"code": "SAT", "name": "x"}),
        (reverse("surveys:question_add", args=[satisfaction.pk]), {"new-kind": "text", "new-text": "x"}),
        (reverse("surveys:question_edit", args=[question.pk]), {"kind": "text", "text": "x"}),
        (reverse("surveys:question_move", args=[question.pk]), {"direction": "up"}),
        (reverse("surveys:question_delete", args=[question.pk]), {}),
        (reverse("surveys:distribute", args=[satisfaction.pk]), {"mode": "all", "strata": "grid"}),
        (reverse("surveys:remind", args=[satisfaction.pk]), {}),
        (reverse("surveys:paper", args=[satisfaction.pk]), {"code": "ABCDEFGH"}),
    ]
    for url, data in posts:
        assert _as(Client(), personas.auditor).post(url, data).status_code == 403, url
        assert _as(Client(), personas.outside_staff).post(url, data).status_code == 404, url
        assert _as(Client(), personas.grid_worker).post(url, data).status_code == 404, url
    satisfaction.refresh_from_db()
    assert satisfaction.status == Status.DRAFT and Questionnaire.objects.count() == 1
    assert satisfaction.questions.filter(pk=question.pk).exists()


def test_settings_page(client: Client, personas: Personas, satisfaction: Questionnaire) -> None:
    url = reverse("surveys:settings", args=[satisfaction.pk])
    _as(client, personas.staff)
    assert "保存期限" in client.get(url).content.decode()
    response = client.post(url, {"title": "", "retention_months": "36"})
    assert response.status_code == 400
    response = client.post(url, {"title": "一季度测评", "intro": "", "purpose": "了解意见", "retention_months": "24",
                                 "opens_at": "2026-04-01T08:00", "closes_at": "2026-03-01T08:00"})
    assert response.status_code == 400 and "截止时间应晚于开始时间" in response.content.decode()
    response = client.post(url, {"title": "一季度测评", "intro": "", "purpose": "了解意见", "retention_months": "24",
                                 "anonymous": "on", "opens_at": "", "closes_at": "2026-04-01T18:00"})
    assert response.status_code == 302
    satisfaction.refresh_from_db()
    assert satisfaction.title == "一季度测评" and satisfaction.retention_months == 24
    assert satisfaction.closes_at is not None and satisfaction.closes_at.hour == 10  # 18:00 Shanghai is 10:00 UTC


def test_open_close_copy(client: Client, hood: Neighbourhood, personas: Personas, satisfaction: Questionnaire) -> None:
    _as(client, personas.lead)
    status = reverse("surveys:status", args=[satisfaction.pk])
    assert client.post(status, {"action": "open"}).status_code == 302
    assert Questionnaire.objects.get(pk=satisfaction.pk).status == Status.OPEN
    response = client.post(status, {"action": "open"})
    assert response.status_code == 400 and "只有草稿状态" in response.content.decode()
    assert client.post(status, {"action": "bogus"}).status_code == 400
    invitation = open_and_invite_all(satisfaction, personas.staff)[0]
    response_submit(invitation=invitation, answers=full_answers(satisfaction))
    page = client.get(reverse("surveys:detail", args=[satisfaction.pk])).content.decode()
    assert "题目不能再修改" in page and "添加题目" not in page and "复制为新问卷" in page
    response = client.post(reverse("surveys:question_delete", args=[satisfaction.questions.first().pk]))
    assert response.status_code == 400 and "已有答卷" in response.content.decode()
    assert client.post(status, {"action": "close"}).status_code == 302
    response = client.post(reverse("surveys:copy", args=[satisfaction.pk]))
    copy = Questionnaire.objects.exclude(pk=satisfaction.pk).get()
    assert response["Location"] == reverse("surveys:detail", args=[copy.pk]) and copy.status == Status.DRAFT


# Distribution ------------------------------------------------------------------------------

def test_sample_size_page_and_partial(client: Client, personas: Personas) -> None:
    url = reverse("surveys:sample_size")
    _as(client, personas.auditor)
    body = client.get(url).content.decode()
    assert "<strong>385</strong>" in body and "384.15" in body
    response = client.get(url, {"margin": "5", "confidence": "0.95", "proportion": "0.5", "population": "1000"}, **HTMX)
    body = response.content.decode()
    assert response.status_code == 200 and "<strong>278</strong>" in body and "277.73" in body and "<html" not in body
    response = client.get(url, {"margin": "abc", "confidence": "0.95", "proportion": "0.5"})
    assert response.status_code == 400 and "请输入数字" in response.content.decode()
    response = client.get(url, {"margin": "5", "confidence": "0.5", "proportion": "2"})
    assert response.status_code == 400
    assert _as(Client(), personas.grid_worker).get(url).status_code == 403


def test_distribute_preview_then_send(client: Client, hood: Neighbourhood, personas: Personas,
                                      satisfaction: Questionnaire) -> None:
    url = reverse("surveys:distribute", args=[satisfaction.pk])
    _as(client, personas.staff)
    assert "开始问卷后才能发放" in client.get(url).content.decode()
    svc.questionnaire_open(questionnaire=satisfaction, by=personas.staff)
    params = {"mode": "sample", "strata": "grid", "margin": "5", "confidence": "0.95", "proportion": "0.5", "n": "6",
              "seed": "99"}
    body = client.get(url, params).content.decode()
    assert "方案预览" in body and "第一网格" in body and "第二网格" in body and ">99<" in body
    assert re.search(r"<td>6</td><td>3</td>", body)
    response = client.post(url, params)
    assert response.status_code == 302 and response["Location"] == reverse("surveys:rates", args=[satisfaction.pk])
    assert Invitation.objects.filter(questionnaire=satisfaction).count() == 6
    response = client.post(url, {**params, "n": "999"})
    assert response.status_code == 400 and "样本量应在" in response.content.decode()
    response = client.get(url, {**params, "mode": "nonsense"})
    assert response.status_code == 400
    assert _as(Client(), personas.auditor).get(url, params).status_code == 200


def test_slips_show_a_qr_code_and_the_paper_code(client: Client, hood: Neighbourhood, personas: Personas,
                                                 invited: dict[int, Invitation], satisfaction: Questionnaire,
                                                 django_assert_max_num_queries: Any) -> None:
    url = reverse("surveys:slips", args=[satisfaction.pk])
    _as(client, personas.staff)
    client.get(url)
    with django_assert_max_num_queries(10):
        body = client.get(url).content.decode()
    assert body.count("<svg") == 10  # residents without an account (12 invited, 2 with an account)
    slip = invited[hood.grid2[0].pk]
    assert f"{slip.code[:4]}-{slip.code[4:]}" in body and slip.token in body
    assert invited[hood.me.pk].token not in body
    everyone = client.get(url, {"all": "1"}).content.decode()
    assert everyone.count("<svg") == 12
    assert "style=" not in body  # the strict CSP allows no inline style
    assert _as(Client(), personas.outside_staff).get(url).status_code == 404


def test_rates_page_and_partial(client: Client, hood: Neighbourhood, personas: Personas,
                                invited: dict[int, Invitation], satisfaction: Questionnaire) -> None:
    response_submit(invitation=invited[hood.me.pk], answers=full_answers(satisfaction))
    url = reverse("surveys:rates", args=[satisfaction.pk])
    _as(client, personas.auditor)
    body = client.get(url).content.decode()
    assert "第一网格" in body and "17%" in body and "提醒未作答的居民" not in body
    partial = client.get(url, {"by": "building"}, **HTMX).content.decode()
    assert "3号楼" in partial and "<html" not in partial
    assert client.get(url, {"by": "nonsense"}).status_code == 200
    assert "提醒未作答的居民" in _as(Client(), personas.staff).get(url).content.decode()
    assert _as(Client(), personas.outside_staff).get(url).status_code == 404


def test_rates_page_costs_the_same_queries_for_more_strata(client: Client, tree: Tree, personas: Personas,
                                                           satisfaction: Questionnaire) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.surveys.conftest import make_neighbourhood

    make_neighbourhood(tree, personas, extra_grid1=0, grid2=0)
    open_and_invite_all(satisfaction, personas.staff)
    url = reverse("surveys:rates", args=[satisfaction.pk])
    _as(client, personas.staff)
    client.get(url)
    with CaptureQueriesContext(connection) as small:
        client.get(url)
    # More residents in more buildings: the same number of queries.
    from linli.people.services import household_create, resident_create
    from linli.places.models import PlaceKind
    from linli.places.services import place_create

    for i in range(3):
        building = place_create(parent=tree.other_grid, kind=PlaceKind.BUILDING, name=f"{20 + i}号楼", code=f"rb{i}")
        household = household_create(ref=f"R-{i}", parent=building, room="101室", by=None)
        resident_create(household=household, name=f"新居民{i}", by=None)
    from linli.surveys.distribution import questionnaire_distribute

    questionnaire_distribute(questionnaire=satisfaction, by=personas.staff, mode="all")
    assert len(response_rates_rows(satisfaction)) == 2
    with CaptureQueriesContext(connection) as large:
        client.get(url, {"by": "building"})
    assert len(large.captured_queries) == len(small.captured_queries)


def response_rates_rows(questionnaire: Questionnaire) -> list[Any]:
    from linli.surveys.selectors import response_rates

    return response_rates(questionnaire).rows


def test_remind_button(client: Client, hood: Neighbourhood, personas: Personas, invited: dict[int, Invitation],
                       satisfaction: Questionnaire) -> None:
    from datetime import timedelta

    from django.utils import timezone

    url = reverse("surveys:remind", args=[satisfaction.pk])
    _as(client, personas.staff)
    response = client.post(url, follow=True)
    assert "现在没有需要提醒的居民" in response.content.decode()
    Invitation.objects.update(sent_at=timezone.now() - timedelta(days=3))
    response = client.post(url, follow=True)
    assert "已向 2 位未作答的居民发送提醒" in response.content.decode()


# Results ------------------------------------------------------------------------------------

def test_results_and_texts(client: Client, hood: Neighbourhood, personas: Personas,
                           invited: dict[int, Invitation], satisfaction: Questionnaire) -> None:
    response_submit(invitation=invited[hood.me.pk], answers=full_answers(satisfaction, score=9))
    response_submit(invitation=invited[hood.neighbour.pk], answers=full_answers(satisfaction, score=7))
    _as(client, personas.auditor)
    body = client.get(reverse("surveys:results", args=[satisfaction.pk])).content.decode()
    assert "共 2 份答卷" in body and "平均 8.00 分" in body and "2 条文字回答" in body
    assert "style=" not in body
    texts = client.get(reverse("surveys:texts", args=[satisfaction.pk])).content.decode()
    assert "希望增加楼道照明" in texts and "不得公开" in texts
    for user, status in [(personas.resident, 404), (personas.grid_worker, 404), (personas.outside_staff, 404)]:
        assert _as(Client(), user).get(reverse("surveys:texts", args=[satisfaction.pk])).status_code == status
        assert _as(Client(), user).get(reverse("surveys:results", args=[satisfaction.pk])).status_code == status
    assert Client().get(reverse("surveys:texts", args=[satisfaction.pk])).status_code == 302


def test_texts_page_costs_the_same_queries_for_more_answers(client: Client, hood: Neighbourhood, personas: Personas,
                                                            invited: dict[int, Invitation],
                                                            satisfaction: Questionnaire) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    residents = hood.grid1 + hood.grid2
    response_submit(invitation=invited[residents[0].pk], answers=full_answers(satisfaction))
    url = reverse("surveys:texts", args=[satisfaction.pk])
    _as(client, personas.staff)
    client.get(url)
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    for resident in residents[1:6]:
        response_submit(invitation=invited[resident.pk], answers=full_answers(satisfaction))
    with CaptureQueriesContext(connection) as many:
        assert client.get(url).content.decode().count("希望增加楼道照明") == 6
    assert len(many.captured_queries) == len(one.captured_queries)


# Answering ------------------------------------------------------------------------------------

def test_answer_without_signing_in(client: Client, hood: Neighbourhood, invited: dict[int, Invitation],
                                   satisfaction: Questionnaire) -> None:
    invitation = invited[hood.grid2[0].pk]
    url = reverse("surveys:answer", args=[invitation.token])
    page = client.get(url)
    body = page.content.decode()
    assert page.status_code == 200 and "个人信息说明" in body and "本问卷匿名" in body and "保存 36 个月" in body and "到期后删除文字回答" in body
    assert 'novalidate' in body and satisfaction.questions.get(code="SAT1").text in body
    assert page["Cache-Control"].find("no-cache") >= 0 or "no-store" in page["Cache-Control"]
    answers = full_answers(satisfaction)
    sat1 = satisfaction.questions.get(code="SAT1")
    comm2 = satisfaction.questions.get(code="COMM2")
    del answers[sat1.pk]
    answers[comm2.pk] = 3
    response = client.post(url, as_post(satisfaction, answers))
    body = response.content.decode()
    assert response.status_code == 400
    # The error is in words next to its question, and what was typed is kept.
    block = body[body.index(f'id="id_q{sat1.pk}_q"'):]
    block = block[:block.index("</fieldset>")]
    assert "请回答这道题" in block
    comm2_block = body[body.index(f'id="id_q{comm2.pk}_q"'):]
    comm2_block = comm2_block[:comm2_block.index("</fieldset>")]
    assert re.search(r'value="3"[^>]*checked', comm2_block)
    assert "希望增加楼道照明" in body
    assert "还有 1 道题需要修改" in body and not Response.objects.exists()
    answers[sat1.pk] = 9
    response = client.post(url, as_post(satisfaction, answers))
    assert response.status_code == 302 and response["Location"] == reverse("surveys:thanks", args=[invitation.token])
    assert Response.objects.get().channel == ResponseChannel.WEB
    assert "感谢您的参与" in client.get(response["Location"]).content.decode()
    again = client.get(url)
    assert again.status_code == 200 and "已经提交过了" in again.content.decode()
    assert client.post(url, as_post(satisfaction, answers)).status_code == 200  # shown, not stored
    assert Response.objects.count() == 1


def test_bad_tokens_and_closed_questionnaires(client: Client, hood: Neighbourhood, personas: Personas,
                                              invited: dict[int, Invitation], satisfaction: Questionnaire) -> None:
    assert client.get(reverse("surveys:answer", args=["not-a-token"])).status_code == 404
    assert client.get(reverse("surveys:answer", args=["x" * 80])).status_code == 404
    assert client.get(reverse("surveys:thanks", args=["not-a-token"])).status_code == 404
    invitation = invited[hood.me.pk]
    assert client.get(reverse("surveys:thanks", args=[invitation.token])).status_code == 302
    svc.questionnaire_close(questionnaire=satisfaction, by=personas.staff)
    body = client.get(reverse("surveys:answer", args=[invitation.token])).content.decode()
    assert "问卷已结束" in body and 'data-testid="answer-form"' not in body  # no answer form is offered
    assert client.post(reverse("surveys:answer", args=[invitation.token]),
                       as_post(satisfaction, full_answers(satisfaction))).status_code == 200
    assert not Response.objects.exists()


def test_answer_page_in_elder_mode(client: Client, hood: Neighbourhood, invited: dict[int, Invitation]) -> None:
    client.cookies[ELDER_COOKIE] = "1"
    body = client.get(reverse("surveys:answer", args=[invited[hood.me.pk].token])).content.decode()
    assert '<html lang="zh-CN" class="elder">' in body and "points-10" in body


def test_junk_posts_never_break_the_answer_page(client: Client, hood: Neighbourhood, invited: dict[int, Invitation],
                                                satisfaction: Questionnaire) -> None:
    url = reverse("surveys:answer", args=[invited[hood.me.pk].token])
    questions = questions_of(satisfaction)
    junk = {f"q{q.pk}": ["<script>", "999999999999", "-1", ""] for q in questions}
    response = client.post(url, junk)
    assert response.status_code == 400 and "<script>" not in response.content.decode().split("<main")[1]
    response = client.post(url, {"q999999": "5"})
    assert response.status_code == 400
    assert not Response.objects.exists()


def test_mine_and_take(client: Client, hood: Neighbourhood, personas: Personas, invited: dict[int, Invitation],
                       satisfaction: Questionnaire) -> None:
    _as(client, personas.resident)
    body = client.get(reverse("surveys:mine")).content.decode()
    token = invited[hood.me.pk].token
    assert satisfaction.title in body and token in body and invited[hood.neighbour.pk].token not in body
    response = client.get(reverse("surveys:take", args=[satisfaction.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("surveys:answer", args=[token])
    assert _as(Client(), personas.staff).get(reverse("surveys:take", args=[satisfaction.pk])).status_code == 404
    assert "目前没有邀请您填写的问卷" in _as(Client(), personas.staff).get(reverse("surveys:mine")).content.decode()
    response_submit(invitation=invited[hood.me.pk], answers=full_answers(satisfaction))
    assert "已提交" in client.get(reverse("surveys:mine")).content.decode()
    assert Client().get(reverse("surveys:mine")).status_code == 302


# Paper ----------------------------------------------------------------------------------------

def test_paper_entry(client: Client, hood: Neighbourhood, personas: Personas, invited: dict[int, Invitation],
                     satisfaction: Questionnaire) -> None:
    url = reverse("surveys:paper", args=[satisfaction.pk])
    _as(client, personas.staff)
    assert "纸质问卷上的编号" in client.get(url).content.decode()
    response = client.get(url, {"code": "ZZZZ-ZZZZ"})
    assert response.status_code == 400 and "没有这个编号的邀请" in response.content.decode()
    invitation = invited[hood.grid2[1].pk]
    code = f"{invitation.code[:4].lower()}-{invitation.code[4:]}"
    body = client.get(url, {"code": code}).content.decode()
    assert "正在录入编号" in body and invitation.code in body and "保存这份纸质问卷" in body
    answers = full_answers(satisfaction)
    sat2 = satisfaction.questions.get(code="SAT2")
    del answers[sat2.pk]
    response = client.post(url, {"code": invitation.code, **as_post(satisfaction, answers)})
    assert response.status_code == 400 and "请回答这道题" in response.content.decode()
    answers[sat2.pk] = 6
    response = client.post(url, {"code": invitation.code, **as_post(satisfaction, answers)})
    assert response.status_code == 302
    row = Response.objects.get()
    assert row.channel == ResponseChannel.PAPER and row.entered_by_id == personas.staff.pk
    response = client.get(url, {"code": invitation.code})
    assert response.status_code == 400 and "已经提交过" in response.content.decode()
    assert _as(Client(), personas.auditor).get(url).status_code == 403


def test_paper_entry_when_not_open(client: Client, personas: Personas, satisfaction: Questionnaire) -> None:
    _as(client, personas.staff)
    body = client.get(reverse("surveys:paper", args=[satisfaction.pk])).content.decode()
    assert "问卷尚未开始" in body
    assert client.post(reverse("surveys:paper", args=[satisfaction.pk]), {"code": "AAAA"}).status_code == 400


def test_no_page_answers_500_to_bad_ids(client: Client, personas: Personas, satisfaction: Questionnaire) -> None:
    _as(client, personas.staff)
    for name in ("detail", "settings", "distribute", "slips", "rates", "results", "texts", "paper"):
        assert client.get(reverse(f"surveys:{name}", args=[999999])).status_code == 404, name
    for name in ("question_edit", "dimension_edit"):
        assert client.get(reverse(f"surveys:{name}", args=[999999])).status_code == 404, name
    page = client.get(reverse("surveys:list"), {"page": "abc", "status": "<x>"})
    assert page.status_code == 200


@pytest.mark.parametrize("name", ["detail", "results", "rates"])
def test_street_supervisor_reaches_community_questionnaires(personas: Personas, satisfaction: Questionnaire,
                                                            name: str) -> None:
    assert _as(Client(), personas.street_supervisor).get(reverse(f"surveys:{name}",
                                                                 args=[satisfaction.pk])).status_code == 200
