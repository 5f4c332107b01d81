"""GET Service Requests and GET Service Request: fields, filters, paging, privacy, scope,
extensions, query counts and the query plan."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from PIL import Image

from linli.accounts.services import apikey_cache_clear
from linli.requests import services as svc
from linli.requests.models import Channel, Rating, Request
from linli.requests.open311 import names
from tests.conftest import Personas, Tree
from tests.requests.conftest import Submit
from tests.requests.open311.conftest import BASE, Keys, as_json, error_codes, xml

pytestmark = pytest.mark.django_db

NOTE = "内部备注：电工电话 13700001111"
REPLY = "已联系电工，明天上午更换。"
CONTACT = ("王先生", "13912345678", "wang@example.cn")
FIELDS = ["service_request_id", "status", "status_notes", "service_name", "service_code", "description",
          "agency_responsible", "service_notice", "requested_datetime", "updated_datetime", "expected_datetime",
          "address", "address_id", "zipcode", "lat", "long", "media_url"]


def photo() -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (20, 20), "blue").save(out, "PNG")
    return SimpleUploadedFile("p.png", out.getvalue(), content_type="image/png")


@dataclass
class Data:
    now: datetime
    fresh: Request  # submitted yesterday, with a photo and coordinates
    accepted: Request  # entered by phone with contact details; a public reply and an internal note
    closed: Request  # resolved, rated, closed
    old: Request  # four months ago
    far: Request  # in the other community


@pytest.fixture
def data(submit: Submit, personas: Personas, tree: Tree, suggestion: Any) -> Data:
    now = timezone.now()
    fresh = submit(at=now - timedelta(days=1), address="3号楼2单元5层", lat=39.9042, long=116.4074, photos=[photo()])
    accepted = submit(at=now - timedelta(days=2), by=personas.staff, channel=Channel.PHONE, description="门禁坏了，进不去",
                      contact_name=CONTACT[0], contact_phone=CONTACT[1], contact_email=CONTACT[2],
                      attributes={"facility": "door"})
    accepted = svc.request_accept(request=accepted, by=personas.staff, at=now - timedelta(days=2) + timedelta(hours=1))
    svc.request_reply(request=accepted, by=personas.staff, body=REPLY, at=now - timedelta(days=1, hours=20))
    svc.request_reply(request=accepted, by=personas.staff, body=NOTE, public=False, at=now - timedelta(days=1, hours=19))
    closed = submit(at=now - timedelta(days=3), category=suggestion, attributes={}, description="建议增加长椅")
    closed = svc.request_accept(request=closed, by=personas.staff, at=now - timedelta(days=3) + timedelta(hours=1))
    closed = svc.request_resolve(request=closed, by=personas.staff, resolution="已安装两张长椅。",
                                 at=now - timedelta(days=2, hours=12))
    closed = svc.request_rate(request=closed, by=personas.resident, rating=Rating.SATISFIED, solved=True,
                              at=now - timedelta(days=2, hours=10))
    old = submit(at=now - timedelta(days=120))
    far = submit(at=now - timedelta(days=1), by=personas.outside_staff, place=tree.far_household, channel=Channel.PHONE,
                 contact_name="赵女士")
    return Data(now, fresh, accepted, closed, old, far)


def ids(response: Any) -> list[str]:
    return [item["service_request_id"] for item in as_json(response)]


def test_keyless_list_is_a_top_level_array_newest_first_without_personal_information(client: Client, data: Data) -> None:
    response = client.get(f"{BASE}/requests.json")
    assert response.status_code == 200
    items = as_json(response)
    assert ids(response) == [str(data.far.pk), str(data.fresh.pk), str(data.accepted.pk), str(data.closed.pk)]
    for item in items:
        assert list(item) == FIELDS
        assert item["description"] is item["address"] is item["address_id"] is item["lat"] is item["long"] is None
        assert item["media_url"] is None
    body = response.content.decode()
    for secret in (*CONTACT, "赵女士", "门禁坏了", "3号楼2单元5层", "39.9042", REPLY, NOTE, "h1", "长椅"):
        assert secret not in body
    fresh = items[1]
    assert fresh["status"] == "open" and fresh["service_code"] == "repairs" and fresh["service_name"] == "设施报修"
    assert fresh["agency_responsible"] == "樱花园社区"
    assert fresh["requested_datetime"] == timezone.localtime(data.fresh.submitted_at).isoformat(timespec="seconds")
    assert fresh["requested_datetime"].endswith("+08:00")
    assert fresh["expected_datetime"] == timezone.localtime(data.fresh.accept_due_at).isoformat(timespec="seconds")
    closed = items[3]
    assert closed["status"] == "closed" and closed["status_notes"] == "已办结"


def test_keyed_list_is_full_but_only_in_scope_and_never_shows_contacts(client: Client, data: Data, keys: Keys) -> None:
    response = client.get(f"{BASE}/requests.json", {"api_key": keys.community})
    assert ids(response) == [str(data.fresh.pk), str(data.accepted.pk), str(data.closed.pk)]
    assert response["Cache-Control"] == "private, no-store"
    fresh, accepted, closed = as_json(response)
    assert fresh["description"] == "3号楼2单元5层楼道灯不亮" and fresh["address"] == "3号楼2单元5层"
    assert fresh["address_id"] == "h1" and fresh["lat"] == 39.9042 and fresh["long"] == 116.4074
    assert fresh["media_url"].startswith("http://testserver/open311/v2/media/")
    assert accepted["description"] == "门禁坏了，进不去" and accepted["media_url"] is None
    assert accepted["expected_datetime"] == timezone.localtime(
        Request.objects.get(pk=data.accepted.pk).resolve_due_at).isoformat(timespec="seconds")
    assert closed["status_notes"] == "已安装两张长椅。"
    closed_at = Request.objects.get(pk=data.closed.pk).closed_at
    assert closed["updated_datetime"] == timezone.localtime(closed_at).isoformat(timespec="seconds")
    body = response.content.decode()
    for secret in (*CONTACT, NOTE):
        assert secret not in body
    other = client.get(f"{BASE}/requests.json", {"api_key": keys.other})
    assert ids(other) == [str(data.far.pk)]
    assert "赵女士" not in other.content.decode()
    street = client.get(f"{BASE}/requests.json", {"api_key": keys.street})
    assert set(ids(street)) == {str(r.pk) for r in (data.far, data.fresh, data.accepted, data.closed)}


def test_a_partner_key_reads_its_scope_without_personal_information(client: Client, data: Data, keys: Keys) -> None:
    items = as_json(client.get(f"{BASE}/requests.json", {"api_key": keys.partner}))
    assert [i["service_request_id"] for i in items] == [str(data.fresh.pk), str(data.accepted.pk), str(data.closed.pk)]
    assert all(i["description"] is None and i["media_url"] is None for i in items)


def test_the_photo_address_serves_the_photo_and_cannot_be_forged(client: Client, data: Data, keys: Keys) -> None:
    fresh = as_json(client.get(f"{BASE}/requests/{data.fresh.pk}.json", {"api_key": keys.community}))[0]
    response = client.get(fresh["media_url"].removeprefix("http://testserver"))
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(b"".join(response.streaming_content))).size == (20, 20)  # type: ignore[attr-defined]
    token = fresh["media_url"].rsplit("/", 1)[1]
    forged = token.replace(token.split(":")[0], "999", 1)
    response = client.get(f"{BASE}/media/{forged}")
    assert response.status_code == 404 and error_codes(response, "xml") == [404]


def test_list_xml(client: Client, data: Data, keys: Keys) -> None:
    root = xml(client.get(f"{BASE}/requests.xml", {"api_key": keys.community}))
    assert root.tag == "service_requests"
    assert [child.tag for child in root] == ["request"] * 3
    assert [c.tag for c in root[0]] == FIELDS
    assert root[0].findtext("service_request_id") == str(data.fresh.pk)
    assert root[0].findtext("description") == "3号楼2单元5层楼道灯不亮"
    assert root[0].findtext("lat") == "39.9042"
    public = xml(client.get(f"{BASE}/requests.xml"))
    assert public[1].findtext("description") == "" and public[1].find("description") is not None


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_single_request(client: Client, data: Data, keys: Keys, fmt: str) -> None:
    response = client.get(f"{BASE}/requests/{data.accepted.pk}.{fmt}", {"api_key": keys.community})
    assert response.status_code == 200
    if fmt == "json":
        (item,) = as_json(response)
        assert item["service_request_id"] == str(data.accepted.pk) and item["description"] == "门禁坏了，进不去"
    else:
        root = xml(response)
        assert root.tag == "service_requests" and [c.tag for c in root] == ["request"]
        assert [c.tag for c in root[0]] == FIELDS
    public = client.get(f"{BASE}/requests/{data.accepted.pk}.{fmt}")
    assert public.status_code == 200 and "门禁坏了" not in public.content.decode()


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_single_request_outside_scope_or_unknown_is_404(client: Client, data: Data, keys: Keys, fmt: str) -> None:
    response = client.get(f"{BASE}/requests/{data.far.pk}.{fmt}", {"api_key": keys.community})
    assert response.status_code == 404 and error_codes(response, fmt) == [404]
    for pk in ("999999", "abc", "0", "99999999999999999999999", "-1"):
        response = client.get(f"{BASE}/requests/{pk}.{fmt}")
        assert response.status_code == 404 and error_codes(response, fmt) == [404]


def test_filters(client: Client, data: Data, keys: Keys) -> None:
    def listed(**query: str) -> list[str]:
        response = client.get(f"{BASE}/requests.json", {"api_key": keys.community, **query})
        assert response.status_code == 200, response.content
        return ids(response)

    fresh, accepted, closed, old = (str(r.pk) for r in (data.fresh, data.accepted, data.closed, data.old))
    assert listed(status="open") == [fresh, accepted]
    assert listed(status="closed") == [closed]
    assert listed(status="open,closed") == listed(status="OPEN,Closed") == [fresh, accepted, closed]
    assert listed(service_code="suggestion") == [closed]
    assert listed(service_code="repairs,suggestion") == [fresh, accepted, closed]
    day = timedelta(days=1)
    assert listed(start_date=(data.now - 2 * day - timedelta(hours=1)).isoformat()) == [fresh, accepted]
    assert listed(end_date=(data.now - 2 * day + timedelta(hours=1)).isoformat()) == [accepted, closed]
    assert listed(start_date=(data.now - 130 * day).isoformat(), end_date=(data.now - 100 * day).isoformat()) == [old]
    local_day = timezone.localtime(data.old.submitted_at).date().isoformat()
    assert listed(start_date=local_day, end_date=local_day) == [old]  # bare dates cover the whole day
    assert listed(start_date=(data.now - 2 * day + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")) == [fresh]
    # service_request_id overrides everything else, and still keeps to the key's scope.
    assert listed(service_request_id=f"{old},{closed}", status="open") == [closed, old]
    assert listed(service_request_id=f"{data.far.pk}") == []
    assert listed(service_code="") == [fresh, accepted, closed]  # empty means not given


def test_paging_is_stable_and_ordered(client: Client, data: Data, keys: Keys) -> None:
    pages = [ids(client.get(f"{BASE}/requests.json", {"api_key": keys.street, "page_size": "1", "page": str(n)}))
             for n in range(1, 6)]
    assert pages == [[str(data.far.pk)], [str(data.fresh.pk)], [str(data.accepted.pk)], [str(data.closed.pk)], []]
    both = ids(client.get(f"{BASE}/requests.json", {"api_key": keys.street, "page_size": "2", "page": "2"}))
    assert both == [str(data.accepted.pk), str(data.closed.pk)]


@pytest.mark.parametrize("query", [
    {"start_date": "yesterday"}, {"end_date": "2026-13-40"}, {"start_date": "0001-01-01T00:00:00+14:00"},
    {"end_date": "9999-12-31T23:59:59-14:00"}, {"start_date": "2026-01-01T00:00:00+99:00"},
    {"start_date": "2026-03-01", "end_date": "2026-01-01"}, {"start_date": "2025-01-01", "end_date": "2025-06-01"},
    {"page": "0"}, {"page": "abc"}, {"page": "-1"}, {"page": "99999999999999999999"}, {"page": "1001", "page_size": "500"},
    {"page_size": "0"}, {"page_size": "501"}, {"page_size": "1e3"}, {"page_size": "١٢"},
    {"service_request_id": "abc"}, {"service_request_id": "1,2,x"}, {"service_request_id": "99999999999999999999"},
    {"service_request_id": ",".join(str(n) for n in range(1, 502))},
    {"status": "pending"}, {"service_code": "nothing"}, {"extensions": "maybe"},
])
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_bad_arguments_are_400(client: Client, data: Data, query: dict[str, str], fmt: str) -> None:
    response = client.get(f"{BASE}/requests.{fmt}", query)
    assert response.status_code == 400, response.content
    assert error_codes(response, fmt) == [400]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_wrong_key_on_a_read_is_403(client: Client, data: Data, fmt: str) -> None:
    for url in (f"requests.{fmt}", f"requests/{data.fresh.pk}.{fmt}", f"servicerequestupdates.{fmt}"):
        response = client.get(f"{BASE}/{url}", {"api_key": "lk_00000000_wrong"})
        assert response.status_code == 403 and error_codes(response, fmt) == [403]


def test_extensions_add_detailed_status_and_public_history_never_notes(client: Client, data: Data, keys: Keys) -> None:
    response = client.get(f"{BASE}/requests/{data.accepted.pk}.json", {"api_key": keys.community, "extensions": "true"})
    (item,) = as_json(response)
    assert item["detailed_status"] == "accepted"
    kinds = [event["kind"] for event in item["history"]]
    assert kinds == ["submitted", "accepted", "replied"]
    assert item["history"][2]["body"] == REPLY
    assert NOTE not in response.content.decode() and "noted" not in kinds
    public = client.get(f"{BASE}/requests.json", {"extensions": "true"})
    accepted = next(i for i in as_json(public) if i["service_request_id"] == str(data.accepted.pk))
    assert [e["kind"] for e in accepted["history"]] == kinds
    assert all(e["body"] is None for e in accepted["history"])
    assert REPLY not in public.content.decode() and NOTE not in public.content.decode()
    root = xml(client.get(f"{BASE}/requests/{data.accepted.pk}.xml", {"api_key": keys.community, "extensions": "1"}))
    events = root.findall("request/history/event")
    assert [e.findtext("kind") for e in events] == kinds and [c.tag for c in events[0]] == ["kind", "at", "body"]
    assert root.findtext("request/detailed_status") == "accepted"
    plain = as_json(client.get(f"{BASE}/requests.json", {"extensions": "false"}))
    assert all("history" not in i and "detailed_status" not in i for i in plain)


def _count(client: Client, query: dict[str, str]) -> tuple[int, int]:
    names.clear_all()  # start each call with the same (cold) copies of the names
    apikey_cache_clear()  # and of the verified keys
    with CaptureQueriesContext(connection) as captured:
        response = client.get(f"{BASE}/requests.json", query)
    assert response.status_code == 200
    return len(captured), len(as_json(response))


@pytest.mark.parametrize("keyed", [False, True])
def test_query_count_does_not_grow_with_the_page(client: Client, submit: Submit, personas: Personas, keys: Keys,
                                                 tree: Tree, keyed: bool) -> None:
    now = timezone.now()
    for n in range(105):
        req = submit(at=now - timedelta(minutes=n), photos=[photo()] if n % 10 == 0 else (),
                     place=tree.household if n % 2 else tree.other_household)
        if n % 3 == 0:
            svc.request_reply(request=req, by=personas.staff, body=f"答复 {n}")
    query = {"extensions": "true", **({"api_key": keys.community} if keyed else {})}
    _count(client, {**query, "page_size": "1"})  # the key's first use also records when it was used
    small = _count(client, {**query, "page_size": "5"})
    large = _count(client, {**query, "page_size": "100"})
    assert small[1] == 5 and large[1] == 100
    # (key,) page, category names, community names, (place codes, photos,) histories
    assert small[0] == large[0] == (7 if keyed else 4)


def test_names_are_kept_between_calls(client: Client, data: Data) -> None:
    client.get(f"{BASE}/requests.json")
    with CaptureQueriesContext(connection) as captured:
        items = as_json(client.get(f"{BASE}/requests.json"))
    assert len(captured) == 1 and items[1]["service_name"] == "设施报修"
    from linli.places.services import place_rename

    place_rename(place=data.fresh.community, name="樱花新园社区")  # a rename clears the copy
    items = as_json(client.get(f"{BASE}/requests.json"))
    assert items[1]["agency_responsible"] == "樱花新园社区"


def test_the_list_walks_an_index_and_does_not_sort_the_table(data: Data, tree: Tree, repairs: Any) -> None:
    from linli.requests.open311 import callers, listing, params

    rows = [Request(community=tree.community, place=tree.household, place_path=tree.household.path, category=repairs,
                    channel=Channel.WEB, title="t", description="d", submitted_at=data.now - timedelta(minutes=n))
            for n in range(3000)]
    Request.objects.bulk_create(rows, batch_size=500)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    wanted = listing.RequestFilter(ids=[], category_ids=None, statuses=[],
                                   window=params.Window(data.now - params.MAX_SPAN, None))
    plan = listing.request_page(callers.Caller(), wanted, params.Page(1, 100)).explain()
    if connection.vendor == "postgresql":
        assert "Index Scan Backward" in plan and "submitted_at" in plan, plan
        assert "Seq Scan on requests_request" not in plan, plan
    else:
        assert "USING INDEX" in plan and "submitted_at" in plan, plan
        assert "TEMP B-TREE FOR ORDER BY" not in plan, plan  # at most the tie-breaking id is sorted
