"""People fixtures: households at the shared tree's household nodes, residents made
through the services, and one resident linked to each resident persona."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest

from linli.people.models import Household, HouseholdRole, Resident
from linli.people.services import household_create, resident_create
from linli.people.validation import id_number_check_char
from tests.conftest import Personas, Tree

# Plain values that must never appear in a response body unless revealed.
MY_PHONE = "13912345678"
MY_ID = "11010519491231002X"  # the worked example of GB 11643-1999
MY_HEALTH = "高血压二级"
NEIGHBOUR_PHONE = "13700001111"
CHILD_PHONE = "13655556666"


def make_id(born: date, seq: int = 1, *, male: bool = True, region: str = "110105") -> str:
    """A valid 18-character ID number (the sequence's last digit carries the gender)."""
    order = seq * 2 + (1 if male else 0)
    first17 = f"{region}{born:%Y%m%d}{order % 1000:03d}"
    return first17 + id_number_check_char(first17)


@dataclass
class People:
    household: Household
    other_household: Household
    far_household: Household
    me: Resident
    neighbour: Resident
    child: Resident
    far: Resident


def make_people(tree: Tree, personas: Personas) -> People:
    household = household_create(ref="H-502", place=tree.household, by=None)
    other_household = household_create(ref="H-601", place=tree.other_household, by=None)
    far_household = household_create(ref="F-101", place=tree.far_household, by=None)
    me = resident_create(
        household=household, name="王秀英", household_role=HouseholdRole.HEAD, id_number=MY_ID, phone=MY_PHONE,
        health=MY_HEALTH, user=personas.resident, by=None,
    )
    today = date.today()  # noqa: DTZ011 - a calendar date
    child = resident_create(
        household=household, name="王小明", household_role=HouseholdRole.GRANDCHILD,
        id_number=make_id(date(today.year - 8, 3, 1), 7), phone=CHILD_PHONE, by=None,
    )
    neighbour = resident_create(
        household=other_household, name="李建国", id_number=make_id(date(1960, 5, 4), 3), phone=NEIGHBOUR_PHONE,
        user=personas.other_resident, by=None,
    )
    far = resident_create(household=far_household, name="赵敏", id_number=make_id(date(1985, 1, 2), 9, male=False), by=None)
    return People(household, other_household, far_household, me, neighbour, child, far)


@pytest.fixture
def people(tree: Tree, personas: Personas) -> People:
    return make_people(tree, personas)
