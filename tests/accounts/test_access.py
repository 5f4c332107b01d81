"""Roles held at a node cover everything below it; outside is 404, read-only is 403."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from linli.accounts.access import access_place, check_path, grants_for, roles_of, scope_paths
from linli.accounts.models import Role
from linli.accounts.services import apikey_create, role_revoke
from linli.places.services import place_deactivate
from tests.conftest import Personas, Tree

pytestmark = pytest.mark.django_db


def test_grant_covers_descendants(tree: Tree, personas: Personas) -> None:
    for place in (tree.community, tree.grid, tree.building, tree.household, tree.other_grid):
        assert access_place(personas.staff, place.pk) == place
    assert access_place(personas.street_supervisor, tree.far_household.pk) == tree.far_household
    assert access_place(personas.grid_worker, tree.household.pk, write=True) == tree.household


@pytest.mark.parametrize(
    ("who", "code"),
    [("staff", "c2"), ("staff", "s1"), ("staff", "d1"), ("grid_worker", "g2"), ("grid_worker", "c1"),
     ("outside_staff", "h1"), ("outsider", "h1"), ("street_supervisor", "d1")],
)
def test_outside_scope_is_404(tree: Tree, personas: Personas, who: str, code: str) -> None:
    from linli.places.models import Place

    with pytest.raises(Http404):
        access_place(getattr(personas, who), Place.objects.get(code=code).pk)


def test_missing_object_is_404(tree: Tree, personas: Personas) -> None:
    with pytest.raises(Http404):
        access_place(personas.staff, 999_999)


def test_auditor_reads_but_may_not_write(tree: Tree, personas: Personas) -> None:
    assert access_place(personas.auditor, tree.household.pk) == tree.household
    with pytest.raises(PermissionDenied):
        access_place(personas.auditor, tree.household.pk, write=True)
    # Outside the auditor's scope it is still 404, not 403.
    with pytest.raises(Http404):
        access_place(personas.auditor, tree.far_household.pk, write=True)
    assert scope_paths(personas.auditor, write=True) == []


def test_resident_role_is_not_a_staff_scope(tree: Tree, personas: Personas) -> None:
    with pytest.raises(Http404):
        access_place(personas.resident, tree.household.pk)
    assert access_place(personas.resident, tree.household.pk, roles={Role.RESIDENT}) == tree.household
    with pytest.raises(Http404):
        check_path(personas.resident, tree.other_household.path, roles={Role.RESIDENT})


def test_grants_are_one_query_per_request(tree: Tree, personas: Personas, django_assert_num_queries: object) -> None:
    from linli.accounts.models import User

    user = User.objects.get(pk=personas.staff.pk)
    with django_assert_num_queries(1):  # type: ignore[operator]
        grants_for(user)
        roles_of(user)
        scope_paths(user)
        check_path(user, tree.household.path)
        assert user.needs_second_factor()


def test_revoked_role_and_switched_off_place_grant_nothing(tree: Tree, personas: Personas) -> None:
    from linli.accounts.models import RoleAssignment, User

    role_revoke(assignment=RoleAssignment.objects.get(user=personas.grid_worker))
    with pytest.raises(Http404):
        access_place(User.objects.get(pk=personas.grid_worker.pk), tree.household.pk)
    place_deactivate(place=tree.community)
    with pytest.raises(Http404):
        access_place(User.objects.get(pk=personas.staff.pk), tree.grid.pk)
    assert access_place(User.objects.get(pk=personas.street_supervisor.pk), tree.far_household.pk)


def test_api_key_scope(tree: Tree) -> None:
    key, _raw = apikey_create(name="审计接口", place=tree.community, role=Role.AUDITOR)
    assert access_place(key, tree.household.pk) == tree.household
    with pytest.raises(PermissionDenied):
        access_place(key, tree.household.pk, write=True)
    with pytest.raises(Http404):
        access_place(key, tree.far_household.pk)
