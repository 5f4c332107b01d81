"""Deliberation fixtures: a neighbourhood of households and adult residents (some with
accounts) made through the services, and helpers that create, open, cast, close and
publish votes the way the product does."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from linli.accounts.models import Role, User
from linli.deliberation import services
from linli.deliberation.models import OwnerRoll, Vote
from linli.people.models import Household, HouseholdRole, Resident
from linli.people.services import household_create, resident_create
from tests.conftest import Personas, Tree, make_user

TZ = ZoneInfo("Asia/Shanghai")
OPENS = datetime(2026, 12, 1, 9, 0, tzinfo=TZ)
CLOSES = OPENS + timedelta(days=7)
DURING = OPENS + timedelta(hours=1)
AFTER = CLOSES + timedelta(minutes=1)


@dataclass
class Neighbourhood:
    households: list[Household]
    adults: list[Resident]  # adults[0] is personas.resident, adults[1] personas.other_resident
    child: Resident
    voters: list[User]  # the accounts of the adults, in the same order


def make_neighbourhood(tree: Tree, personas: Personas, *, extra: int = 4) -> Neighbourhood:
    h1 = household_create(ref="H-502", place=tree.household, by=None)
    h2 = household_create(ref="H-601", place=tree.other_household, by=None)
    households = [h1, h2]
    adults = [
        resident_create(household=h1, name="王秀英", household_role=HouseholdRole.HEAD, birth_date=date(1958, 4, 2),
                        user=personas.resident, by=None),
        resident_create(household=h2, name="李建国", household_role=HouseholdRole.HEAD, birth_date=date(1960, 5, 4),
                        user=personas.other_resident, by=None),
    ]
    voters = [personas.resident, personas.other_resident]
    for i in range(extra):
        household = household_create(ref=f"H-7{i:02d}", parent=tree.building, room=f"7{i:02d}室", by=None)
        households.append(household)
        user = make_user(f"voter{i}", Role.RESIDENT, household.place)
        adults.append(resident_create(household=household, name=f"居民{i}", birth_date=date(1980 + i, 1, 15),
                                      user=user, by=None))
        voters.append(user)
    # Turns 18 the day after the vote opens: not on an adults' roll.
    child = resident_create(household=h1, name="王小明", household_role=HouseholdRole.GRANDCHILD,
                            birth_date=date(2008, 12, 2), by=None)
    return Neighbourhood(households, adults, child, voters)


@pytest.fixture
def hood(tree: Tree, personas: Personas) -> Neighbourhood:
    return make_neighbourhood(tree, personas)


MakeVote = Callable[..., Vote]


@pytest.fixture
def make_vote(tree: Tree, personas: Personas) -> MakeVote:
    def make(*, open_it: bool = True, **fields: Any) -> Vote:
        values: dict[str, Any] = {
            "place": tree.community, "title": "是否增设电动自行车充电桩", "question_kind": "yes_no",
            "eligibility": "adults", "rule": "simple_majority", "opens_at": OPENS, "closes_at": CLOSES,
            "secret": True,
        }
        values.update(fields)
        vote = services.vote_create(by=personas.staff, **values)
        if open_it:
            vote = services.vote_open(vote=vote, by=personas.lead, at=OPENS - timedelta(hours=1))
        return vote

    return make


def csv_upload(rows: list[list[str]], name: str = "register.csv") -> SimpleUploadedFile:
    buffer = io.StringIO()
    for row in rows:
        buffer.write(",".join(row) + "\n")
    return SimpleUploadedFile(name, buffer.getvalue().encode("utf-8"), content_type="text/csv")


def import_roll(tree: Tree, personas: Personas, rows: list[list[str]], **kwargs: Any) -> OwnerRoll:
    report = services.owner_roll_import(place=tree.community, by=personas.staff, upload=csv_upload(rows), **kwargs)
    assert report.errors == [], report.errors
    assert report.roll is not None
    return report.roll
