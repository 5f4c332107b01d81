"""Helpers the deliberation services share: who acts, text checks, role checks inside
services (where integrity depends on them), the configuration and the audit call."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.utils.translation import gettext as _

from linli.accounts.access import grant_covering, grants_for
from linli.accounts.models import Role, User
from linli.accounts.principals import principal_label, principal_user
from linli.audit.services import audit_record
from linli.core.text import clean_text as clean_text  # re-exported for the services here
from linli.deliberation.models import DeliberationConfig
from linli.places.models import SEGMENT, Place, PlaceKind

label = principal_label
user_of = principal_user


def require_role(principal: Any, path: str, roles: Iterable[str]) -> None:
    """Refuse unless ``principal`` holds one of ``roles`` (not read-only) covering ``path``."""
    if not [g for g in grant_covering(principal, path, roles=roles) if not g.read_only]:
        raise PermissionDenied(_("您在此范围内没有进行该操作的权限。"))


def has_role(principal: Any, path: str, roles: Iterable[str]) -> bool:
    return bool([g for g in grant_covering(principal, path, roles=roles) if not g.read_only])


def resident_paths(principal: Any) -> list[str]:
    """Where a signed-in resident lives: their resident grants and their household."""
    paths = [g.path for g in grants_for(principal) if g.role == Role.RESIDENT]
    resident = getattr(principal, "resident", None) if isinstance(principal, User) else None
    if resident is not None and resident.status == "active":
        paths.append(Place.objects.filter(pk=resident.household.place_id).values_list("path", flat=True).get())
    return paths


def lives_in(principal: Any, place: Place) -> bool:
    return any(path.startswith(place.path) for path in resident_paths(principal))


def community_of(place: Place) -> Place:
    if place.kind == PlaceKind.COMMUNITY:
        return place
    if place.community_id is None:
        raise ValidationError({"place": [_("请选择社区或社区以下的地点。")]})
    return Place.objects.get(pk=place.community_id)


def config_for(place: Place) -> DeliberationConfig:
    """The most specific configuration: this place or the nearest above it, else the
    default row, else the built-in defaults."""
    prefixes = [place.path[:i] for i in range(SEGMENT, len(place.path) + 1, SEGMENT)]
    rows = {row.place.path if row.place is not None else "": row
            for row in DeliberationConfig.objects.select_related("place").filter(
                models.Q(place__path__in=prefixes) | models.Q(place__isnull=True))}
    for prefix in reversed(prefixes):
        if prefix in rows:
            return rows[prefix]
    return rows.get("") or DeliberationConfig()


def audit(by: Any, action: str, obj: models.Model, *, community_id: int | None, **after: Any) -> None:
    audit_record(actor=user_of(by), action=f"deliberation.{action}", obj=obj, after=after or None,
                 community_id=community_id)
