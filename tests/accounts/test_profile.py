from __future__ import annotations

import pytest
from django.contrib.auth import authenticate
from django.test import Client
from django.urls import reverse

from linli.accounts.middleware import SESSION_2FA
from linli.accounts.models import User
from linli.audit.models import AuditEvent
from tests.conftest import PASSWORD, Personas, login

pytestmark = pytest.mark.django_db
URL = "/accounts/profile/"
NEW_PASSWORD = "another-long-passphrase-77"


def test_url_name() -> None:
    assert reverse("accounts:profile") == URL


def test_shows_roles_scopes_masked_phone_and_two_factor(client: Client, personas: Personas) -> None:
    response = login(client, personas.resident).get(URL)
    assert response.status_code == 200
    body = response.content.decode()
    assert "138****8000" in body
    assert "13800138000" not in body
    assert "居民" in body and "502室" in body
    assert "开启两步验证" in body


def test_staff_sees_two_factor_on(client: Client, personas: Personas) -> None:
    from django.utils import timezone

    User.objects.filter(pk=personas.lead.pk).update(totp_secret="JBSWY3DPEHPK3PXP", totp_confirmed_at=timezone.now())
    response = login(client, User.objects.get(pk=personas.lead.pk)).get(URL)
    body = response.content.decode()
    assert "已开启" in body and "JBSWY3DPEHPK3PXP" not in body
    assert "居委会负责人" in body and "樱花园社区" in body


def test_anonymous_is_sent_to_login(client: Client) -> None:
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_change_password_keeps_the_session(client: Client, personas: Personas) -> None:
    login(client, personas.staff)
    response = client.post(URL, {"form": "password", "old_password": "wrong", "new_password1": NEW_PASSWORD,
                                 "new_password2": NEW_PASSWORD})
    assert response.status_code == 400
    assert "old_password" in response.context["password_form"].errors
    response = client.post(URL, {"form": "password", "old_password": PASSWORD, "new_password1": "short",
                                 "new_password2": "short"})
    assert response.status_code == 400
    assert "new_password2" in response.context["password_form"].errors

    response = client.post(URL, {"form": "password", "old_password": PASSWORD, "new_password1": NEW_PASSWORD,
                                 "new_password2": NEW_PASSWORD})
    assert response.status_code == 302
    # Still signed in, second factor included.
    assert client.get(URL).status_code == 200
    assert client.session.get(SESSION_2FA) is True
    assert authenticate(username="staff", password=NEW_PASSWORD) is not None
    assert authenticate(username="staff", password=PASSWORD) is None
    assert AuditEvent.objects.filter(action="user.password_change", object_id=str(personas.staff.pk)).exists()


def test_set_phone(client: Client, personas: Personas) -> None:
    login(client, personas.other_resident)
    response = client.post(URL, {"form": "phone", "phone": "13900139000", "current_password": "wrong"})
    assert response.status_code == 400
    assert "current_password" in response.context["phone_form"].errors
    response = client.post(URL, {"form": "phone", "phone": "12345", "current_password": PASSWORD})
    assert response.status_code == 400
    assert "phone" in response.context["phone_form"].errors
    # The resident's number is taken.
    response = client.post(URL, {"form": "phone", "phone": "138 0013 8000", "current_password": PASSWORD})
    assert response.status_code == 400
    assert "已绑定其他账号" in str(response.context["phone_form"].errors["phone"])

    response = client.post(URL, {"form": "phone", "phone": "+86 139-0013-9000", "current_password": PASSWORD})
    assert response.status_code == 302
    user = User.objects.get(pk=personas.other_resident.pk)
    assert user.phone == "13900139000"
    assert authenticate(username="13900139000", password=PASSWORD) == user
    assert AuditEvent.objects.filter(action="user.phone_change", object_id=str(user.pk)).exists()

    response = client.post(URL, {"form": "phone", "phone": "", "current_password": PASSWORD})
    assert response.status_code == 302
    assert User.objects.get(pk=user.pk).phone_hash is None


def test_phone_is_stored_sealed(client: Client, personas: Personas) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT phone FROM accounts_user WHERE id = %s", [personas.resident.pk])
        (stored,) = cursor.fetchone()
    assert "13800138000" not in stored


def test_current_password_guesses_are_throttled(client, personas, settings) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import PASSWORD, login

    settings.LOGIN_THROTTLE_ATTEMPTS = 2
    login(client, personas.resident)
    for _ in range(2):
        response = client.post("/accounts/profile/", {"form": "phone", "phone": "", "current_password": "wrong"})
        assert "当前密码不正确" in response.content.decode()
    response = client.post("/accounts/profile/", {"form": "phone", "phone": "", "current_password": PASSWORD})
    body = response.content.decode()
    assert "尝试次数过多" in body and "手机号已" not in body
    personas.resident.refresh_from_db()
    assert personas.resident.phone == "13800138000"  # nothing changed while blocked


def test_a_bad_phone_with_the_right_password_is_not_a_guess(client, personas, settings) -> None:  # type: ignore[no-untyped-def]
    from linli.accounts.models import LoginAttempt
    from tests.conftest import PASSWORD, login

    login(client, personas.resident)
    client.post("/accounts/profile/", {"form": "phone", "phone": "123", "current_password": PASSWORD})
    assert not LoginAttempt.objects.filter(key=f"pw:{personas.resident.pk}").exists()
