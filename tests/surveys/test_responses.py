"""Answers: validation, one response per resident on every channel, anonymity, paper."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from linli.audit.models import AuditEvent
from linli.surveys import services as svc
from linli.surveys.models import Answer, Invitation, Questionnaire, Response, ResponseChannel
from linli.surveys.responses import (
    AlreadyAnswered,
    invitation_by_code,
    questions_of,
    response_submit,
)
from tests.conftest import Personas
from tests.surveys.conftest import Neighbourhood, full_answers


def test_an_anonymous_response_links_to_nobody(hood: Neighbourhood, invited: dict[int, Invitation],
                                               satisfaction: Questionnaire) -> None:
    assert satisfaction.anonymous
    invitation = invited[hood.me.pk]
    response = response_submit(invitation=invitation, answers=full_answers(satisfaction))
    row = Response.objects.get(pk=response.pk)
    assert row.anonymous and row.invitation_id is None and row.resident_id is None
    assert row.submitted_at is None and row.entered_by_id is None
    assert row.grid_id == invitation.grid_id and row.community_id == invitation.community_id
    claimed = Invitation.objects.get(pk=invitation.pk)
    assert claimed.answered and claimed.answered_at is None  # nothing dates the answer
    # No column of the sheet names a resident, an invitation or a user, or carries a time.
    from django.db import models

    from linli.accounts.models import User
    from linli.people.models import Resident

    for model in (Response, Answer):
        rows = model.objects.filter(pk=response.pk) if model is Response else model.objects.filter(response=response)
        for item in rows:
            for f in model._meta.concrete_fields:
                value = getattr(item, f.attname)
                if f.is_relation and f.related_model in (Resident, Invitation, User):
                    assert value is None, f.name
                if isinstance(f, models.DateTimeField | models.DateField):
                    assert value is None, f.name
    assert not AuditEvent.objects.filter(action__startswith="surveys.answer").exists()


def test_the_database_refuses_a_linked_anonymous_response(hood: Neighbourhood, invited: dict[int, Invitation],
                                                          satisfaction: Questionnaire) -> None:
    invitation = invited[hood.me.pk]
    with pytest.raises(IntegrityError), transaction.atomic():
        Response.objects.create(questionnaire=satisfaction, community_id=invitation.community_id, anonymous=True,
                                invitation=invitation, channel=ResponseChannel.WEB)


def test_a_named_response_links_to_the_resident(hood: Neighbourhood, satisfaction: Questionnaire,
                                                personas: Personas) -> None:
    svc.questionnaire_update(questionnaire=satisfaction, by=personas.staff, anonymous=False)
    from tests.surveys.conftest import open_and_invite_all

    invitation = next(i for i in open_and_invite_all(satisfaction, personas.staff) if i.resident_id == hood.me.pk)
    at = timezone.now()
    response = response_submit(invitation=invitation, answers=full_answers(satisfaction), at=at)
    row = Response.objects.get(pk=response.pk)
    assert not row.anonymous and row.resident_id == hood.me.pk and row.invitation_id == invitation.pk
    assert row.submitted_at == at and Invitation.objects.get(pk=invitation.pk).answered_at == at
    # The database holds one response per resident even past the invitation's claim.
    with pytest.raises(IntegrityError), transaction.atomic():
        Response.objects.create(questionnaire=satisfaction, community_id=row.community_id, anonymous=False,
                                invitation=invitation, resident=hood.me, channel=ResponseChannel.WEB)


def test_answers_are_stored_as_given(hood: Neighbourhood, invited: dict[int, Invitation],
                                     satisfaction: Questionnaire) -> None:
    questions = {q.code: q for q in questions_of(satisfaction)}
    answers = full_answers(satisfaction, score=7)
    group = questions["GROUP"]
    two = [o.pk for o in group.options.all()[:2]]
    answers[group.pk] = two
    answers[questions["SAT1"].pk] = 10
    answers[questions["IMPROVE"].pk] = "  多安排老年人活动  "
    response = response_submit(invitation=invited[hood.me.pk], answers=answers)
    stored = Answer.objects.filter(response=response)
    assert stored.get(question=questions["SAT1"]).number == 10
    assert stored.get(question=questions["COMM1"]).number == 7
    assert sorted(stored.filter(question=group).values_list("option_id", flat=True)) == sorted(two)
    assert stored.get(question=questions["IMPROVE"]).text == "多安排老年人活动"
    assert stored.count() == len(questions) + 1  # one row per question, two for the two options


@pytest.mark.parametrize(("code", "value", "message"), [
    ("SAT1", 11, "1 到 10"), ("SAT1", 0, "1 到 10"), ("SAT1", "abc", "1 到 10"), ("SAT1", None, "请回答这道题"),
    ("AGE", 999999, "从选项中选择"), ("AGE", None, "请回答这道题"), ("GROUP", [123456], "从选项中选择"),
    ("IMPROVE", "长" * 2001, "最多 2000 个字"),
])
def test_bad_answers_are_refused_in_words(hood: Neighbourhood, invited: dict[int, Invitation],
                                          satisfaction: Questionnaire, code: str, value: Any, message: str) -> None:
    question = satisfaction.questions.get(code=code)
    answers = full_answers(satisfaction)
    answers[question.pk] = value
    with pytest.raises(ValidationError) as caught:
        response_submit(invitation=invited[hood.me.pk], answers=answers)
    assert message in " ".join(caught.value.message_dict[f"q{question.pk}"])
    assert not Response.objects.exists() and not Invitation.objects.get(pk=invited[hood.me.pk].pk).answered


def test_max_choices_and_optional_questions(hood: Neighbourhood, needs: Questionnaire, personas: Personas) -> None:
    from tests.surveys.conftest import open_and_invite_all

    invitation = open_and_invite_all(needs, personas.staff)[0]
    questions = {q.code: q for q in questions_of(needs)}
    answers = full_answers(needs)
    answers[questions["NEED_SERVICES"].pk] = [o.pk for o in questions["NEED_SERVICES"].options.all()[:6]]
    with pytest.raises(ValidationError, match="最多选 5 项"):
        response_submit(invitation=invitation, answers=answers)
    answers[questions["NEED_SERVICES"].pk] = [o.pk for o in questions["NEED_SERVICES"].options.all()[:5]]
    answers[questions["NEED_ACTIVITIES"].pk] = []  # optional
    answers[questions["NEED_TEXT"].pk] = "   "  # optional, blank
    response = response_submit(invitation=invitation, answers=answers)
    assert not response.answers.filter(question=questions["NEED_TEXT"]).exists()
    assert response.answers.filter(question=questions["NEED_SERVICES"]).count() == 5


def test_one_response_per_resident_across_channels(hood: Neighbourhood, invited: dict[int, Invitation],
                                                   satisfaction: Questionnaire, personas: Personas) -> None:
    invitation = invited[hood.me.pk]
    response_submit(invitation=invitation, answers=full_answers(satisfaction))
    with pytest.raises(AlreadyAnswered):
        response_submit(invitation=invitation, answers=full_answers(satisfaction))
    stale = Invitation.objects.get(pk=invitation.pk)
    stale.answered = False  # a stale copy read before the first answer
    with pytest.raises(AlreadyAnswered):
        response_submit(invitation=stale, answers=full_answers(satisfaction), channel=ResponseChannel.PAPER,
                        by=personas.staff)
    assert Response.objects.filter(questionnaire=satisfaction).count() == 1


def test_paper_entry_records_who_entered_it(hood: Neighbourhood, invited: dict[int, Invitation],
                                            satisfaction: Questionnaire, personas: Personas) -> None:
    invitation = invited[hood.grid2[0].pk]
    found = invitation_by_code(satisfaction, f" {invitation.code[:4].lower()}-{invitation.code[4:]} ")
    assert found is not None and found.pk == invitation.pk
    assert invitation_by_code(satisfaction, "NOPE") is None
    with pytest.raises(ValidationError, match="工作人员录入"):
        response_submit(invitation=invitation, answers=full_answers(satisfaction), channel=ResponseChannel.PAPER)
    response = response_submit(invitation=invitation, answers=full_answers(satisfaction),
                               channel=ResponseChannel.PAPER, by=personas.staff)
    row = Response.objects.get(pk=response.pk)
    assert row.channel == ResponseChannel.PAPER and row.entered_by_id == personas.staff.pk
    assert row.resident_id is None  # still anonymous
    event = AuditEvent.objects.get(action="surveys.paper_entry")
    assert event.actor_id == personas.staff.pk and "invitation" not in (event.after or {})


def test_answers_only_while_open_and_in_the_window(hood: Neighbourhood, invited: dict[int, Invitation],
                                                   satisfaction: Questionnaire, personas: Personas) -> None:
    now = timezone.now()
    Questionnaire.objects.filter(pk=satisfaction.pk).update(closes_at=now - timedelta(minutes=1))
    satisfaction.refresh_from_db()
    invitation = Invitation.objects.select_related("questionnaire").get(pk=invited[hood.me.pk].pk)
    with pytest.raises(ValidationError, match="已截止"):
        response_submit(invitation=invitation, answers=full_answers(satisfaction), at=now)
    # Paper collected before the deadline may still be entered while the questionnaire is open.
    response_submit(invitation=invitation, answers=full_answers(satisfaction), channel=ResponseChannel.PAPER,
                    by=personas.staff, at=now)
    svc.questionnaire_close(questionnaire=satisfaction, by=personas.staff)
    other = Invitation.objects.select_related("questionnaire").get(pk=invited[hood.neighbour.pk].pk)
    with pytest.raises(ValidationError, match="已结束"):
        response_submit(invitation=other, answers=full_answers(satisfaction), channel=ResponseChannel.PAPER,
                        by=personas.staff)
