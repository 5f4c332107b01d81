"""Signing in: by username or phone, wrong passwords, throttling, two-factor for staff."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from linli.accounts.middleware import SESSION_2FA
from linli.accounts.models import User
from tests.conftest import PASSWORD, Personas

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 1, 0, 0, tzinfo=UTC)


def sign_in(client: Client, identifier: str, password: str = PASSWORD, next_url: str = ""):  # type: ignore[no-untyped-def]
    data = {"identifier": identifier, "password": password}
    if next_url:
        data["next"] = next_url
    return client.post(reverse("accounts:login"), data)


def signed_in_as(client: Client) -> int | None:
    value = client.session.get("_auth_user_id")
    return int(value) if value else None


class TestPassword:
    @pytest.mark.parametrize("identifier", ["resident", "RESIDENT", "13800138000", "+86 138 0013 8000", "138-0013-8000"])
    def test_username_or_phone(self, client: Client, personas: Personas, identifier: str) -> None:
        response = sign_in(client, identifier)
        assert response.status_code == 302
        assert signed_in_as(client) == personas.resident.pk

    def test_next_is_kept_when_safe(self, client: Client, personas: Personas) -> None:
        assert sign_in(client, "resident", next_url="/accounts/profile/")["Location"] == "/accounts/profile/"
        client.logout()
        assert sign_in(client, "resident", next_url="https://evil.example/")["Location"] == "/"

    def test_wrong_password(self, client: Client, personas: Personas) -> None:
        response = sign_in(client, "resident", "wrong-password")
        assert response.status_code == 400
        assert "手机号/用户名或密码不正确。" in response.content.decode()
        assert signed_in_as(client) is None

    def test_unknown_account_says_the_same(self, client: Client, personas: Personas) -> None:
        response = sign_in(client, "nobody-here", "wrong-password")
        assert response.status_code == 400
        assert "手机号/用户名或密码不正确。" in response.content.decode()

    def test_empty_form_is_a_field_error(self, client: Client, personas: Personas) -> None:
        response = client.post(reverse("accounts:login"), {"identifier": "", "password": ""})
        assert response.status_code == 400
        assert set(response.context["form"].errors) == {"identifier", "password"}

    def test_inactive_account_cannot_sign_in(self, client: Client, personas: Personas) -> None:
        User.objects.filter(pk=personas.resident.pk).update(is_active=False)
        assert sign_in(client, "resident").status_code == 400

    def test_throttled_after_too_many_failures(self, client: Client, personas: Personas) -> None:
        attempts = settings.LOGIN_THROTTLE_ATTEMPTS
        # Every way of naming the account counts towards the same limit.
        names = ["resident", "13800138000", "+86 138 0013 8000"]
        for n in range(attempts):
            assert sign_in(client, names[n % len(names)], "wrong-password").status_code == 400
        response = sign_in(client, "resident")
        assert response.status_code == 400
        minutes = (settings.LOGIN_THROTTLE_WINDOW_SECONDS + 59) // 60
        assert f"登录失败次数过多，请 {minutes} 分钟后再试。" in response.content.decode()
        assert signed_in_as(client) is None
        # Another account from elsewhere is not affected.
        other = Client(REMOTE_ADDR="10.0.0.2")
        assert sign_in(other, "other_resident").status_code == 302

    def test_throttle_ends_with_the_window(self, client: Client, personas: Personas) -> None:
        with time_machine.travel(T0, tick=False) as clock:
            for _ in range(settings.LOGIN_THROTTLE_ATTEMPTS):
                sign_in(client, "resident", "wrong-password")
            assert sign_in(client, "resident").status_code == 400
            clock.shift(timedelta(seconds=settings.LOGIN_THROTTLE_WINDOW_SECONDS + 1))
            assert sign_in(client, "resident").status_code == 302

    def test_resident_needs_no_second_factor(self, client: Client, personas: Personas) -> None:
        sign_in(client, "resident")
        assert client.get(reverse("accounts:profile")).status_code == 200
        assert client.get("/").status_code == 200

    def test_admin_login_url_goes_to_linli(self, client: Client, personas: Personas) -> None:
        response = client.get("/admin/login/?next=/admin/", follow=True)
        assert response.status_code == 200
        assert response.redirect_chain[-1][0].startswith(reverse("accounts:login") + "?next=")
        assert response.templates[0].name == "accounts/login.html"
        # The admin's own password form is never offered.
        assert "this_is_the_login_form" not in response.content.decode()


class TestTwoFactor:
    def _enrol(self, client: Client) -> str:
        page = client.get(reverse("accounts:two_factor"))
        assert page.status_code == 200
        body = page.content.decode()
        assert "data:image/svg+xml;charset=utf-8," in body
        secret = page.context["secret"]
        assert re.fullmatch(r"[A-Z2-7]{32}", secret)
        assert secret in body
        return str(secret)

    def test_staff_is_forced_through_enrolment_then_verification(self, client: Client, personas: Personas) -> None:
        with time_machine.travel(T0, tick=False) as clock:
            response = sign_in(client, "staff", next_url="/places/")
            assert response.status_code == 302
            gate = client.get("/places/")
            assert gate.status_code == 302
            assert gate["Location"] == reverse("accounts:two_factor") + "?next=%2Fplaces%2F"
            secret = self._enrol(client)
            response = client.post(reverse("accounts:two_factor") + "?next=/places/", {"code": pyotp.TOTP(secret).now()})
            assert response.status_code == 302 and response["Location"] == "/places/"
            assert client.get("/places/").status_code == 200
            user = User.objects.get(pk=personas.staff.pk)
            assert user.has_totp

            # Next sign-in: a code, no QR and no secret.
            client.post(reverse("accounts:logout"))
            clock.shift(timedelta(seconds=90))
            sign_in(client, "staff")
            assert client.get("/places/").status_code == 302
            page = client.get(reverse("accounts:two_factor"))
            assert "secret" not in page.context and secret not in page.content.decode()
            response = client.post(reverse("accounts:two_factor"), {"code": pyotp.TOTP(secret).now()})
            assert response.status_code == 302
            assert client.get("/places/").status_code == 200

    def test_a_code_cannot_be_used_twice(self, client: Client, personas: Personas) -> None:
        with time_machine.travel(T0, tick=False):
            sign_in(client, "staff")
            secret = self._enrol(client)
            code = pyotp.TOTP(secret).now()
            assert client.post(reverse("accounts:two_factor"), {"code": code}).status_code == 302
            client.post(reverse("accounts:logout"))
            sign_in(client, "staff")
            response = client.post(reverse("accounts:two_factor"), {"code": code})
            assert response.status_code == 400
            assert "已使用" in str(response.context["form"].errors["code"])
            assert not client.session.get(SESSION_2FA)

    def test_wrong_and_malformed_codes(self, client: Client, personas: Personas) -> None:
        sign_in(client, "staff")
        secret = self._enrol(client)
        wrong = f"{(int(pyotp.TOTP(secret).now()) + 1) % 1_000_000:06d}"
        response = client.post(reverse("accounts:two_factor"), {"code": wrong})
        assert response.status_code == 400 and "code" in response.context["form"].errors
        response = client.post(reverse("accounts:two_factor"), {"code": "12ab56"})
        assert response.status_code == 400
        assert "6 位数字" in str(response.context["form"].errors["code"])
        # A failed try during enrolment keeps the same secret.
        assert client.get(reverse("accounts:two_factor")).context["secret"] == secret

    def test_the_code_page_is_throttled(self, client: Client, personas: Personas) -> None:
        with time_machine.travel(T0, tick=False):
            sign_in(client, "staff")
            secret = self._enrol(client)
            good = pyotp.TOTP(secret).now()
            wrong = f"{(int(good) + 1) % 1_000_000:06d}"
            for _ in range(settings.LOGIN_THROTTLE_ATTEMPTS):
                assert client.post(reverse("accounts:two_factor"), {"code": wrong}).status_code == 400
            response = client.post(reverse("accounts:two_factor"), {"code": good})
            assert response.status_code == 400
            assert "尝试次数过多" in response.content.decode()
            assert not client.session.get(SESSION_2FA)

    def test_resident_may_turn_two_factor_on(self, client: Client, personas: Personas) -> None:
        with time_machine.travel(T0, tick=False) as clock:
            sign_in(client, "resident")
            assert client.get(reverse("accounts:profile")).status_code == 200
            secret = self._enrol(client)
            response = client.post(reverse("accounts:two_factor") + "?next=/accounts/profile/",
                                   {"code": pyotp.TOTP(secret).now()})
            assert response["Location"] == "/accounts/profile/"
            client.post(reverse("accounts:logout"))
            clock.shift(timedelta(seconds=60))
            sign_in(client, "resident")
            # From now on the resident is asked for a code too.
            assert client.get(reverse("accounts:profile")).status_code == 302

    def test_anonymous_cannot_reach_the_code_page(self, client: Client) -> None:
        response = client.get(reverse("accounts:two_factor"))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))


def _routes(patterns: list[URLPattern | URLResolver], prefix: str = "") -> list[str]:
    found: list[str] = []
    for pattern in patterns:
        route = str(pattern.pattern)
        if route.startswith("^"):
            # A regex route (the admin's app index): fill its one group with an app label.
            route = re.sub(r"\(\?P<\w+>[^)]*\)", "places", route).strip("^$").replace("\\", "")
        if isinstance(pattern, URLResolver):
            found.extend(_routes(pattern.url_patterns, prefix + route))
        else:
            found.append(prefix + route)
    return found


def _concrete(route: str) -> str:
    return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", lambda m: "1" if m.group(1) == "int" else "x", route)


OPEN_PREFIXES = ("/accounts/2fa/", "/accounts/logout/", "/static/", "/i18n/", "/healthz", "/prefs/")


def test_every_page_waits_for_the_second_factor(client: Client, personas: Personas) -> None:
    sign_in(client, "staff")
    paths = sorted({_concrete(r) for r in _routes(get_resolver().url_patterns)})
    checked = 0
    for path in paths:
        if path.startswith(OPEN_PREFIXES):
            continue
        response = client.get(path)
        checked += 1
        if path.startswith("/api/"):
            assert response.status_code == 401, path
            assert response.json()["error"]["code"] == "second_factor_required", path
        else:
            assert response.status_code == 302, path
            assert response["Location"].startswith(reverse("accounts:two_factor") + "?next="), path
    assert checked > 10
    assert "/places/1/children/" in paths and "/accounts/profile/" in paths


def test_throttle_reads_the_client_address_behind_trusted_proxies(rf) -> None:  # type: ignore[no-untyped-def]
    from django.test import override_settings

    from linli.accounts.views import _client_ip

    request = rf.get("/", HTTP_X_FORWARDED_FOR="6.6.6.6, 10.0.0.7", REMOTE_ADDR="10.0.0.1")
    assert _client_ip(request) == "10.0.0.1"  # no proxy trusted: the header is the client's word
    with override_settings(TRUSTED_PROXIES=1):
        assert _client_ip(request) == "10.0.0.7"
    with override_settings(TRUSTED_PROXIES=3):
        assert _client_ip(request) == "10.0.0.1"  # fewer entries than proxies: fall back


def test_admin_login_redirects_anonymous_users_to_linli_login(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/admin/"
