"""Input that once produced server errors or slipped past a control (found in review)."""

from __future__ import annotations

import pytest
from django.test import Client

from linli.accounts.models import LoginAttempt
from linli.accounts.services import (
    apikey_create,
    throttle_attempt,
    throttle_keys,
    throttle_succeeded,
)
from tests.conftest import Personas, Tree, login

pytestmark = pytest.mark.django_db


def test_throttle_counts_this_attempt_before_the_password_check(personas: Personas, settings) -> None:  # type: ignore[no-untyped-def]
    settings.LOGIN_THROTTLE_ATTEMPTS = 3
    keys = throttle_keys(identifier="resident", ip="10.0.0.9")
    passed = [throttle_attempt(keys=keys) for _ in range(5)]
    # Recorded before the check: the fourth and fifth are refused even though no
    # failure was "reported" in between (as with requests running side by side).
    assert [wait == 0 for wait, _ in passed] == [True, True, True, False, False]
    assert LoginAttempt.objects.filter(key=keys[0]).count() == 3  # refused attempts do not extend the pause


def test_a_success_leaves_no_trace_on_the_address(personas: Personas) -> None:
    keys = throttle_keys(identifier="resident", ip="10.0.0.9")
    wait, attempt = throttle_attempt(keys=keys)
    assert wait == 0
    throttle_succeeded(keys=keys, attempt=attempt)
    assert not LoginAttempt.objects.filter(key__in=keys).exists()


def test_api_key_clients_can_post_without_csrf_and_sessions_cannot(tree: Tree, personas: Personas) -> None:
    _, raw = apikey_create(name="matrix", place=tree.community)
    machine = Client(enforce_csrf_checks=True)
    response = machine.post("/api/v1/people/residents/999999/reveal", {"field": "phone", "reason": "x"},
                            content_type="application/json", headers={"X-API-Key": raw})
    assert response.status_code == 404  # authenticated (no CSRF refusal); the resident does not exist
    browser = login(Client(enforce_csrf_checks=True), personas.staff)
    response = browser.post("/api/v1/people/residents/999999/reveal", {"field": "phone", "reason": "x"},
                            content_type="application/json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "csrf_failed"


def test_non_ascii_api_key_is_just_wrong(client: Client) -> None:
    response = client.get("/api/v1/me", headers={"X-API-Key": "lk_abcdef12_é"})
    assert response.status_code == 401


@pytest.mark.parametrize("url", ["/api/v1/audit/events?since=0001-01-01", "/api/v1/audit/events?page=99999999999999999999",
                                 "/api/v1/places/?page=9223372036854775807"])
def test_absurd_query_values_are_422(client: Client, personas: Personas, url: str) -> None:
    login(client, personas.lead)
    response = client.get(url)
    assert response.status_code in (200, 422), response.content
    assert response.status_code < 500


def test_audit_page_refuses_dates_out_of_range(client: Client, personas: Personas) -> None:
    login(client, personas.lead)
    response = client.get("/audit/", {"since": "0001-01-01"})
    assert response.status_code == 400
    assert "1900" in response.content.decode()


@pytest.mark.parametrize(
    ("method", "url", "data"),
    [
        ("get", "/api/v1/people/residents?q=a%00b", None),
        ("get", "/people/residents/?q=a%00b", None),
        ("post", "/api/v1/people/residents/1/reveal", '{"field": "phone", "reason": "a\\u0000b"}'),
    ],
)
def test_nul_characters_are_refused_with_400(client: Client, personas: Personas, method: str, url: str, data: str | None) -> None:
    login(client, personas.staff)
    if method == "get":
        response = client.get(url)
    else:
        response = client.post(url, data, content_type="application/json")
    assert response.status_code == 400
    if url.startswith("/api/"):
        assert response.json()["error"]["code"] == "bad_request"
