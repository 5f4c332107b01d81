"""Access to the people registry: staff roles over the household's place, nobody else.

Partners never see it; auditors only read it; street supervisors read it but do not
edit residents' records. A resident reaches their own data through ``my_data`` and
``/api/v1/people/me``, not through these helpers.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404

from linli.accounts.access import check_path, grant_covering, scope_paths
from linli.people.models import (
    IMPORT_ROLES,
    REGISTRY_EDIT_ROLES,
    REGISTRY_ROLES,
    CorrectionRequest,
    Household,
    Resident,
)
from linli.places.models import Place


def _check(principal: Any, path: str, *, write: bool) -> None:
    check_path(principal, path, roles=REGISTRY_ROLES)
    if write and not [g for g in grant_covering(principal, path, roles=REGISTRY_EDIT_ROLES) if not g.read_only]:
        raise PermissionDenied


def access_resident(principal: Any, pk: int, *, write: bool = False) -> Resident:
    resident = Resident.objects.select_related("household__place").filter(pk=pk).first()
    if resident is None:
        raise Http404
    _check(principal, resident.household.place.path, write=write)
    return resident


def access_household(principal: Any, pk: int, *, write: bool = False) -> Household:
    household = Household.objects.select_related("place").filter(pk=pk).first()
    if household is None:
        raise Http404
    _check(principal, household.place.path, write=write)
    return household


def access_correction(principal: Any, pk: int, *, write: bool = False) -> CorrectionRequest:
    correction = (
        CorrectionRequest.objects.select_related("resident__household__place").filter(pk=pk).first()
    )
    if correction is None:
        raise Http404
    _check(principal, correction.resident.household.place.path, write=write)
    return correction


def can_use_registry(principal: Any) -> bool:
    return bool(scope_paths(principal, roles=REGISTRY_ROLES))


def require_registry(principal: Any) -> None:
    """Pages over the whole registry: 403 for anyone holding no registry role."""
    if not can_use_registry(principal):
        raise PermissionDenied


def import_communities(principal: Any) -> list[Place]:
    """Communities at or below a node where the principal holds an import role (a grant
    at a grid does not cover the whole community an import writes into)."""
    paths = scope_paths(principal, roles=IMPORT_ROLES, write=True)
    return list(Place.objects.communities().active().below_any(paths).order_by("path"))


def access_import_community(principal: Any, pk: int) -> Place:
    place = Place.objects.communities().filter(pk=pk).first()
    if place is None:
        raise Http404
    check_path(principal, place.path, write=True, roles=IMPORT_ROLES)
    return place
