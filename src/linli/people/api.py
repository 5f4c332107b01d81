"""The people registry over JSON: masked by default, a reveal is one logged POST.

Errors use the project's shape (``linli.api`` turns ``Http404``, ``PermissionDenied``
and ``ValidationError`` into ``{"error": {"code", "message", "fields"}}``).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from linli.accounts.access import access_place
from linli.accounts.models import User
from linli.core.api_schemas import Error
from linli.people.access import access_resident, require_registry
from linli.people.models import REGISTRY_ROLES, Resident, ResidentStatus, SpecialGroup
from linli.people.selectors import (
    may_filter_group,
    may_search_numbers,
    number_query,
    resident_public_view,
    resident_search,
)
from linli.people.services import (
    REASON_MAX,
    REVEALABLE_FIELDS,
    number_search_record,
    sensitive_reveal,
)

router = Router(tags=["people"])
PAGE_SIZE = 50


class ResidentOut(Schema):
    """A resident as every response shows them: sensitive values masked."""

    id: int
    name: str
    age: int | None
    minor: bool = Field(description="Under 14: everything beyond name and age is hidden")
    gender: str
    birth_date: str
    household_role: str
    status: str
    household_id: int
    household_ref: str
    address: str
    community_id: int
    groups: list[str] = Field(description="Sensitive groups show as 已隐藏 unless the caller may reveal")
    id_number: str = Field(description="Masked, e.g. 110***********1234")
    phone: str = Field(description="Masked, e.g. 138****5678")
    health: str = Field(description="Whether something is recorded, not what")
    disability: str
    income_status: str


class ResidentPage(Schema):
    count: int
    page: int
    pages: int
    items: list[ResidentOut]
    note: str = Field("", description="Why a search by number was run as a name search, if it was")


class ResidentFilters(Schema):
    q: str = Field(
        "", max_length=60,
        description="A name (part), or a full phone or ID number (exact; only for callers who may reveal, and logged)",
    )
    place: int | None = Field(None, description="A grid or building id in scope")
    group: str = Field("", description="A special-group code")
    status: str = Field("", description="active, moved_out or deceased")
    page: int = Field(1, ge=1)


class RevealIn(Schema):
    field: str = Field(..., description=", ".join(REVEALABLE_FIELDS))
    reason: str = Field(..., min_length=1, max_length=REASON_MAX)


class RevealOut(Schema):
    field: str
    value: str


def _principal(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


@router.get(
    "/residents", response={200: ResidentPage, 401: Error, 403: Error, 404: Error, 422: Error},
    summary="Residents in the caller's scope (masked)",
)
def resident_list(request: HttpRequest, filters: Query[ResidentFilters]) -> dict[str, Any]:
    principal = _principal(request)
    require_registry(principal)
    errors: dict[str, str] = {}
    if filters.group and filters.group not in SpecialGroup.values:
        errors["group"] = _("未知的特殊群体。")
    elif filters.group and not may_filter_group(principal, filters.group):
        errors["group"] = _("按该特殊群体筛选需要查看权限。")
    if filters.status and filters.status not in ResidentStatus.values:
        errors["status"] = _("未知的状态。")
    if errors:
        raise ValidationError(errors)
    place = access_place(principal, filters.place, roles=REGISTRY_ROLES) if filters.place is not None else None
    residents = resident_search(principal, q=filters.q, place=place, group=filters.group, status=filters.status)
    paginator = Paginator(residents, PAGE_SIZE)
    page = paginator.get_page(filters.page)
    hits = list(page.object_list)
    number_field = number_query(filters.q)[0] if filters.q.strip() else ""
    note = ""
    if number_field and may_search_numbers(principal):
        number_search_record(field=number_field, hits=hits, by=principal)
    elif number_field:
        note = _("按号码精确查找需要查看权限，已按姓名查找。")
    return {
        "count": paginator.count,
        "page": page.number,
        "pages": paginator.num_pages,
        "items": [resident_public_view(resident, principal) for resident in hits],
        "note": note,
    }


@router.get(
    "/residents/{resident_id}", response={200: ResidentOut, 401: Error, 404: Error},
    summary="One resident in scope (masked)",
)
def resident_detail(request: HttpRequest, resident_id: int) -> dict[str, Any]:
    principal = _principal(request)
    resident = access_resident(principal, resident_id)
    return resident_public_view(resident, principal)


@router.post(
    "/residents/{resident_id}/reveal",
    response={200: RevealOut, 401: Error, 403: Error, 404: Error, 422: Error},
    summary="Reveal one sensitive value (needs a reveal role; logged with the reason)",
)
def resident_reveal(
    request: HttpRequest, response: HttpResponse, resident_id: int, payload: RevealIn,
) -> dict[str, str]:
    patch_cache_control(response, no_store=True, private=True)
    principal = _principal(request)
    resident = access_resident(principal, resident_id)
    value = sensitive_reveal(user=principal, resident=resident, field=payload.field, reason=payload.reason)
    return {"field": payload.field, "value": value}


@router.get("/me", response={200: ResidentOut, 401: Error, 404: Error}, summary="The caller's own record (masked)")
def me(request: HttpRequest) -> dict[str, Any]:
    principal = _principal(request)
    resident = None
    if isinstance(principal, User):
        resident = Resident.objects.select_related("household__place").filter(user=principal).first()
    if resident is None:
        raise Http404
    return resident_public_view(resident, principal)
