"""Synthetic but realistic residents' data, for the demo street and the benchmarks.

Two halves:

* **Planning** (pure, seeded): ``plan_household`` draws a household's make-up from
  urban Beijing-like proportions — older people living alone or as couples, young
  singles, families, three generations, left-behind grandparents with a grandchild,
  tenants — then names, birth dates, ID and phone numbers, health and income notes,
  special-group tags (DOMAIN §4) and consent records.
* **Writing**: ``generate`` lays out districts → streets → communities → grids →
  buildings → units → households and writes each community in one transaction with
  ``bulk_create``, computing exactly the fields ``linli.places.services.place_create``
  computes (materialised path, depth, community, address). Encrypted fields seal
  themselves on the way in; their ``*_hash`` columns come from ``lookup_hash``.
  Only one community is held in memory at a time, so the city scale streams.

Every random draw comes from ``random.Random`` seeded with the run's seed (one
stream per community), and ages are counted at ``REFERENCE_DATE``, so the same
seed builds the same data on any day.
"""

from __future__ import annotations

import itertools
import math
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.core.management.color import no_style
from django.db import connection, transaction
from django.db.models import Max

from linli.core.crypto import lookup_hash
from linli.demo import names
from linli.people.models import (
    Consent,
    ConsentBasis,
    Gender,
    Household,
    HouseholdRole,
    Relation,
    RelationKind,
    Resident,
    SpecialGroup,
    SpecialGroupTag,
)
from linli.places.models import Place, PlaceKind, encode_segment
from linli.places.services import ADDRESS_MAX, address_part

REFERENCE_DATE = date(2026, 1, 1)
ELDERLY_AGE = 60


@dataclass(frozen=True)
class Scale:
    """How much to build. Streets are spread evenly over districts, communities over streets."""

    name: str
    districts: int
    streets: int
    communities: int
    grids_per_community: int = 4
    buildings_per_grid: int = 5
    households_per_building: int = 50

    @property
    def grids(self) -> int:
        return self.communities * self.grids_per_community

    @property
    def buildings(self) -> int:
        return self.grids * self.buildings_per_grid

    @property
    def households(self) -> int:
        return self.buildings * self.households_per_building


SCALES: dict[str, Scale] = {
    # For tests: every kind of node and household, in a blink.
    "tiny": Scale("tiny", districts=1, streets=1, communities=2, grids_per_community=2,
                  buildings_per_grid=2, households_per_building=8),
    "community": Scale("community", districts=1, streets=1, communities=1),
    # The demo: 3 communities, 12 grids, 60 buildings, 3,000 households, ~7,000 residents.
    "street": Scale("street", districts=1, streets=1, communities=3),
    # A large urban district: 12 streets, 96 communities, ~96,000 households.
    "district": Scale("district", districts=1, streets=12, communities=96),
    # A city: 16 districts, 320 streets, 5,000 communities, ~5 million households.
    "city": Scale("city", districts=16, streets=320, communities=5000),
}


def seeded_rng(*parts: object) -> random.Random:
    """A reproducible random stream for synthetic data (never for secrets)."""
    return random.Random(":".join(str(part) for part in parts))  # noqa: S311 - reproducible on purpose


# Identity numbers ------------------------------------------------------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
# Sequence slots per birth date and sex: male codes are odd (001–997), female even (002–998).
_ID_SLOTS = 499


def id_check_digit(first17: str) -> str:
    """The GB 11643-1999 check character (ISO 7064 MOD 11-2) of an ID number's first 17 digits."""
    total = sum(int(digit) * weight for digit, weight in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


class Identities:
    """Issues ID and mobile numbers that are well-formed and unique within one run,
    remembering only counters (never the numbers), so memory stays small at any scale."""

    def __init__(self, seed: int) -> None:
        self.area_code = "110105"
        self._used: Counter[tuple[date, str]] = Counter()
        self._phones = 0
        self._staff_phones = 0
        self._offset = (seed * 7_654_321 + 1_234_567) % 10**8

    def enter_district(self, area_code: str) -> None:
        if area_code != self.area_code:
            self.area_code = area_code
            self._used.clear()

    def id_number(self, birth: date, gender: str) -> tuple[str, date]:
        """An ID number for someone of this sex born on ``birth`` (moved a day earlier in the
        unlikely case that date's sequence codes are used up); returns it and the birth date."""
        while self._used[(birth, gender)] >= _ID_SLOTS:
            birth -= timedelta(days=1)
        used = self._used[(birth, gender)]
        self._used[(birth, gender)] += 1
        slot = (used + birth.toordinal() * 37) % _ID_SLOTS
        sequence = slot * 2 + (1 if gender == Gender.MALE else 2)
        first17 = f"{self.area_code}{birth:%Y%m%d}{sequence:03d}"
        return first17 + id_check_digit(first17), birth

    def _tail(self, n: int) -> str:
        # An affine map modulo 10^8 with a multiplier prime to 10 is a bijection: unique tails.
        return f"{(n * 61_803_397 + self._offset) % 10**8:08d}"

    def phone(self, rng: random.Random) -> str:
        self._phones += 1
        return rng.choice(names.PHONE_PREFIXES) + self._tail(self._phones)

    def staff_phone(self) -> str:
        self._staff_phones += 1
        return names.STAFF_PHONE_PREFIX + self._tail(self._staff_phones)


# Names ------------------------------------------------------------------------------

_SURNAMES = [s for s, _ in names.SURNAMES]
_SURNAME_CUM = list(itertools.accumulate(w for _, w in names.SURNAMES))


def random_surname(rng: random.Random) -> str:
    return rng.choices(_SURNAMES, cum_weights=_SURNAME_CUM)[0]


def random_given_name(rng: random.Random, gender: str, birth_year: int) -> str:
    for born_before, male, female in names.GIVEN_NAMES:
        if birth_year < born_before:
            return rng.choice(male if gender == Gender.MALE else female)
    raise AssertionError("the last era is open-ended")  # pragma: no cover


def random_person_name(rng: random.Random, gender: str, birth_year: int) -> str:
    return random_surname(rng) + random_given_name(rng, gender, birth_year)


# Household planning (pure) ----------------------------------------------------------

# Household make-up, per 100 households: about 2.34 people per household and a fifth
# of residents aged 60 or over, as in an older Beijing neighbourhood.
HOUSEHOLD_KINDS: list[tuple[str, int]] = [
    ("elderly_alone", 7), ("elderly_couple", 12), ("single", 19), ("couple", 12),
    ("family_one_child", 22), ("family_two_children", 6), ("three_generations", 12),
    ("left_behind", 2), ("tenants", 8),
]
_KIND_NAMES = [k for k, _ in HOUSEHOLD_KINDS]
_KIND_CUM = list(itertools.accumulate(w for _, w in HOUSEHOLD_KINDS))

PURPOSE_SERVICE = "社区服务与通知联系"
PURPOSE_CARE = "特殊群体关爱服务（含敏感个人信息）"
PURPOSE_VISIT = "老年人关爱巡访"
RETENTION = "迁出或撤回同意后一年"
INCOME_DIBAO = "城市居民最低生活保障（低保）"
INCOME_TEKUN = "特困人员救助供养"


@dataclass(frozen=True)
class ConsentPlan:
    purpose: str
    basis: str
    given_on: date
    withdrawn_at: datetime | None = None


@dataclass
class PersonPlan:
    name: str
    gender: str
    birth_date: date
    role: str
    id_number: str = ""
    phone: str = ""
    health: str = ""
    disability: str = ""
    income_status: str = ""
    groups: list[tuple[str, date]] = field(default_factory=list)
    consents: list[ConsentPlan] = field(default_factory=list)

    @property
    def age(self) -> int:
        years = REFERENCE_DATE.year - self.birth_date.year
        if (REFERENCE_DATE.month, REFERENCE_DATE.day) < (self.birth_date.month, self.birth_date.day):
            years -= 1
        return years


@dataclass
class HouseholdPlan:
    kind: str
    members: list[PersonPlan]
    # (from member index, to member index, RelationKind): "from is kind of to".
    relations: list[tuple[int, int, str]]


@dataclass
class _Sketch:
    role: str
    gender: str
    age: int
    surname: str


def _other(gender: str) -> str:
    return Gender.FEMALE if gender == Gender.MALE else Gender.MALE


def _any_gender(rng: random.Random) -> str:
    return Gender.MALE if rng.random() < 0.5 else Gender.FEMALE


def _between(rng: random.Random, low: int, high: int, mode: float) -> int:
    return round(rng.triangular(low, high, mode))


def _sketch(rng: random.Random, kind: str) -> tuple[list[_Sketch], list[tuple[int, int, str]]]:
    people: list[_Sketch] = []
    relations: list[tuple[int, int, str]] = []
    family_name = random_surname(rng)

    def add(role: str, gender: str, age: int, surname: str | None = None) -> int:
        people.append(_Sketch(role, gender, max(age, 0), surname or random_surname(rng)))
        return len(people) - 1

    if kind == "elderly_alone":
        add(HouseholdRole.HEAD, Gender.FEMALE if rng.random() < 0.65 else Gender.MALE,
            _between(rng, 65, 95, 77), family_name)
    elif kind == "elderly_couple":
        head_age = _between(rng, 60, 90, 68)
        head = add(HouseholdRole.HEAD, Gender.MALE if rng.random() < 0.8 else Gender.FEMALE, head_age, family_name)
        spouse = add(HouseholdRole.SPOUSE, _other(people[head].gender), max(60, head_age + rng.randint(-5, 3)))
        relations.append((head, spouse, RelationKind.SPOUSE))
    elif kind == "single":
        add(HouseholdRole.HEAD, _any_gender(rng), _between(rng, 22, 59, 30), family_name)
    elif kind == "left_behind":
        grandparent = add(HouseholdRole.HEAD, _any_gender(rng), rng.randint(58, 80), family_name)
        grandchild = add(HouseholdRole.GRANDCHILD, _any_gender(rng), rng.randint(3, 15),
                         family_name if people[grandparent].gender == Gender.MALE else None)
        relations.append((grandparent, grandchild, RelationKind.GUARDIAN_OF))
    elif kind == "tenants":
        for _ in range(1 if rng.random() < 0.5 else 2):
            add(HouseholdRole.TENANT, _any_gender(rng), rng.randint(20, 40))
    else:  # couples and families
        low, high, mode = {"couple": (24, 59, 30), "three_generations": (30, 55, 38)}.get(kind, (27, 58, 38))
        head_age = _between(rng, low, high, mode)
        head = add(HouseholdRole.HEAD, Gender.MALE if rng.random() < 0.75 else Gender.FEMALE, head_age, family_name)
        spouse = add(HouseholdRole.SPOUSE, _other(people[head].gender), max(22, head_age + rng.randint(-4, 3)))
        relations.append((head, spouse, RelationKind.SPOUSE))
        father, mother = (head, spouse) if people[head].gender == Gender.MALE else (spouse, head)
        youngest_parent = min(people[head].age, people[spouse].age)
        if kind != "couple":
            eldest = rng.randint(0, max(0, min(26 if kind != "three_generations" else 20, youngest_parent - 23)))
            for n in range(2 if kind == "family_two_children" else 1):
                age = eldest if n == 0 else max(0, eldest - rng.randint(2, 8))
                surname = people[father].surname if rng.random() < 0.95 else people[mother].surname
                child = add(HouseholdRole.CHILD, _any_gender(rng), age, surname)
                relations += [(father, child, RelationKind.PARENT_OF), (mother, child, RelationKind.PARENT_OF)]
        if kind == "three_generations":
            # The head's own parents (or the surviving one) live with the family.
            grand_age = min(96, head_age + rng.randint(24, 32))
            if rng.random() < 0.6:
                grandfather = add(HouseholdRole.PARENT, Gender.MALE, grand_age, people[head].surname)
                grandmother = add(HouseholdRole.PARENT, Gender.FEMALE, max(ELDERLY_AGE, grand_age + rng.randint(-5, 2)))
                relations += [(grandfather, grandmother, RelationKind.SPOUSE),
                              (grandfather, head, RelationKind.PARENT_OF), (grandmother, head, RelationKind.PARENT_OF)]
            else:
                gender = Gender.FEMALE if rng.random() < 0.65 else Gender.MALE
                parent = add(HouseholdRole.PARENT, gender, grand_age,
                             people[head].surname if gender == Gender.MALE else None)
                relations.append((parent, head, RelationKind.PARENT_OF))
    return people, relations


def _birth_date(rng: random.Random, age: int) -> date:
    return REFERENCE_DATE - timedelta(days=int((age + rng.random()) * 365.2425))


def _days_before(rng: random.Random, low: int, high: int) -> date:
    return REFERENCE_DATE - timedelta(days=rng.randint(low, high))


def _has_phone(rng: random.Random, age: int) -> bool:
    if age < 14:
        return False
    if age < 18:
        return rng.random() < 0.5
    return rng.random() < (0.97 if age <= 75 else 0.55)


def _disability_chance(age: int) -> float:
    # Holders of a disability certificate: about 2 % of residents, more among the old.
    if age < 18:
        return 0.005
    if age < 60:
        return 0.015
    return 0.04 if age < 80 else 0.08


def plan_household(rng: random.Random, ids: Identities) -> HouseholdPlan:
    kind = rng.choices(_KIND_NAMES, cum_weights=_KIND_CUM)[0]
    sketches, relations = _sketch(rng, kind)
    members: list[PersonPlan] = []
    for sketch in sketches:
        birth = _birth_date(rng, sketch.age)
        person = PersonPlan(
            name=sketch.surname + random_given_name(rng, sketch.gender, birth.year),
            gender=sketch.gender, birth_date=birth, role=sketch.role,
        )
        # Half of this year's babies are not yet registered and have no ID number.
        if not (sketch.age == 0 and rng.random() < 0.5):
            person.id_number, person.birth_date = ids.id_number(birth, sketch.gender)
        if _has_phone(rng, sketch.age):
            person.phone = ids.phone(rng)
        if sketch.age >= ELDERLY_AGE and rng.random() < 0.35:
            person.health = "、".join(rng.sample(names.CHRONIC_CONDITIONS, rng.choice((1, 1, 2))))
        elif 40 <= sketch.age < ELDERLY_AGE and rng.random() < 0.08:
            person.health = rng.choice(names.CHRONIC_CONDITIONS[:3])
        if rng.random() < _disability_chance(sketch.age):
            person.disability = f"{rng.choice(names.DISABILITY_KINDS)}残疾{rng.choice(names.DISABILITY_GRADES)}"
        members.append(person)
    plan = HouseholdPlan(kind=kind, members=members, relations=relations)
    _tag_special_groups(rng, plan)
    _record_consents(rng, plan)
    return plan


def _tag_special_groups(rng: random.Random, plan: HouseholdPlan) -> None:
    members = plan.members
    if plan.kind == "elderly_alone":
        members[0].groups.append((SpecialGroup.ELDERLY_ALONE, _days_before(rng, 30, 3650)))
    elif plan.kind == "elderly_couple":
        since = _days_before(rng, 30, 3650)
        for person in members:
            person.groups.append((SpecialGroup.EMPTY_NEST, since))
    elif plan.kind == "left_behind":
        since = _days_before(rng, 30, 1800)
        for person in members:
            person.groups.append((SpecialGroup.LEFT_BEHIND, since))
    for person in members:
        if person.disability:
            person.groups.append((SpecialGroup.DISABLED, _days_before(rng, 30, 5000)))
    # Minimum living allowance (低保): about 1 % of households, more where someone is disabled.
    any_disabled = any(p.disability for p in members)
    on_dibao = rng.random() < (0.04 if any_disabled else 0.01)
    if on_dibao:
        since = _days_before(rng, 60, 2500)
        for person in members:
            person.groups.append((SpecialGroup.DIBAO, since))
            person.income_status = INCOME_DIBAO
    # Extreme-poverty support (特困): old or disabled people with no one to support them.
    elif len(members) == 1 and (
        (plan.kind == "elderly_alone" and rng.random() < 0.04) or (members[0].disability and rng.random() < 0.15)
    ):
        members[0].groups.append((SpecialGroup.TEKUN, _days_before(rng, 60, 3000)))
        members[0].income_status = INCOME_TEKUN
    # 计生特殊家庭: parents of an only child who died or was disabled (born 1946–1971).
    if plan.kind in ("elderly_alone", "elderly_couple") and 55 <= members[0].age <= 80 and rng.random() < 0.04:
        since = _days_before(rng, 365, 5000)
        for person in members:
            person.groups.append((SpecialGroup.FAMILY_PLANNING_SPECIAL, since))


def _record_consents(rng: random.Random, plan: HouseholdPlan) -> None:
    sensitive = {SpecialGroup.DISABLED, SpecialGroup.DIBAO, SpecialGroup.TEKUN, SpecialGroup.FAMILY_PLANNING_SPECIAL}
    elderly = {SpecialGroup.ELDERLY_ALONE, SpecialGroup.EMPTY_NEST}
    household_consents = rng.random() < 0.55
    given_on = _days_before(rng, 1, 720)
    for person in plan.members:
        minor = person.age < 14
        groups = {group for group, _ in person.groups}
        if household_consents:
            withdrawn = None
            if rng.random() < 0.04:
                withdrawn = datetime.combine(given_on + timedelta(days=rng.randint(30, 300)), datetime.min.time(),
                                             tzinfo=UTC) + timedelta(hours=rng.randint(1, 10))
            basis = ConsentBasis.GUARDIAN_CONSENT if minor else ConsentBasis.CONSENT
            person.consents.append(ConsentPlan(PURPOSE_SERVICE, basis, given_on, withdrawn))
        if groups & sensitive or person.health or person.disability:
            basis = ConsentBasis.GUARDIAN_CONSENT if minor else ConsentBasis.SEPARATE_CONSENT
            person.consents.append(ConsentPlan(PURPOSE_CARE, basis, _days_before(rng, 1, 900)))
        if groups & elderly:
            person.consents.append(ConsentPlan(PURPOSE_VISIT, ConsentBasis.LEGAL_DUTY, _days_before(rng, 1, 900)))


# Buildings ---------------------------------------------------------------------------

# (units, floors, flats per floor and unit); no units: a tower whose flats hang from the building.
BUILDING_LAYOUTS: list[tuple[int, int, int]] = [
    (3, 6, 2), (4, 6, 2), (5, 6, 2), (6, 6, 2), (2, 11, 2), (3, 11, 2), (2, 18, 2), (0, 24, 4), (0, 16, 6),
]


def _capacity(layout: tuple[int, int, int]) -> int:
    units, floors, per_floor = layout
    return max(units, 1) * floors * per_floor


def plan_building(rng: random.Random, households: int) -> tuple[int, list[tuple[int, str]]]:
    """Pick a layout with room for ``households`` and choose which flats are registered
    (not every flat is): returns the number of units and (unit number or 0, flat name) pairs."""
    layouts = [layout for layout in BUILDING_LAYOUTS if _capacity(layout) >= households]
    if not layouts:
        layouts = [(math.ceil(households / 12), 6, 2)]
    units, floors, per_floor = rng.choice(layouts)
    flats = [
        (unit, f"{floor}{flat:02d}室")
        for unit in (range(1, units + 1) if units else [0])
        for floor in range(1, floors + 1)
        for flat in range(1, per_floor + 1)
    ]
    chosen = sorted(rng.sample(range(len(flats)), households))
    return units, [flats[i] for i in chosen]


# Writing -----------------------------------------------------------------------------

@dataclass
class Generated:
    scale: Scale
    seed: int
    prefix: str
    district_ids: list[int] = field(default_factory=list)
    street_ids: list[int] = field(default_factory=list)
    community_ids: list[int] = field(default_factory=list)
    grid_ids: dict[int, list[int]] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0


Progress = Callable[[int, int, Counter[str]], None]


class _PlaceWriter:
    """Gives new places their ids up front, so path, depth and community are known
    before the one INSERT (place_create needs an INSERT and an UPDATE per node)."""

    def __init__(self, batch_size: int) -> None:
        self.batch_size = batch_size
        self.next_id = (Place.objects.aggregate(top=Max("id"))["top"] or 0) + 1
        self.pending: list[Place] = []

    def add(
        self, *, parent: Place | None, kind: str, name: str, code: str, households_count: int = 0, region: str = "",
    ) -> Place:
        pk = self.next_id
        self.next_id += 1
        address = (parent.address if parent is not None else region) + address_part(kind, name)
        place = Place(
            id=pk, parent=parent, kind=kind, name=name, code=code, households_count=households_count,
            region=region, depth=(parent.depth + 1) if parent else 0,
            path=(parent.path if parent else "") + encode_segment(pk), address=address[:ADDRESS_MAX],
        )
        if kind == PlaceKind.COMMUNITY:
            place.community_id = pk
        elif parent is not None:
            place.community_id = parent.community_id
        self.pending.append(place)
        return place

    def flush(self) -> None:
        Place.objects.bulk_create(self.pending, batch_size=self.batch_size)
        self.pending = []

    def finish(self) -> None:
        # Explicit ids do not move a PostgreSQL sequence: move it, or place_create would collide.
        statements = connection.ops.sequence_reset_sql(no_style(), [Place])
        if statements:
            with connection.cursor() as cursor:
                for sql in statements:
                    cursor.execute(sql)


def _pick_names(rng: random.Random, pool: list[str], count: int, first: list[str]) -> list[str]:
    chosen = list(first[:count])
    rest = [name for name in pool if name not in chosen]
    rng.shuffle(rest)
    while len(chosen) < count:
        chosen.append(rest.pop() if rest else f"{rng.choice(pool)}{len(chosen) + 1}")
    return chosen


def _spread(children: int, parents: int) -> list[int]:
    """The parent index of each child when ``children`` are spread evenly over ``parents``."""
    return [i * parents // children for i in range(children)]


def generate(
    *, scale: Scale, seed: int, prefix: str, batch_size: int = 1000, progress: Progress | None = None,
) -> Generated:
    """Write ``scale`` worth of places and people; place codes start with ``prefix``."""
    started = time.perf_counter()
    result = Generated(scale=scale, seed=seed, prefix=prefix)
    writer = _PlaceWriter(batch_size)
    ids = Identities(seed)
    rng = seeded_rng(seed, "places")

    districts: list[tuple[Place, str]] = []
    for d in range(scale.districts):
        area_code, district_name = names.DISTRICTS[d % len(names.DISTRICTS)]
        if d >= len(names.DISTRICTS):
            district_name = f"{district_name}{d // len(names.DISTRICTS) + 1}"
        place = writer.add(parent=None, kind=PlaceKind.DISTRICT, name=district_name, region=names.CITY,
                           code=f"{prefix}-d{d + 1}")
        districts.append((place, area_code))

    street_parents = _spread(scale.streets, scale.districts)
    streets: list[Place] = []
    for d, (district, _) in enumerate(districts):
        count = street_parents.count(d)
        street_names = _pick_names(rng, names.STREET_FIRST, count, [names.DEMO_STREET] if d == 0 else [])
        for street_name in street_names:
            streets.append(writer.add(parent=district, kind=PlaceKind.STREET, name=f"{street_name}街道",
                                      code=f"{prefix}-s{len(streets) + 1}"))

    community_parents = _spread(scale.communities, scale.streets)
    combos = [a + b for a in names.COMMUNITY_FIRST for b in names.COMMUNITY_SECOND]
    communities: list[tuple[Place, str]] = []
    for s, street in enumerate(streets):
        count = community_parents.count(s)
        area_code = districts[street_parents[s]][1]
        for community_name in _pick_names(rng, combos, count, names.DEMO_COMMUNITIES if s == 0 else []):
            communities.append((writer.add(parent=street, kind=PlaceKind.COMMUNITY, name=f"{community_name}社区",
                                           code=f"{prefix}-c{len(communities) + 1}"), area_code))
    with transaction.atomic():
        writer.flush()
    result.district_ids = [d.pk for d, _ in districts]
    result.street_ids = [s.pk for s in streets]
    result.community_ids = [c.pk for c, _ in communities]
    result.counts.update(districts=len(districts), streets=len(streets), communities=len(communities))

    for index, (community, area_code) in enumerate(communities):
        ids.enter_district(area_code)
        with transaction.atomic():
            result.grid_ids[community.pk] = _write_community(
                writer, community, seeded_rng(seed, "community", index), scale, ids, result.counts, batch_size,
            )
        if progress is not None:
            progress(index + 1, len(communities), result.counts)
    writer.finish()
    result.seconds = time.perf_counter() - started
    return result


def _write_community(
    writer: _PlaceWriter, community: Place, rng: random.Random, scale: Scale, ids: Identities,
    counts: Counter[str], batch_size: int,
) -> list[int]:
    community_code = community.code
    household_places: list[Place] = []
    grids: list[Place] = []
    building_number = 0
    for g in range(1, scale.grids_per_community + 1):
        # Planned households (DOMAIN §5: 300–500 a grid); not every one is registered yet.
        grid = writer.add(parent=community, kind=PlaceKind.GRID, name=f"第{names.chinese_number(g)}网格",
                          code=f"{community_code}-g{g}", households_count=rng.randint(300, 500))
        grids.append(grid)
        for _ in range(scale.buildings_per_grid):
            building_number += 1
            building = writer.add(parent=grid, kind=PlaceKind.BUILDING, name=f"{building_number}号楼",
                                  code=f"{community_code}-b{building_number}")
            unit_count, flats = plan_building(rng, scale.households_per_building)
            units = {
                u: writer.add(parent=building, kind=PlaceKind.UNIT, name=f"{u}单元", code=f"{building.code}-u{u}")
                for u in range(1, unit_count + 1)
            }
            for unit_number, flat in flats:
                parent = units[unit_number] if unit_number else building
                household_places.append(writer.add(
                    parent=parent, kind=PlaceKind.HOUSEHOLD, name=flat, code=f"{parent.code}-{flat.removesuffix('室')}",
                ))
            counts["buildings"] += 1
            counts["units"] += unit_count
    counts["grids"] += len(grids)
    writer.flush()
    Place.objects.filter(pk=community.pk).update(households_count=sum(g.households_count for g in grids))

    households = [
        Household(place_id=place.pk, community_id=community.pk, ref=f"{community_code}-h{n:05d}")
        for n, place in enumerate(household_places, start=1)
    ]
    Household.objects.bulk_create(households, batch_size=batch_size)
    counts["households"] += len(households)

    plans = [plan_household(rng, ids) for _ in households]
    residents: list[Resident] = []
    for household, plan in zip(households, plans, strict=True):
        for person in plan.members:
            residents.append(Resident(
                household_id=household.pk, community_id=community.pk, name=person.name, gender=person.gender,
                birth_date=person.birth_date, household_role=person.role,
                id_number=person.id_number, id_number_hash=lookup_hash(person.id_number) if person.id_number else None,
                phone=person.phone, phone_hash=lookup_hash(person.phone) if person.phone else "",
                health=person.health, disability=person.disability, income_status=person.income_status,
            ))
    Resident.objects.bulk_create(residents, batch_size=batch_size)
    counts["residents"] += len(residents)

    tags: list[SpecialGroupTag] = []
    consents: list[Consent] = []
    relations: list[Relation] = []
    members = iter(residents)
    for plan in plans:
        saved = [next(members) for _ in plan.members]
        for resident, person in zip(saved, plan.members, strict=True):
            tags += [SpecialGroupTag(resident_id=resident.pk, community_id=community.pk, group=group, since=since)
                     for group, since in person.groups]
            consents += [
                Consent(resident_id=resident.pk, community_id=community.pk, purpose=c.purpose, basis=c.basis,
                        given_on=c.given_on, retention=RETENTION, withdrawn_at=c.withdrawn_at)
                for c in person.consents
            ]
        relations += [Relation(from_resident_id=saved[a].pk, to_resident_id=saved[b].pk, kind=kind,
                               community_id=community.pk) for a, b, kind in plan.relations]
    SpecialGroupTag.objects.bulk_create(tags, batch_size=batch_size)
    Consent.objects.bulk_create(consents, batch_size=batch_size)
    Relation.objects.bulk_create(relations, batch_size=batch_size)
    counts["special_group_tags"] += len(tags)
    counts["consents"] += len(consents)
    counts["relations"] += len(relations)
    return [grid.pk for grid in grids]
