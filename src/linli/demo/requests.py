"""A year of residents' requests (诉求) for the demo street and the benchmarks.

Every request lives through the transitions of ``linli.requests.services`` — submit,
accept (deadlines from the SLA policy on the community's working calendar), assign or
dispatch to a property manager, start, contact, wait on the resident, reply, resolve,
the return visit and its rating, reopen, close without dispatch, merge — and the SLA
sweep's warnings and escalations, computed in memory (``request_life.Life`` mirrors each
service's field changes and event) and then written in bulk (``request_rows``), not
through the services 20,000 times. A timeline stops at ``now``: what
would happen later has not happened yet, so the requests of the last days are still
open, some overdue and some due soon. The rollups are then rebuilt from the rows
(``linli.requests.rollup_rebuild``), as the services would have kept them.

Ratings follow the handling, so the satisfaction model has real drivers to find: a
solved problem, a resolution within the deadline, prompt first contact, progress
replies and a capable handler raise them; a breach, a late first contact, a reopen,
waiting on the resident and handing the job to a property manager lower them.

All randomness is seeded; times are drawn relative to ``now`` (a demo is built for
today), with intake peaking in office hours for staff-entered channels and in the
evening for residents' own ones, and seasons (heating in winter, greening in summer).
"""

from __future__ import annotations

import bisect
import itertools
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from linli.accounts.models import Organisation, OrganisationKind, Role, RoleAssignment, User
from linli.demo import request_texts as texts
from linli.demo.generator import seeded_rng
from linli.demo.request_life import DAY, HOUR, RATING_WINDOW, Life, Lived, Rec, WorkingSpans
from linli.demo.request_rows import RowSink, next_id, sequences_reset
from linli.demo.staff import DEMO_PASSWORD, totp_secret_for
from linli.people.models import Resident
from linli.places.models import Place, PlaceKind
from linli.requests import sla
from linli.requests.calendar import TIME_ZONE
from linli.requests.models import (
    Category,
    Channel,
    CloseReason,
    Priority,
    Request,
    Status,
    VisitChannel,
)
from linli.requests.rollup_rebuild import RebuildResult, rollups_rebuild

# The demo street's 3,000 households raise about 20,000 requests a year.
REQUESTS_PER_HOUSEHOLD = 20_000 / 3_000

# How often each category comes up (per mille), and the place it is about.
CATEGORY_MIX: dict[str, int] = {
    "repairs": 210, "utilities": 90, "sanitation": 120, "greening": 50, "infrastructure": 60, "parking": 80,
    "safety": 50, "noise": 80, "dispute": 40, "pets": 40, "elderly_help": 50, "admin_question": 80,
    "suggestion": 30, "complaint": 20,
}
CATEGORY_SCOPE: dict[str, str] = {
    "repairs": "building", "utilities": "household", "sanitation": "building", "greening": "grid",
    "infrastructure": "grid", "parking": "grid", "safety": "building", "noise": "household",
    "dispute": "household", "pets": "building", "elderly_help": "household", "admin_question": "household",
    "suggestion": "community", "complaint": "community",
}
# Share of solved problems by category, and how hard it is to finish in time.
SOLVED_BASE: dict[str, float] = {
    "repairs": 0.93, "utilities": 0.95, "sanitation": 0.95, "greening": 0.9, "infrastructure": 0.8,
    "parking": 0.72, "safety": 0.9, "noise": 0.72, "dispute": 0.68, "pets": 0.72, "elderly_help": 0.95,
    "admin_question": 0.96, "suggestion": 0.8, "complaint": 0.75,
}
HARD: dict[str, float] = {"infrastructure": 0.06, "parking": 0.03, "noise": 0.03, "dispute": 0.04, "complaint": 0.03}
CATEGORY_MOOD: dict[str, float] = {"complaint": -0.35, "noise": -0.2, "parking": -0.2, "dispute": -0.1,
                                   "elderly_help": 0.25, "admin_question": 0.2, "suggestion": 0.1}
# Months January..December: heating in winter, greening in summer, noise with open windows.
SEASONS: dict[str, list[float]] = {
    "utilities": [2.0, 1.8, 1.4, 1.0, 0.8, 0.9, 1.2, 1.2, 0.8, 0.9, 1.9, 2.2],
    "greening": [0.4, 0.4, 0.8, 1.4, 1.6, 1.6, 1.5, 1.4, 1.2, 1.0, 0.6, 0.4],
    "noise": [0.8, 0.7, 0.9, 1.0, 1.2, 1.4, 1.5, 1.4, 1.1, 1.0, 0.8, 0.8],
    "sanitation": [1.1, 1.4, 1.0, 1.0, 1.0, 1.1, 1.2, 1.2, 1.0, 1.0, 1.0, 1.0],
    "pets": [0.8, 0.8, 1.0, 1.2, 1.2, 1.2, 1.1, 1.1, 1.0, 1.0, 0.9, 0.8],
}
# Channels residents use for each kind of matter (web requests come from residents with an account).
CHANNELS_DEFAULT: dict[str, int] = {Channel.HOTLINE: 26, Channel.PHONE: 24, Channel.VISIT: 16, Channel.OPEN311: 20,
                    Channel.SUGGESTION_BOX: 3, Channel.FORUM: 3, Channel.API: 2}
CHANNELS_BY_CATEGORY: dict[str, dict[str, int]] = {
    "suggestion": {Channel.SUGGESTION_BOX: 25, Channel.FORUM: 25, Channel.OPEN311: 20, Channel.PHONE: 10,
                   Channel.VISIT: 10, Channel.HOTLINE: 10},
    "complaint": {Channel.HOTLINE: 40, Channel.PHONE: 20, Channel.OPEN311: 20, Channel.SUGGESTION_BOX: 15,
                  Channel.FORUM: 5},
    "elderly_help": {Channel.VISIT: 45, Channel.PHONE: 30, Channel.HOTLINE: 10, Channel.OPEN311: 15},
    "admin_question": {Channel.PHONE: 35, Channel.VISIT: 15, Channel.HOTLINE: 20, Channel.OPEN311: 25,
                       Channel.API: 5},
}
OFFICE_CHANNELS = frozenset({Channel.PHONE, Channel.VISIT, Channel.SUGGESTION_BOX, Channel.FORUM})
# Intake by hour of day: staff-entered channels in office hours, the hotline all day,
# residents' own apps peaking in the evening.
HOURS_OFFICE = [0.0] * 8 + [3, 9, 10, 8, 3, 4, 8, 9, 8, 5] + [0.0] * 6
HOURS_HOTLINE = [1, .5, .3, .3, .3, .5, 1.5, 3, 6, 8, 8, 7, 5, 5, 6, 6, 6, 5, 5, 6, 6, 5, 3, 2]
HOURS_SELF = [1, .5, .3, .2, .2, .3, 1, 2, 4, 5, 5, 5, 6, 5, 4, 4, 4, 4, 5, 7, 8, 8, 5, 2]
# Requests closed without dispatch after acceptance (DOMAIN §1, Art. 11): per mille in the
# categories where the reason usually arises, and elsewhere. (Emergencies close before
# acceptance; duplicates are merged.)
NOT_DISPATCHED: list[tuple[str, float, float, frozenset[str]]] = [
    (CloseReason.LEGAL_CHANNEL, 30, 1, frozenset({"dispute", "complaint", "noise", "parking"})),
    (CloseReason.PRIVACY, 12, 0.5, frozenset({"admin_question", "complaint", "dispute"})),
    (CloseReason.OUTSIDE_DUTY, 35, 3, frozenset({"admin_question", "infrastructure", "parking", "suggestion"})),
    (CloseReason.UNLAWFUL, 10, 0.5, frozenset({"dispute", "complaint", "parking", "noise"})),
    (CloseReason.WITHDRAWN, 12, 12, frozenset()),
]
DUPLICATE_SHARE = 0.015
PARTNER_SHARE = 0.55  # of repairs and utilities, dispatched to the property manager
OPEN311_ACTOR = "apikey:demo"
VISITS = [VisitChannel.PHONE, VisitChannel.SMS, VisitChannel.IN_PERSON]
VISITS_CUM = [75.0, 90.0, 100.0]
REPLIES = [0, 1, 2, 3]  # progress replies before resolving; capable handlers write more


# Who works in each community ----------------------------------------------------------

@dataclass(slots=True)
class Spot:
    place_id: int
    path: str
    grid_id: int | None
    address: str


@dataclass(slots=True)
class Home:
    household: Spot
    building: Spot
    grid: Spot


@dataclass(slots=True)
class Partner:
    id: int
    name: str
    path: str
    members: list[int]
    skill: float


@dataclass
class Cast:
    """One community's places, residents and the people who handle its requests."""

    index: int
    community: Spot
    homes: list[Home]
    grid_workers: dict[int, int]
    staff: list[int]
    lead: int | None
    partners: list[Partner]
    accounts: list[tuple[int, Home, str]]  # resident users: id, home, name
    contacts: list[tuple[str, str, Home]]  # residents with a mobile number: name, phone, home
    contact_weights: list[float]
    quality: float
    calendar: WorkingSpans
    by_home: dict[int, list[tuple[str, str, Home]]] = field(default_factory=dict)
    by_building: dict[int, list[Home]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for contact in self.contacts:
            self.by_home.setdefault(contact[2].household.place_id, []).append(contact)
        for home in self.homes:
            self.by_building.setdefault(home.building.place_id, []).append(home)


@dataclass
class Everyone:
    casts: list[Cast]
    usernames: dict[int, str]
    skills: dict[int, float]
    categories: dict[str, Category]


def partners_create(*, community_ids: list[int], seed: int) -> list[Organisation]:
    """A property manager for every community, and in every other community a second one
    for its last grid (an estate managed apart), each with partner members: the existing
    ``partner-N`` account joins the first; a ``partner-Nb`` account is made for the second."""
    communities = Place.objects.in_bulk(community_ids)
    existing = {u.username: u for u in User.objects.filter(username__startswith="partner-")}
    password = next((u.password for u in existing.values()), None) or make_password(DEMO_PASSWORD)
    made = []
    now = timezone.now()
    for index, community_id in enumerate(community_ids, start=1):
        community = communities[community_id]
        stem = community.name.removesuffix("社区")
        first = Organisation.objects.create(name=f"{stem}物业服务有限公司", kind=OrganisationKind.PROPERTY_MANAGER,
                                            place=community, contact=f"010-6{index:03d}{seed % 10000:04d}"[:13])
        made.append(first)
        if f"partner-{index}" in existing:
            User.objects.filter(pk=existing[f"partner-{index}"].pk).update(organisation=first)
        if index % 2 == 1:
            grid = Place.objects.filter(parent_id=community_id, kind=PlaceKind.GRID).order_by("-code", "-pk").first()
            if grid is None:
                continue
            second = Organisation.objects.create(
                name=f"{stem}{grid.name}安居物业管理有限公司", kind=OrganisationKind.PROPERTY_MANAGER, place=grid,
                contact=f"010-8{index:03d}{seed % 10000:04d}"[:13],
            )
            made.append(second)
            username = f"partner-{index}b"
            if username not in existing:
                user = User.objects.create(
                    username=username, display_name=f"{second.name} 客服", password=password, organisation=second,
                    totp_secret=totp_secret_for(username, seed), totp_confirmed_at=now,
                )
                RoleAssignment.objects.create(user=user, role=Role.PARTNER, place=community)
    return made


def _homes(community: Place) -> list[Home]:
    rows = list(Place.objects.filter(community_id=community.pk, is_active=True)
                .values_list("pk", "kind", "path", "name", "parent_id"))
    by_id = {pk: (kind, path, name, parent) for pk, kind, path, name, parent in rows}
    spots: dict[int, Spot] = {}

    def grid_of(pk: int) -> int | None:
        node: int | None = pk
        while node is not None and node in by_id:
            kind, _path, _name, parent = by_id[node]
            if kind == PlaceKind.GRID:
                return node
            node = parent
        return None

    def spot(pk: int) -> Spot:
        if pk not in spots:
            kind, path, name, parent = by_id[pk]
            address = name
            if kind == PlaceKind.HOUSEHOLD and parent in by_id and by_id[parent][0] == PlaceKind.UNIT:
                unit = by_id[parent]
                address = by_id[unit[3]][2] + unit[2] + name if unit[3] in by_id else unit[2] + name
            elif kind == PlaceKind.HOUSEHOLD and parent in by_id:
                address = by_id[parent][2] + name
            spots[pk] = Spot(pk, path, grid_of(pk), "" if kind == PlaceKind.GRID else address)
        return spots[pk]

    homes = []
    for pk, (kind, _path, _name, parent) in sorted(by_id.items()):
        if kind != PlaceKind.HOUSEHOLD:
            continue
        building = parent
        while building in by_id and by_id[building][0] != PlaceKind.BUILDING:
            building = by_id[building][3]
        grid = grid_of(pk)
        if building not in by_id or grid is None:
            continue
        homes.append(Home(spot(pk), spot(building), spot(grid)))
    return homes


def _cast(index: int, community: Place, seed: int, everyone: Everyone, span_days: tuple[date, int]) -> Cast:
    rng = seeded_rng(seed, "requests-cast", index)
    homes = _homes(community)
    by_household = {home.household.place_id: home for home in homes}
    grants = list(RoleAssignment.objects.active().filter(place__community_id=community.pk)
                  .values_list("user_id", "role", "place_id", "place__kind"))
    grid_workers = {place: user for user, role, place, _kind in grants if role == Role.GRID_WORKER}
    staff = sorted(user for user, role, _place, _kind in grants if role == Role.COMMUNITY_STAFF)
    leads = sorted(user for user, role, _place, _kind in grants if role == Role.COMMITTEE_LEAD)
    partners = []
    paths = dict(Place.objects.filter(community_id=community.pk).values_list("pk", "path"))
    for org in Organisation.objects.filter(place__community_id=community.pk, is_active=True).order_by("pk"):
        members = sorted(User.objects.filter(organisation=org, is_active=True).values_list("pk", flat=True))
        partners.append(Partner(org.pk, org.name, paths.get(org.place_id, community.path), members,
                                rng.gauss(-0.25, 0.35)))
    accounts = []
    for user_id, place_id in sorted((u, p) for u, role, p, _k in grants if role == Role.RESIDENT):
        if place_id in by_household:
            accounts.append((user_id, by_household[place_id], everyone.usernames.get(user_id, "")))
    adults = Resident.objects.filter(community_id=community.pk, birth_date__lte=date(2008, 1, 1)).exclude(
        phone_hash="").order_by("pk").values_list("name", "phone", "household__place_id")
    contacts = [(name, phone, by_household[place]) for name, phone, place in adults if place in by_household]
    # A few residents raise much more than the rest.
    weights = [rng.paretovariate(1.6) for _ in contacts]
    first, days = span_days
    calendar = WorkingSpans(sla.calendar(community.pk), first - timedelta(days=2), days + 60)
    return Cast(index, Spot(community.pk, community.path, None, ""), homes, grid_workers, staff,
                leads[0] if leads else None, partners, accounts, contacts, list(itertools.accumulate(weights)),
                rng.gauss(0, 0.25), calendar)


def _skills(usernames: dict[int, str], user_ids: list[int], seed: int) -> dict[int, float]:
    """How capable each member of staff is (by username, so the same on every database)."""
    return {pk: seeded_rng(seed, "skill", usernames.get(pk, pk)).gauss(0, 0.45) for pk in user_ids}


# Planning a year -----------------------------------------------------------------------

@dataclass(slots=True)
class Seed:
    t: int
    cast: Cast
    category: str
    channel: str
    home: Home
    reporter: int | None = None  # a resident's account (web)
    duplicate_of: Seed | None = None
    id: int = 0
    lived: Lived | None = None
    duplicates: list[Seed] = field(default_factory=list)


def _cumulative(weights: list[float]) -> list[float]:
    return list(itertools.accumulate(weights))


def _pick(rng: random.Random, items: list[Any], cum: list[float]) -> Any:
    return items[bisect.bisect_left(cum, rng.random() * cum[-1])]


class _Calendar:
    """Which days and hours requests arrive on."""

    def __init__(self, now: int, days: int, spans: WorkingSpans) -> None:
        self.now = now
        today = datetime.fromtimestamp(now, TIME_ZONE).date()
        self.days = [today - timedelta(days=days - 1 - i) for i in range(days)]
        self.midnights = [int(datetime.combine(d, datetime.min.time(), TIME_ZONE).timestamp()) for d in self.days]
        self.index = list(range(days))
        self._cum: dict[tuple[bool, str], list[float]] = {}
        self.workday = [spans.is_workday(d) for d in self.days]
        self.hours = {
            "office": _cumulative(HOURS_OFFICE), "hotline": _cumulative(HOURS_HOTLINE), "self": _cumulative(HOURS_SELF),
        }
        self.hour_index = list(range(24))

    def day_weights(self, office: bool, category: str) -> list[float]:
        season = category if category in SEASONS else ""
        key = (office, season)
        if key not in self._cum:
            months = SEASONS.get(season, [1.0] * 12)
            n = len(self.days)
            weights = [
                (1.0 if self.workday[i] else (0.12 if office else 0.85)) * months[d.month - 1] * (0.85 + 0.3 * i / n)
                for i, d in enumerate(self.days)
            ]
            self._cum[key] = _cumulative(weights)
        return self._cum[key]

    def moment(self, rng: random.Random, channel: str, category: str) -> int:
        """A moment before ``now`` (today's later hours have not come yet)."""
        office = channel in OFFICE_CHANNELS
        profile = "office" if office else "hotline" if channel == Channel.HOTLINE else "self"
        while True:
            day = _pick(rng, self.index, self.day_weights(office, category))
            hour = _pick(rng, self.hour_index, self.hours[profile])
            moment = self.midnights[day] + hour * HOUR + rng.randrange(HOUR)
            if moment <= self.now:
                return moment


def _seeds(everyone: Everyone, count: int, *, now: int, days: int, seed: int) -> list[Seed]:
    """Who raises what, where and when: ``count`` requests spread over the communities by
    households, each community's residents with an account filing some on the web."""
    casts = [c for c in everyone.casts if c.homes]
    total_homes = sum(len(c.homes) for c in casts) or 1
    seeds: list[Seed] = []
    for position, cast_ in enumerate(casts):
        rng = seeded_rng(seed, "requests-seeds", cast_.index)
        calendar = _Calendar(now, days, cast_.calendar)
        # Shares by households; the last community takes what rounding left, so the total is ``count``.
        share = round(count * len(cast_.homes) / total_homes) if position < len(casts) - 1 else count - len(seeds)
        mine: list[Seed] = []
        categories = list(CATEGORY_MIX)
        category_cum = _cumulative([float(CATEGORY_MIX[c]) for c in categories])
        for user_id, home, _name in cast_.accounts:
            for _ in range(min(rng.randint(6, 14), max(share // 20, 1))):
                category = _pick(rng, categories, category_cum)
                mine.append(Seed(calendar.moment(rng, Channel.WEB, category), cast_, category, Channel.WEB, home,
                                 reporter=user_id))
        while len(mine) < share:
            category = _pick(rng, categories, category_cum)
            weights = CHANNELS_BY_CATEGORY.get(category, CHANNELS_DEFAULT)
            channels = list(weights)
            channel = _pick(rng, channels, _cumulative([float(weights[c]) for c in channels]))
            home = cast_.contacts[bisect.bisect_left(cast_.contact_weights, rng.random() * cast_.contact_weights[-1])][2] \
                if cast_.contacts else rng.choice(cast_.homes)
            main = Seed(calendar.moment(rng, channel, category), cast_, category, channel, home)
            mine.append(main)
            later = main.t + rng.randint(HOUR // 2, 3 * DAY)
            if rng.random() < DUPLICATE_SHARE and len(mine) < share and later <= now:
                neighbours = cast_.by_building.get(home.building.place_id) or [home]
                dup = Seed(later, cast_, category, rng.choice([Channel.HOTLINE, Channel.PHONE, Channel.OPEN311]),
                           rng.choice(neighbours), duplicate_of=main)
                main.duplicates.append(dup)
                mine.append(dup)
        seeds += mine
    seeds.sort(key=lambda s: (s.t, s.cast.index))
    return seeds


class _Planner:
    """Lives each seeded request: the handling a real committee would give it."""

    def __init__(self, everyone: Everyone, *, now: int, seed: int) -> None:
        self.everyone = everyone
        self.now = now
        self.rng = seeded_rng(seed, "requests-lives")
        self.sweep_phase = seeded_rng(seed, "sweep").randrange(300)
        self.close_phase = seeded_rng(seed, "autoclose").randrange(HOUR)
        self._targets: dict[tuple[int, int, str], sla.Targets] = {}

    def targets(self, community_id: int, category: Category, priority: str) -> sla.Targets:
        key = (community_id, category.pk, priority)
        if key not in self._targets:
            self._targets[key] = sla.targets_for(community_id=community_id, category_id=category.pk,
                                                 priority=priority)
        return self._targets[key]

    # Helpers
    def _staff(self, cast_: Cast) -> int:
        pool = cast_.staff or ([cast_.lead] if cast_.lead else [])
        return self.rng.choice(pool) if pool else 0

    def _attributes(self, category: Category) -> tuple[dict[str, Any], str]:
        answers: dict[str, Any] = {}
        topic = ""
        for attr in category.attributes or []:
            code = str(attr.get("code", ""))
            values = [str(v.get("key")) for v in attr.get("values", [])]
            if attr.get("datatype") == "singlevaluelist" and values:
                if code == "danger_now":
                    answers[code] = "yes" if self.rng.random() < 0.2 else "no"
                else:
                    answers[code] = self.rng.choice(values)
                topic = topic or answers[code]
            elif code == "floor" and self.rng.random() < 0.5:
                answers[code] = f"{self.rng.randint(1, 18)} 层"
        return answers, topic

    def _priority(self, category: Category, code: str, answers: dict[str, Any]) -> str:
        rng = self.rng
        if code == "safety" and answers.get("danger_now") == "yes":
            return Priority.URGENT
        if code == "repairs" and answers.get("facility") == "lift" and rng.random() < 0.15:
            return Priority.URGENT
        if code == "utilities" and answers.get("utility") == "gas" and rng.random() < 0.3:
            return Priority.URGENT
        if category.default_priority == Priority.NORMAL and rng.random() < (0.2 if code == "infrastructure" else 0.02):
            return Priority.COMPLEX
        return category.default_priority

    def _handler(self, cast_: Cast, code: str, category: Category, grid_id: int | None) -> int:
        if category.default_handler_role == Role.COMMITTEE_LEAD and cast_.lead and self.rng.random() < 0.6:
            return cast_.lead
        if category.default_handler_role == Role.GRID_WORKER and grid_id in cast_.grid_workers:
            return cast_.grid_workers[grid_id]
        return self._staff(cast_)

    def _partner(self, cast_: Cast, path: str) -> Partner | None:
        covering = [p for p in cast_.partners if path.startswith(p.path) and p.members]
        return max(covering, key=lambda p: len(p.path)) if covering else None

    # A request, from intake to where it stands now
    def live(self, seed: Seed) -> Lived:
        rng = self.rng
        cast_ = seed.cast
        category = self.everyone.categories[seed.category]
        answers, topic = self._attributes(category)
        priority = self._priority(category, seed.category, answers)
        scope = CATEGORY_SCOPE[seed.category]
        spot = {"household": seed.home.household, "building": seed.home.building, "grid": seed.home.grid,
                "community": cast_.community}[scope]
        titles, resolutions = texts.TOPICS[seed.category].get(topic) or next(iter(texts.TOPICS[seed.category].values()))
        title = rng.choice(titles)
        description = f"{spot.address}{title}，{rng.choice(texts.DETAILS)}" if spot.address else \
            f"{title}，{rng.choice(texts.DETAILS)}"
        anonymous = category.allow_anonymous and seed.reporter is None and rng.random() < (
            0.5 if seed.channel == Channel.SUGGESTION_BOX else 0.08)
        contact_name = contact_phone = ""
        if seed.reporter is None and not anonymous and cast_.contacts:
            people = cast_.by_home.get(seed.home.household.place_id) or cast_.contacts
            contact_name, contact_phone, _home = people[rng.randrange(len(people))]
        entered_by = None
        if seed.channel in (Channel.PHONE, Channel.HOTLINE, Channel.SUGGESTION_BOX, Channel.FORUM):
            entered_by = self._staff(cast_)
        elif seed.channel == Channel.VISIT:
            entered_by = cast_.grid_workers.get(seed.home.grid.place_id) or self._staff(cast_)
        lat = long = None
        device_id = account_id = ""
        if seed.channel == Channel.OPEN311:
            device_id = f"mp-{rng.getrandbits(40):010x}"
            account_id = f"wx{rng.getrandbits(48):012x}" if rng.random() < 0.6 else ""
            if rng.random() < 0.6:
                lat = Decimal(f"{39.92 + 0.01 * cast_.index + rng.uniform(-0.004, 0.004):.6f}")
                long = Decimal(f"{116.44 + 0.008 * cast_.index + rng.uniform(-0.004, 0.004):.6f}")
        rec = Rec(
            id=seed.id, community_id=cast_.community.place_id, place_id=spot.place_id, place_path=spot.path,
            grid_id=spot.grid_id, category_id=category.pk, priority=priority, channel=seed.channel, title=title[:120],
            description=description, address=spot.address, lat=lat, long=long, attributes=answers,
            reporter_id=seed.reporter, anonymous=anonymous, contact_name=contact_name, contact_phone=contact_phone,
            contact_email="", entered_by_id=entered_by, device_id=device_id, account_id=account_id, client_ref="",
            submitted_at=seed.t,
        )
        if seed.channel == Channel.OPEN311:
            actor, label = None, OPEN311_ACTOR
        elif seed.reporter is not None:
            actor, label = seed.reporter, self.everyone.usernames.get(seed.reporter, "system")
        else:
            actor = entered_by
            label = self.everyone.usernames.get(entered_by or 0, "apikey:demo-api" if seed.channel == Channel.API
                                                else "system")
        life = Life(rec, cal=cast_.calendar, targets=self.targets(cast_.community.place_id, category, priority),
                     excluded=category.excluded_from_satisfaction, now=self.now, labels=self.everyone.usernames,
                     sweep_phase=self.sweep_phase, close_phase=self.close_phase, actor_label=label, actor_id=actor)
        main = seed.duplicate_of.lived if seed.duplicate_of is not None else None
        if main is not None and self._mergeable(main, seed.t):
            self._duplicate(life, seed, main)
        else:
            self._handle(life, seed, category, resolutions)
        lived = life.finish()
        if seed.reporter is not None:
            lived.followers.append((seed.reporter, None))
        return lived

    @staticmethod
    def _mergeable(main: Lived, at: int) -> bool:
        """``request_merge`` refuses a main request closed without handling (such a close is final)."""
        return main.rec.close_reason in (CloseReason.RESOLVED, "") and main.rec.submitted_at <= at

    def _duplicate(self, life: Life, seed: Seed, main: Lived) -> None:
        rng = self.rng
        cast_ = seed.cast
        by = self._staff(cast_)
        t = life.r.submitted_at
        if rng.random() < 0.3 and not life.accept(life.cal.add_working(t, rng.randint(300, 2 * HOUR)), by):
            return
        if main.rec.merged_into_id is None:
            life.merge_into(life.cal.add_working(t, rng.randint(600, 4 * HOUR)), by, main)
            if life.r.status == Status.CLOSED and life.r.reporter_id:
                main.followers.append((life.r.reporter_id, life.r.id))

    def _handle(self, life: Life, seed: Seed, category: Category, resolutions: list[str]) -> None:
        rng = self.rng
        cast_ = seed.cast
        r = life.r
        code = seed.category
        cal = life.cal
        t = r.submitted_at
        acceptor = cast_.lead if cast_.lead and rng.random() < 0.2 else self._staff(cast_)
        # Emergencies go straight to 110/119 (Art. 11), closed within minutes.
        if r.priority == Priority.URGENT and rng.random() < 0.2:
            life.close(t + rng.randint(300, 1500), acceptor, CloseReason.EMERGENCY,
                       texts.CLOSE_ANSWERS[CloseReason.EMERGENCY])
            return
        if r.priority == Priority.URGENT:
            t_accept = t + (rng.randint(180, 2400) if rng.random() < 0.96 else rng.randint(2 * HOUR, 3 * HOUR))
        elif rng.random() < 0.96:
            t_accept = cal.add_working(t, min(int(rng.expovariate(1 / 1500)) + 60, 7000))
        else:
            t_accept = cal.add_working(t, rng.randint(2 * HOUR + 600, 6 * HOUR))
        if not life.accept(t_accept, acceptor):
            return
        t = r.accepted_at
        # Some requests are answered and closed without dispatch (DOMAIN §1).
        draw = rng.random() * 1000
        for reason, usual, elsewhere, categories in NOT_DISPATCHED:
            weight = usual if code in categories else elsewhere
            if draw < weight:
                later = cal.add_working(t, rng.randint(HOUR, 2 * 7 * HOUR))
                if reason == CloseReason.WITHDRAWN and r.reporter_id:
                    life.withdraw(later, r.reporter_id)
                else:
                    life.close(later, acceptor, reason, texts.CLOSE_ANSWERS[reason])
                return
            draw -= weight
        urgent = r.priority == Priority.URGENT
        # Route: the property manager for a share of repairs and utilities, else a handler.
        partner = self._partner(cast_, r.place_path) if category.default_organisation_kind else None
        routed_at = t + rng.randint(120, 1800)
        handler = self._handler(cast_, code, category, r.grid_id)
        if partner is not None and rng.random() < PARTNER_SHARE:
            if not life.dispatch(routed_at, acceptor, partner.id, partner.name):
                return
            worker = rng.choice(partner.members)
            skill = partner.skill
        elif handler == acceptor and rng.random() < 0.5:
            worker, skill = acceptor, self.everyone.skills.get(acceptor, 0.0)
            routed_at = t  # the one who accepted starts on it
        else:
            if not life.assign(routed_at, acceptor, handler):
                return
            worker, skill = handler, self.everyone.skills.get(handler, 0.0)
        skill += cast_.quality
        start = routed_at + rng.randint(300, 2400) if urgent else cal.add_working(routed_at, rng.randint(600, 3 * HOUR))
        if not life.start(start, worker):
            return
        # A partner sometimes hands the job back (退回); the committee gives it to a handler.
        if r.organisation_id and rng.random() < 0.03:
            if not life.return_(cal.add_working(start, rng.randint(HOUR, 6 * HOUR)), worker, texts.RETURN_REASON):
                return
            if not life.assign(cal.add_working(life.last, rng.randint(600, 2 * HOUR)), acceptor, handler):
                return
            worker, skill = handler, self.everyone.skills.get(handler, 0.0) + cast_.quality
            if not life.start(cal.add_working(life.last, rng.randint(600, 2 * HOUR)), worker):
                return
        dispatched = r.organisation_id is not None
        # First contact: mostly within its target, later for weaker handlers.
        unit = life.targets.contact.unit
        in_time = rng.random() < min(0.985, 0.92 + 0.06 * skill)
        fraction = rng.uniform(0.05, 0.85) if in_time else rng.uniform(1.05, 2.5)
        contact_at = max(cal.along(r.accepted_at, r.contact_due_at, fraction, unit), life.last + 60)
        if rng.random() < 0.55:
            method = rng.choice([VisitChannel.PHONE, VisitChannel.PHONE, VisitChannel.IN_PERSON])
            ok = life.contact(contact_at, worker, method, rng.choice(texts.CONTACT_NOTES))
        else:
            ok = life.reply(contact_at, worker, texts.PROGRESS[0])
        if not ok:
            return
        waited = False
        if rng.random() < (0.15 if code in ("admin_question", "dispute", "noise") else 0.06):
            waited = True
            if not life.wait(cal.add_working(life.last, rng.randint(1800, 7 * HOUR)), worker,
                             rng.choice(texts.QUESTIONS)):
                return
            answered = life.last + rng.randint(3 * HOUR, 4 * DAY)
            if rng.random() < 0.12:
                if r.reporter_id:
                    life.withdraw(answered + 3 * DAY, r.reporter_id)
                else:
                    life.close(answered + 3 * DAY, worker, CloseReason.WITHDRAWN, texts.NO_ANSWER_WITHDRAWN)
                return
            if r.reporter_id:
                ok = life.comment(answered, r.reporter_id, rng.choice(texts.RESIDENT_ANSWERS))
            else:
                ok = life.reply(answered, worker, texts.PHONE_ANSWER_NOTE, public=False) and \
                    life.resume(answered + rng.randint(60, 900), worker)
            if not ok:
                return
        self._work_to_resolution(life, seed, worker, skill, resolutions, dispatched=dispatched, waited=waited)

    def _work_to_resolution(self, life: Life, seed: Seed, worker: int, skill: float, resolutions: list[str], *,
                            dispatched: bool, waited: bool) -> None:
        rng = self.rng
        r = life.r
        cal = life.cal
        code = seed.category
        updates = 0
        while True:
            unit = life.targets.resolve.unit
            start = r.accepted_at if r.reopen_count == 0 else life.last
            p_in_time = 0.935 + 0.06 * skill - HARD.get(code, 0.0) - (0.04 if r.priority == Priority.COMPLEX else 0)
            if r.reopen_count:
                p_in_time += 0.03
            in_time = rng.random() < min(0.995, p_in_time)
            fraction = 0.04 + 0.9 * rng.random() ** 1.6 if in_time else rng.uniform(1.03, 1.9)
            resolve_at = cal.along(start, r.resolve_due_at, fraction, unit)
            resolve_at = max(resolve_at, life.last + 1800)
            # Progress replies and internal notes on the way.
            for _ in range(_pick(rng, REPLIES, [3.0, 7.0, 9.0, 10.0 + max(skill, 0.0) * 3])):
                between = life.last + int((resolve_at - life.last) * rng.uniform(0.1, 0.9))
                if not life.reply(between, worker, rng.choice(texts.PROGRESS[1:])):
                    return
                updates += 1
            if rng.random() < 0.35:
                between = life.last + int((resolve_at - life.last) * rng.uniform(0.1, 0.9))
                if not life.reply(between, worker, rng.choice(texts.NOTES), public=False):
                    return
            if not life.resolve(max(resolve_at, life.last + 600), worker, rng.choice(resolutions)):
                return
            # Sometimes the resident says at once that it is not done (no rating yet).
            if rng.random() < 0.012 and r.reporter_id:
                if not life.reopen(r.resolved_at + rng.randint(HOUR, DAY), r.reporter_id,
                                   rng.choice(texts.REOPEN_BY_RESIDENT)):
                    return
                continue
            breached = r.resolved_at > r.resolve_due_at
            late_contact = r.first_contact_at is not None and r.first_contact_at > r.contact_due_at
            solved = rng.random() < (SOLVED_BASE.get(code, 0.85) + 0.05 * skill - (0.12 if breached else 0)
                                     + (0.05 if r.reopen_count else 0))
            # The return visit: the resident online, or staff by phone, text or in person.
            if rng.random() < (0.9 if r.reporter_id else 0.84):
                online = r.reporter_id is not None and rng.random() < 0.6
                channel = VisitChannel.ONLINE if online else _pick(rng, VISITS, VISITS_CUM)
                by = r.reporter_id if online else self._staff(seed.cast)
                rate_at = r.resolved_at + rng.randint(HOUR, 3 * DAY) if online else \
                    cal.add_working(r.resolved_at, rng.randint(HOUR, 14 * HOUR))
                if rate_at - r.resolved_at >= RATING_WINDOW:
                    if not life.autoclose():
                        return
                else:
                    rating = self._rating(skill, solved=solved, breached=breached, late_contact=late_contact,
                                          reopened=r.reopen_count > 0, updates=updates, dispatched=dispatched,
                                          waited=waited, code=code)
                    comment = ""
                    if rating <= 2 and rng.random() < 0.6:
                        comment = rng.choice(texts.BAD_COMMENTS)
                    elif rating == 5 and rng.random() < 0.2:
                        comment = rng.choice(texts.GOOD_COMMENTS)
                    if not life.rate(rate_at, by, rating, solved, channel, comment):
                        return
            elif not life.autoclose():
                return
            # Not satisfied: the resident reopens, or the committee's review does.
            chance = {1: 0.55, 2: 0.45, 3: 0.05}.get(r.rating or 5, 0.0)
            if r.reopen_count >= 2 or rng.random() >= chance:
                return
            if r.reporter_id and rng.random() < 0.5:
                by, reason = r.reporter_id, rng.choice(texts.REOPEN_BY_RESIDENT)
            else:
                by, reason = seed.cast.lead or self._staff(seed.cast), texts.REOPEN_BY_REVIEW
            if not life.reopen(r.closed_at + rng.randint(2 * HOUR, 6 * DAY), by, reason):
                return

    def _rating(self, skill: float, *, solved: bool, breached: bool, late_contact: bool, reopened: bool,
                updates: int, dispatched: bool, waited: bool, code: str) -> int:
        score = (0.55 + 0.35 * skill + (1.25 if solved else -1.3) - 0.95 * breached - 0.45 * late_contact
                 - 0.7 * reopened + 0.12 * min(updates, 3) - 0.3 * dispatched - 0.2 * waited
                 + CATEGORY_MOOD.get(code, 0.0) + self.rng.gauss(0, 0.7))
        if score > 1.25:
            return 5
        if score > 0.45:
            return 4
        if score > -0.25:
            return 3
        if score > -0.95:
            return 2
        return 1


# Building -------------------------------------------------------------------------------

Sink = Callable[[list[Lived]], None]


@dataclass
class RequestsBuilt:
    requests: int
    events: int
    followers: int
    organisations: int
    open: int
    rollups: RebuildResult | None
    seconds: float


def everyone_for(community_ids: list[int], *, seed: int, now: int, days: int) -> Everyone:
    usernames = dict(User.objects.values_list("pk", "username"))
    categories = {c.code: c for c in Category.objects.filter(code__in=list(CATEGORY_MIX), is_active=True)}
    missing = set(CATEGORY_MIX) - set(categories)
    if missing:
        raise RuntimeError(f"request categories missing (run migrate): {', '.join(sorted(missing))}")
    staff_ids = sorted(RoleAssignment.objects.filter(place__community_id__in=community_ids).values_list(
        "user_id", flat=True).distinct())
    everyone = Everyone([], usernames, _skills(usernames, staff_ids, seed), categories)
    first = datetime.fromtimestamp(now, TIME_ZONE).date() - timedelta(days=days)
    communities = Place.objects.in_bulk(community_ids)
    everyone.casts = [_cast(i, communities[pk], seed, everyone, (first, days)) for i, pk in enumerate(community_ids)]
    return everyone


def requests_plan(everyone: Everyone, count: int, *, seed: int, now: int, days: int = 365,
                  first_id: int = 1, batch: int = 5000) -> Iterator[list[Lived]]:
    """Live ``count`` requests (about: duplicates count in) in batches ready to write.
    Ids run in order of submission from ``first_id``."""
    seeds = _seeds(everyone, count, now=now, days=days, seed=seed)
    for offset, s in enumerate(seeds):
        s.id = first_id + offset
    planner = _Planner(everyone, now=now, seed=seed)
    out: list[Lived] = []
    for s in seeds:
        if s.duplicate_of is not None:
            continue  # lived right after its main request, which may still gain events from it
        s.lived = planner.live(s)
        out.append(s.lived)
        for dup in s.duplicates:
            out.append(planner.live(dup))
        s.lived, s.duplicates = None, []
        if len(out) >= batch:
            yield out
            out = []
    if out:
        yield out


def requests_build(*, community_ids: list[int], count: int, seed: int, now: datetime | None = None,
                   days: int = 365, with_partners: bool = True) -> RequestsBuilt:
    """Partners for every community, ``count`` requests over the ``days`` before ``now``
    written in bulk, and the rollups rebuilt from them."""
    started = time.perf_counter()
    at = int((now or timezone.now()).timestamp())
    with transaction.atomic():
        organisations = partners_create(community_ids=community_ids, seed=seed) if with_partners else []
        everyone = everyone_for(community_ids, seed=seed, now=at, days=days)
        writer = RowSink()
        for batch in requests_plan(everyone, count, seed=seed, now=at, days=days, first_id=next_id(Request)):
            writer(batch)
        sequences_reset()
        result = rollups_rebuild(community_ids=community_ids)
    counts = writer.counts
    return RequestsBuilt(counts["requests"], counts["events"], counts["followers"], len(organisations),
                         counts["open"], result, time.perf_counter() - started)
