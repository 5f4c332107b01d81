"""Simplified Chinese first; English when someone switches (session, then cookie)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation
from django.utils.translation import gettext

from tests.web.pages import read


def english(msgid: str) -> str:
    with translation.override("en"):
        return gettext(msgid)


def test_chinese_by_default(client: Client, db: None) -> None:
    response = client.get("/")
    assert response["Content-Language"] == "zh-hans"
    assert read(response.content).html_lang == "zh-CN"
    assert "邻里" in response.content.decode()
    assert "Cookie" in response["Vary"]


def test_the_browsers_accept_language_is_ignored(client: Client, db: None) -> None:
    response = client.get("/", headers={"accept-language": "en-US,en;q=0.9"})
    assert response["Content-Language"] == "zh-hans"


def test_english_catalogue_translates_the_shell(client: Client, db: None) -> None:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get("/")
    body = response.content.decode()
    assert response["Content-Language"] == "en"
    assert read(response.content).html_lang == "en"
    for msgid in ("首页", "设置", "登录", "跳到正文"):
        translated = english(msgid)
        assert translated != msgid, f"no English for {msgid!r}"
        assert translated in body
    assert "跳到正文" not in body


def test_session_beats_cookie(client: Client, db: None) -> None:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    session = client.session
    session["linli_language"] = "zh-hans"
    session.save()
    assert client.get("/")["Content-Language"] == "zh-hans"


@pytest.mark.parametrize("value", ["fr", "", "zh-hant", "en-gb"])
def test_an_unknown_cookie_value_falls_back_to_chinese(client: Client, db: None, value: str) -> None:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = value
    assert client.get("/")["Content-Language"] == "zh-hans"


def test_language_does_not_leak_into_the_next_request(client: Client, db: None) -> None:
    english_client = Client()
    english_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert english_client.get("/")["Content-Language"] == "en"
    assert client.get("/")["Content-Language"] == "zh-hans"
    assert translation.get_language() in (None, settings.LANGUAGE_CODE)


def test_django_form_errors_come_in_the_users_language(client: Client, db: None) -> None:
    response = client.post("/accounts/login/", {"identifier": "", "password": ""})
    assert "这个字段是必填项。" in response.content.decode()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.post("/accounts/login/", {"identifier": "", "password": ""})
    assert "This field is required." in response.content.decode()
