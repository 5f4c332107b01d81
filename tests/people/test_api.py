from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from linli.accounts.models import Role
from linli.accounts.services import apikey_create
from linli.audit.models import AuditEvent
from linli.core.crypto import mask
from linli.people.models import SensitiveAccess, SpecialGroup
from linli.people.services import resident_create, tag_add
from tests.conftest import Personas, Tree, login
from tests.people.conftest import MY_HEALTH, MY_ID, MY_PHONE, People, make_id
from tests.people.test_views import assert_masked

pytestmark = pytest.mark.django_db

BASE = "/api/v1/people"


def test_list_is_masked_and_scoped(client: Client, personas: Personas, people: People) -> None:
    login(client, personas.staff)
    response = client.get(f"{BASE}/residents")
    assert response.status_code == 200
    assert_masked(response.content.decode())
    data = response.json()
    assert data["count"] == 3 and data["page"] == 1 and data["pages"] == 1
    me = next(item for item in data["items"] if item["id"] == people.me.pk)
    assert me["phone"] == mask(MY_PHONE) and me["id_number"] == mask(MY_ID) and me["health"] == "已登记"
    assert me["address"].endswith("3号楼2单元502室")
    child = next(item for item in data["items"] if item["id"] == people.child.pk)
    assert child["minor"] is True and child["gender"] == child["birth_date"] == child["phone"] == "已隐藏"


def test_list_filters(client: Client, personas: Personas, people: People, tree: Tree) -> None:
    tag_add(resident=people.neighbour, group=SpecialGroup.DIBAO, by=None)
    login(client, personas.staff)
    names = lambda params: {i["name"] for i in client.get(f"{BASE}/residents", params).json()["items"]}  # noqa: E731
    assert names({"q": MY_PHONE}) == {"王秀英"}
    assert names({"q": MY_ID}) == {"王秀英"}
    assert names({"q": "建国"}) == {"李建国"}
    assert names({"group": SpecialGroup.DIBAO}) == {"李建国"}
    assert names({"place": tree.grid.pk}) == {"王秀英", "王小明", "李建国"}
    assert names({"place": tree.other_grid.pk}) == set()
    response = client.get(f"{BASE}/residents", {"place": tree.far_household.pk})
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    response = client.get(f"{BASE}/residents", {"group": "martians", "status": "asleep"})
    assert response.status_code == 422
    assert set(response.json()["error"]["fields"]) == {"group", "status"}
    assert client.get(f"{BASE}/residents", {"page": 0}).status_code == 422


def test_list_for_roles_without_the_registry(client: Client, personas: Personas, people: People) -> None:
    for who in ("resident", "partner", "outsider"):
        login(client, getattr(personas, who))
        response = client.get(f"{BASE}/residents")
        assert response.status_code == 403, who
        assert response.json()["error"]["code"] == "forbidden"
    client.logout()
    assert client.get(f"{BASE}/residents").status_code == 401


def test_list_query_count_is_constant(client: Client, personas: Personas, people: People) -> None:
    login(client, personas.staff)
    client.get(f"{BASE}/residents")

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(f"{BASE}/residents").status_code == 200
        return len(ctx.captured_queries)

    few = count()
    for i in range(55):
        resident = resident_create(
            household=people.household, name=f"居民{i}", id_number=make_id(date(1950 + i, 2, 3), i), by=None
        )
        tag_add(resident=resident, group=SpecialGroup.EMPTY_NEST, by=None)
    many = count()
    assert few == many <= 8
    assert client.get(f"{BASE}/residents", {"page": 2}).json()["items"]


def test_detail(client: Client, personas: Personas, people: People) -> None:
    login(client, personas.grid_worker)
    response = client.get(f"{BASE}/residents/{people.me.pk}")
    assert response.status_code == 200 and response.json()["name"] == "王秀英"
    assert_masked(response.content.decode())
    for who in ("outside_staff", "resident", "other_resident", "partner"):
        login(client, getattr(personas, who))
        response = client.get(f"{BASE}/residents/{people.me.pk}")
        assert response.status_code == 404, who
        assert MY_PHONE not in response.content.decode()


def test_reveal(client: Client, personas: Personas, people: People) -> None:
    login(client, personas.staff)
    url = f"{BASE}/residents/{people.me.pk}/reveal"
    response = client.post(url, {"field": "health", "reason": "救助评估"}, content_type="application/json")
    assert response.status_code == 200
    assert response.json() == {"field": "health", "value": MY_HEALTH}
    access = SensitiveAccess.objects.get()
    assert (access.user, access.field, access.reason) == (personas.staff, "health", "救助评估")
    assert AuditEvent.objects.filter(action="resident.reveal").count() == 1


def test_reveal_errors(client: Client, personas: Personas, people: People) -> None:
    url = f"{BASE}/residents/{people.me.pk}/reveal"
    body = {"field": "phone", "reason": "看一下"}
    login(client, personas.auditor)
    response = client.post(url, body, content_type="application/json")
    assert response.status_code == 403 and MY_PHONE not in response.content.decode()
    login(client, personas.street_supervisor)
    assert client.post(url, body, content_type="application/json").status_code == 403
    login(client, personas.outside_staff)
    assert client.post(url, body, content_type="application/json").status_code == 404
    login(client, personas.staff)
    response = client.post(url, {"field": "phone"}, content_type="application/json")
    assert response.status_code == 422 and "reason" in response.json()["error"]["fields"]
    response = client.post(url, {"field": "password", "reason": "x"}, content_type="application/json")
    assert response.status_code == 422 and "field" in response.json()["error"]["fields"]
    response = client.post(url, "not json", content_type="application/json")
    assert response.status_code in (400, 422)
    assert not SensitiveAccess.objects.exists()


def test_reveal_with_an_api_key_is_attributed_to_the_key(client: Client, tree: Tree, people: People) -> None:
    key, secret = apikey_create(name="区级平台", place=tree.community, role=Role.COMMUNITY_STAFF)
    response = client.post(
        f"{BASE}/residents/{people.me.pk}/reveal", {"field": "phone", "reason": "数据核对"},
        content_type="application/json", headers={"X-API-Key": secret},
    )
    assert response.status_code == 200 and response.json()["value"] == MY_PHONE
    access = SensitiveAccess.objects.get()
    assert access.user is None and access.actor_label == f"apikey:{key.prefix}"
    event = AuditEvent.objects.get(action="resident.reveal")
    assert event.actor_id is None and event.after["by"] == f"apikey:{key.prefix}"
    partner_key, partner_secret = apikey_create(name="物业", place=tree.community, role=Role.PARTNER)
    assert client.get(f"{BASE}/residents", headers={"X-API-Key": partner_secret}).status_code == 403


def test_me(client: Client, personas: Personas, people: People) -> None:
    login(client, personas.resident)
    response = client.get(f"{BASE}/me")
    assert response.status_code == 200
    assert response.json()["id"] == people.me.pk and response.json()["phone"] == mask(MY_PHONE)
    assert_masked(response.content.decode())
    login(client, personas.staff)
    assert client.get(f"{BASE}/me").status_code == 404


def test_people_operations_declare_their_schemas() -> None:
    """Each operation's input and output models produce a JSON schema (the OpenAPI
    document is built from them)."""
    from linli.people.api import router

    seen = set()
    for path, path_view in router.path_operations.items():
        for operation in path_view.operations:
            seen.add((tuple(operation.methods), path))
            for model in operation.models:
                assert model.model_json_schema()
            assert 200 in operation.response_models
    assert seen == {
        (("GET",), "/residents"), (("GET",), "/residents/{resident_id}"),
        (("POST",), "/residents/{resident_id}/reveal"), (("GET",), "/me"),
    }
