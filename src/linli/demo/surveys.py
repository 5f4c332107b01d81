"""A year of quarterly satisfaction surveys for the demo street, answered from what the
demo's requests did, and one needs survey.

Every community runs the 社区居民满意度测评 once a quarter: installed from the template
through ``linli.surveys.services``, opened in the middle of the quarter, sent through
``questionnaire_distribute`` to a sample stratified by grid (the calculator's ±5 % at
95 % with the finite population correction, divided by the response rate the committee
expects), and closed at the quarter's end; the current quarter's round is still open
when its opening day has passed. The first community also runs a 居民需求调查 (by
building). The second community asks for named answers (实名, so that dissatisfied
residents can be visited); the others keep the template's anonymity.

Who answers, when and how: each grid worker collects a different share, older people
answer more often and mostly on paper (entered by staff on working days), tenants and
the young less often; web answers come in the first days after the invitation. In the
open round only what has come in by now is stored.

The answers come from an explicit structural model (SATISFACTION-MODEL.md):

* every driver's latent score is built from what happened to the respondent: RESP from how the requests of their own
  household were handled in the 90 days before answering (first contact and resolution
  against the deadlines, overdue cases, the rating and whether it was solved, each as it
  stood on the day of answering) and from the grid's handling that quarter; ENV from the
  grid's rate of environment and safety requests and the respondent's building's; STAFF
  from the ratings; COMM from first contact in time; SERV and CARE from age and
  special-group tags; DEMO, ACT and OPEN from the community's level and the mechanism it
  worked on through the year. A resident's lasting disposition (the halo) enters every
  driver, so drivers correlate as real ones do;
* within each round the drivers are standardised, SAT = Σ βᵢ·driverᵢ + noise
  (``TRUE_PATHS``), TRUST = γ·SAT + noise, PART = a·SAT + b·TRUST + noise, each of unit
  variance, so the coefficients a fit should find are the same in every round; how the
  round's mean stands against the street's (in its standard deviations) is its level;
* each item = λ·(latent + level) + √(1 − λ²)·noise, put on the 1–10 scale around the
  block's usual score and rounded; a few residents tick the same box all the way down.

Rows are written with exactly the values ``response_submit`` writes (the invitation
marked answered, the response, its answers, a paper entry's audit event), in bulk; the
audit events, like the services' own in this build, carry the time they were written.
Everything but the secret tokens, invitation codes and random row ids is seeded.
"""

from __future__ import annotations

import math
import os
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from linli.accounts.models import Role, RoleAssignment, User
from linli.audit.services import audit_record
from linli.core.crypto import lookup_hash
from linli.demo.generator import seeded_rng
from linli.demo.request_rows import insert
from linli.people.models import ADULT_AGE, HouseholdRole, Resident, SpecialGroupTag
from linli.places.models import Place, PlaceKind
from linli.requests.calendar import TIME_ZONE
from linli.requests.models import CloseReason, Request
from linli.surveys import services
from linli.surveys.distribution import SEED_MAX, questionnaire_distribute, sample_size
from linli.surveys.models import (
    Answer,
    DistributionMode,
    Invitation,
    Kind,
    Question,
    Questionnaire,
    Response,
    ResponseChannel,
    Strata,
    Template,
)
from linli.surveys.responses import questions_of

DAY = 86_400
ROUNDS = 4
OPEN_AFTER = timedelta(days=45)  # a round opens in the middle of its quarter and runs to its end
RECALL = 90 * DAY  # "in the last three months"
EXPECTED_RATE = 0.7  # the committee sends n ÷ 0.7 invitations to get about n answers
NAMED_COMMUNITY = 1  # the second community asks for named answers
NEEDS_COMMUNITY = 0

DRIVERS = ("COMM", "RESP", "DEMO", "SERV", "ENV", "ACT", "CARE", "STAFF", "OPEN")
OUTCOMES = ("SAT", "TRUST", "PART")
# The structural model the answers are drawn from (standardised coefficients).
TRUE_PATHS: dict[tuple[str, str], float] = {
    ("COMM", "SAT"): 0.10, ("RESP", "SAT"): 0.34, ("DEMO", "SAT"): 0.05, ("SERV", "SAT"): 0.12,
    ("ENV", "SAT"): 0.18, ("ACT", "SAT"): 0.05, ("CARE", "SAT"): 0.07, ("STAFF", "SAT"): 0.10,
    ("OPEN", "SAT"): 0.06, ("SAT", "TRUST"): 0.65, ("SAT", "PART"): 0.30, ("TRUST", "PART"): 0.35,
}
# Where each block's items sit on the 1–10 scale at the street's average, and how far they spread.
LEVEL = {"COMM": 7.6, "RESP": 7.3, "DEMO": 6.8, "SERV": 7.5, "ENV": 7.4, "ACT": 7.2, "CARE": 7.9,
         "STAFF": 7.9, "OPEN": 6.9, "SAT": 7.6, "TRUST": 7.8, "PART": 7.2}
SPREAD = 1.6
ITEM_OFFSET = (0.2, -0.1, -0.3)
STRAIGHT_LINERS = 0.02
HALO = 0.55
# Request categories that speak of the environment and of safety.
ENV_CATEGORIES = frozenset({"sanitation", "greening", "infrastructure", "safety", "pets", "parking"})
# What each community worked on through the year (its score rises round by round).
FOCUS = ("OPEN", "DEMO", "ACT")
QUARTERS = "一二三四"


# Rounds ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Round:
    index: int
    year: int
    quarter: int
    starts: datetime
    opens_at: datetime
    closes_at: datetime

    @property
    def label(self) -> str:
        return f"{self.year}年第{QUARTERS[self.quarter - 1]}季度"


def _quarter_start(year: int, quarter: int) -> datetime:
    return datetime(year, 3 * quarter - 2, 1, tzinfo=TIME_ZONE)


def rounds_for(now: datetime, count: int = ROUNDS) -> list[Round]:
    """The ``count`` latest quarters whose round opened at least a day before ``now``."""
    local = now.astimezone(TIME_ZONE)
    year, quarter = local.year, (local.month - 1) // 3 + 1
    found: list[tuple[int, int, datetime, datetime, datetime]] = []
    while len(found) < count:
        starts = _quarter_start(year, quarter)
        opens = (starts + OPEN_AFTER).replace(hour=9)
        closes = _quarter_start(year + quarter // 4, quarter % 4 + 1)
        if opens + timedelta(days=1) <= now:
            found.append((year, quarter, starts, opens, closes))
        year, quarter = (year, quarter - 1) if quarter > 1 else (year - 1, 4)
    return [Round(i, *row) for i, row in enumerate(reversed(found))]


# What happened: requests, households, people -------------------------------------------------

@dataclass(slots=True)
class Case:
    """A request as the survey needs it (times in seconds since the epoch)."""

    grid: int | None
    place: int
    category: str
    submitted: float
    contact_due: float | None
    first_contact: float | None
    resolve_due: float | None
    resolved: float | None
    rated: float | None
    closed: float | None
    rating: int | None
    solved: bool | None
    close_reason: str


def _ts(at: datetime | None) -> float | None:
    return at.timestamp() if at is not None else None


def handling_score(case: Case, t: float) -> float | None:
    """How well the request had been handled as it stood at ``t``, as the resident saw it:
    about +1.7 for contact and resolution in time and a very satisfied rating, below −2
    for an overdue or late case rated unsatisfied; ``None`` before it was raised."""
    if case.submitted >= t or case.close_reason == CloseReason.DUPLICATE:
        return None
    if case.closed is not None and case.closed <= t and case.close_reason != CloseReason.RESOLVED:
        # Answered without dispatch: an explanation, not a solution.
        return 0.0 if case.close_reason in (CloseReason.EMERGENCY, CloseReason.WITHDRAWN) else -0.4
    score = 0.0
    if case.first_contact is not None and case.first_contact <= t:
        score += 0.3 if case.contact_due is None or case.first_contact <= case.contact_due else -0.5
    elif case.contact_due is not None and case.contact_due < t:
        score -= 0.7
    if case.resolved is not None and case.resolved <= t:
        score += 0.5 if case.resolve_due is None or case.resolved <= case.resolve_due else -0.8
    elif case.resolve_due is not None and case.resolve_due < t:
        score -= 1.0
    if case.rated is not None and case.rated <= t and case.rating is not None:
        score += 0.6 * (case.rating - 3.5)
        if case.solved is False:
            score -= 0.5
    return score


@dataclass(slots=True)
class Person:
    household: int
    home: int  # the household's place
    community: int
    user: int | None
    birth: date | None
    role: str


@dataclass
class Street:
    people: dict[int, Person]
    members: dict[int, list[int]]  # household → residents
    groups: dict[int, set[str]]  # resident → special groups
    by_home: dict[int, list[Case]]  # household place → its requests
    by_place: dict[int, list[Case]]
    by_grid: dict[int, list[Case]]
    staff: dict[int, list[User]]  # community → lead first, then staff
    halo: dict[int, float] = field(default_factory=dict)


def _load_street(community_ids: list[int]) -> Street:
    people: dict[int, Person] = {}
    members: dict[int, list[int]] = defaultdict(list)
    by_user: dict[int, int] = {}
    by_phone: dict[str, int] = {}
    rows = (Resident.objects.active().filter(community_id__in=community_ids).order_by("pk")
            .values_list("pk", "household_id", "household__place_id", "community_id", "user_id", "birth_date",
                         "household_role", "phone_hash"))
    for pk, household, place, community, user, birth, role, phone_hash in rows:
        people[pk] = Person(household, place, community, user, birth, role)
        members[household].append(pk)
        if user is not None:
            by_user[user] = place
        if phone_hash:
            by_phone.setdefault(phone_hash, place)
    groups: dict[int, set[str]] = defaultdict(set)
    tags = SpecialGroupTag.objects.filter(community_id__in=community_ids, ended_on__isnull=True)
    for resident_id, group in tags.values_list("resident_id", "group"):
        groups[resident_id].add(group)
    homes = {person.home for person in people.values()}
    by_home: dict[int, list[Case]] = defaultdict(list)
    by_place: dict[int, list[Case]] = defaultdict(list)
    by_grid: dict[int, list[Case]] = defaultdict(list)
    mine = Request.objects.filter(community_id__in=community_ids, merged_into__isnull=True).order_by("pk")
    by_pk: dict[int, Case] = {}
    for (pk, grid, place, category, submitted, contact_due, contact, resolve_due, resolved, rated, closed, rating,
         solved, reason, reporter) in mine.values_list(
            "pk", "grid_id", "place_id", "category__code", "submitted_at", "contact_due_at", "first_contact_at",
            "resolve_due_at", "resolved_at", "rated_at", "closed_at", "rating", "solved", "close_reason", "reporter_id"):
        case = by_pk[pk] = Case(grid, place, category, submitted.timestamp(), _ts(contact_due), _ts(contact),
                                _ts(resolve_due), _ts(resolved), _ts(rated), _ts(closed), rating, solved, reason)
        by_place[place].append(case)
        if grid is not None:
            by_grid[grid].append(case)
        # Whose request it was: the household it is about, or the one of whoever raised it ...
        home = place if place in homes else by_user.get(reporter or 0)
        if home is not None:
            by_home[home].append(case)
    # ... found by the phone number they left (opened only for the requests that need it).
    by_contact = (mine.filter(reporter__isnull=True).exclude(place__kind=PlaceKind.HOUSEHOLD)
                  .exclude(contact_phone="").values_list("pk", "contact_phone"))
    for pk, phone in by_contact:
        home = by_phone.get(lookup_hash(phone))
        if home is not None and pk in by_pk:
            by_home[home].append(by_pk[pk])
    staff: dict[int, list[User]] = defaultdict(list)
    grants = (RoleAssignment.objects.active().filter(place_id__in=community_ids,
                                                     role__in=(Role.COMMITTEE_LEAD, Role.COMMUNITY_STAFF))
              .select_related("user").order_by("role", "user__username"))
    for grant in grants:  # committee_lead sorts before community_staff
        if grant.user.is_active:
            staff[grant.place_id].append(grant.user)
    return Street(people, members, groups, by_home, by_place, by_grid, staff)


# Grids: how the quarter went ----------------------------------------------------------------

@dataclass(slots=True)
class GridQuarter:
    handling: float | None  # mean handling score of the grid's requests
    env_rate: float  # environment and safety requests per household per 90 days
    rating: float | None  # mean rating of the grid's rated requests
    contact: float | None  # share contacted within the target


def _grid_quarter(cases: list[Case], households: int, start: float, end: float) -> GridQuarter:
    inside = [c for c in cases if start <= c.submitted < end]
    scores = [s for c in inside if (s := handling_score(c, end)) is not None]
    ratings = [c.rating for c in inside if c.rating is not None and c.rated is not None and c.rated <= end]
    due = [c for c in inside if (c.first_contact is not None and c.first_contact <= end)
           or (c.contact_due is not None and c.contact_due < end)]
    in_time = [c for c in due if c.first_contact is not None and c.first_contact <= end
               and (c.contact_due is None or c.first_contact <= c.contact_due)]
    env = sum(1 for c in inside if c.category in ENV_CATEGORIES)
    days = max((end - start) / DAY, 1.0)
    return GridQuarter(
        handling=sum(scores) / len(scores) if scores else None,
        env_rate=env / max(households, 1) * 90 / days,
        rating=sum(ratings) / len(ratings) if ratings else None,
        contact=len(in_time) / len(due) if due else None,
    )


def _standardise(values: dict[Any, float | None]) -> dict[Any, float]:
    """z-scores over the known values; unknown ones (no requests) sit at the mean."""
    known = [v for v in values.values() if v is not None]
    if len(known) < 2:
        return dict.fromkeys(values, 0.0)
    mean = sum(known) / len(known)
    sd = math.sqrt(sum((v - mean) ** 2 for v in known) / (len(known) - 1)) or 1.0
    return {key: 0.0 if v is None else (v - mean) / sd for key, v in values.items()}


# Respondents ----------------------------------------------------------------------------

@dataclass(slots=True)
class Respondent:
    invitation: Invitation
    resident: int
    at: datetime
    channel: str
    entered_by: User | None
    age: int
    raw: list[float] = field(default_factory=list)  # one per driver, before standardising


@dataclass
class Sheet:
    """One questionnaire being answered."""

    questionnaire: Questionnaire
    community_index: int
    lead: User
    opens_at: datetime
    closes_at: datetime
    respondents: list[Respondent] = field(default_factory=list)
    invited: int = 0
    latent: np.ndarray = field(default_factory=lambda: np.empty((0, len(DRIVERS) + len(OUTCOMES))))
    level: np.ndarray = field(default_factory=lambda: np.zeros(len(DRIVERS) + len(OUTCOMES)))


def _age(birth: date | None, on: date) -> int:
    if birth is None:
        return 40
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _working_moment(rng: Any, after: datetime, before: datetime) -> datetime | None:
    """Staff enter paper on working days between 9:00 and 17:30: the first such moment
    a few days after ``after``, or None if there is none before ``before``."""
    day = (after + timedelta(days=rng.uniform(1, 4) + rng.expovariate(1 / 9))).astimezone(TIME_ZONE)
    for _ in range(10):
        if day.weekday() < 5:
            moment = day.replace(hour=9, minute=0, second=0, microsecond=0) + timedelta(minutes=rng.randint(0, 510))
            return moment if moment < before else None
        day += timedelta(days=1)
    return None


def _respondents(street: Street, sheet: Sheet, *, seed: int, now: datetime, key: tuple[object, ...]) -> None:
    """Who answers, when and on which channel (in invitation order, seeded)."""
    rng = seeded_rng(seed, "survey-response", *key)
    closes_at = sheet.closes_at
    questionnaire = sheet.questionnaire
    invitations = list(Invitation.objects.filter(questionnaire=questionnaire).order_by("resident_id"))
    sheet.invited = len(invitations)
    grids = sorted({inv.grid_id or 0 for inv in invitations})
    # How much of their grid each grid worker gets to answer.
    diligence = {g: seeded_rng(seed, "survey-grid", g, *key).uniform(0.6, 0.8) for g in grids}
    staff = street.staff.get(sheet.questionnaire.community_id or 0, [])
    enterers = staff[1:] or staff
    last = min(closes_at, now)
    for inv in invitations:
        person = street.people.get(inv.resident_id)
        if person is None:
            continue
        age = _age(person.birth, inv.sent_at.astimezone(TIME_ZONE).date())
        p = diligence[inv.grid_id or 0] + (-0.12 if age < 35 else 0.08 if 60 <= age < 80 else -0.05 if age >= 80 else 0)
        if person.role == HouseholdRole.TENANT:
            p -= 0.1
        if inv.notified:
            p += 0.1
        if rng.random() >= p:
            continue
        paper_share = 0.15 if age < 35 else 0.35 if age < 60 else 0.6 if age < 70 else 0.8
        if inv.notified:
            paper_share /= 3
        moment: datetime | None
        if enterers and rng.random() < paper_share:
            channel, by = ResponseChannel.PAPER, rng.choice(enterers)
            moment = _working_moment(rng, inv.sent_at, closes_at)
        else:
            channel, by = ResponseChannel.WEB, None
            delay = rng.expovariate(1 / (4 * DAY)) if rng.random() < 0.8 else rng.uniform(5 * DAY, 40 * DAY)
            moment = inv.sent_at + timedelta(seconds=30 * 60 + delay)
            moment = moment if moment < closes_at - timedelta(hours=1) else None
        if moment is None or moment > last:
            continue  # not back before the deadline, or not yet
        sheet.respondents.append(Respondent(inv, inv.resident_id, moment, channel, by, age))
    sheet.respondents.sort(key=lambda r: (r.at, r.invitation.pk))


def _drivers(street: Street, sheet: Sheet, round_: Round, grid_scores: dict[str, dict[tuple[int, int], float]],
             *, seed: int) -> None:
    """The raw driver scores of every respondent of a satisfaction round."""
    c = sheet.community_index
    community = seeded_rng(seed, "survey-community", c)
    level = {name: community.gauss(0, 0.25) for name in DRIVERS}
    level[FOCUS[c % len(FOCUS)]] += -0.3 + 0.2 * round_.index
    rng = seeded_rng(seed, "survey-drivers", c, round_.index)
    for r in sheet.respondents:
        person = street.people[r.resident]
        t = r.at.timestamp()
        cell = (r.invitation.grid_id or 0, round_.index)
        grid = {name: scores.get(cell, 0.0) for name, scores in grid_scores.items()}
        own = [(case, s) for case in street.by_home.get(person.home, ())
               if t - RECALL <= case.submitted < t and (s := handling_score(case, t)) is not None]
        # One badly handled request weighs as much as all the others together.
        own_handling = (sum(s for _c, s in own) / len(own) + min(s for _c, s in own)) / 2 - 0.6 if own else 0.0
        rated = [case.rating for case, _s in own if case.rating is not None and case.rated is not None
                 and case.rated <= t]
        own_rating = sum(rated) / len(rated) - 3.8 if rated else 0.0
        contacted = [case for case, _s in own if case.first_contact is not None and case.first_contact <= t]
        on_time = [case.contact_due is None or (case.first_contact or 0) <= case.contact_due for case in contacted]
        own_contact = sum(on_time) / len(on_time) - 0.9 if on_time else 0.0
        building = r.invitation.building_id or 0
        own_env = sum(1 for case in street.by_place.get(building, ())
                      if case.category in ENV_CATEGORIES and t - RECALL <= case.submitted < t)
        older = r.age >= 60
        cared = bool(street.groups.get(r.resident)) or any(
            street.groups.get(m) for m in street.members.get(person.household, ()))
        halo = street.halo.setdefault(r.resident, seeded_rng(seed, "survey-halo", r.resident).gauss(0, 1))
        h = HALO * halo
        r.raw = [
            level["COMM"] + 0.35 * grid["contact"] + 0.6 * own_contact - 0.1 * older + h,
            level["RESP"] + 1.0 * own_handling + 0.45 * grid["handling"] + h,
            level["DEMO"] + h,
            level["SERV"] + 0.15 * older + h,
            level["ENV"] - 0.5 * grid["env"] - 0.12 * min(own_env, 4) + h,
            level["ACT"] + 0.2 * older + h,
            level["CARE"] + 0.25 * older + 0.3 * cared + h,
            level["STAFF"] + 0.3 * own_rating + 0.35 * grid["rating"] + h,
            level["OPEN"] + h,
        ]
        r.raw = [value + rng.gauss(0, 0.7) for value in r.raw]


def _outcomes(sheets: list[Sheet], *, seed: int) -> None:
    """Each round's latent scores: the drivers standardised within the round (so the
    structural coefficients hold in every round as drawn), SAT = Σ β·driver + noise,
    TRUST and PART from SAT; and the round's level, in the street's standard deviations,
    which moves the answers (and the index) from round to round."""
    width = len(DRIVERS) + len(OUTCOMES)
    for sheet in sheets:
        sheet.latent = np.zeros((len(sheet.respondents), width))
    rows = [r.raw for sheet in sheets for r in sheet.respondents]
    if len(rows) < 2:
        return
    street = np.asarray(rows, dtype=float)
    street_mean, street_sd = street.mean(axis=0), street.std(axis=0)
    street_sd[street_sd == 0] = 1.0
    beta = np.array([TRUE_PATHS[(d, "SAT")] for d in DRIVERS])
    gamma, a, b = TRUE_PATHS[("SAT", "TRUST")], TRUE_PATHS[("SAT", "PART")], TRUE_PATHS[("TRUST", "PART")]
    noise = np.random.default_rng(seeded_rng(seed, "survey-outcomes").getrandbits(64))
    for sheet in sheets:
        n = len(sheet.respondents)
        if n < 3:
            continue  # a handful of answers (the smallest test streets): everyone at the mean
        raw = np.asarray([r.raw for r in sheet.respondents], dtype=float)
        sd = raw.std(axis=0)
        drivers = (raw - raw.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
        corr: Any = np.eye(len(DRIVERS))
        if (sd > 0).all():
            corr = np.corrcoef(drivers, rowvar=False)
        e = noise.standard_normal((n, 3))
        sat = drivers @ beta + math.sqrt(max(1 - float(beta @ corr @ beta), 0.05)) * e[:, 0]
        trust = gamma * sat + math.sqrt(1 - gamma**2) * e[:, 1]
        part = a * sat + b * trust + math.sqrt(1 - (a * a + b * b + 2 * a * b * gamma)) * e[:, 2]
        sheet.latent = np.column_stack([drivers, sat, trust, part])
        level = (raw.mean(axis=0) - street_mean) / street_sd
        sat_level = float(beta @ level)
        sheet.level = np.concatenate([level, [sat_level, gamma * sat_level, (a + b * gamma) * sat_level]])


def latent_paths(latent: np.ndarray) -> dict[tuple[str, str], float]:
    """The standardised coefficients of the structural model among these respondents'
    latent scores (what a fit of their answers should come close to)."""
    names = (*DRIVERS, *OUTCOMES)
    sd = latent.std(axis=0)
    z = (latent - latent.mean(axis=0)) / np.where(sd > 0, sd, 1.0)

    def ols(target: str, sources: Sequence[str]) -> dict[tuple[str, str], float]:
        x = z[:, [names.index(s) for s in sources]]
        coef, *_rest = np.linalg.lstsq(x, z[:, names.index(target)], rcond=None)
        return {(s, target): float(v) for s, v in zip(sources, coef, strict=True)}

    return ols("SAT", DRIVERS) | ols("TRUST", ["SAT"]) | ols("PART", ["SAT", "TRUST"])


# Answers ----------------------------------------------------------------------------------

IMPROVE_TEXTS: dict[str, tuple[str, ...]] = {
    "COMM": ("通知能不能早点发，很多事情知道的时候已经晚了", "希望楼道公告栏及时更新", "反映问题的电话经常没人接"),
    "RESP": ("反映的问题希望能尽快解决，不要一拖再拖", "处理完了希望告诉我们结果", "报修以后等了很久才有人来"),
    "DEMO": ("小区的大事希望多听听居民的意见", "议事会能不能放在晚上开，上班的人也能参加"),
    "SERV": ("办事希望少跑几趟", "希望多一些老年助餐服务", "希望有课后托管"),
    "ENV": ("垃圾清运要及时，夏天味道很大", "楼下绿地没人修剪", "小区晚上路灯太暗，不安全", "电动车乱停乱放"),
    "ACT": ("希望多组织一些适合上班族的周末活动", "希望有更多亲子活动"),
    "CARE": ("多去看看独居的老人", "希望给困难家庭更多帮助"),
    "STAFF": ("工作人员态度可以再好一些", "希望工作人员办事更利索"),
    "OPEN": ("希望公开经费使用情况", "希望定期公布工作进展"),
}
NEED_TEXTS = ("希望增加老年食堂的供餐时间", "希望周末有儿童托管", "希望开设智能手机使用培训",
              "希望小区增加健身器材", "希望多组织邻里之间的活动", "希望有人上门帮忙维修小家电")


def _household_type(street: Street, person: Person) -> int:
    """The option of 您的家庭类型: 独自居住 / 夫妻二人 / 与子女同住 / 三代同堂 / 合租或其他."""
    roles = {street.people[m].role for m in street.members.get(person.household, ())}
    size = len(street.members.get(person.household, ()))
    if HouseholdRole.TENANT in roles:
        return 4
    if size == 1:
        return 0
    if roles & {HouseholdRole.PARENT, HouseholdRole.GRANDPARENT}:
        return 3
    if HouseholdRole.CHILD in roles:
        return 2
    return 1 if size == 2 else 4


def _age_option(age: int) -> int:
    return 0 if age < 35 else 1 if age < 60 else 2 if age < 70 else 3 if age < 80 else 4


def _group_options(street: Street, person: Person, on: date) -> list[int]:
    """60 岁以上 / 残疾人 / 低保或困难 / 有 0–6 岁儿童 / 以上都不是."""
    chosen = []
    household = street.members.get(person.household, ())
    if any(_age(street.people[m].birth, on) >= 60 for m in household):
        chosen.append(0)
    tags = set().union(*(street.groups.get(m, set()) for m in household)) if household else set()
    if "disabled" in tags:
        chosen.append(1)
    if tags & {"dibao", "tekun"}:
        chosen.append(2)
    if any(street.people[m].birth is not None and _age(street.people[m].birth, on) <= 6 for m in household):
        chosen.append(3)
    return chosen or [4]


class _Rows:
    """Responses and answers with exactly the values ``response_submit`` writes, gathered
    in memory and inserted in bulk (``request_rows.insert``: COPY or executemany)."""

    RESPONSE = ("id", "questionnaire", "community", "grid", "anonymous", "invitation", "resident", "channel",
                "entered_by", "submitted_at")
    ANSWER = ("id", "response", "questionnaire", "question", "number", "option", "text")

    def __init__(self) -> None:
        self.responses: list[list[Any]] = []
        self.answers: list[tuple[Any, ...]] = []
        self.answered: list[Invitation] = []
        self.paper: list[tuple[Questionnaire, Respondent]] = []

    def _uuid(self) -> str:
        """A random (version 4) UUID, as the models' default makes, in the text both
        backends take: 32 hex digits."""
        raw = bytearray(os.urandom(16))
        raw[6] = (raw[6] & 0x0F) | 0x40
        raw[8] = (raw[8] & 0x3F) | 0x80
        return raw.hex()

    def add(self, questionnaire: Questionnaire, r: Respondent, values: list[tuple[Question, Any]]) -> None:
        anonymous = questionnaire.anonymous
        inv = r.invitation
        paper = r.channel == ResponseChannel.PAPER
        response = self._uuid()
        self.responses.append([
            response, questionnaire.pk, inv.community_id, inv.grid_id, anonymous, None if anonymous else inv.pk,
            None if anonymous else inv.resident_id, r.channel, r.entered_by.pk if paper and r.entered_by else None,
            None if anonymous else r.at,
        ])
        for question, value in values:
            if question.kind in (Kind.SINGLE, Kind.MULTIPLE):
                options = question.options.all()
                for index in value if isinstance(value, list) else [value]:
                    self.answers.append((self._uuid(), response, questionnaire.pk, question.pk, None,
                                         options[index].pk, ""))
            elif question.kind == Kind.TEXT:
                self.answers.append((self._uuid(), response, questionnaire.pk, question.pk, None, None, value))
            else:
                self.answers.append((self._uuid(), response, questionnaire.pk, question.pk, int(value), None, ""))
        inv.answered = True
        inv.answered_at = None if anonymous else r.at
        self.answered.append(inv)
        if paper:
            self.paper.append((questionnaire, r))

    def write(self) -> None:
        adapt = connection.ops.adapt_datetimefield_value
        named = [(True, adapt(inv.answered_at), inv.pk) for inv in self.answered if inv.answered_at is not None]
        table = connection.ops.quote_name(Invitation._meta.db_table)
        with connection.cursor() as cursor:
            cursor.executemany(f"UPDATE {table} SET answered = %s, answered_at = %s WHERE id = %s", named)  # noqa: S608
        unnamed = [inv.pk for inv in self.answered if inv.answered_at is None]
        for start in range(0, len(unnamed), 500):
            Invitation.objects.filter(pk__in=unnamed[start:start + 500]).update(answered=True, answered_at=None)
        for row in self.responses:
            row[-1] = adapt(row[-1])
        insert(Response, _columns(Response, self.RESPONSE), self.responses)
        with _sqlite_cache():
            insert(Answer, _columns(Answer, self.ANSWER), self.answers)
        for questionnaire, r in self.paper:
            # The audit names the paper's invitation only when the answers are not anonymous.
            # Its time is now, as for the services' events in this build: the chain stays
            # in time order and dates no anonymous sheet.
            audit_record(actor=r.entered_by, action="surveys.paper_entry", obj=questionnaire,
                         community_id=questionnaire.community_id,
                         after={"invitation": r.invitation.pk} if not questionnaire.anonymous else {"anonymous": True})


@contextmanager
def _sqlite_cache(kib: int = 64 * 1024) -> Iterator[None]:
    """SQLite's page cache (2 MiB by default) raised while a hundred thousand answers go
    into eight indexes keyed by random ids: it halves the time."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        before = int(cursor.fetchone()[0])
        cursor.execute(f"PRAGMA cache_size = {-abs(int(kib))}")
        try:
            yield
        finally:
            cursor.execute(f"PRAGMA cache_size = {before}")


def _columns(model: type[Model], names: Sequence[str]) -> list[str]:
    columns = {f.name: str(f.column) for f in model._meta.concrete_fields}
    return [columns[name] for name in names]


def _satisfaction_answers(street: Street, sheet: Sheet, round_: Round, rows: _Rows, *, seed: int) -> None:
    questions = questions_of(sheet.questionnaire)
    by_code = {q.code: q for q in questions}
    rng = seeded_rng(seed, "survey-items", sheet.community_index, round_.index)
    noise = np.random.default_rng(rng.getrandbits(64))
    blocks = (*DRIVERS, *OUTCOMES)
    items = [(position, block, i, by_code[f"{block}{i}"]) for position, block in enumerate(blocks) for i in (1, 2, 3)
             if f"{block}{i}" in by_code]
    loading = np.array([seeded_rng(seed, "survey-loading", block, i).uniform(0.8, 0.92)
                        for _p, block, i, _q in items])
    level = np.array([LEVEL[block] + ITEM_OFFSET[i - 1] for _p, block, i, _q in items])
    n = len(sheet.respondents)
    positions = [position for position, *_rest in items]
    x = (sheet.latent[:, positions] + sheet.level[positions]) * loading
    x += np.sqrt(1 - loading**2) * noise.standard_normal((n, len(items)))
    scores = np.clip(np.rint(level + SPREAD * x), 1, 10).astype(int)
    # A few tick the same box all the way down.
    same = noise.random(n) < STRAIGHT_LINERS
    scores[same] = noise.integers(8, 11, size=(int(same.sum()), 1))
    item_questions = [question for *_rest, question in items]
    for r, latent, answers in zip(sheet.respondents, sheet.latent, scores.tolist(), strict=True):
        person = street.people[r.resident]
        on = r.at.astimezone(TIME_ZONE).date()
        values: list[tuple[Question, Any]] = list(zip(item_questions, answers, strict=True))
        if "AGE" in by_code:
            values.append((by_code["AGE"], _age_option(r.age)))
        if "HOUSEHOLD" in by_code:
            values.append((by_code["HOUSEHOLD"], _household_type(street, person)))
        if "GROUP" in by_code and rng.random() < 0.85:
            values.append((by_code["GROUP"], _group_options(street, person, on)))
        if "IMPROVE" in by_code and rng.random() < 0.22:
            worst = DRIVERS[int(np.argmin((latent + sheet.level)[:len(DRIVERS)]))]
            values.append((by_code["IMPROVE"], rng.choice(IMPROVE_TEXTS[worst])))
        rows.add(sheet.questionnaire, r, values)


def _pick(rng: Any, weights: dict[int, float], at_most: int = 0) -> list[int]:
    chosen = [option for option, weight in weights.items() if rng.random() < weight]
    if not chosen:
        chosen = [max(weights, key=lambda o: weights[o] + rng.random() * 0.2)]
    if at_most and len(chosen) > at_most:
        chosen = sorted(chosen, key=lambda o: -weights[o])[:at_most]
    return sorted(chosen)


def _needs_answers(street: Street, sheet: Sheet, rows: _Rows, *, seed: int) -> None:
    by_code = {q.code: q for q in questions_of(sheet.questionnaire)}
    rng = seeded_rng(seed, "survey-needs")
    for r in sheet.respondents:
        person = street.people[r.resident]
        on = r.at.astimezone(TIME_ZONE).date()
        household = street.members.get(person.household, ())
        older = r.age >= 60
        kids = any(street.people[m].birth is not None and _age(street.people[m].birth, on) < 14 for m in household)
        # Services: 养老 儿童托管 健康 文化 体育 法律 就业 志愿 便民 邻里互助
        services = {0: 0.7 if older else 0.12, 1: 0.65 if kids else 0.03, 2: 0.6 if older else 0.25,
                    3: 0.35 if older else 0.2, 4: 0.15 if older else 0.35, 5: 0.12,
                    6: 0.03 if older else (0.3 if person.role == HouseholdRole.TENANT else 0.12),
                    7: 0.15, 8: 0.45 if older else 0.35, 9: 0.3 if older else 0.15}
        chosen = _pick(rng, services, at_most=5)
        values: list[tuple[Question, Any]] = []
        if "NEED_SERVICES" in by_code:
            values.append((by_code["NEED_SERVICES"], chosen))
        if "NEED_TOP" in by_code:
            values.append((by_code["NEED_TOP"], max(chosen, key=lambda o: services[o] + rng.random() * 0.3)))
        if "NEED_ACTIVITIES" in by_code and rng.random() < 0.8:
            values.append((by_code["NEED_ACTIVITIES"], _pick(rng, {
                0: 0.4, 1: 0.6 if kids else 0.05, 2: 0.5 if older else 0.08, 3: 0.5 if older else 0.15,
                4: 0.2 if older else 0.35, 5: 0.15, 6: 0.4 if older else 0.15, 7: 0.15})))
        if "NEED_WHEN" in by_code:
            values.append((by_code["NEED_WHEN"], _pick(rng, {0: 0.8, 1: 0.1, 2: 0.3} if older else
                                                        {0: 0.1, 1: 0.45, 2: 0.75})))
        if "NEED_CHANNEL" in by_code:
            values.append((by_code["NEED_CHANNEL"], _pick(rng, {0: 0.3, 1: 0.1, 2: 0.55, 3: 0.5, 4: 0.3} if older
                                                           else {0: 0.75, 1: 0.5, 2: 0.15, 3: 0.1, 4: 0.15})))
        if "AGE" in by_code:
            values.append((by_code["AGE"], _age_option(r.age)))
        if "NEED_TEXT" in by_code and rng.random() < 0.12:
            values.append((by_code["NEED_TEXT"], rng.choice(NEED_TEXTS)))
        rows.add(sheet.questionnaire, r, values)


# Building ---------------------------------------------------------------------------------

@dataclass
class SurveysBuilt:
    questionnaires: list[int]
    counts: Counter[str]
    # Per satisfaction round: the standardised paths among its respondents' latent scores.
    latent_paths: dict[int, dict[tuple[str, str], float]]
    seconds: float


def _install(street: Street, *, template: str, community_id: int, lead: User, title: str, anonymous: bool,
             purpose: str, opens_at: datetime, closes_at: datetime, strata: str, sample_seed: int) -> Questionnaire:
    """Install, open and distribute a questionnaire through the services, as a committee would:
    the calculator's sample size for the community's adults, divided by the expected response rate."""
    place = Place.objects.get(pk=community_id)
    questionnaire = services.questionnaire_from_template(template=template, place=place, by=lead)
    questionnaire = services.questionnaire_update(questionnaire=questionnaire, by=lead, title=title,
                                                  anonymous=anonymous, purpose=purpose, opens_at=opens_at,
                                                  closes_at=closes_at)
    questionnaire = services.questionnaire_open(questionnaire=questionnaire, by=lead, at=opens_at)
    # Who the sampling frame holds (distribution.sampling_frame): adults living in the community.
    today = opens_at.astimezone(TIME_ZONE).date()
    adults = sum(1 for person in street.people.values()
                 if person.community == community_id and (person.birth is None or _age(person.birth, today) >= ADULT_AGE))
    if not adults:
        return questionnaire
    n = min(adults, math.ceil(sample_size(population=adults).n / EXPECTED_RATE))
    questionnaire_distribute(questionnaire=questionnaire, by=lead, mode=DistributionMode.SAMPLE, strata=strata, n=n,
                             seed=sample_seed, at=opens_at)
    return questionnaire


def _finish(sheet: Sheet, *, now: datetime) -> None:
    """Close a questionnaire whose deadline has passed, and date it as the services would have."""
    questionnaire = sheet.questionnaire
    closes_at = sheet.closes_at
    drafted = sheet.opens_at - timedelta(days=5)
    fields: dict[str, Any] = {"created_at": drafted}
    if closes_at <= now:
        services.questionnaire_close(questionnaire=questionnaire, by=sheet.lead)
        fields.update(closed_at=closes_at, updated_at=closes_at)
    else:
        fields.update(updated_at=sheet.opens_at)  # opening was the last change
    Questionnaire.objects.filter(pk=questionnaire.pk).update(**fields)


def surveys_build(*, community_ids: list[int], seed: int, now: datetime | None = None) -> SurveysBuilt:
    """Four quarterly satisfaction rounds in every community and a needs survey in the
    first, answered from the requests already written for these communities."""
    started = time.perf_counter()
    now = now or timezone.now()
    rounds = rounds_for(now)
    counts: Counter[str] = Counter()
    with transaction.atomic():
        street = _load_street(community_ids)
        by_round: list[tuple[Sheet, Round]] = []
        for c, community_id in enumerate(community_ids):
            staff = street.staff.get(community_id)
            if not staff:
                continue
            lead = staff[0]
            for round_ in rounds:
                questionnaire = _install(
                    street,
                    template=Template.SATISFACTION, community_id=community_id, lead=lead,
                    title=f"{round_.label}社区居民满意度测评", anonymous=c != NAMED_COMMUNITY,
                    purpose=("了解居民对社区各项工作的满意程度，计算社区满意度指数并确定改进重点。"
                             + ("实名填写，便于社区对不满意的事项上门回访。" if c == NAMED_COMMUNITY else "")),
                    opens_at=round_.opens_at, closes_at=round_.closes_at, strata=Strata.GRID,
                    sample_seed=seeded_rng(seed, "survey-sample", c, round_.index).randrange(1, SEED_MAX),
                )
                sheet = Sheet(questionnaire, c, lead, round_.opens_at, round_.closes_at)
                _respondents(street, sheet, seed=seed, now=now, key=(c, round_.index))
                by_round.append((sheet, round_))
        sheets = [sheet for sheet, _round in by_round]
        # How each grid's quarter went, standardised over the street's grids and quarters.
        households = _grid_households(community_ids)
        stats: dict[tuple[int, int], GridQuarter] = {}
        for round_ in rounds:
            end = min(round_.closes_at, now).timestamp()
            for grid, cases in street.by_grid.items():
                stats[(grid, round_.index)] = _grid_quarter(cases, households[grid], round_.starts.timestamp(), end)
        grid_scores = {
            "handling": _standardise({k: s.handling for k, s in stats.items()}),
            "env": _standardise({k: s.env_rate for k, s in stats.items()}),
            "rating": _standardise({k: s.rating for k, s in stats.items()}),
            "contact": _standardise({k: s.contact for k, s in stats.items()}),
        }
        for sheet, round_ in by_round:
            _drivers(street, sheet, round_, grid_scores, seed=seed)
        _outcomes(sheets, seed=seed)
        rows = _Rows()
        for sheet, round_ in by_round:
            _satisfaction_answers(street, sheet, round_, rows, seed=seed)
        needs = _needs_sheet(street, community_ids, rounds, seed=seed, now=now)
        if needs is not None:
            _needs_answers(street, needs, rows, seed=seed)
        rows.write()
        every = [*sheets, *([needs] if needs is not None else [])]
        for sheet in every:
            _finish(sheet, now=now)
    counts.update(questionnaires=len(every), survey_invitations=sum(s.invited for s in every),
                  survey_responses=len(rows.responses), survey_paper=len(rows.paper), survey_answers=len(rows.answers))
    return SurveysBuilt(
        questionnaires=[s.questionnaire.pk for s in every], counts=counts,
        latent_paths={s.questionnaire.pk: latent_paths(s.latent) for s in sheets
                      if len(s.respondents) > len(DRIVERS) + 2},
        seconds=time.perf_counter() - started,
    )


def _grid_households(community_ids: list[int]) -> Counter[int]:
    grids = dict(Place.objects.filter(community_id__in=community_ids, kind=PlaceKind.GRID).values_list("path", "pk"))
    counts: Counter[int] = Counter()
    households = Place.objects.filter(community_id__in=community_ids, kind=PlaceKind.HOUSEHOLD)
    for path in households.values_list("path", flat=True):
        for prefix, grid in grids.items():
            if path.startswith(prefix):
                counts[grid] += 1
                break
    return counts


def _needs_sheet(street: Street, community_ids: list[int], rounds: list[Round], *, seed: int,
                 now: datetime) -> Sheet | None:
    """The needs survey: three weeks in the second round's quarter, by building."""
    if len(community_ids) <= NEEDS_COMMUNITY or len(rounds) < 2:
        return None
    community_id = community_ids[NEEDS_COMMUNITY]
    staff = street.staff.get(community_id)
    if not staff:
        return None
    opens_at = (rounds[1].starts + timedelta(days=10)).replace(hour=9)
    closes_at = opens_at + timedelta(days=21)
    if closes_at > now:
        return None
    questionnaire = _install(
        street, template=Template.NEEDS, community_id=community_id, lead=staff[0], title=f"{rounds[1].year}年居民需求调查",
        anonymous=True, purpose="了解居民需要哪些服务和活动、什么时间方便参加，用于安排接下来的社区服务和活动。",
        opens_at=opens_at, closes_at=closes_at, strata=Strata.BUILDING,
        sample_seed=seeded_rng(seed, "survey-needs-sample").randrange(1, SEED_MAX),
    )
    sheet = Sheet(questionnaire, NEEDS_COMMUNITY, staff[0], opens_at, closes_at)
    _respondents(street, sheet, seed=seed, now=now, key=("needs",))
    return sheet
