"""GET Service Request Updates (FixMyStreet's extension): public events only, in scope,
filtered by date, paged, with a constant number of queries."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from linli.requests import services as svc
from linli.requests.models import Rating
from tests.conftest import Personas, Tree
from tests.requests.conftest import Submit
from tests.requests.open311.conftest import BASE, Keys, as_json, error_codes, xml
from tests.requests.open311.test_requests import NOTE, REPLY, photo

pytestmark = pytest.mark.django_db

UPDATE_FIELDS = ["update_id", "service_request_id", "status", "updated_datetime", "description", "media_url"]


@pytest.fixture
def history(submit: Submit, personas: Personas, tree: Tree) -> dict[str, Any]:
    now = timezone.now()
    ours = submit(at=now - timedelta(days=2))
    ours = svc.request_accept(request=ours, by=personas.staff, at=now - timedelta(days=2) + timedelta(hours=1))
    svc.request_reply(request=ours, by=personas.staff, body=REPLY, photos=[photo()], at=now - timedelta(days=1))
    svc.request_reply(request=ours, by=personas.staff, body=NOTE, public=False, at=now - timedelta(hours=20))
    ours = svc.request_resolve(request=ours, by=personas.staff, resolution="已更换灯泡。", at=now - timedelta(hours=10))
    svc.request_rate(request=ours, by=personas.resident, rating=Rating.SATISFIED, solved=True,
                     at=now - timedelta(hours=9))
    far = submit(at=now - timedelta(days=2), by=personas.outside_staff, place=tree.far_household)
    svc.request_accept(request=far, by=personas.outside_staff, at=now - timedelta(hours=30))
    return {"now": now, "ours": ours, "far": far}


def test_updates_with_a_key_are_public_events_in_scope(client: Client, history: dict[str, Any], keys: Keys) -> None:
    response = client.get(f"{BASE}/servicerequestupdates.json", {"api_key": keys.community})
    assert response.status_code == 200
    items = as_json(response)
    assert all(list(item) == UPDATE_FIELDS for item in items)
    assert {item["service_request_id"] for item in items} == {str(history["ours"].pk)}
    assert [item["status"] for item in items] == ["open", "open", "closed", "closed", "closed"]
    assert [item["description"] for item in items] == [None, REPLY, "已更换灯泡。", None, None]
    assert items[1]["media_url"].startswith("http://testserver/open311/v2/media/")
    assert items[0]["media_url"] is None
    times = [item["updated_datetime"] for item in items]
    assert times == sorted(times)
    assert NOTE not in response.content.decode()
    other = as_json(client.get(f"{BASE}/servicerequestupdates.json", {"api_key": keys.other}))
    assert {item["service_request_id"] for item in other} == {str(history["far"].pk)}


def test_keyless_updates_carry_no_text_or_photos(client: Client, history: dict[str, Any]) -> None:
    response = client.get(f"{BASE}/servicerequestupdates.json")
    items = as_json(response)
    assert {item["service_request_id"] for item in items} == {str(history["ours"].pk), str(history["far"].pk)}
    assert all(item["description"] is None and item["media_url"] is None for item in items)
    assert REPLY not in response.content.decode()


def test_updates_xml_and_extensions(client: Client, history: dict[str, Any], keys: Keys) -> None:
    root = xml(client.get(f"{BASE}/servicerequestupdates.xml", {"api_key": keys.community, "extensions": "true"}))
    assert root.tag == "service_request_updates"
    assert {child.tag for child in root} == {"request_update"}
    assert [c.tag for c in root[0]] == [*UPDATE_FIELDS, "detailed_status", "kind"]
    assert [u.findtext("kind") for u in root] == ["accepted", "replied", "resolved", "rated", "closed"]
    assert root[1].findtext("description") == REPLY and root[0].findtext("description") == ""


def test_updates_by_date_and_page(client: Client, history: dict[str, Any], keys: Keys) -> None:
    now = history["now"]

    def listed(**query: str) -> list[str | None]:
        response = client.get(f"{BASE}/servicerequestupdates.json", {"api_key": keys.community, **query})
        assert response.status_code == 200, response.content
        return [item["description"] for item in as_json(response)]

    assert listed(start_date=(now - timedelta(hours=12)).isoformat()) == ["已更换灯泡。", None, None]
    assert listed(end_date=(now - timedelta(hours=12)).isoformat()) == [None, REPLY]
    assert listed(page_size="2", page="2") == ["已更换灯泡。", None]
    assert listed(page_size="2", page="4") == []


@pytest.mark.parametrize("query", [{"start_date": "soon"}, {"page_size": "1000"}, {"page": "x"},
                                   {"start_date": "2025-01-01", "end_date": "2025-12-01"}])
def test_bad_update_arguments_are_400(client: Client, query: dict[str, str]) -> None:
    response = client.get(f"{BASE}/servicerequestupdates.xml", query)
    assert response.status_code == 400 and error_codes(response, "xml") == [400]


def test_update_queries_do_not_grow_with_the_page(client: Client, submit: Submit, personas: Personas,
                                                  keys: Keys) -> None:
    now = timezone.now()
    for n in range(60):
        req = submit(at=now - timedelta(hours=2, minutes=n))
        svc.request_reply(request=req, by=personas.staff, body=f"答复 {n}", photos=[photo()] if n % 7 == 0 else (),
                          at=now - timedelta(hours=1, minutes=n))
    client.get(f"{BASE}/servicerequestupdates.json", {"api_key": keys.community, "page_size": "1"})
    counts = []
    for size in ("5", "50"):
        with CaptureQueriesContext(connection) as captured:
            response = client.get(f"{BASE}/servicerequestupdates.json", {"api_key": keys.community, "page_size": size})
        assert len(as_json(response)) == int(size)
        counts.append(len(captured))
    assert counts == [2, 2]  # page, photos (the key verified by the first call is kept)
