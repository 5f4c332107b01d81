"""Helpers for the satisfaction tests: a 满意度测评 questionnaire answered through the
surveys services by residents of both grids of the shared tree, with answers drawn from
SATISFACTION-MODEL.md's structure (tests/surveys/synthetic.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from linli.people.models import Household, Resident
from linli.people.services import household_create
from linli.places.models import Place
from linli.surveys import services as svc
from linli.surveys.distribution import questionnaire_distribute
from linli.surveys.models import Invitation, Questionnaire, ResponseChannel, Template
from linli.surveys.responses import questions_of, response_submit
from tests.conftest import Personas, Tree
from tests.surveys.conftest import full_answers
from tests.surveys.synthetic import Sample, draw_answers


@dataclass
class Answered:
    questionnaire: Questionnaire
    sample: Sample  # what was answered, row r by the r-th invitation (by id)
    grids: list[int]  # the grid id of each row
    groups: list[str]  # the GROUP option label each row chose


def register(tree: Tree, n: int, *, tag: str = "A") -> None:
    """``n`` adults, alternately in grid 1 (tree.household) and grid 2 (a flat in 7号楼)."""
    building2 = Place.objects.get(code="b2")
    first = Household.objects.filter(place=tree.household).first() or household_create(
        ref=f"SAT-{tag}1", place=tree.household, by=None)
    second = household_create(ref=f"SAT-{tag}2", parent=building2, room=f"{tag}室", by=None)
    Resident.objects.bulk_create([
        Resident(household=(first, second)[i % 2], community=tree.community, name=f"受访者{tag}{i}",
                 birth_date=date(1960, 1, 1))
        for i in range(n)
    ])


def new_survey(tree: Tree, personas: Personas, *, place: Place | None = None, title: str = "") -> Questionnaire:
    questionnaire = svc.questionnaire_from_template(template=Template.SATISFACTION, place=place or tree.community,
                                                    by=personas.staff)
    if title:
        questionnaire = svc.questionnaire_update(questionnaire=questionnaire, by=personas.staff, title=title)
    return questionnaire


def answer(questionnaire: Questionnaire, personas: Personas, sample: Sample, *, groups: list[int] | None = None,
           texts: dict[int, str] | None = None, skip: set[int] | None = None,
           paper_every: int = 5) -> list[Invitation]:
    """Open and send the questionnaire to everyone, then answer row r of ``sample`` as the
    r-th unanswered invitation (by id). ``groups`` picks the GROUP option per row (its
    index), ``texts`` a written answer, ``skip`` rows that leave SAT1 unanswered (an
    incomplete response: SAT1 must have been made optional first, see ``sat1_optional``)."""
    questionnaire.refresh_from_db()
    if questionnaire.status == "draft":
        svc.questionnaire_open(questionnaire=questionnaire, by=personas.staff)
    if Invitation.objects.filter(questionnaire=questionnaire, answered=False).count() < len(sample.values):
        questionnaire_distribute(questionnaire=questionnaire, by=personas.staff, mode="all")
    invitations = list(Invitation.objects.filter(questionnaire=questionnaire, answered=False)
                       .select_related("questionnaire").order_by("id")[: len(sample.values)])
    assert len(invitations) == len(sample.values), "register more residents"
    questions = questions_of(questionnaire)
    by_code = {q.code: q for q in questions}
    group_options = list(by_code["GROUP"].options.all())
    background = full_answers(questionnaire)
    background.pop(by_code["IMPROVE"].pk, None)
    for row, invitation in enumerate(invitations):
        answers: dict[int, Any] = dict(background)
        for column, code in enumerate(sample.items):
            answers[by_code[code].pk] = int(sample.values[row, column])
        if groups is not None:
            answers[by_code["GROUP"].pk] = [group_options[groups[row]].pk]
        if texts and row in texts:
            answers[by_code["IMPROVE"].pk] = texts[row]
        if skip and row in skip:
            answers.pop(by_code["SAT1"].pk)
        paper = paper_every > 0 and row % paper_every == 0
        response_submit(invitation=invitation, answers=answers,
                        **({"channel": ResponseChannel.PAPER, "by": personas.staff} if paper else {}))
    return invitations


def sat1_optional(questionnaire: Questionnaire, personas: Personas) -> None:
    question = questionnaire.questions.select_related("dimension").get(code="SAT1")
    svc.question_update(question=question, by=personas.staff, data=svc.QuestionInput(
        kind=question.kind, text=question.text, dimension=question.dimension, code="SAT1", required=False,
        low_label=question.low_label, high_label=question.high_label))


def survey_answered(tree: Tree, personas: Personas, n: int, seed: int, *, tag: str = "A",
                    title: str = "") -> Answered:
    register(tree, n, tag=tag)
    questionnaire = new_survey(tree, personas, title=title)
    sample = draw_answers(n, seed)
    rng = np.random.default_rng(seed)
    groups = [int(g) for g in rng.integers(0, 2, n)]
    invitations = answer(questionnaire, personas, sample, groups=groups)
    grids = [inv.grid_id or 0 for inv in invitations]
    labels = [list(questionnaire.questions.get(code="GROUP").options.all())[g].label for g in groups]
    return Answered(questionnaire=questionnaire, sample=sample, grids=grids, groups=labels)


def shifted(sample: Sample, shifts: dict[str, float]) -> Sample:
    """The same answers with whole blocks moved up or down the 1–10 scale (a block that
    does worse or better everywhere), rounded and kept on the scale."""
    values = sample.values.copy()
    for column, item in enumerate(sample.items):
        block = item.rstrip("0123456789")
        if block in shifts:
            values[:, column] = np.clip(np.rint(values[:, column] + shifts[block]), 1, 10)
    return Sample(items=sample.items, values=values)
