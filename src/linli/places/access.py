"""Who may see and import parts of the place tree (objects go through
``linli.accounts.access.access_place``; these are the role sets it is called with)."""

from __future__ import annotations

from typing import Any

from linli.accounts.access import scope_paths
from linli.accounts.models import Role
from linli.places.models import Place, PlaceKind, PlaceQuerySet
from linli.places.selectors import minimal_paths

# Staff who work with the tree (partners see only what is assigned to them).
PLACE_VIEW_ROLES = frozenset(
    {Role.GRID_WORKER, Role.COMMUNITY_STAFF, Role.COMMITTEE_LEAD, Role.STREET_SUPERVISOR, Role.AUDITOR}
)
# Who may import (add to and rename) the tree below their node.
PLACE_IMPORT_ROLES = frozenset({Role.COMMITTEE_LEAD, Role.STREET_SUPERVISOR})
# Nodes offered as "import below": the levels a file usually fills in under.
IMPORT_TARGET_KINDS = (PlaceKind.DISTRICT, PlaceKind.STREET, PlaceKind.COMMUNITY, PlaceKind.GRID)


def can_import(principal: Any) -> bool:
    return bool(scope_paths(principal, roles=PLACE_IMPORT_ROLES, write=True))


def import_targets(principal: Any) -> PlaceQuerySet:
    """Active nodes a user may import below, in tree order."""
    paths = minimal_paths(scope_paths(principal, roles=PLACE_IMPORT_ROLES, write=True))
    return Place.objects.below_any(paths).active().filter(kind__in=IMPORT_TARGET_KINDS).order_by("path")
