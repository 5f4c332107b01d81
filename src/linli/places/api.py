from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema

from linli.accounts.access import access_place

router = Router(tags=["places"])


class PlaceOut(Schema):
    id: int
    kind: str
    name: str
    code: str
    address: str
    parent_id: int | None


@router.get("/{place_id}", response=PlaceOut, summary="One place node in scope")
def place_detail(request: HttpRequest, place_id: int) -> object:
    return access_place(request.auth, place_id)  # type: ignore[attr-defined]
