from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from linli.accounts.models import Role
from linli.accounts.services import apikey_create
from linli.places.models import PlaceKind
from linli.places.services import place_create
from tests.conftest import Personas, Tree, login

pytestmark = pytest.mark.django_db
BASE = "/api/v1/places"


def test_roots_in_scope(client: Client, tree: Tree, personas: Personas) -> None:
    response = login(client, personas.staff).get(f"{BASE}/")
    assert response.status_code == 200
    data = response.json()
    assert [(p["code"], p["children_count"]) for p in data] == [("c1", 2)]
    assert data[0]["kind_label"] == str(PlaceKind.COMMUNITY.label)


def test_roots_need_auth(client: Client, tree: Tree) -> None:
    response = client.get(f"{BASE}/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


def test_detail(client: Client, tree: Tree, personas: Personas) -> None:
    response = login(client, personas.staff).get(f"{BASE}/{tree.unit.pk}")
    assert response.status_code == 200
    data = response.json()
    assert data["address"] == "朝阳区和平街道樱花园社区3号楼2单元"
    assert [p["name"] for p in data["breadcrumb"]] == ["朝阳区", "和平街道", "樱花园社区", "第一网格", "3号楼"]
    assert data["counts"] == [{"kind": "household", "label": str(PlaceKind.HOUSEHOLD.label), "count": 2}]


@pytest.mark.parametrize(("who", "code"), [("outside_staff", "c1"), ("staff", "s1"), ("resident", "h1"), ("partner", "c1")])
def test_detail_outside_scope_is_404(client: Client, tree: Tree, personas: Personas, who: str, code: str) -> None:
    from linli.places.models import Place

    place = Place.objects.get(code=code)
    response = login(client, getattr(personas, who)).get(f"{BASE}/{place.pk}")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": response.json()["error"]["message"], "fields": {}}}


def test_children_paginated(client: Client, tree: Tree, personas: Personas) -> None:
    for n in range(5):
        place_create(parent=tree.unit, kind=PlaceKind.HOUSEHOLD, name=f"{n + 700}", code=f"hh{n}")
    login(client, personas.staff)
    response = client.get(f"{BASE}/{tree.unit.pk}/children", {"page": 2, "page_size": 3})
    assert response.status_code == 200
    data = response.json()
    assert data["count"] == 7
    assert [p["code"] for p in data["items"]] == ["hh1", "hh2", "hh3"]  # after h1, h2, hh0
    assert client.get(f"{BASE}/{tree.unit.pk}/children", {"page": 0}).status_code == 422


def test_children_outside_scope_is_404(client: Client, tree: Tree, personas: Personas) -> None:
    response = login(client, personas.outside_staff).get(f"{BASE}/{tree.community.pk}/children")
    assert response.status_code == 404


def test_children_constant_queries(client: Client, tree: Tree, personas: Personas) -> None:
    login(client, personas.staff)
    url = f"{BASE}/{tree.unit.pk}/children"
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    for n in range(30):
        place_create(parent=tree.unit, kind=PlaceKind.HOUSEHOLD, name=f"{n + 700}", code=f"hh{n}")
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)
    assert response.json()["count"] == 32
    assert len(many) == len(few)
    assert len(few) <= 6


def test_api_key_scope(client: Client, tree: Tree) -> None:
    _key, raw = apikey_create(name="物业系统", place=tree.grid, role=Role.GRID_WORKER)
    headers = {"HTTP_X_API_KEY": raw}
    assert [p["code"] for p in client.get(f"{BASE}/", **headers).json()] == ["g1"]  # type: ignore[arg-type]
    assert client.get(f"{BASE}/{tree.building.pk}", **headers).status_code == 200  # type: ignore[arg-type]
    assert client.get(f"{BASE}/{tree.other_grid.pk}", **headers).status_code == 404  # type: ignore[arg-type]
    assert client.get(f"{BASE}/{tree.building.pk}", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200


def test_openapi_declares_the_place_schemas(client: Client, tree: Tree, personas: Personas) -> None:
    from linli.places.api import router

    paths = {(route, method) for route, view in router.path_operations.items() for op in view.operations for method in op.methods}
    assert paths == {("/", "GET"), ("/{place_id}", "GET"), ("/{place_id}/children", "GET")}
    for view in router.path_operations.values():
        for op in view.operations:
            assert 200 in op.response_models and 401 in op.response_models
