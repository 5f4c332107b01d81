"""The builder's services: templates, editing rules, ordering, copying, opening."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from linli.audit.models import AuditEvent
from linli.surveys import services as svc
from linli.surveys.models import (
    MODEL_KINDS,
    Kind,
    Mechanism,
    Question,
    Questionnaire,
    Status,
    Template,
)
from linli.surveys.responses import response_submit
from tests.conftest import Personas, Tree
from tests.surveys.conftest import Neighbourhood, full_answers, open_and_invite_all

MODEL_BLOCKS = ("COMM", "RESP", "DEMO", "SERV", "ENV", "ACT", "CARE", "STAFF", "OPEN", "SAT", "TRUST", "PART")


def test_satisfaction_template_has_every_block_with_three_items_on_1_to_10(satisfaction: Questionnaire) -> None:
    dimensions = list(satisfaction.dimensions.order_by("order"))
    assert tuple(d.code for d in dimensions) == MODEL_BLOCKS
    for dimension in dimensions:
        items = list(dimension.questions.order_by("order"))
        assert [q.code for q in items] == [f"{dimension.code}{i}" for i in (1, 2, 3)]
        assert {q.kind for q in items} == {Kind.SCALE_1_10}
        assert all(q.low_label and q.high_label and q.required for q in items)
    assert {d.mechanism for d in dimensions if d.code == "SAT"} == {Mechanism.OVERALL}
    assert satisfaction.status == Status.DRAFT and satisfaction.template == Template.SATISFACTION
    assert satisfaction.purpose and satisfaction.anonymous


def test_satisfaction_template_background_questions(satisfaction: Questionnaire) -> None:
    background = {q.code: q for q in satisfaction.questions.filter(dimension__isnull=True)}
    assert set(background) == {"AGE", "HOUSEHOLD", "GROUP", "IMPROVE"}
    assert background["AGE"].kind == Kind.SINGLE and background["AGE"].options.count() == 5
    assert background["HOUSEHOLD"].kind == Kind.SINGLE
    assert background["GROUP"].kind == Kind.MULTIPLE and not background["GROUP"].required
    assert background["IMPROVE"].kind == Kind.TEXT and not background["IMPROVE"].required
    assert "改进" in background["IMPROVE"].text
    # Background questions come after the model's blocks.
    last_item = satisfaction.questions.filter(kind__in=MODEL_KINDS).order_by("-order").first()
    assert last_item is not None
    assert min(q.order for q in background.values()) > last_item.order


def test_needs_template(needs: Questionnaire) -> None:
    questions = {q.code: q for q in needs.questions.all()}
    services = [o.label for o in questions["NEED_SERVICES"].options.all()]
    for word in ("养老", "儿童", "健康", "文化", "体育", "法律", "就业", "志愿"):
        assert any(word in label for label in services), word
    assert questions["NEED_SERVICES"].kind == Kind.MULTIPLE and questions["NEED_SERVICES"].max_choices == 5
    assert [o.label for o in questions["NEED_WHEN"].options.all()] == ["工作日白天", "工作日晚上", "周末"]
    assert questions["NEED_CHANNEL"].kind == Kind.MULTIPLE
    assert questions["NEED_TEXT"].kind == Kind.TEXT
    assert not needs.dimensions.exists()


def test_unknown_template_and_wrong_place_are_refused(tree: Tree, personas: Personas) -> None:
    with pytest.raises(ValidationError):
        svc.questionnaire_from_template(template="nope", place=tree.community, by=personas.staff)
    with pytest.raises(ValidationError) as caught:
        svc.questionnaire_create(place=tree.grid, title="网格问卷", by=personas.staff)
    assert "place" in caught.value.message_dict


def test_street_questionnaire_has_no_community(tree: Tree, personas: Personas) -> None:
    q = svc.questionnaire_create(place=tree.street, title="街道调查", by=personas.street_supervisor)
    assert q.community_id is None and q.place_path == tree.street.path


def test_builder_adds_moves_edits_and_deletes(tree: Tree, personas: Personas) -> None:
    q = svc.questionnaire_create(place=tree.community, title="楼道照明", by=personas.staff)
    dim = svc.dimension_add(questionnaire=q, code="env", name="环境", mechanism=Mechanism.ENVIRONMENT, by=personas.staff)
    assert dim.code == "ENV"
    a = svc.question_add(questionnaire=q, by=personas.staff,
                         data=svc.QuestionInput(kind=Kind.SCALE_1_10, text="楼道灯亮吗", dimension=dim, code="ENV1"))
    b = svc.question_add(questionnaire=q, by=personas.staff,
                         data=svc.QuestionInput(kind=Kind.SINGLE, text="哪层最暗", options=["一层", "二层", " ", "三层"]))
    assert list(b.options.values_list("label", flat=True)) == ["一层", "二层", "三层"]
    svc.question_move(question=b, up=True, by=personas.staff)
    assert list(q.questions.order_by("order").values_list("pk", flat=True)) == [b.pk, a.pk]
    svc.question_move(question=b, up=True, by=personas.staff)  # already first: nothing moves
    assert list(q.questions.order_by("order").values_list("pk", flat=True)) == [b.pk, a.pk]
    svc.question_update(question=b, by=personas.staff,
                        data=svc.QuestionInput(kind=Kind.MULTIPLE, text="哪些层暗", options=["三层", "一层"],
                                               max_choices=2))
    b.refresh_from_db()
    assert b.kind == Kind.MULTIPLE and list(b.options.values_list("label", flat=True)) == ["三层", "一层"]
    svc.question_delete(question=a, by=personas.staff)
    assert list(q.questions.values_list("pk", flat=True)) == [b.pk]
    svc.dimension_delete(dimension=dim, by=personas.staff)
    assert not q.dimensions.exists()
    actions = set(AuditEvent.objects.filter(object_id=str(q.pk)).values_list("action", flat=True))
    assert {"surveys.question_add", "surveys.question_move", "surveys.question_update",
            "surveys.question_delete", "surveys.dimension_delete"} <= actions


@pytest.mark.parametrize(("data", "field"), [
    (svc.QuestionInput(kind="essay", text="x"), "kind"),
    (svc.QuestionInput(kind=Kind.SINGLE, text="x", options=["只有一个"]), "options"),
    (svc.QuestionInput(kind=Kind.SINGLE, text="x", options=["同", "同"]), "options"),
    (svc.QuestionInput(kind=Kind.MULTIPLE, text="x", options=["a", "b"], max_choices=3), "max_choices"),
    (svc.QuestionInput(kind=Kind.TEXT, text="  "), "text"),
    (svc.QuestionInput(kind=Kind.SCALE_1_10, text="x", code="1abc"), "code"),
    (svc.QuestionInput(kind=Kind.SCALE_1_10, text="x", code="SAT1"), "code"),  # taken by the template
])
def test_bad_questions_are_refused_with_the_field_named(satisfaction: Questionnaire, personas: Personas,
                                                        data: svc.QuestionInput, field: str) -> None:
    before = satisfaction.questions.count()
    with pytest.raises(ValidationError) as caught:
        svc.question_add(questionnaire=satisfaction, data=data, by=personas.staff)
    assert field in caught.value.message_dict
    assert satisfaction.questions.count() == before


def test_dimension_code_must_be_unique(satisfaction: Questionnaire, personas: Personas) -> None:
    with pytest.raises(ValidationError) as caught:
        svc.dimension_add(questionnaire=satisfaction, code="sat", name="重复", by=personas.staff)
    assert "code" in caught.value.message_dict


def test_open_needs_questions_and_options(tree: Tree, personas: Personas) -> None:
    q = svc.questionnaire_create(place=tree.community, title="空问卷", by=personas.staff)
    with pytest.raises(ValidationError, match="还没有题目"):
        svc.questionnaire_open(questionnaire=q, by=personas.staff)
    question = svc.question_add(questionnaire=q, by=personas.staff,
                                data=svc.QuestionInput(kind=Kind.SINGLE, text="选一个", options=["甲", "乙"]))
    question.options.filter(label="乙").delete()  # damaged by hand: opening must notice
    with pytest.raises(ValidationError, match="至少需要两个选项"):
        svc.questionnaire_open(questionnaire=q, by=personas.staff)
    svc.question_update(question=question, by=personas.staff,
                        data=svc.QuestionInput(kind=Kind.SINGLE, text="选一个", options=["甲", "乙"]))
    assert svc.questionnaire_open(questionnaire=q, by=personas.staff).status == Status.OPEN
    with pytest.raises(ValidationError):
        svc.questionnaire_open(questionnaire=q, by=personas.staff)
    assert svc.questionnaire_close(questionnaire=q, by=personas.staff).status == Status.CLOSED
    with pytest.raises(ValidationError):
        svc.questionnaire_close(questionnaire=q, by=personas.staff)


def test_questions_are_fixed_once_answers_exist_then_only_close_or_copy(hood: Neighbourhood,
                                                                        satisfaction: Questionnaire,
                                                                        personas: Personas) -> None:
    invitations = open_and_invite_all(satisfaction, personas.staff)
    question = satisfaction.questions.get(code="SAT1")
    # Open without answers: still editable.
    svc.question_update(question=question, by=personas.staff,
                        data=svc.QuestionInput(kind=Kind.SCALE_1_10, text="总体满意吗", code="SAT1",
                                               dimension=question.dimension))
    response_submit(invitation=invitations[0], answers=full_answers(satisfaction))
    data = svc.QuestionInput(kind=Kind.SCALE_1_10, text="改了", code="SAT1", dimension=question.dimension)
    with pytest.raises(ValidationError, match="已有答卷"):
        svc.question_update(question=question, data=data, by=personas.staff)
    with pytest.raises(ValidationError, match="已有答卷"):
        svc.question_delete(question=question, by=personas.staff)
    with pytest.raises(ValidationError, match="已有答卷"):
        svc.question_move(question=question, up=True, by=personas.staff)
    with pytest.raises(ValidationError, match="已有答卷"):
        svc.question_add(questionnaire=satisfaction, data=svc.QuestionInput(kind=Kind.TEXT, text="新题"),
                         by=personas.staff)
    with pytest.raises(ValidationError, match="已有答卷"):
        svc.questionnaire_update(questionnaire=satisfaction, by=personas.staff, title="新标题")
    with pytest.raises(ValidationError, match="已有答卷"):
        svc.dimension_add(questionnaire=satisfaction, code="NEW", name="新维度", by=personas.staff)
    assert Question.objects.get(pk=question.pk).text == "总体满意吗"
    copy = svc.questionnaire_copy(questionnaire=satisfaction, by=personas.lead)
    assert copy.status == Status.DRAFT and copy.copied_from_id == satisfaction.pk
    assert copy.questions.count() == satisfaction.questions.count()
    assert copy.dimensions.count() == satisfaction.dimensions.count()
    assert sorted(copy.questions.exclude(code="").values_list("code", "dimension__code")) == sorted(
        satisfaction.questions.exclude(code="").values_list("code", "dimension__code"))
    copied_age = copy.questions.get(code="AGE")
    assert list(copied_age.options.values_list("label", flat=True)) == list(
        satisfaction.questions.get(code="AGE").options.values_list("label", flat=True))
    copied_sat1 = copy.questions.get(code="SAT1")
    svc.question_update(question=copied_sat1, by=personas.lead,
                        data=svc.QuestionInput(kind=Kind.SCALE_1_10, text="改了", code="SAT1",
                                               dimension=copied_sat1.dimension))
    assert Question.objects.get(pk=copied_sat1.pk).text == "改了"
    svc.questionnaire_close(questionnaire=satisfaction, by=personas.staff)
    with pytest.raises(ValidationError, match="已结束"):
        svc.question_update(question=question, data=data, by=personas.staff)


def test_anonymity_cannot_change_after_invitations(hood: Neighbourhood, satisfaction: Questionnaire,
                                                   personas: Personas) -> None:
    open_and_invite_all(satisfaction, personas.staff)
    with pytest.raises(ValidationError) as caught:
        svc.questionnaire_update(questionnaire=satisfaction, by=personas.staff, anonymous=False)
    assert "anonymous" in caught.value.message_dict
    assert Questionnaire.objects.get(pk=satisfaction.pk).anonymous


def test_settings_validation(satisfaction: Questionnaire, personas: Personas) -> None:
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    with pytest.raises(ValidationError) as caught:
        svc.questionnaire_update(questionnaire=satisfaction, by=personas.staff, opens_at=now, closes_at=now - timedelta(1))
    assert "closes_at" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        svc.questionnaire_update(questionnaire=satisfaction, by=personas.staff, retention_months=0)
    assert "retention_months" in caught.value.message_dict
    with pytest.raises(ValidationError):
        svc.questionnaire_update(questionnaire=satisfaction, by=personas.staff, status="open")
    updated = svc.questionnaire_update(questionnaire=satisfaction, by=personas.staff, title="2026 年一季度满意度测评",
                                       closes_at=now + timedelta(days=14))
    assert updated.title == "2026 年一季度满意度测评"


def test_retention_runs_out_and_answers_lose_every_link(hood: Neighbourhood, satisfaction: Questionnaire,
                                                        personas: Personas) -> None:
    from datetime import timedelta

    from linli.surveys.models import Answer, Invitation, Response
    from linli.surveys.tasks import purge_expired

    svc.questionnaire_update(questionnaire=satisfaction, by=personas.staff, anonymous=False, retention_months=2)
    invitations = open_and_invite_all(satisfaction, personas.staff)
    response_submit(invitation=invitations[0], answers=full_answers(satisfaction))
    closed = svc.questionnaire_close(questionnaire=satisfaction, by=personas.staff)
    assert closed.closed_at is not None
    ends = svc.retention_ends(closed)
    assert ends == svc.add_months(closed.closed_at, 2)
    assert svc.questionnaires_purge_expired(at=ends - timedelta(seconds=1)) == 0
    assert Response.objects.get().resident_id is not None
    assert svc.questionnaires_purge_expired(at=ends) == 1
    row = Response.objects.get()
    assert row.anonymous and row.resident_id is None and row.invitation_id is None and row.submitted_at is None
    assert not Invitation.objects.exists()
    assert not Answer.objects.filter(question__kind=Kind.TEXT).exists()
    assert Answer.objects.filter(response=row).count() == 39  # the numbers and choices stay
    assert svc.questionnaires_purge_expired(at=ends + timedelta(days=400)) == 0
    assert purge_expired.call() == 0


def test_add_months_keeps_to_the_calendar() -> None:
    from datetime import UTC, datetime

    assert svc.add_months(datetime(2026, 1, 31, 8, tzinfo=UTC), 1) == datetime(2026, 2, 28, 8, tzinfo=UTC)
    assert svc.add_months(datetime(2026, 11, 15, tzinfo=UTC), 3) == datetime(2027, 2, 15, tzinfo=UTC)
    assert svc.add_months(datetime(2024, 2, 29, tzinfo=UTC), 12) == datetime(2025, 2, 28, tzinfo=UTC)
    assert svc.add_months(datetime(2026, 5, 1, tzinfo=UTC), 36) == datetime(2029, 5, 1, tzinfo=UTC)
