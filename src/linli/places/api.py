from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.pagination import paginate

from linli.accounts.access import access_place, scope_paths
from linli.core.api_schemas import BoundedPageNumberPagination, Error
from linli.places import selectors
from linli.places.access import PLACE_VIEW_ROLES
from linli.places.models import Place, PlaceKind

router = Router(tags=["places"])


class PlaceOut(Schema):
    id: int
    kind: str
    kind_label: str
    name: str
    code: str
    address: str
    parent_id: int | None
    community_id: int | None
    depth: int
    households_count: int
    is_active: bool

    @staticmethod
    def resolve_kind_label(obj: Place) -> str:
        return str(PlaceKind(obj.kind).label)


class PlaceNodeOut(PlaceOut):
    children_count: int


class PlaceRef(Schema):
    id: int
    kind: str
    name: str


class KindCount(Schema):
    kind: str
    label: str
    count: int


class PlaceDetailOut(PlaceOut):
    breadcrumb: list[PlaceRef]
    counts: list[KindCount]


def _principal(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


@router.get("/", response={200: list[PlaceNodeOut], 401: Error}, summary="The top nodes of the caller's scope")
def place_roots(request: HttpRequest) -> Any:
    return list(selectors.scope_roots(scope_paths(_principal(request), roles=PLACE_VIEW_ROLES)))


@router.get("/{place_id}", response={200: PlaceDetailOut, 401: Error, 404: Error}, summary="One place node in scope")
def place_detail(request: HttpRequest, place_id: int) -> Any:
    place = access_place(_principal(request), place_id, roles=PLACE_VIEW_ROLES)
    place.breadcrumb = selectors.ancestors(place)  # type: ignore[attr-defined]
    place.counts = selectors.labelled_counts(selectors.counts_below(place))  # type: ignore[attr-defined]
    return place


@router.get("/{place_id}/children", response={200: list[PlaceNodeOut], 401: Error, 404: Error},
            summary="The nodes directly below one node, in tree order")
@paginate(BoundedPageNumberPagination, page_size=100, max_page_size=500)
def place_children(request: HttpRequest, place_id: int) -> Any:
    place = access_place(_principal(request), place_id, roles=PLACE_VIEW_ROLES)
    return selectors.children(place)
