"""/api/v1/me: sessions (after two-factor), API keys in either header, revoked keys."""

from __future__ import annotations

import hashlib
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from linli.accounts.models import ApiKey, Role
from linli.accounts.services import apikey_create, apikey_revoke
from linli.places.services import place_deactivate
from tests.conftest import Personas, Tree, login

pytestmark = pytest.mark.django_db
ME = "/api/v1/me"


def test_no_auth_is_401_in_the_error_shape(client: Client) -> None:
    response = client.get(ME)
    assert response.status_code == 401
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["code"] == "unauthenticated"


@pytest.mark.parametrize("header", ["HTTP_X_API_KEY", "HTTP_AUTHORIZATION"])
def test_api_key(client: Client, tree: Tree, header: str) -> None:
    key, raw = apikey_create(name="物业系统", place=tree.community, role=Role.COMMUNITY_STAFF)
    value = raw if header == "HTTP_X_API_KEY" else f"Bearer {raw}"
    response = client.get(ME, **{header: value})  # type: ignore[arg-type]
    assert response.status_code == 200
    assert response.json() == {
        "kind": "api_key", "username": None, "name": "物业系统",
        "roles": [{"role": Role.COMMUNITY_STAFF, "place_id": tree.community.pk}],
    }
    key.refresh_from_db()
    assert key.last_used_at is not None


def test_revoked_or_wrong_key_is_401(client: Client, tree: Tree) -> None:
    key, raw = apikey_create(name="旧系统", place=tree.community)
    assert client.get(ME, HTTP_X_API_KEY=raw).status_code == 200
    apikey_revoke(key=key)
    assert client.get(ME, HTTP_X_API_KEY=raw).status_code == 401
    assert client.get(ME, HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401
    _key2, raw2 = apikey_create(name="新系统", place=tree.community)
    assert client.get(ME, HTTP_X_API_KEY=raw2[:-2] + "xx").status_code == 401
    assert client.get(ME, HTTP_X_API_KEY="lk_nonsense").status_code == 401


def test_key_on_a_switched_off_place_grants_nothing(client: Client, tree: Tree) -> None:
    _key, raw = apikey_create(name="网格系统", place=tree.grid, role=Role.GRID_WORKER)
    place_deactivate(place=tree.grid)
    response = client.get(ME, HTTP_X_API_KEY=raw)
    assert response.status_code == 200
    assert response.json()["roles"] == []


def test_session_after_two_factor(client: Client, personas: Personas) -> None:
    response = login(client, personas.staff).get(ME)
    assert response.status_code == 200
    assert response.json()["username"] == "staff"


def test_session_without_two_factor_is_401(client: Client, personas: Personas) -> None:
    client.force_login(personas.staff)
    response = client.get(ME)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "second_factor_required"


class TestApikeyCommand:
    def test_create_prints_the_key_once_and_stores_its_hash(self, tree: Tree) -> None:
        out, err = io.StringIO(), io.StringIO()
        call_command("apikey", "create", "--name", "物业系统", "--place", "c1", stdout=out, stderr=err)
        raw = out.getvalue().strip()
        assert raw.startswith("lk_")
        key = ApiKey.objects.get()
        assert key.place_id == tree.community.pk
        assert key.key_hash == hashlib.sha256(raw.encode()).hexdigest()
        stored = " ".join(str(v) for v in ApiKey.objects.values_list().get())
        assert raw not in stored and raw.split("_", 2)[2] not in stored
        assert "only this once" in err.getvalue()

        listing = io.StringIO()
        call_command("apikey", "list", stdout=listing)
        assert key.prefix in listing.getvalue() and raw not in listing.getvalue()

        call_command("apikey", "revoke", key.prefix, stdout=io.StringIO())
        key.refresh_from_db()
        assert key.revoked_at is not None

    def test_create_by_place_id_and_role(self, tree: Tree) -> None:
        out = io.StringIO()
        call_command("apikey", "create", "--name", "督导", "--place", str(tree.street.pk), "--role", "auditor",
                     stdout=out, stderr=io.StringIO())
        assert ApiKey.objects.get().role == Role.AUDITOR

    def test_errors(self, tree: Tree) -> None:
        with pytest.raises(CommandError):
            call_command("apikey", "create", "--name", "x", "--place", "no-such", stdout=io.StringIO())
        with pytest.raises(CommandError):
            call_command("apikey", "create", "--name", " ", "--place", "c1", stdout=io.StringIO(), stderr=io.StringIO())
        with pytest.raises(CommandError):
            call_command("apikey", "revoke", "ffffffff", stdout=io.StringIO())


@pytest.mark.django_db
def test_a_verified_key_is_kept_briefly_and_forgotten_when_revoked(tree: Tree,
                                                                    django_assert_num_queries: object) -> None:
    import time as _time

    from linli.accounts import services

    key, raw = apikey_create(name="物业系统", place=tree.community)
    assert services.apikey_authenticate(raw) == key
    with django_assert_num_queries(0):  # type: ignore[operator]
        assert services.apikey_authenticate(raw) == key  # the copy kept in this process
    assert services.apikey_authenticate(raw + "x") is None  # a wrong key is never matched to the copy
    apikey_revoke(key=key)
    assert services.apikey_authenticate(raw) is None  # the save cleared the copy at once
    key2, raw2 = apikey_create(name="网格 App", place=tree.community)
    assert services.apikey_authenticate(raw2) == key2
    ApiKey.objects.filter(pk=key2.pk).update(revoked_at=key.revoked_at)  # another process revokes it
    expires, kept = services._verified[hashlib.sha256(raw2.encode()).hexdigest()]
    assert kept == key2 and expires <= _time.monotonic() + services.API_KEY_CACHE_SECONDS
    services._verified[hashlib.sha256(raw2.encode()).hexdigest()] = (_time.monotonic() - 1, kept)  # time passes
    assert services.apikey_authenticate(raw2) is None
