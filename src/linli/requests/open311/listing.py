"""GET Service Requests, GET Service Request and GET Service Request Updates: rows as the
plain dicts the spec names.

Each list is a fixed number of queries whatever its length: the page itself (one table,
``values()``, no joins: see ``names.py``), and, when the caller may see them, the codes
of the requests' places, the page's photos and (``extensions=true``) the histories. The page is ordered by ``-submitted_at, -id``, which walks an index
backwards and stops at the page's end; nothing is counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from linli.places.models import Place
from linli.requests.models import (
    OPEN_STATUSES,
    Attachment,
    CloseReason,
    EventKind,
    Request,
    RequestEvent,
    Status,
)
from linli.requests.open311 import names
from linli.requests.open311.callers import Caller, in_scope, media_token
from linli.requests.open311.catalogue import service_name
from linli.requests.open311.params import Open311Error, Page, Window
from linli.requests.open311.render import w3c

OPEN = frozenset(status.value for status in OPEN_STATUSES)
CLOSED = Status.CLOSED.value
RESOLVED = Status.RESOLVED.value
CLOSE_LABELS = {reason.value: reason.label for reason in CloseReason}

_PUBLIC_FIELDS = ("id", "status", "close_reason", "category_id", "organisation_id", "community_id", "submitted_at",
                  "updated_at", "resolved_at", "closed_at", "accept_due_at", "resolve_due_at")
# Only for keys of staff roles, inside their scope.
_PERSONAL_FIELDS = ("description", "address", "lat", "long", "place_id", "answer", "resolution")


def open311_status(status: str) -> str:
    return "open" if status in OPEN else "closed"


def statuses_for(wanted: set[str]) -> list[str]:
    if wanted == {"open"}:
        return sorted(OPEN)
    if wanted == {"closed"}:
        return [RESOLVED, CLOSED]
    return []  # both, or none: no filter


@dataclass(frozen=True)
class Listing:
    caller: Caller
    extensions: bool
    media_url: str  # the photo address, with "TOKEN" where each photo's token goes


@dataclass(frozen=True)
class RequestFilter:
    ids: list[int]
    category_ids: list[int] | None
    statuses: list[str]
    window: Window


def _photos(listing: Listing, *, field: str, ids: list[int]) -> dict[int, str]:
    """The first public photo of each row (of each request, or of each event)."""
    if not listing.caller.full or not ids:
        return {}
    rows = (Attachment.objects.filter(**{f"{field}__in": ids}, public=True)
            .order_by(field, "uploaded_at", "id").values_list(field, "id"))
    out: dict[int, str] = {}
    for owner, pk in rows:
        if owner not in out:
            out[owner] = listing.media_url.replace("TOKEN", media_token(pk))
    return out


def _histories(listing: Listing, ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {pk: [] for pk in ids}
    if not ids:
        return out
    full = listing.caller.full
    rows = (RequestEvent.objects.filter(request_id__in=ids, public=True).order_by("request_id", "at", "id")
            .values_list("request_id", "kind", "at", "body"))
    for request_id, kind, at, body in rows:
        out[request_id].append({"kind": kind, "at": w3c(at), "body": (body or None) if full else None})
    return out


Names = dict[int, tuple[Any, ...]]


def _names(rows: list[dict[str, Any]], full: bool) -> tuple[Names, Names, Names, dict[int, str]]:
    """Categories, communities and partners from the per-process copies (usually no
    query); the codes of the requests' own places, for keyed callers, in one query."""
    cats = names.categories.get({row["category_id"] for row in rows})
    communities = names.communities.get({row["community_id"] for row in rows})
    organisations = names.organisations.get({row["organisation_id"] for row in rows if row["organisation_id"]})
    place_ids = {row["place_id"] for row in rows} if full else set()
    codes = dict(Place.objects.filter(pk__in=place_ids).values_list("id", "code")) if place_ids else {}
    return cats, communities, organisations, codes


def _notes(row: dict[str, Any], full: bool) -> str | None:
    label = str(CLOSE_LABELS[row["close_reason"]]) if row["close_reason"] in CLOSE_LABELS else ""
    if full:
        return row["answer"] or row["resolution"] or label or None
    # The close reason is a fixed label; a written answer may name people.
    return label or None


def _rows_to_requests(listing: Listing, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not rows:
        return []
    full = listing.caller.full
    ids = [row["id"] for row in rows]
    categories, communities, organisations, codes = _names(rows, full)
    services: dict[int, tuple[str, str]] = {}
    for pk in {row["category_id"] for row in rows}:
        code, name, name_en = categories.get(pk, ("", "", ""))
        services[pk] = (code, service_name(name, name_en))
    media = _photos(listing, field="request_id", ids=ids)
    histories = _histories(listing, ids) if listing.extensions else {}
    items = []
    for row in rows:
        status = row["status"]
        updated: datetime = (row["closed_at"] if status == CLOSED else row["resolved_at"] if status == RESOLVED
                             else None) or row["updated_at"]
        code, name = services[row["category_id"]]
        item: dict[str, Any] = {
            "service_request_id": str(row["id"]),
            "status": "open" if status in OPEN else "closed",
            "status_notes": _notes(row, full),
            "service_name": name,
            "service_code": code,
            "description": (row["description"] or None) if full else None,
            "agency_responsible": organisations.get(row["organisation_id"], ("",))[0]
            or communities.get(row["community_id"], ("",))[0] or None,
            "service_notice": None,
            "requested_datetime": w3c(row["submitted_at"]),
            "updated_datetime": w3c(updated),
            "expected_datetime": w3c(row["resolve_due_at"] or row["accept_due_at"]),
            "address": (row["address"] or None) if full else None,
            "address_id": codes.get(row["place_id"]) if full else None,
            "zipcode": None,
            "lat": float(row["lat"]) if full and row["lat"] is not None else None,
            "long": float(row["long"]) if full and row["long"] is not None else None,
            "media_url": media.get(row["id"]),
        }
        if listing.extensions:
            item["detailed_status"] = status
            item["history"] = histories[row["id"]]
        items.append(item)
    return items


def _fields(caller: Caller) -> tuple[str, ...]:
    return _PUBLIC_FIELDS + _PERSONAL_FIELDS if caller.full else _PUBLIC_FIELDS


def request_page(caller: Caller, wanted: RequestFilter, page: Page) -> QuerySet[Any]:
    """The page of rows as one ``values()`` query (its plan is checked in the tests)."""
    rows = in_scope(caller, Request.objects.all())
    if wanted.ids:
        # "This overrides all other arguments" (GeoReport v2); the ids are few.
        rows = rows.filter(pk__in=wanted.ids)
        bounds = slice(0, len(wanted.ids))
    else:
        if wanted.category_ids is not None:
            rows = rows.filter(category_id__in=wanted.category_ids)
        if wanted.statuses:
            rows = rows.filter(status__in=wanted.statuses)
        rows = rows.filter(submitted_at__gte=wanted.window.start)
        if wanted.window.end is not None:
            rows = rows.filter(submitted_at__lte=wanted.window.end)
        bounds = slice(page.offset, page.offset + page.size)
    return rows.order_by("-submitted_at", "-id").values(*_fields(caller))[bounds]


def request_list(listing: Listing, wanted: RequestFilter, page: Page) -> list[dict[str, Any]]:
    return _rows_to_requests(listing, list(request_page(listing.caller, wanted, page)))


def request_one(listing: Listing, pk: int) -> dict[str, Any]:
    rows = list(in_scope(listing.caller, Request.objects.filter(pk=pk)).values(*_fields(listing.caller)))
    if not rows:
        raise Open311Error(404, _("找不到该诉求（service_request_id：%(id)s）。") % {"id": pk})
    return _rows_to_requests(listing, rows)[0]


def update_list(listing: Listing, window: Window, page: Page) -> list[dict[str, Any]]:
    """Public events after intake (replies, status changes, the resolution), oldest first."""
    rows = in_scope(listing.caller, RequestEvent.objects.filter(public=True).exclude(kind=EventKind.SUBMITTED),
                    through="request__")
    rows = rows.filter(at__gte=window.start)
    if window.end is not None:
        rows = rows.filter(at__lte=window.end)
    page_rows = list(rows.order_by("at", "id").values_list("id", "request_id", "status", "at", "body", "kind")
                     [page.offset:page.offset + page.size])
    media = _photos(listing, field="event_id", ids=[row[0] for row in page_rows])
    full = listing.caller.full
    out = []
    for pk, request_id, status, at, body, kind in page_rows:
        item: dict[str, Any] = {
            "update_id": str(pk),
            "service_request_id": str(request_id),
            "status": open311_status(status),
            "updated_datetime": w3c(at),
            "description": (body or None) if full else None,
            "media_url": media.get(pk),
        }
        if listing.extensions:
            item["detailed_status"] = status
            item["kind"] = kind
        out.append(item)
    return out
