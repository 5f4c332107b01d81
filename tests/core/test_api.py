"""The API shell at /api/v1/: the OpenAPI document, the three ways in, one error shape."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.test import Client

from linli.accounts.services import apikey_create, apikey_revoke
from tests.conftest import Personas, Tree, login

pytestmark = pytest.mark.django_db

BODY_METHODS = ("post", "put", "patch")


def assert_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """The one error shape: {"error": {"code", "message", "fields"}} and nothing else."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"code", "message", "fields"}
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["fields"], dict)
    if code is not None:
        assert error["code"] == code
    return error


@pytest.fixture
def api_key(tree: Tree) -> str:
    return apikey_create(name="统计系统", place=tree.community)[1]


@pytest.fixture
def openapi(client: Client) -> dict[str, Any]:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    return json.loads(response.content)


def test_openapi_document_is_served_without_signing_in(openapi: dict[str, Any]) -> None:
    assert openapi["openapi"].startswith("3.")
    assert openapi["info"]["title"] == "linli API"
    paths = openapi["paths"]
    assert "/api/v1/me" in paths
    assert "/api/v1/places/{place_id}" in paths
    assert all(path.startswith("/api/v1/") for path in paths)
    schemes = openapi["components"]["securitySchemes"]
    assert {scheme["type"] for scheme in schemes.values()} >= {"apiKey", "http"}


def test_every_operation_declares_its_responses(openapi: dict[str, Any]) -> None:
    for path, operations in openapi["paths"].items():
        for method, operation in operations.items():
            assert operation.get("responses"), f"{method.upper()} {path} declares no responses"


def test_no_credentials_is_401_in_the_error_shape(client: Client) -> None:
    error = assert_error(client.get("/api/v1/me"), 401, "unauthenticated")
    assert error["fields"] == {}


@pytest.mark.parametrize("header", ["HTTP_X_API_KEY", "HTTP_AUTHORIZATION"])
def test_a_wrong_key_is_401(client: Client, api_key: str, header: str) -> None:
    wrong = api_key[:-4] + "AAAA"
    value = f"Bearer {wrong}" if header == "HTTP_AUTHORIZATION" else wrong
    assert_error(client.get("/api/v1/me", **{header: value}), 401, "unauthenticated")


def test_api_key_in_either_header(client: Client, api_key: str) -> None:
    by_header = client.get("/api/v1/me", HTTP_X_API_KEY=api_key)
    by_bearer = client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {api_key}")
    assert by_header.status_code == by_bearer.status_code == 200
    assert by_header.json() == by_bearer.json()
    assert by_header.json()["kind"] == "api_key"
    assert by_header.json()["name"] == "统计系统"


def test_a_revoked_key_is_401(client: Client, tree: Tree) -> None:
    key, raw = apikey_create(name="旧系统", place=tree.community)
    apikey_revoke(key=key)
    assert_error(client.get("/api/v1/me", HTTP_X_API_KEY=raw), 401, "unauthenticated")


def test_session_after_the_second_factor(client: Client, personas: Personas) -> None:
    response = login(client, personas.staff).get("/api/v1/me")
    assert response.status_code == 200
    assert response.json()["kind"] == "user"
    assert response.json()["username"] == "staff"


def test_session_still_owing_the_second_factor_is_401(client: Client, personas: Personas) -> None:
    client.force_login(personas.staff)
    assert_error(client.get("/api/v1/me"), 401, "second_factor_required")


def test_an_object_outside_scope_or_missing_is_404(client: Client, api_key: str, tree: Tree) -> None:
    missing = assert_error(client.get("/api/v1/places/987654321", HTTP_X_API_KEY=api_key), 404, "not_found")
    outside = assert_error(client.get(f"/api/v1/places/{tree.other_community.pk}", HTTP_X_API_KEY=api_key), 404, "not_found")
    assert missing == outside  # nothing tells the caller whether it exists


def test_a_bad_path_parameter_is_422_naming_the_field(client: Client, api_key: str) -> None:
    error = assert_error(client.get("/api/v1/places/not-a-number", HTTP_X_API_KEY=api_key), 422, "invalid")
    assert list(error["fields"]) == ["place_id"]


def test_errors_follow_the_language(client: Client, api_key: str) -> None:
    chinese = assert_error(client.get("/api/v1/places/987654321", HTTP_X_API_KEY=api_key), 404)
    client.cookies["linli_language"] = "en"
    english = assert_error(client.get("/api/v1/places/987654321", HTTP_X_API_KEY=api_key), 404)
    assert chinese["message"] == "找不到该对象。"
    assert english["message"] == "Not found."
    assert english["code"] == chinese["code"] == "not_found"


def body_operations(openapi: dict[str, Any], tree: Tree) -> list[tuple[str, str]]:
    """Every operation that reads a JSON body, with its path parameters filled in."""
    found = []
    for path, operations in openapi["paths"].items():
        for method, operation in operations.items():
            if method in BODY_METHODS and "application/json" in operation.get("requestBody", {}).get("content", {}):
                found.append((method, re.sub(r"\{[^}]+\}", str(tree.household.pk), path)))
    return found


def test_a_body_of_the_wrong_shape_is_422(client: Client, api_key: str, openapi: dict[str, Any], tree: Tree) -> None:
    operations = body_operations(openapi, tree)
    assert operations, "the API has no operation that reads a JSON body to test"
    for method, path in operations:
        response = getattr(client, method)(path, data="[1, 2, 3]", content_type="application/json", HTTP_X_API_KEY=api_key)
        error = assert_error(response, 422, "invalid")
        assert error["fields"], f"{method.upper()} {path} names no field"


@pytest.mark.parametrize("body", ["{not json", '{"a": ', "\xff\xfe", "", "null", '"text"'])
def test_malformed_json_never_causes_a_500(client: Client, api_key: str, openapi: dict[str, Any], tree: Tree, body: str) -> None:
    for method, path in body_operations(openapi, tree):
        response = getattr(client, method)(path, data=body, content_type="application/json", HTTP_X_API_KEY=api_key)
        assert 400 <= response.status_code < 500, (method, path, response.status_code)
        assert_error(response, response.status_code)
