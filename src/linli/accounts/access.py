"""Who may see and change what: roles held at nodes of the place tree.

Every view and API handler reaches domain objects through an ``access_*`` helper
that returns the object, or raises ``Http404`` when it lies outside the caller's
scope (so nothing leaks about its existence), or ``PermissionDenied`` when the
caller may only read it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied
from django.http import Http404

from linli.accounts.models import (
    READ_ONLY_ROLES,
    REVEAL_ROLES,
    STAFF_ROLES,
    ApiKey,
    Role,
    RoleAssignment,
)

if TYPE_CHECKING:
    from linli.places.models import Place

ALL_ROLES = frozenset(Role.values)
_CACHE_ATTR = "_linli_grants"


@dataclass(frozen=True)
class Grant:
    role: str
    place_id: int
    path: str
    place_kind: str

    @property
    def read_only(self) -> bool:
        return self.role in READ_ONLY_ROLES


def grants_for(principal: Any) -> list[Grant]:
    """The active grants of a user or API key, loaded once per request (one query)."""
    if principal is None:
        return []
    cached = getattr(principal, _CACHE_ATTR, None)
    if cached is not None:
        return cached
    grants: list[Grant]
    if isinstance(principal, ApiKey):
        if principal.revoked_at is not None or not principal.place.is_active:
            grants = []
        else:
            place = principal.place
            grants = [Grant(principal.role, place.pk, place.path, place.kind)]
    elif getattr(principal, "is_authenticated", False):
        rows = (
            RoleAssignment.objects.active()
            .filter(user=principal, place__is_active=True)
            .values_list("role", "place_id", "place__path", "place__kind")
        )
        grants = [Grant(role, place_id, path, kind) for role, place_id, path, kind in rows]
    else:
        grants = []
    setattr(principal, _CACHE_ATTR, grants)
    return grants


def forget_grants(principal: Any) -> None:
    if hasattr(principal, _CACHE_ATTR):
        delattr(principal, _CACHE_ATTR)


def roles_of(principal: Any) -> set[str]:
    return {grant.role for grant in grants_for(principal)}


def is_staff_member(principal: Any) -> bool:
    return bool(roles_of(principal) & STAFF_ROLES)


def scope_paths(principal: Any, *, roles: Iterable[str] = STAFF_ROLES, write: bool = False) -> list[str]:
    """Paths of the nodes below which ``principal`` holds one of ``roles``."""
    wanted = set(roles)
    return [g.path for g in grants_for(principal) if g.role in wanted and not (write and g.read_only)]


def grant_covering(principal: Any, path: str, *, roles: Iterable[str] = STAFF_ROLES) -> list[Grant]:
    wanted = set(roles)
    return [g for g in grants_for(principal) if g.role in wanted and path.startswith(g.path)]


def check_path(principal: Any, path: str, *, write: bool = False, roles: Iterable[str] = STAFF_ROLES) -> None:
    """Raise 404 when no grant covers ``path``, 403 when only read-only grants do."""
    covering = grant_covering(principal, path, roles=roles)
    if not covering:
        raise Http404
    if write and all(g.read_only for g in covering):
        raise PermissionDenied


def can_reveal(principal: Any, path: str) -> bool:
    return bool(grant_covering(principal, path, roles=REVEAL_ROLES))


def access_place(principal: Any, pk: int, *, write: bool = False, roles: Iterable[str] = STAFF_ROLES) -> Place:
    from linli.places.models import Place

    place = Place.objects.filter(pk=pk).first()
    if place is None:
        raise Http404
    check_path(principal, place.path, write=write, roles=roles)
    return place
