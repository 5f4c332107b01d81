"""The demo generator at a small scale: shape, identity numbers, sealing, accounts."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date

import pytest
from django.contrib.auth import authenticate
from django.db import connection

from linli.accounts.models import Role, RoleAssignment, User
from linli.audit.models import AuditEvent
from linli.audit.services import audit_verify
from linli.core.crypto import lookup_hash
from linli.demo.build import DemoBuild, build_demo
from linli.demo.generator import SCALES, Identities, plan_household
from linli.demo.staff import DEMO_PASSWORD
from linli.people.models import Consent, Gender, Household, Relation, Resident, SpecialGroupTag
from linli.places.models import Place, PlaceKind, encode_segment
from linli.places.services import address_part, place_create

pytestmark = pytest.mark.django_db

TINY = SCALES["tiny"]


@pytest.fixture
def demo() -> DemoBuild:
    build = build_demo(scale=TINY, seed=7)
    assert build is not None
    return build


def gb11643_valid(number: str) -> bool:
    """Written out independently of the generator's helper, from the standard."""
    if len(number) != 18 or not number[:17].isdigit():
        return False
    weights = [2 ** (17 - i) % 11 for i in range(17)]
    total = sum(int(d) * w for d, w in zip(number[:17], weights, strict=True))
    return number[17] == "10X98765432"[total % 11]


def test_known_id_number_passes_the_checksum_helper() -> None:
    # The example from GB 11643-1999 itself.
    assert gb11643_valid("11010519491231002X")
    assert not gb11643_valid("110105194912310021")


def test_counts_per_kind_follow_the_scale(demo: DemoBuild) -> None:
    kinds = Counter(Place.objects.values_list("kind", flat=True))
    assert kinds[PlaceKind.DISTRICT] == TINY.districts == 1
    assert kinds[PlaceKind.STREET] == TINY.streets == 1
    assert kinds[PlaceKind.COMMUNITY] == TINY.communities == 2
    assert kinds[PlaceKind.GRID] == TINY.grids == 4
    assert kinds[PlaceKind.BUILDING] == TINY.buildings == 8
    assert kinds[PlaceKind.HOUSEHOLD] == TINY.households == 64
    assert kinds[PlaceKind.UNIT] == demo.generated.counts["units"]
    assert Household.objects.count() == 64
    assert Resident.objects.count() == demo.generated.counts["residents"]
    assert SpecialGroupTag.objects.count() == demo.generated.counts["special_group_tags"]
    assert Consent.objects.count() == demo.generated.counts["consents"]
    assert Relation.objects.count() == demo.generated.counts["relations"]
    # Every household has people; no resident is homeless in the data.
    assert not Household.objects.filter(members__isnull=True).exists()
    assert 64 < Resident.objects.count() < 64 * 4


def test_every_place_carries_the_fields_place_create_would_compute(demo: DemoBuild) -> None:
    places = {p.pk: p for p in Place.objects.all()}
    for place in places.values():
        parent = places.get(place.parent_id) if place.parent_id else None
        if parent is None:
            assert (place.depth, place.path) == (0, encode_segment(place.pk))
            assert place.address == place.region + place.name == "北京市朝阳区"
            continue
        assert place.depth == parent.depth + 1
        assert place.path == parent.path + encode_segment(place.pk)
        assert place.address == parent.address + address_part(place.kind, place.name)
        expected_community = place.pk if place.kind == PlaceKind.COMMUNITY else parent.community_id
        assert place.community_id == expected_community


def test_every_household_lies_under_its_community(demo: DemoBuild) -> None:
    for household in Household.objects.select_related("place", "community"):
        assert household.community.kind == PlaceKind.COMMUNITY
        assert household.place.kind == PlaceKind.HOUSEHOLD
        assert household.place.path.startswith(household.community.path)
        assert household.place.community_id == household.community_id
        assert household.place.address.startswith("北京市朝阳区望春街道")
        assert household.place.address.endswith("室")
    for resident in Resident.objects.select_related("household"):
        assert resident.community_id == resident.household.community_id


def test_a_place_created_afterwards_gets_a_fresh_id(demo: DemoBuild) -> None:
    community = Place.objects.get(pk=demo.generated.community_ids[0])
    grid = place_create(parent=community, kind=PlaceKind.GRID, name="新网格", code="after-demo")
    assert grid.pk > max(Place.objects.exclude(pk=grid.pk).values_list("pk", flat=True))
    assert grid.path == community.path + encode_segment(grid.pk)


def test_id_numbers_are_valid_unique_and_agree_with_the_person(demo: DemoBuild) -> None:
    residents = list(Resident.objects.exclude(id_number=""))
    assert len(residents) >= Resident.objects.count() * 0.95
    numbers = [r.id_number for r in residents]
    assert len(set(numbers)) == len(numbers)
    for resident in residents:
        number = resident.id_number
        assert gb11643_valid(number), number
        assert number[:6] == "110105"
        assert number[6:14] == f"{resident.birth_date:%Y%m%d}"
        assert int(number[16]) % 2 == (1 if resident.gender == Gender.MALE else 0)


def test_identities_stay_unique_when_one_birthday_is_crowded() -> None:
    ids = Identities(seed=1)
    birthday = date(1980, 5, 1)
    issued = [ids.id_number(birthday, Gender.FEMALE) for _ in range(600)]
    numbers = [number for number, _ in issued]
    assert len(set(numbers)) == 600
    assert all(gb11643_valid(n) for n in numbers)
    # 499 sequence codes per day and sex, then the next person moves to the day before.
    assert Counter(born for _, born in issued) == {birthday: 499, date(1980, 4, 30): 101}
    phones = {ids.phone(random.Random(0)) for _ in range(5000)}
    assert len(phones) == 5000
    assert all(len(p) == 11 and p.isdigit() and p.startswith("1") for p in phones)


def test_lookup_hashes_match_the_values(demo: DemoBuild) -> None:
    for resident in Resident.objects.all():
        assert resident.id_number_hash == (lookup_hash(resident.id_number) if resident.id_number else None)
        assert resident.phone_hash == (lookup_hash(resident.phone) if resident.phone else "")
    for user in User.objects.exclude(phone=""):
        assert user.phone_hash == lookup_hash(user.phone)


def test_sensitive_values_are_not_stored_in_plain_text(demo: DemoBuild) -> None:
    residents = list(Resident.objects.all())
    secrets = {r.id_number for r in residents} | {r.phone for r in residents}
    secrets |= {r.health for r in residents} | {r.disability for r in residents} | {r.income_status for r in residents}
    secrets |= set(User.objects.values_list("totp_secret", flat=True))
    secrets.discard("")
    assert any(r.health for r in residents)  # the check below is not vacuous
    with connection.cursor() as cursor:
        cursor.execute("SELECT id_number, phone, health, disability, income_status FROM people_resident")
        raw_resident = [v for row in cursor.fetchall() for v in row if v]
        cursor.execute("SELECT phone, totp_secret FROM accounts_user")
        raw_user = [v for row in cursor.fetchall() for v in row if v]
    assert raw_resident and raw_user
    for value in raw_resident + raw_user:
        assert value.startswith("v1:")
        assert value not in secrets
        assert not any(secret in value for secret in secrets)


def test_special_groups_and_consents_are_recorded(demo: DemoBuild) -> None:
    for tag in SpecialGroupTag.objects.select_related("resident"):
        assert tag.community_id == tag.resident.community_id
        assert tag.ended_on is None
    minors_without_guardian = Consent.objects.filter(
        resident__birth_date__gt=date(2012, 1, 2), basis__in=["consent", "separate_consent"]
    )
    assert not minors_without_guardian.exists()


def test_staff_in_every_role_hold_scopes_of_the_right_kind(demo: DemoBuild) -> None:
    assignments = RoleAssignment.objects.select_related("place", "user")
    by_role: dict[str, list[RoleAssignment]] = {}
    for assignment in assignments:
        by_role.setdefault(assignment.role, []).append(assignment)
    assert set(by_role) == set(Role.values)
    expected_kind = {
        Role.STREET_SUPERVISOR: PlaceKind.STREET, Role.COMMITTEE_LEAD: PlaceKind.COMMUNITY,
        Role.COMMUNITY_STAFF: PlaceKind.COMMUNITY, Role.AUDITOR: PlaceKind.COMMUNITY,
        Role.PARTNER: PlaceKind.COMMUNITY, Role.GRID_WORKER: PlaceKind.GRID, Role.RESIDENT: PlaceKind.HOUSEHOLD,
    }
    for role, kind in expected_kind.items():
        assert {a.place.kind for a in by_role[role]} == {kind}, role
    communities = set(demo.generated.community_ids)
    for role in (Role.COMMITTEE_LEAD, Role.AUDITOR, Role.PARTNER):
        assert {a.place_id for a in by_role[role]} == communities
    assert Counter(a.place_id for a in by_role[Role.COMMUNITY_STAFF]) == dict.fromkeys(communities, 2)
    assert {a.place_id for a in by_role[Role.GRID_WORKER]} == set(Place.objects.filter(kind="grid").values_list("pk", flat=True))
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff and admin.has_totp
    staff_users = User.objects.filter(role_assignments__role__in=[r for r in Role.values if r != Role.RESIDENT])
    assert all(user.has_totp for user in staff_users)


def test_resident_accounts_are_linked_and_sign_in_by_phone(demo: DemoBuild) -> None:
    accounts = RoleAssignment.objects.filter(role=Role.RESIDENT).select_related("user", "place")
    assert accounts.count() == 2 * TINY.communities
    for assignment in accounts:
        user = assignment.user
        resident = Resident.objects.get(user=user)
        assert resident.household.place_id == assignment.place_id
        assert user.phone == resident.phone and user.phone
        assert not user.has_totp
        assert authenticate(username=user.phone, password=DEMO_PASSWORD) == user
    assert User.objects.get(username="resident-1b").elder_mode


def test_the_build_writes_its_audit_event_and_the_chain_verifies(demo: DemoBuild) -> None:
    event = AuditEvent.objects.get(action="demo.build")
    assert (event.after or {}).get("residents") == Resident.objects.count()
    assert audit_verify() == (AuditEvent.objects.count(), [])


def test_a_second_build_does_nothing(demo: DemoBuild) -> None:
    before = (Place.objects.count(), Resident.objects.count(), User.objects.count(), AuditEvent.objects.count())
    assert build_demo(scale=TINY, seed=7) is None
    assert (Place.objects.count(), Resident.objects.count(), User.objects.count(), AuditEvent.objects.count()) == before


def test_planning_is_deterministic_for_a_seed() -> None:
    def plans(seed: str) -> list[object]:
        rng, ids = random.Random(seed), Identities(seed=3)
        return [plan_household(rng, ids) for _ in range(200)]

    assert plans("a") == plans("a")
    assert plans("a") != plans("b")


def test_household_make_up_is_plausible() -> None:
    rng, ids = random.Random("mix"), Identities(seed=5)
    households = [plan_household(rng, ids) for _ in range(3000)]
    people = [p for h in households for p in h.members]
    elderly = sum(p.age >= 60 for p in people) / len(people)
    assert 0.17 <= elderly <= 0.27
    assert 2.1 <= len(people) / len(households) <= 2.6
    heads = [p for h in households for p in h.members if p.role == "head"]
    assert len(heads) >= len(households) * 0.85  # tenants' households have no head
    for household in households:
        for a, b, _ in household.relations:
            assert a != b
