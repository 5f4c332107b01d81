"""Who reaches a request.

Staff reach the requests below the nodes where they hold a request role (auditors only
read them). A partner's members reach what is dispatched to their organisation, inside
their grant. A resident reaches the requests they reported or follow, through
``access_own_request``. Everyone else gets 404: nothing leaks about its existence.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404

from linli.accounts.access import grant_covering, scope_paths
from linli.accounts.models import Role, User
from linli.requests.models import (
    RATES_ROLES,
    REQUEST_MANAGE_ROLES,
    REQUEST_VIEW_ROLES,
    REQUEST_WORK_ROLES,
    Follower,
    Request,
    RequestQuerySet,
)


def _partner_reaches(principal: Any, request: Request) -> bool:
    organisation_id = getattr(principal, "organisation_id", None)
    return bool(
        organisation_id
        and request.organisation_id == organisation_id
        and grant_covering(principal, request.place_path, roles=[Role.PARTNER])
    )


def check_request(principal: Any, request: Request, *, write: bool = False, manage: bool = False) -> None:
    """404 outside scope, 403 where the caller may only read (or may work but not manage)."""
    staff = grant_covering(principal, request.place_path, roles=REQUEST_VIEW_ROLES)
    if not staff:
        if _partner_reaches(principal, request) and not manage:
            return
        raise Http404
    if manage:
        if not [g for g in staff if g.role in REQUEST_MANAGE_ROLES and not g.read_only]:
            raise PermissionDenied
    elif write and not [g for g in staff if g.role in REQUEST_WORK_ROLES and not g.read_only]:
        raise PermissionDenied


def access_request(principal: Any, pk: int, *, write: bool = False, manage: bool = False) -> Request:
    request = Request.objects.select_related("category", "community", "place", "grid", "handler",
                                             "organisation", "reporter").filter(pk=pk).first()
    if request is None:
        raise Http404
    check_request(principal, request, write=write, manage=manage)
    return request


def access_own_request(user: Any, pk: int) -> Request:
    """A resident's own request (reported, or followed after a merge or a "me too")."""
    if not getattr(user, "is_authenticated", False):
        raise Http404
    request = Request.objects.select_related("category", "community", "place", "organisation").filter(pk=pk).first()
    if request is None:
        raise Http404
    if request.reporter_id != user.pk and not Follower.objects.filter(request=request, user=user).exists():
        raise Http404
    return request


def visible_requests(principal: Any) -> RequestQuerySet:
    """Every request the principal reaches as staff or partner (not as a resident)."""
    paths = scope_paths(principal, roles=REQUEST_VIEW_ROLES)
    query = Q()
    for path in paths:
        query |= Q(place_path__startswith=path)
    organisation_id = getattr(principal, "organisation_id", None)
    partner_paths = scope_paths(principal, roles=[Role.PARTNER]) if organisation_id else []
    if partner_paths:
        partner = Q()
        for path in partner_paths:
            partner |= Q(place_path__startswith=path)
        query |= partner & Q(organisation_id=organisation_id)
    if not query:
        return Request.objects.none()
    return Request.objects.filter(query)


def can_work_on_requests(principal: Any) -> bool:
    # A partner not yet linked to an organisation sees an empty queue, not a refusal.
    return bool(scope_paths(principal, roles=REQUEST_VIEW_ROLES | {Role.PARTNER}))


def require_queue(principal: Any) -> None:
    if not can_work_on_requests(principal):
        raise PermissionDenied


def can_manage(principal: Any, request: Request) -> bool:
    return bool([g for g in grant_covering(principal, request.place_path, roles=REQUEST_MANAGE_ROLES)
                 if not g.read_only])


def can_work(principal: Any, request: Request) -> bool:
    if _partner_reaches(principal, request):
        return True
    return bool([g for g in grant_covering(principal, request.place_path, roles=REQUEST_WORK_ROLES)
                 if not g.read_only])


def rates_paths(principal: Any) -> list[str]:
    return scope_paths(principal, roles=RATES_ROLES)


def require_rates(principal: Any) -> list[str]:
    paths = rates_paths(principal)
    if not paths:
        raise PermissionDenied
    return paths


def is_resident(user: Any) -> bool:
    return isinstance(user, User) and bool(scope_paths(user, roles=[Role.RESIDENT]))
