"""表决 for the demo street, made through the services (so every ballot, paper entry and
publication is in the audit chain, and `linli vote verify --id N` passes):

- in the first community, an owners' vote held last month under Civil Code Art. 278
  (选聘物业服务企业, an ordinary matter), counted against an owners' roll imported from a
  register of its first buildings' households (a buyer of two units, the developer's
  unsold units), its ballots on paper entered by one member of staff and confirmed by a
  second, one owner on the web (the demo resident "…a", linked to their unit) — closed
  and published;
- in the same community, an open secret residents' vote (每人一票) that the demo resident
  accounts of the sign-in list (resident-1a, resident-1b) can cast, with some
  neighbours' ballots already in. (One community only: building a roll is most of the
  cost, and the demo is built in seconds.)
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from linli.accounts.models import Role, RoleAssignment, User
from linli.deliberation import services
from linli.deliberation.models import Owner, Vote, VoterRollEntry
from linli.demo.generator import seeded_rng
from linli.people.models import HouseholdRole, Resident, ResidentStatus
from linli.places.models import Place

OWNER_UNITS = 60  # households in the register of the owners' vote
TURNOUT = 0.86  # owners who take part: above Art. 278's two thirds by headcount and area
WEB_BALLOTS = 8  # neighbours' ballots already in each open residents' vote


@dataclass(frozen=True)
class VotesBuilt:
    votes: int
    ballots: int
    seconds: float

    def counts(self) -> dict[str, int]:
        return {"votes": self.votes, "ballots": self.ballots}


def _staff(community: Place) -> tuple[User, User, User] | None:
    """The community's committee lead and two of its staff (as planned by the demo)."""
    rows = (RoleAssignment.objects.filter(place=community, is_active=True,
                                          role__in=[Role.COMMITTEE_LEAD, Role.COMMUNITY_STAFF])
            .select_related("user").order_by("user__username"))
    lead = next((r.user for r in rows if r.role == Role.COMMITTEE_LEAD), None)
    staff = [r.user for r in rows if r.role == Role.COMMUNITY_STAFF]
    if lead is None or len(staff) < 2:
        return None
    return lead, staff[0], staff[1]


def _register(community: Place, rng: random.Random, demo: Resident | None) -> bytes:
    """A register of the community's first households: unit, owner (the head of the
    household; for the demo resident's household, the demo resident), area. One buyer
    holds a second unit; the last three units are the developer's, unsold."""
    heads = list(Resident.objects.filter(community=community, status=ResidentStatus.ACTIVE,
                                         household_role=HouseholdRole.HEAD)
                 .select_related("household__place").order_by("household__place__path")[:OWNER_UNITS])
    if demo is not None:
        heads = [demo] + [r for r in heads if r.household_id != demo.household_id][:OWNER_UNITS - 1]
    lines = ["房屋,业主,建筑面积,未售"]
    for resident in heads:
        unit = resident.household.place.address or resident.household.ref
        lines.append(f"{unit},{resident.name},{Decimal(rng.randint(5800, 14200)) / 100},")
    if len(heads) > 1:
        lines.append(f"{community.name}商铺S-01,{heads[1].name},{Decimal(rng.randint(3000, 6000)) / 100},")
    for number in range(1, 4):
        lines.append(f"{community.name}未售房屋D-{number:02d},,{Decimal(rng.randint(8000, 12000)) / 100},是")
    return ("\n".join(lines) + "\n").encode("utf-8")


def _owners_vote(community: Place, lead: User, staff: User, checker: User, rng: random.Random,
                 now: datetime) -> tuple[Vote, int]:
    # The demo resident "…a" of this community owns their home and votes on the web.
    demo = (User.objects.filter(username__startswith="resident-", username__endswith="a",
                                resident__community=community).select_related("resident__household__place")
            .order_by("username").first())
    resident = demo.resident if demo is not None else None
    data = _register(community, rng, resident)
    report = services.owner_roll_import(
        place=community, by=staff, upload=SimpleUploadedFile("房产登记册.csv", data, content_type="text/csv"),
        name=f"{community.name}业主名册", at=now - timedelta(days=40),
    )
    roll = report.roll
    if roll is None:
        raise RuntimeError(f"the demo register does not import: {report.errors[:3]}")
    if demo is not None and resident is not None:
        owner = Owner.objects.filter(roll=roll, name=resident.name).order_by("pk").first()
        if owner is not None:
            services.owner_link(owner=owner, by=staff, user=demo)
    opens, closes = now - timedelta(days=30), now - timedelta(days=16)
    vote = services.vote_create(
        by=staff, place=community, title="是否选聘“安居物业”为小区物业服务企业（三年）",
        description="业主委员会经公开招标推荐安居物业，服务费每月每平方米 1.80 元，合同期三年。"
                    "按《民法典》第二百七十八条，此为一般事项：参与表决的业主须占专有部分面积和人数的三分之二以上，"
                    "经参与表决的专有部分面积过半数且人数过半数的业主同意即通过。",
        question_kind="yes_no", eligibility="owners", rule="civil_code_ordinary", secret=False,
        owner_roll=roll, opens_at=opens, closes_at=closes,
    )
    vote = services.vote_open(vote=vote, by=lead, at=opens - timedelta(hours=1))
    entries = list(VoterRollEntry.objects.filter(vote=vote).select_related("owner").order_by("pk"))
    ballots = 0
    at = opens + timedelta(hours=2)
    for entry in entries:
        on_web = demo is not None and entry.owner is not None and entry.owner.user_id == demo.pk
        if not on_web and rng.random() > TURNOUT:
            continue
        choice = rng.choices(["for", "against", "abstain"], weights=[70, 20, 10])[0]
        at += timedelta(minutes=rng.randint(5, 90))
        if on_web and demo is not None:
            services.vote_cast(vote=vote, by=demo, choice="for", at=at)
        else:
            # Signed paper ballots: typed in by one member of staff, confirmed by another.
            paper = services.paper_entry_create(vote=vote, by=staff, choice=choice, entry=entry, at=at)
            services.paper_entry_confirm(paper=paper, by=checker, at=at + timedelta(minutes=30))
        ballots += 1
    vote = services.vote_close(vote=vote, by=lead, at=closes + timedelta(minutes=1))
    services.vote_publish(vote=vote, by=lead, at=closes + timedelta(days=1))
    return vote, ballots


def _residents_vote(community: Place, lead: User, staff: User, rng: random.Random, now: datetime) -> int:
    vote = services.vote_create(
        by=staff, place=community, title="是否在小区增设电动自行车集中充电棚",
        description="拟在 3 号楼北侧空地建设带消防设施的集中充电棚，费用由街道专项资金承担。"
                    "投票截止后公布结果，每位投票人可凭回执码核对。",
        question_kind="yes_no", eligibility="adults", rule="simple_majority", secret=True,
        opens_at=now - timedelta(days=2), closes_at=now + timedelta(days=12),
    )
    vote = services.vote_open(vote=vote, by=lead, at=now - timedelta(days=2))
    # Neighbours with an account (who cannot sign in) have voted; the demo residents have not.
    voters = list(User.objects.filter(resident__community=community, resident__status=ResidentStatus.ACTIVE,
                                      password__startswith=UNUSABLE_PASSWORD_PREFIX).exclude(username__startswith="resident-")
                  .order_by("pk")[:WEB_BALLOTS * 3])
    cast = 0
    for user in voters:
        if cast >= WEB_BALLOTS:
            break
        if not VoterRollEntry.objects.filter(vote=vote, resident__user=user).exists():
            continue
        services.vote_cast(vote=vote, by=user, choice=rng.choice(["for", "for", "against", "abstain"]),
                           at=now - timedelta(hours=rng.randint(1, 40)))
        cast += 1
    return cast


def votes_build(*, community_ids: list[int], seed: int, now: datetime | None = None) -> VotesBuilt:
    started = time.perf_counter()
    now = (now or timezone.now()).replace(microsecond=0)
    votes = ballots = 0
    with transaction.atomic():
        for community in Place.objects.filter(pk__in=community_ids).order_by("path"):
            people = _staff(community)
            if people is None:
                continue
            lead, staff, checker = people
            rng = seeded_rng(seed, f"votes-{community.pk}")
            _vote, cast = _owners_vote(community, lead, staff, checker, rng, now)
            ballots += cast + _residents_vote(community, lead, staff, rng, now)
            votes += 2
            break  # the first community with its staff: where the demo's sign-in residents live
    return VotesBuilt(votes, ballots, time.perf_counter() - started)
