"""Reads of requests that are more than a get: the staff queue with its filters, the
people a request can go to, a resident's own requests and timeline."""

from __future__ import annotations

from linli.accounts.models import Organisation, RoleAssignment, User
from linli.requests.models import (
    HANDLER_ROLES,
)
from linli.requests.services import ancestor_paths


def handler_choices(place_path: str) -> list[User]:
    """Staff who may be given a request at ``place_path``."""
    prefixes = ancestor_paths(place_path)
    ids = RoleAssignment.objects.active().filter(role__in=list(HANDLER_ROLES), place__path__in=prefixes,
                                                 user__is_active=True).values("user_id")
    return list(User.objects.filter(pk__in=ids).order_by("username"))


def organisation_choices(place_path: str) -> list[Organisation]:
    prefixes = ancestor_paths(place_path)
    return list(Organisation.objects.filter(is_active=True, place__path__in=prefixes).order_by("name"))

