"""Discovery, the service list and the service definitions, in both formats."""

from __future__ import annotations

import pytest
from django.test import Client

from linli.requests.models import Category
from tests.requests.open311.conftest import BASE, as_json, error_codes, xml

pytestmark = pytest.mark.django_db


def test_discovery_in_both_formats(client: Client) -> None:
    data = as_json(client.get(f"{BASE}/discovery.json"))
    assert set(data) == {"changeset", "contact", "key_service", "endpoints"}
    (endpoint,) = data["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == "http://testserver/open311/v2"
    assert endpoint["type"] == "production" and endpoint["formats"] == ["text/xml", "application/json"]
    root = xml(client.get(f"{BASE}/discovery.xml"))
    assert root.tag == "discovery"
    assert [child.tag for child in root] == ["changeset", "contact", "key_service", "endpoints"]
    formats = root.findall("endpoints/endpoint/formats/format")
    assert [f.text for f in formats] == ["text/xml", "application/json"]
    assert root.findtext("endpoints/endpoint/url") == "http://testserver/open311/v2"


def test_discovery_uses_the_site_address_when_configured(client: Client, settings) -> None:  # type: ignore[no-untyped-def]
    settings.SITE_URL = "https://linli.example.cn"
    data = as_json(client.get(f"{BASE}/discovery.json"))
    assert data["endpoints"][0]["url"] == "https://linli.example.cn/open311/v2"


def test_service_list_json_is_a_top_level_array_of_active_categories(client: Client) -> None:
    Category.objects.filter(code="pets").update(is_active=False)
    data = as_json(client.get(f"{BASE}/services.json"))
    assert isinstance(data, list)
    codes = [item["service_code"] for item in data]
    assert "repairs" in codes and "pets" not in codes
    assert codes == list(Category.objects.filter(is_active=True).order_by("order", "code").values_list("code", flat=True))
    repairs = next(item for item in data if item["service_code"] == "repairs")
    assert repairs == {
        "service_code": "repairs", "service_name": "设施报修", "description": "楼道灯、门禁、电梯、下水道等公共设施损坏",
        "metadata": True, "type": "realtime", "keywords": "维修,报修,电梯,门禁,楼道灯", "group": "居住环境",
    }
    sanitation = next(item for item in data if item["service_code"] == "sanitation")
    assert sanitation["metadata"] is False


def test_service_list_xml(client: Client) -> None:
    root = xml(client.get(f"{BASE}/services.xml"))
    assert root.tag == "services"
    assert {child.tag for child in root} == {"service"}
    first = root[0]
    assert [c.tag for c in first] == ["service_code", "service_name", "description", "metadata", "type", "keywords",
                                      "group"]
    repairs = next(s for s in root if s.findtext("service_code") == "repairs")
    assert repairs.findtext("metadata") == "true" and repairs.findtext("type") == "realtime"


def test_service_names_follow_the_chosen_language(client: Client) -> None:
    client.cookies["linli_language"] = "en"
    data = as_json(client.get(f"{BASE}/services.json"))
    assert next(i for i in data if i["service_code"] == "repairs")["service_name"] == "Repairs"


@pytest.mark.parametrize("prefix", ["services", "service"])
def test_service_definition_json(client: Client, prefix: str) -> None:
    data = as_json(client.get(f"{BASE}/{prefix}/repairs.json"))
    assert data["service_code"] == "repairs"
    facility, floor = data["attributes"]
    assert set(facility) == {"variable", "code", "datatype", "required", "datatype_description", "order",
                             "description", "values"}
    assert facility["code"] == "facility" and facility["datatype"] == "singlevaluelist"
    assert facility["required"] is True and facility["variable"] is True and facility["order"] == 1
    assert {"key": "lift", "name": "电梯"} in facility["values"]
    assert floor["code"] == "floor" and floor["datatype"] == "string" and floor["required"] is False
    assert floor["values"] == [] and floor["order"] == 2


@pytest.mark.parametrize("prefix", ["services", "service"])
def test_service_definition_xml(client: Client, prefix: str) -> None:
    root = xml(client.get(f"{BASE}/{prefix}/repairs.xml"))
    assert root.tag == "service_definition"
    assert root.findtext("service_code") == "repairs"
    attributes = root.findall("attributes/attribute")
    assert [a.findtext("code") for a in attributes] == ["facility", "floor"]
    assert [c.tag for c in attributes[0]] == ["variable", "code", "datatype", "required", "datatype_description",
                                              "order", "description", "values"]
    values = attributes[0].findall("values/value")
    assert ("lift", "电梯") in [(v.findtext("key"), v.findtext("name")) for v in values]
    assert attributes[0].findtext("required") == "true"


def test_attributes_come_in_their_order_and_survive_hand_edited_json(client: Client) -> None:
    Category.objects.filter(code="sanitation").update(attributes=[
        {"code": "b", "order": 2, "description": "二"}, "not a dict", {"description": "no code"},
        {"code": "a", "order": "x", "datatype": "multivaluelist", "values": [{"key": 1, "name": "一"}, "bad"]},
    ])
    data = as_json(client.get(f"{BASE}/services/sanitation.json"))
    assert [(a["code"], a["order"]) for a in data["attributes"]] == [("b", 2), ("a", 4)]
    assert data["attributes"][1]["values"] == [{"key": "1", "name": "一"}]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_unknown_or_inactive_service_is_404(client: Client, fmt: str) -> None:
    Category.objects.filter(code="pets").update(is_active=False)
    for code in ("nothing", "pets", "a.b"):
        response = client.get(f"{BASE}/services/{code}.{fmt}")
        assert response.status_code == 404
        assert error_codes(response, fmt) == [404]


@pytest.mark.parametrize("url", ["services.json", "services/repairs.json", "discovery.json"])
def test_a_foreign_jurisdiction_is_404_and_ours_is_fine(client: Client, url: str, settings) -> None:  # type: ignore[no-untyped-def]
    response = client.get(f"{BASE}/{url}", {"jurisdiction_id": "sfgov.org"})
    assert response.status_code == 404 and error_codes(response) == [404]
    assert client.get(f"{BASE}/{url}", {"jurisdiction_id": "testserver"}).status_code == 200
    settings.OPEN311_JURISDICTION_ID = "yinghuayuan.gov.cn"
    assert client.get(f"{BASE}/{url}", {"jurisdiction_id": "yinghuayuan.gov.cn"}).status_code == 200
    assert client.get(f"{BASE}/{url}", {"jurisdiction_id": "testserver"}).status_code == 404
    assert client.get(f"{BASE}/{url}", {"jurisdiction_id": ""}).status_code == 200  # empty = not given


def test_unknown_addresses_and_formats_answer_in_the_error_shape(client: Client) -> None:
    response = client.get(f"{BASE}/nothing.json")
    assert response.status_code == 404 and error_codes(response, "json") == [404]
    for url in (f"{BASE}/services.html", "/open311/", f"{BASE}/", f"{BASE}/requests/1.csv"):
        response = client.get(url)
        assert response.status_code == 404 and error_codes(response, "xml") == [404]


def test_wrong_method_is_400_in_the_error_shape(client: Client) -> None:
    response = client.post(f"{BASE}/services.json")
    assert response.status_code == 400 and error_codes(response) == [405]
    response = client.delete(f"{BASE}/requests.xml")
    assert response.status_code == 400 and error_codes(response, "xml") == [405]


@pytest.mark.parametrize("url", ["discovery.json", "services.xml", "services/repairs.json", "service/repairs.xml"])
def test_no_key_is_needed_to_read_the_catalogue_but_a_wrong_one_is_refused(client: Client, url: str) -> None:
    assert client.get(f"{BASE}/{url}").status_code == 200
    response = client.get(f"{BASE}/{url}", {"api_key": "lk_00000000_wrong"})
    assert response.status_code == 403 and error_codes(response, url.rsplit(".", 1)[1]) == [403]
