"""Input that must never become a server error, and output that must stay well-formed."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client, RequestFactory

from linli.requests.models import Request
from linli.requests.open311 import views
from tests.requests.conftest import Submit
from tests.requests.open311.conftest import BASE, Keys, as_json, error_codes, xml

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("url", [f"{BASE}/requests.json?status=open%00", f"{BASE}/services/re%00pairs.json",
                                 f"{BASE}/requests.xml?start_date=%002026"])
def test_nul_bytes_are_refused_with_400(client: Client, url: str) -> None:
    assert client.get(url).status_code == 400


def test_nul_bytes_in_a_post_store_nothing(client: Client, keys: Keys) -> None:
    response = client.post(f"{BASE}/requests.json", {"api_key": keys.community, "service_code": "repairs",
                                                     "address_string": "东门", "description": "灯\x00坏了"})
    assert response.status_code == 400
    assert not Request.objects.exists()


@pytest.mark.parametrize(("fmt", "kwargs", "query"), [
    ("json", {}, {"status": "open\x00"}),
    ("xml", {}, {"service_code": "a\x00b"}),
])
def test_the_views_refuse_nul_in_their_own_shape(fmt: str, kwargs: dict[str, Any], query: dict[str, str]) -> None:
    """Behind the site-wide NUL guard, the views refuse NUL themselves, in the GeoReport shape."""
    request = RequestFactory().get(f"{BASE}/requests.{fmt}", query)
    response = views.requests(request, fmt=fmt, **kwargs)
    assert response.status_code == 400 and error_codes(response, fmt) == [400]
    response = views.service_definition(RequestFactory().get(f"{BASE}/services/x.{fmt}"), fmt=fmt,
                                        service_code="re\x00pairs")
    assert response.status_code == 400 and error_codes(response, fmt) == [400]


def test_control_characters_and_markup_stay_well_formed_xml(client: Client, submit: Submit, keys: Keys) -> None:
    req = submit(description="门 <b>坏</b> & \x0b垂直制表 \x1b[31m \ufffe 了")
    root = xml(client.get(f"{BASE}/requests/{req.pk}.xml", {"api_key": keys.community}))
    assert root.findtext("request/description") == "门 <b>坏</b> & 垂直制表 [31m  了"
    (item,) = as_json(client.get(f"{BASE}/requests/{req.pk}.json", {"api_key": keys.community}))
    assert item["description"].startswith("门 <b>坏</b> & \x0b")  # JSON carries it escaped


def test_a_broken_multipart_body_is_a_400(client: Client, keys: Keys) -> None:
    response = client.generic("POST", f"{BASE}/requests.json?api_key={keys.community}", b"--x\r\nbroken",
                              content_type="multipart/form-data; boundary=x")
    assert response.status_code == 400


def test_head_is_answered_like_get(client: Client) -> None:
    assert client.head(f"{BASE}/services.json").status_code == 200


def test_an_unexpected_failure_is_a_400_in_the_error_shape(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> None:
        raise RuntimeError("the catalogue is unreachable")

    monkeypatch.setattr(views.catalogue, "services", broken)
    response = client.get(f"{BASE}/services.xml")
    assert response.status_code == 400 and error_codes(response, "xml") == [400]
