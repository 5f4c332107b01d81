"""A third-party GeoReport client from PyPI (``georeport``) against a live server.

The library has no call for POST Service Request, so the request is posted with
``requests`` (the HTTP library georeport itself uses), as a client would, and read back
through the library."""

from __future__ import annotations

from typing import Any

import pytest
from georeport import GeoReport

import requests
from linli.accounts.models import Role
from linli.accounts.services import apikey_create
from linli.requests.catalogue import categories_install
from linli.requests.models import Request
from tests.conftest import make_tree


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_georeport_library_round_trip(live_server: Any, fmt: str) -> None:
    categories_install()  # a transactional test may start after another emptied the tables
    tree = make_tree()
    _, key = apikey_create(name="georeport", place=tree.community, role=Role.COMMUNITY_STAFF)
    root = f"{live_server.url}/open311/v2"
    client = GeoReport(root, jurisdiction="localhost", api_key=key, output_format=fmt)

    services = client.get_service_list()
    assert "repairs" in [service["service_code"] for service in services]
    definition = client.get_service_definition("repairs")
    assert definition["service_code"] == "repairs"
    attributes = definition["attributes"] if fmt == "json" else definition["attributes"]["attribute"]
    assert attributes[0]["code"] == "facility"

    posted = requests.post(f"{root}/requests.{fmt}", data={
        "api_key": key, "jurisdiction_id": "localhost", "service_code": "repairs", "address_id": "h1",
        "description": "电梯停在 7 层不动", "attribute[facility]": "lift", "attribute[floor]": "7 层",
    }, timeout=30)
    assert posted.status_code == 200, posted.text
    request_id = str(Request.objects.get().pk)

    mine = client.get_service_request(request_id)
    assert mine["service_request_id"] == request_id and mine["status"] == "open"
    assert mine["service_code"] == "repairs"  # no key on GET: the public view
    listed = client.get_service_requests(service_code="repairs", status="open")
    found = listed if isinstance(listed, list) else [listed]  # xmltodict gives one item as a dict
    assert [item["service_request_id"] for item in found] == [request_id]
    again = client.get_service_requests(service_request_id=request_id)
    again = again if isinstance(again, list) else [again]
    assert again[0]["service_request_id"] == request_id
    stored = Request.objects.get()
    assert stored.attributes == {"facility": "lift", "floor": "7 层"} and stored.channel == "open311"
