"""Language and elder mode (长辈版): chosen once, kept in a cookie and on the account."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from linli.accounts.models import User
from linli.web.context_processors import ELDER_COOKIE
from tests.conftest import PASSWORD, Personas, login
from tests.web.pages import read

ELDER = reverse("web:set_elder_mode")
LANGUAGE = reverse("web:set_language")


def offered(client: Client) -> bool:
    return 'data-testid="elder-offer"' in client.get(reverse("web:home")).content.decode()


def is_elder(client: Client, url: str = "/") -> bool:
    return "elder" in read(client.get(url).content).html_classes


# Elder mode ----------------------------------------------------------------------------

def test_elder_mode_is_offered_on_the_first_visit_only(client: Client, db: None) -> None:
    assert offered(client)
    assert not is_elder(client)
    response = client.post(ELDER, {"elder": "0", "next": "/"})
    assert response.status_code == 302
    assert response.cookies[ELDER_COOKIE].value == "0"
    assert not offered(client)
    assert not is_elder(client)


def test_turning_elder_mode_on_sets_a_lasting_cookie(client: Client, db: None) -> None:
    response = client.post(ELDER, {"elder": "1", "next": "/prefs/"})
    assert response.status_code == 302
    assert response["Location"] == "/prefs/"
    cookie = response.cookies[ELDER_COOKIE]
    assert cookie.value == "1"
    assert int(cookie["max-age"]) >= 300 * 24 * 3600
    assert cookie["samesite"] == "Lax"
    assert is_elder(client)
    assert is_elder(client, reverse("accounts:login"))
    assert not offered(client)


def test_elder_mode_is_kept_on_the_account(client: Client, personas: Personas) -> None:
    login(client, personas.resident)
    client.post(ELDER, {"elder": "1"})
    personas.resident.refresh_from_db()
    assert personas.resident.elder_mode is True
    # Another browser, no cookie yet: the account decides.
    other = login(Client(), personas.resident)
    assert is_elder(other)
    client.post(ELDER, {"elder": "0"})
    personas.resident.refresh_from_db()
    assert personas.resident.elder_mode is False


def test_this_browsers_choice_wins_over_the_account(client: Client, personas: Personas) -> None:
    personas.resident.elder_mode = True
    personas.resident.save()
    login(client, personas.resident)
    client.cookies[ELDER_COOKIE] = "0"
    assert not is_elder(client)


def test_a_choice_made_before_signing_in_survives_it_and_reaches_the_account(client: Client, personas: Personas) -> None:
    client.post(ELDER, {"elder": "1"})
    response = client.post(reverse("accounts:login"), {"identifier": "13800138000", "password": PASSWORD})
    assert response.status_code == 302
    assert is_elder(client)
    personas.resident.refresh_from_db()
    assert personas.resident.elder_mode is True


def test_elder_mode_setting_rejects_a_bad_value_with_a_field_error(client: Client, db: None) -> None:
    response = client.post(ELDER, {"elder": "maybe"})
    assert response.status_code == 400
    assert ELDER_COOKIE not in response.cookies
    assert 'class="errorlist"' in response.content.decode()
    assert "aria-invalid" in response.content.decode() or 'id="id_elder_error"' in response.content.decode()


def test_elder_mode_can_be_set_in_settings(client: Client, db: None) -> None:
    page = client.get(reverse("web:settings"))
    assert page.status_code == 200
    body = page.content.decode()
    assert f'action="{ELDER}"' in body and 'name="elder"' in body
    assert f'action="{LANGUAGE}"' in body and 'name="language"' in body


def test_a_confirmation_says_what_changed(client: Client, db: None) -> None:
    response = client.post(ELDER, {"elder": "1"}, follow=True)
    assert "已切换到长辈版" in response.content.decode()


def test_preferences_need_post(client: Client, db: None) -> None:
    assert client.get(ELDER).status_code == 405
    assert client.get(LANGUAGE).status_code == 405


# Open redirects --------------------------------------------------------------------------

@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/x", "http://testserver.evil.example/", "javascript:alert(1)", "\\\\evil.example"],
)
@pytest.mark.parametrize("url", [ELDER, LANGUAGE])
def test_next_never_leaves_the_site(client: Client, db: None, url: str, target: str) -> None:
    data = {"elder": "1"} if url == ELDER else {"language": "en"}
    response = client.post(url, {**data, "next": target})
    assert response.status_code == 302
    assert response["Location"] == "/"


@pytest.mark.parametrize("url", [ELDER, LANGUAGE])
def test_next_may_be_a_path_on_this_site(client: Client, db: None, url: str) -> None:
    data = {"elder": "1"} if url == ELDER else {"language": "en"}
    response = client.post(url, {**data, "next": "/places/?q=1"})
    assert response["Location"] == "/places/?q=1"


# Language --------------------------------------------------------------------------------

def test_switching_language_sets_session_and_cookie(client: Client, db: None) -> None:
    response = client.post(LANGUAGE, {"language": "en", "next": "/"})
    assert response.status_code == 302
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    assert client.session["linli_language"] == "en"
    home = client.get("/")
    assert home["Content-Language"] == "en"
    assert read(home.content).html_lang == "en"


def test_switching_language_is_kept_on_the_account(client: Client, personas: Personas) -> None:
    login(client, personas.resident)
    client.post(LANGUAGE, {"language": "en"})
    personas.resident.refresh_from_db()
    assert personas.resident.language == "en"


def test_the_account_language_comes_back_at_sign_in(client: Client, personas: Personas) -> None:
    User.objects.filter(pk=personas.resident.pk).update(language="en")
    client.post(reverse("accounts:login"), {"identifier": "resident", "password": PASSWORD})
    assert client.get("/")["Content-Language"] == "en"


def test_unknown_language_is_a_field_error_not_a_change(client: Client, db: None) -> None:
    response = client.post(LANGUAGE, {"language": "fr"})
    assert response.status_code == 400
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies
    assert 'class="errorlist"' in response.content.decode()
    assert client.get("/")["Content-Language"] == "zh-hans"
