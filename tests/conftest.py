"""Shared fixtures: a small place tree and the personas of STYLE.md §10.

Personas are made through the services, so tests exercise the same code paths as
the product. ``login`` signs a client in as a persona, second factor included.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.test import Client

from linli.accounts.middleware import SESSION_2FA
from linli.accounts.models import Role, User
from linli.accounts.services import role_grant, user_create
from linli.places.models import Place, PlaceKind
from linli.places.services import place_create

PASSWORD = "correct-horse-battery-staple-42"


@pytest.fixture(autouse=True)
def _fresh_calendars() -> Iterator[None]:
    """Each process keeps working calendars for a minute; a test's rollback would leave
    them stale for the next test, which reuses the same ids."""
    from linli.requests.sla import forget_calendars

    forget_calendars()
    yield
    forget_calendars()


@dataclass
class Tree:
    district: Place
    street: Place
    community: Place
    other_community: Place
    grid: Place
    other_grid: Place
    building: Place
    unit: Place
    household: Place
    other_household: Place
    far_household: Place


def make_tree() -> Tree:
    district = place_create(parent=None, kind=PlaceKind.DISTRICT, name="朝阳区", code="d1")
    street = place_create(parent=district, kind=PlaceKind.STREET, name="和平街道", code="s1")
    community = place_create(parent=street, kind=PlaceKind.COMMUNITY, name="樱花园社区", code="c1")
    other_community = place_create(parent=street, kind=PlaceKind.COMMUNITY, name="和平里社区", code="c2")
    grid = place_create(parent=community, kind=PlaceKind.GRID, name="第一网格", code="g1")
    other_grid = place_create(parent=community, kind=PlaceKind.GRID, name="第二网格", code="g2")
    building = place_create(parent=grid, kind=PlaceKind.BUILDING, name="3号楼", code="b1")
    unit = place_create(parent=building, kind=PlaceKind.UNIT, name="2单元", code="u1")
    household = place_create(parent=unit, kind=PlaceKind.HOUSEHOLD, name="502室", code="h1")
    other_household = place_create(parent=unit, kind=PlaceKind.HOUSEHOLD, name="601室", code="h2")
    other_building = place_create(parent=other_grid, kind=PlaceKind.BUILDING, name="7号楼", code="b2")
    far_grid = place_create(parent=other_community, kind=PlaceKind.GRID, name="和平里一网格", code="g3")
    far_building = place_create(parent=far_grid, kind=PlaceKind.BUILDING, name="1号楼", code="b3")
    far_household = place_create(parent=far_building, kind=PlaceKind.HOUSEHOLD, name="101室", code="h3")
    del other_building
    return Tree(district, street, community, other_community, grid, other_grid, building, unit, household,
                other_household, far_household)


@pytest.fixture
def tree(db: None) -> Tree:
    return make_tree()


def make_user(username: str, role: str | None, place: Place | None, **extra: str) -> User:
    user = user_create(username=username, password=PASSWORD, display_name=extra.pop("display_name", username), **extra)
    if role and place:
        role_grant(user=user, role=role, place=place)
    return user


@dataclass
class Personas:
    resident: User
    other_resident: User
    grid_worker: User
    staff: User
    lead: User
    street_supervisor: User
    auditor: User
    partner: User
    outsider: User
    outside_staff: User


@pytest.fixture
def personas(tree: Tree) -> Personas:
    return Personas(
        resident=make_user("resident", Role.RESIDENT, tree.household, phone="13800138000"),
        other_resident=make_user("other_resident", Role.RESIDENT, tree.other_household),
        grid_worker=make_user("grid_worker", Role.GRID_WORKER, tree.grid),
        staff=make_user("staff", Role.COMMUNITY_STAFF, tree.community),
        lead=make_user("lead", Role.COMMITTEE_LEAD, tree.community),
        street_supervisor=make_user("street", Role.STREET_SUPERVISOR, tree.street),
        auditor=make_user("auditor", Role.AUDITOR, tree.community),
        partner=make_user("partner", Role.PARTNER, tree.community),
        outsider=make_user("outsider", None, None),
        outside_staff=make_user("outside_staff", Role.COMMUNITY_STAFF, tree.other_community),
    )


@pytest.fixture
def admin_user(db: None) -> User:
    """A superuser (linli's, made through the service; replaces pytest-django's)."""
    return user_create(username="root", password=PASSWORD, is_superuser=True)


@pytest.fixture
def admin_client(client: Client, admin_user: User) -> Client:
    return login(client, admin_user)


def login(client: Client, user: User) -> Client:
    """Sign in as ``user`` with the second factor already given."""
    client.force_login(user)
    session = client.session
    session[SESSION_2FA] = True
    session.save()
    return client
