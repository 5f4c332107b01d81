"""Surveys fixtures: a neighbourhood of residents made through the people services, in
both grids of the shared tree's community (one of them a child, who is never invited),
and questionnaires installed from the templates."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

from linli.people.models import Household, Resident
from linli.people.services import household_create, resident_create
from linli.places.models import Place, PlaceKind
from linli.surveys import services as svc
from linli.surveys.distribution import questionnaire_distribute
from linli.surveys.models import Invitation, Questionnaire, Template
from linli.surveys.responses import field_name, questions_of
from tests.conftest import Personas, Tree


@dataclass
class Neighbourhood:
    me: Resident  # personas.resident, in tree.household (grid 1, 3号楼)
    neighbour: Resident  # personas.other_resident, in tree.other_household
    child: Resident  # under 18: never invited
    grid1: list[Resident]  # every adult in grid 1 (3号楼), me and neighbour included
    grid2: list[Resident]  # every adult in grid 2 (7号楼)
    far: Resident  # in the other community
    building2: Place


def _adult(household: Household, name: str, **extra: Any) -> Resident:
    return resident_create(household=household, name=name, birth_date=date(1970, 1, 1), by=None, **extra)


def make_neighbourhood(tree: Tree, personas: Personas, *, extra_grid1: int = 4, grid2: int = 6) -> Neighbourhood:
    home = household_create(ref="S-502", place=tree.household, by=None)
    next_door = household_create(ref="S-601", place=tree.other_household, by=None)
    me = _adult(home, "王秀英", user=personas.resident)
    child = resident_create(household=home, name="王小明", birth_date=date(date.today().year - 8, 3, 1), by=None)  # noqa: DTZ011
    neighbour = _adult(next_door, "李建国", user=personas.other_resident)
    grid1 = [me, neighbour]
    for i in range(extra_grid1):
        household = household_create(ref=f"S-1{i:02d}", parent=tree.unit, room=f"{i + 1}01室", by=None)
        grid1.append(_adult(household, f"居民甲{i}"))
    building2 = Place.objects.get(code="b2")
    others = []
    for i in range(grid2):
        household = household_create(ref=f"S-2{i:02d}", parent=building2, room=f"{i + 1}02室", by=None)
        others.append(_adult(household, f"居民乙{i}"))
    far_home = household_create(ref="F-1", place=tree.far_household, by=None)
    far = _adult(far_home, "赵敏")
    assert building2.kind == PlaceKind.BUILDING
    return Neighbourhood(me=me, neighbour=neighbour, child=child, grid1=grid1, grid2=others, far=far,
                         building2=building2)


@pytest.fixture
def hood(tree: Tree, personas: Personas) -> Neighbourhood:
    return make_neighbourhood(tree, personas)


@pytest.fixture
def satisfaction(tree: Tree, personas: Personas) -> Questionnaire:
    return svc.questionnaire_from_template(template=Template.SATISFACTION, place=tree.community, by=personas.staff)


@pytest.fixture
def needs(tree: Tree, personas: Personas) -> Questionnaire:
    return svc.questionnaire_from_template(template=Template.NEEDS, place=tree.community, by=personas.staff)


def open_and_invite_all(questionnaire: Questionnaire, by: Any) -> list[Invitation]:
    questionnaire.refresh_from_db()
    if questionnaire.status == "draft":
        svc.questionnaire_open(questionnaire=questionnaire, by=by)
    questionnaire_distribute(questionnaire=questionnaire, by=by, mode="all")
    return list(Invitation.objects.filter(questionnaire=questionnaire).select_related("questionnaire", "resident"))


@pytest.fixture
def invited(hood: Neighbourhood, satisfaction: Questionnaire, personas: Personas) -> dict[int, Invitation]:
    """The satisfaction questionnaire, open and sent to everyone: invitations by resident id."""
    return {inv.resident_id: inv for inv in open_and_invite_all(satisfaction, personas.staff)}


def full_answers(questionnaire: Questionnaire, *, score: int = 8) -> dict[int, Any]:
    """A complete, valid answer to every question (the first option of choice questions)."""
    answers: dict[int, Any] = {}
    for question in questions_of(questionnaire):
        if question.scale is not None:
            low, high = question.scale
            answers[question.pk] = min(max(score, low), high)
        elif question.kind == "single":
            answers[question.pk] = question.options.all()[0].pk
        elif question.kind == "multiple":
            answers[question.pk] = [question.options.all()[0].pk]
        else:
            answers[question.pk] = "希望增加楼道照明"
    return answers


def as_post(questionnaire: Questionnaire, answers: dict[int, Any]) -> dict[str, Any]:
    """The same answers as a browser would post them."""
    by_pk = {q.pk: q for q in questions_of(questionnaire)}
    data: dict[str, Any] = {}
    for pk, value in answers.items():
        data[field_name(by_pk[pk])] = [str(v) for v in value] if isinstance(value, list) else str(value)
    return data


Post = Callable[[Questionnaire, dict[int, Any]], dict[str, Any]]
