"""Strict CSP: no inline script or style on any page, and error pages that work."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.middleware.csrf import _unmask_cipher_token
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse

from linli.accounts.models import User
from tests.conftest import Personas, Tree
from tests.web import catalogue
from tests.web.pages import read

HTMX_CONFIG = '"includeIndicatorStyles": false'


@pytest.fixture
def sample(tree: Tree, personas: Personas, superuser: User) -> catalogue.Sample:
    return catalogue.Sample(tree, personas, superuser, catalogue.register_resident(tree, personas))


def test_every_page_pattern_is_in_the_catalogue(db: None) -> None:
    """A new page with URL arguments needs a sample in tests/web/catalogue.py, so the
    CSP and accessibility checks reach it."""
    assert catalogue.uncovered_patterns() == []


def test_the_catalogue_reaches_the_main_pages(sample: catalogue.Sample) -> None:
    cases = catalogue.pages(sample)
    names = {case.name for case in cases}
    for name in ("web:home", "web:settings", "accounts:login", "accounts:two_factor", "places:tree", "audit:log",
                 "people:my_data", "people:resident_list", "people:resident_detail", "admin:index"):
        assert name in names
    persona = {case.name: case.persona for case in cases}
    assert persona["web:home"] == "anonymous"
    assert persona["people:my_data"] == "resident"
    assert persona["accounts:two_factor"] == "pending"


def test_csp_header_is_strict(client: Client, db: None) -> None:
    response = client.get("/")
    csp = response["Content-Security-Policy"]
    directives = {part.split()[0]: part.split()[1:] for part in csp.split(";") if part.strip()}
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp


def test_no_page_has_inline_script_or_style(sample: catalogue.Sample) -> None:
    """Every page, as every persona that may open it (pages and HTMX fragments)."""
    cases = catalogue.pages(sample, every_persona=True)
    assert len(cases) > 15
    offenders = {}
    for case in cases:
        assert "script-src 'self'" in case.csp and "unsafe-inline" not in case.csp, case.url
        page = read(case.content)
        if page.inline_scripts or page.inline_styles:
            offenders[f"{case.url} as {case.persona}"] = page.inline_scripts + page.inline_styles
        for src in page.script_srcs:  # our own origin only
            assert src.startswith("/") and not src.startswith("//"), (case.url, src)
    assert offenders == {}


def test_htmx_comes_from_our_static_files_with_csrf_on_body(client: Client, db: None) -> None:
    body = client.get("/").content.decode()
    page = read(body)
    assert f"{settings.STATIC_URL}vendor/htmx.min.js" in page.script_srcs
    assert HTMX_CONFIG in body
    token = client.cookies[settings.CSRF_COOKIE_NAME].value
    match = re.search(r"<body hx-headers='\{\"X-CSRFToken\": \"([^\"]+)\"\}'>", body)
    assert match is not None
    # A masked form of the cookie's secret, as Django's {% csrf_token %} gives.
    assert _unmask_cipher_token(match.group(1)) == token


def test_every_page_has_an_announcer_for_htmx_swaps(client: Client, db: None) -> None:
    body = client.get(reverse("web:settings")).content.decode()
    assert 'id="live"' in body and 'aria-live="polite"' in body


# Error pages ------------------------------------------------------------------------------

@pytest.mark.urls("tests.web.error_urls")
def test_404_page(client: Client, db: None) -> None:
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    body = response.content.decode()
    assert "找不到页面" in body and 'href="/"' in body
    assert read(body).inline_scripts == []


@pytest.mark.urls("tests.web.error_urls")
def test_404_page_in_english(client: Client, db: None) -> None:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    body = client.get("/no-such-page/").content.decode()
    assert "找不到页面" not in body
    assert "Page not found" in body


@pytest.mark.urls("tests.web.error_urls")
def test_403_page(client: Client, db: None) -> None:
    response = client.get("/test-errors/403/")
    assert response.status_code == 403
    assert "无权操作" in response.content.decode()


@pytest.mark.urls("tests.web.error_urls")
def test_400_page(client: Client, db: None) -> None:
    response = client.get("/test-errors/400/")
    assert response.status_code == 400
    assert "请求有误" in response.content.decode()


@pytest.mark.urls("tests.web.error_urls")
def test_500_page(db: None) -> None:
    client = Client(raise_request_exception=False)
    response = client.get("/test-errors/500/")
    assert response.status_code == 500
    body = response.content.decode()
    assert "出错了" in body and 'href="/"' in body
    assert "boom" not in body


@pytest.mark.urls("tests.web.error_urls")
def test_500_page_in_english(db: None) -> None:
    client = Client(raise_request_exception=False)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    body = client.get("/test-errors/500/").content.decode()
    assert "出错了" not in body
    assert "Something went wrong" in body


@pytest.mark.parametrize("template", ["500.html", "400.html", "403_csrf.html"])
def test_bare_error_pages_need_no_request(template: str) -> None:
    body = render_to_string(template)
    assert 'href="/"' in body
    assert read(body).inline_scripts == [] and read(body).inline_styles == []


def test_csrf_failure_page(db: None) -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("web:set_elder_mode"), {"elder": "1"})
    assert response.status_code == 403
    body = response.content.decode()
    assert "页面已过期" in body
    assert read(body).inline_styles == []
