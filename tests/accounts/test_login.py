"""Signing in: by username or phone, wrong passwords, throttling, two-factor for staff."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from linli.accounts.middleware import SESSION_2FA
from linli.accounts.models import User
from linli.accounts.services import enrol_code_issue, needs_enrol_code, totp_reset
from linli.accounts.views import SESSION_ENROL
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


def give_enrol_code(client: Client, code: str, next_url: str = "") -> Any:
    target = reverse("accounts:two_factor") + (f"?next={next_url}" if next_url else "")
    return client.post(target, {"enrol_code": code})


class TestTwoFactor:
    def _enrol(self, client: Client) -> str:
        """The enrolment page, after the enrolment code when the person needs one; the secret."""
        user = User.objects.get(pk=signed_in_as(client))
        if needs_enrol_code(user):
            first = client.get(reverse("accounts:two_factor"))
            assert first.status_code == 200 and "enrol_code" in first.context["form"].fields
            assert "data:image/svg+xml" not in first.content.decode()
            response = give_enrol_code(client, enrol_code_issue(user=user, by=None))
            assert response.status_code == 302
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
            # No enrolment code: the resident chooses this, and has no staff access to protect.
            assert not needs_enrol_code(personas.resident)
            page = client.get(reverse("accounts:two_factor") + "?next=/accounts/profile/")
            assert page.status_code == 200 and "code" in page.context["form"].fields
            assert "enrol_code" not in page.context["form"].fields
            secret = self._enrol(client)
            assert page.context["secret"] == secret
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


class TestEnrolCode:
    """Staff bind an authenticator only with a code an administrator issued out of band:
    knowing the password alone must not be enough to bind one's own authenticator."""

    def test_the_secret_is_not_shown_before_the_code(self, client: Client, personas: Personas) -> None:
        enrol_code_issue(user=personas.staff, by=None)
        sign_in(client, "staff")
        page = client.get(reverse("accounts:two_factor"))
        body = page.content.decode()
        assert page.status_code == 200
        assert "工作人员首次登录需要管理员发放的开通码（一次有效，72 小时内使用）。" in body
        assert "secret" not in page.context and "qr" not in page.context
        assert "data:image/svg+xml" not in body and 'data-testid="totp-secret"' not in body
        # No secret was even made yet.
        assert User.objects.get(pk=personas.staff.pk).totp_secret == ""
        # A TOTP code posted without the enrolment code enrols nothing.
        response = client.post(reverse("accounts:two_factor"), {"code": "123456"})
        assert response.status_code == 400
        assert "开通码不正确或已过期" in response.content.decode()
        assert not User.objects.get(pk=personas.staff.pk).totp_secret

    def test_code_then_secret_then_totp(self, client: Client, personas: Personas) -> None:
        with time_machine.travel(T0, tick=False):
            code = enrol_code_issue(user=personas.staff, by=None)
            sign_in(client, "staff", next_url="/places/")
            response = give_enrol_code(client, code.replace("-", " "), next_url="/places/")
            assert response.status_code == 302
            assert response["Location"] == reverse("accounts:two_factor") + "?next=%2Fplaces%2F"
            assert client.session[SESSION_ENROL]["user"] == personas.staff.pk
            assert code not in str(dict(client.session))
            page = client.get(response["Location"])
            secret = page.context["secret"]
            assert secret in page.content.decode()
            # A reload shows the same secret.
            assert client.get(response["Location"]).context["secret"] == secret
            response = client.post(response["Location"], {"code": pyotp.TOTP(secret).now()})
            assert response.status_code == 302 and response["Location"] == "/places/"
            user = User.objects.get(pk=personas.staff.pk)
            assert user.has_totp and user.enrol_code_hash == "" and user.enrol_code_expires_at is None
            assert SESSION_ENROL not in client.session

    @pytest.mark.parametrize("typed", ["0000-0000", "1234", "abcd-efgh", ""])
    def test_wrong_code_is_refused(self, client: Client, personas: Personas, typed: str) -> None:
        code = enrol_code_issue(user=personas.staff, by=None)
        if typed == "0000-0000" and code == typed:
            typed = "1111-1111"
        sign_in(client, "staff")
        response = give_enrol_code(client, typed)
        assert response.status_code == 400
        assert "secret" not in response.context
        assert SESSION_ENROL not in client.session
        if typed:
            assert "开通码不正确或已过期，请联系管理员重新发放。" in response.content.decode()

    def test_no_code_issued_is_refused(self, client: Client, personas: Personas) -> None:
        sign_in(client, "staff")
        response = give_enrol_code(client, "1234-5678")
        assert response.status_code == 400 and "开通码不正确或已过期" in response.content.decode()

    def test_expired_code_is_refused(self, client: Client, personas: Personas) -> None:
        with time_machine.travel(T0, tick=False) as clock:
            code = enrol_code_issue(user=personas.staff, by=None)
            clock.shift(timedelta(hours=72, seconds=1))
            sign_in(client, "staff")
            response = give_enrol_code(client, code)
            assert response.status_code == 400 and "开通码不正确或已过期" in response.content.decode()

    def test_code_expiring_after_acceptance_stops_the_enrolment(self, client: Client, personas: Personas) -> None:
        with time_machine.travel(T0, tick=False) as clock:
            code = enrol_code_issue(user=personas.staff, by=None)
            clock.shift(timedelta(hours=72, minutes=-1))
            sign_in(client, "staff")
            assert give_enrol_code(client, code).status_code == 302
            secret = client.get(reverse("accounts:two_factor")).context["secret"]
            clock.shift(timedelta(minutes=2))
            page = client.get(reverse("accounts:two_factor"))
            assert "secret" not in page.context and "enrol_code" in page.context["form"].fields
            response = client.post(reverse("accounts:two_factor"), {"code": pyotp.TOTP(secret).now()})
            assert response.status_code == 400
            assert not User.objects.get(pk=personas.staff.pk).has_totp

    def test_a_used_code_cannot_be_used_again(self, client: Client, personas: Personas) -> None:
        with time_machine.travel(T0, tick=False) as clock:
            code = enrol_code_issue(user=personas.staff, by=None)
            sign_in(client, "staff")
            give_enrol_code(client, code)
            secret = client.get(reverse("accounts:two_factor")).context["secret"]
            assert client.post(reverse("accounts:two_factor"), {"code": pyotp.TOTP(secret).now()}).status_code == 302
            client.post(reverse("accounts:logout"))
            # The authenticator is unbound (lost phone); the old code must not bind a new one.
            User.objects.filter(pk=personas.staff.pk).update(totp_secret="", totp_confirmed_at=None)
            clock.shift(timedelta(minutes=1))
            sign_in(client, "staff")
            response = give_enrol_code(client, code)
            assert response.status_code == 400 and "开通码不正确或已过期" in response.content.decode()

    def test_a_replaced_code_stops_working(self, client: Client, personas: Personas) -> None:
        old = enrol_code_issue(user=personas.staff, by=None)
        sign_in(client, "staff")
        assert give_enrol_code(client, old).status_code == 302
        new = enrol_code_issue(user=personas.staff, by=None)
        # The session that gave the old code is back at the code form.
        page = client.get(reverse("accounts:two_factor"))
        assert "secret" not in page.context and "enrol_code" in page.context["form"].fields
        if old != new:
            assert give_enrol_code(client, old).status_code == 400
        assert give_enrol_code(client, new).status_code == 302

    def test_acceptance_belongs_to_one_user(self, client: Client, personas: Personas) -> None:
        code = enrol_code_issue(user=personas.staff, by=None)
        sign_in(client, "staff")
        give_enrol_code(client, code)
        session = client.session
        session[SESSION_ENROL] = {**session[SESSION_ENROL], "user": personas.lead.pk}
        session.save()
        page = client.get(reverse("accounts:two_factor"))
        assert "secret" not in page.context and "enrol_code" in page.context["form"].fields

    def test_a_secret_seen_before_the_code_is_not_the_one_bound(self, client: Client, personas: Personas) -> None:
        """Someone with the password saw a secret while the account had no staff role:
        giving the enrolment code starts afresh."""
        User.objects.filter(pk=personas.outsider.pk).update(totp_secret="JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
        user = User.objects.get(pk=personas.outsider.pk)
        user.is_staff = True
        user.save(update_fields=["is_staff"])
        code = enrol_code_issue(user=user, by=None)
        sign_in(client, "outsider")
        assert give_enrol_code(client, code).status_code == 302
        assert client.get(reverse("accounts:two_factor")).context["secret"] != "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

    def test_wrong_codes_are_throttled(self, client: Client, personas: Personas) -> None:
        with time_machine.travel(T0, tick=False) as clock:
            code = enrol_code_issue(user=personas.staff, by=None)
            wrong = "0000-0000" if code != "0000-0000" else "1111-1111"
            sign_in(client, "staff")
            for _ in range(settings.LOGIN_THROTTLE_ATTEMPTS):
                assert give_enrol_code(client, wrong).status_code == 400
            response = give_enrol_code(client, code)
            assert response.status_code == 400
            assert "尝试次数过多" in response.content.decode()
            assert SESSION_ENROL not in client.session
            clock.shift(timedelta(seconds=settings.LOGIN_THROTTLE_WINDOW_SECONDS + 1))
            assert give_enrol_code(client, code).status_code == 302

    def test_after_a_reset_a_fresh_code_is_needed(self, client: Client, personas: Personas) -> None:
        with time_machine.travel(T0, tick=False) as clock:
            sign_in(client, "staff")
            TestTwoFactor()._enrol(client)
            client.post(reverse("accounts:logout"))
            fresh = totp_reset(user=User.objects.get(pk=personas.staff.pk), by=personas.lead)
            assert fresh is not None
            clock.shift(timedelta(minutes=1))
            sign_in(client, "staff")
            page = client.get(reverse("accounts:two_factor"))
            assert "secret" not in page.context and "enrol_code" in page.context["form"].fields
            assert give_enrol_code(client, fresh).status_code == 302


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
        if path.startswith(("/api/", "/open311/")):  # the machine interfaces answer 401, not a redirect
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
