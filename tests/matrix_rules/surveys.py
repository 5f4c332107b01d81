"""Matrix rows of the surveys app (``linli.surveys``).

The inside questionnaire is the satisfaction template at ``tree.community``, opened and
sent to everyone: ``resident`` (``resident_inside``) is invited and has not answered,
``other_resident`` has answered, so its questions are fixed and every builder POST of a
member of staff gets past access control to a 400 (which is what keeps the rows
independent of the order personas run in). The far questionnaire is the same at the
other community. Residents answer through the token link, which needs no sign-in: the
token is the credential, so those rows have no "outside" variant.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from linli.surveys import services as svc
from linli.surveys.distribution import questionnaire_distribute
from linli.surveys.models import Invitation, Questionnaire, Template
from linli.surveys.responses import questions_of, response_submit
from tests.matrix_base import SIGNED_IN, Rule, World, everyone, only

READERS = frozenset({"staff", "lead", "street_supervisor", "auditor", "superuser"})
WRITERS = frozenset({"staff", "lead", "street_supervisor", "superuser"})
RESIDENTS = frozenset({"resident", "other_resident"})


def _answers(questionnaire: Questionnaire) -> dict[int, Any]:
    answers: dict[int, Any] = {}
    for question in questions_of(questionnaire):
        if question.scale is not None:
            answers[question.pk] = question.scale[1]
        elif question.is_choice:
            first = question.options.all()[0].pk
            answers[question.pk] = [first] if question.kind == "multiple" else first
    return answers


def _questionnaire(w: World, *, far: bool = False) -> Questionnaire:
    """Made once per world (the rows' ``kwargs`` run for each URL they build)."""
    attr = "_surveys_far" if far else "_surveys_inside"
    found = getattr(w, attr, None)
    if found is not None:
        return found
    staff = w.personas.outside_staff if far else w.personas.staff
    place = w.tree.other_community if far else w.tree.community
    questionnaire = svc.questionnaire_from_template(template=Template.SATISFACTION, place=place, by=staff)
    svc.questionnaire_open(questionnaire=questionnaire, by=staff)
    questionnaire_distribute(questionnaire=questionnaire, by=staff, mode="all")
    answering = w.resident_far if far else w.resident_other
    invitation = Invitation.objects.select_related("questionnaire").get(questionnaire=questionnaire,
                                                                       resident=answering)
    response_submit(invitation=invitation, answers=_answers(questionnaire))
    setattr(w, attr, questionnaire)
    return questionnaire


def _pk(*, far: bool = False) -> Callable[[World], dict[str, Any]]:
    return lambda w: {"pk": _questionnaire(w, far=far).pk}


def _question(*, far: bool = False) -> Callable[[World], dict[str, Any]]:
    return lambda w: {"pk": _questionnaire(w, far=far).questions.get(code="SAT1").pk}


def _dimension(*, far: bool = False) -> Callable[[World], dict[str, Any]]:
    return lambda w: {"pk": _questionnaire(w, far=far).dimensions.get(code="SAT").pk}


def _token(w: World) -> dict[str, Any]:
    invitation = Invitation.objects.get(questionnaire=_questionnaire(w), resident=w.resident_inside)
    return {"token": invitation.token}


def _readers() -> dict[str, str]:
    return only(READERS)


def _writers() -> dict[str, str]:
    return only(WRITERS, auditor="403")


RULES: dict[str, Rule] = {
    # Residents: the token link works for anyone holding it, signed in or not.
    "surveys:answer": Rule(kwargs=_token, expect=everyone()),
    "surveys:thanks": Rule(kwargs=_token, expect=everyone()),
    "surveys:mine": Rule(expect=only(SIGNED_IN)),
    "surveys:take": Rule(kwargs=_pk(), expect=only(RESIDENTS)),
    # Staff: lists and the calculator (403 for those holding no survey role).
    "surveys:list": Rule(expect=only(READERS | {"outside_staff"}), default="403"),
    "surveys:new": Rule(expect=only(WRITERS | {"outside_staff"}), default="403"),
    "surveys:sample_size": Rule(expect=only(READERS | {"outside_staff"}), default="403"),
    # One questionnaire: read by readers, changed by writers (auditors 403).
    "surveys:detail": Rule(kwargs=_pk(), expect=_readers()),
    "surveys:settings": Rule(kwargs=_pk(), expect=_writers()),
    "surveys:status": Rule(method="post", kwargs=_pk(), data={"action": "close"}, expect=_writers()),
    "surveys:copy": Rule(method="post", kwargs=_pk(), expect=_writers()),
    "surveys:dimension_add": Rule(method="post", kwargs=_pk(), data={"dim-code": "NEW", "dim-name": "新维度",
                                                                    "dim-mechanism": "other", "dim-mode": "A"},
                                  expect=_writers()),
    "surveys:dimension_edit": Rule(kwargs=_dimension(), expect=_readers()),
    "surveys:question_add": Rule(method="post", kwargs=_pk(), data={"new-kind": "text", "new-text": "新题目"},
                                 expect=_writers()),
    "surveys:question_edit": Rule(kwargs=_question(), expect=_readers()),
    "surveys:question_move": Rule(method="post", kwargs=_question(), data={"direction": "down"}, expect=_writers()),
    "surveys:question_delete": Rule(method="post", kwargs=_question(), expect=_writers()),
    "surveys:distribute": Rule(kwargs=_pk(), expect=_readers()),
    "surveys:slips": Rule(kwargs=_pk(), expect=_readers()),
    "surveys:rates": Rule(kwargs=_pk(), expect=_readers()),
    "surveys:remind": Rule(method="post", kwargs=_pk(), expect=_writers()),
    "surveys:paper": Rule(kwargs=_pk(), expect=_writers()),
    "surveys:results": Rule(kwargs=_pk(), expect=_readers()),
    "surveys:texts": Rule(kwargs=_pk(), expect=_readers()),
}

OUTSIDE: dict[str, Callable[[World], dict[str, Any]]] = {
    "surveys:take": _pk(far=True),
    **{name: _pk(far=True) for name in ("surveys:detail", "surveys:settings", "surveys:status", "surveys:copy",
                                        "surveys:dimension_add", "surveys:question_add", "surveys:distribute",
                                        "surveys:slips", "surveys:rates", "surveys:remind", "surveys:paper",
                                        "surveys:results", "surveys:texts")},
    "surveys:dimension_edit": _dimension(far=True),
    "surveys:question_edit": _question(far=True),
    "surveys:question_move": _question(far=True),
    "surveys:question_delete": _question(far=True),
}
