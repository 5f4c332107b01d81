"""The JSON API of requests: the queue and a request's record in scope, intake by a
resident, staff and an API key (JSON or multipart with photos), the transitions with
their version check, and a resident's own requests."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from linli.accounts.models import Organisation, Role
from linli.accounts.services import apikey_create
from linli.api import api
from linli.core.crypto import mask
from linli.requests import services as svc
from linli.requests.intake import request_follow
from linli.requests.models import Attachment, Channel, EventKind, Request, Status
from tests.conftest import Personas, Tree, login
from tests.requests.conftest import Submit
from tests.requests.test_views_resident import png

pytestmark = pytest.mark.django_db

BASE = "/api/v1/requests"


def post(client: Client, url: str, data: dict[str, Any], **extra: Any) -> Any:
    return client.post(url, json.dumps(data), content_type="application/json", **extra)


def accepted(submit: Submit, personas: Personas, **fields: Any) -> Request:
    return svc.request_accept(request=submit(**fields), by=personas.staff)


# The queue ------------------------------------------------------------------------------

def test_list_is_scoped_filtered_and_paginated(client: Client, personas: Personas, submit: Submit, tree: Tree) -> None:
    inside = submit(title="楼道灯坏了")
    late = accepted(submit, personas, title="电梯坏了")
    submit(by=personas.outside_staff, place=tree.far_household, channel=Channel.PHONE, contact_name="王",
           title="井盖松动")
    login(client, personas.staff)
    data = client.get(f"{BASE}/").json()
    assert data["count"] == 2 and {i["title"] for i in data["items"]} == {"楼道灯坏了", "电梯坏了"}
    item = next(i for i in data["items"] if i["id"] == inside.pk)
    assert item["status"] == "submitted" and item["category"] == "repairs" and item["countdown"].startswith("剩")
    assert item["place"].endswith("502室") and item["version"] == 0
    assert [i["id"] for i in client.get(f"{BASE}/", {"status": "accepted"}).json()["items"]] == [late.pk]
    assert client.get(f"{BASE}/", {"category": "noise"}).json()["count"] == 0
    assert client.get(f"{BASE}/", {"q": str(inside.pk)}).json()["count"] == 1
    assert client.get(f"{BASE}/", {"page_size": 1}).json()["count"] == 2
    assert len(client.get(f"{BASE}/", {"page_size": 1, "page": 2}).json()["items"]) == 1
    response = client.get(f"{BASE}/", {"status": "asleep", "category": "martians", "channel": "pigeon"})
    assert response.status_code == 422
    assert set(response.json()["error"]["fields"]) == {"status", "category", "channel"}
    assert client.get(f"{BASE}/", {"page": 0}).status_code == 422
    assert client.get(f"{BASE}/", {"page": 10**9}).status_code == 422


def test_list_is_for_those_with_a_queue(client: Client, personas: Personas) -> None:
    for who in ("resident", "outsider"):
        login(client, getattr(personas, who))
        response = client.get(f"{BASE}/")
        assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden"
    client.logout()
    assert client.get(f"{BASE}/").status_code == 401


def test_list_runs_a_constant_number_of_queries(client: Client, personas: Personas, submit: Submit,
                                                property_manager: Organisation) -> None:
    def batch(n: int) -> None:
        for i in range(n):
            req = accepted(submit, personas, title=f"问题 {i}")
            if i % 2:
                svc.request_dispatch(request=req, by=personas.staff, organisation=property_manager)
            else:
                svc.request_assign(request=req, by=personas.staff, handler=personas.grid_worker)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(f"{BASE}/", {"page_size": 100})
            assert response.status_code == 200
        return len(ctx.captured_queries)

    batch(3)
    login(client, personas.staff)
    few = count()
    batch(12)
    assert count() == few
    assert client.get(f"{BASE}/").json()["count"] == 15


def test_detail_in_full_for_staff(client: Client, personas: Personas, submit: Submit) -> None:
    req = accepted(submit, personas, photos=[png()])
    svc.request_reply(request=req, by=personas.staff, body="内部：电工 13912345678", public=False)
    login(client, personas.staff)
    data = client.get(f"{BASE}/{req.pk}").json()
    assert data["description"].startswith("3号楼") and data["attributes"] == {"facility": "light"}
    assert data["reporter"] == "resident"
    kinds = [(e["kind"], e["public"]) for e in data["timeline"]]
    assert kinds == [(EventKind.SUBMITTED, True), (EventKind.ACCEPTED, True), (EventKind.NOTED, False)]
    assert data["photos"][0]["url"] == f"/requests/attachments/{req.attachments.get().pk}/"
    login(client, personas.outside_staff)
    assert client.get(f"{BASE}/{req.pk}").status_code == 404


def test_detail_masks_the_phone_for_the_auditor(client: Client, personas: Personas, submit: Submit) -> None:
    req = submit(by=personas.staff, channel=Channel.PHONE, contact_name="张阿姨", contact_phone="13700001111")
    login(client, personas.staff)
    assert client.get(f"{BASE}/{req.pk}").json()["contact_phone"] == "13700001111"
    login(client, personas.auditor)
    assert client.get(f"{BASE}/{req.pk}").json()["contact_phone"] == mask("13700001111")


# Intake ---------------------------------------------------------------------------------

REPORT = {"category": "repairs", "title": "楼道灯坏了", "description": "5 层楼道灯不亮", "attributes": {"facility": "light"}}


def test_a_resident_reports_at_home(client: Client, personas: Personas, tree: Tree) -> None:
    login(client, personas.resident)
    response = post(client, f"{BASE}/", {**REPORT, "client_ref": "app-1"})
    assert response.status_code == 201
    created = Request.objects.get()
    assert response.json()["id"] == created.pk and response.json()["url"] == f"/requests/mine/{created.pk}/"
    assert created.place == tree.household and created.channel == Channel.API and created.reporter == personas.resident
    # The same client_ref again is the same request (a retried upload).
    assert post(client, f"{BASE}/", {**REPORT, "client_ref": "app-1"}).json()["id"] == created.pk
    assert Request.objects.count() == 1
    response = post(client, f"{BASE}/", {**REPORT, "place_id": tree.other_household.pk})
    assert response.status_code == 422 and "place_id" in response.json()["error"]["fields"]


def test_intake_errors_name_the_fields(client: Client, personas: Personas) -> None:
    login(client, personas.resident)
    cases = [
        ({**REPORT, "attributes": {"facility": "rocket"}}, "attribute[facility]"),
        ({**REPORT, "attributes": {}}, "attribute[facility]"),
        ({**REPORT, "category": "martians"}, "category"),
        ({**REPORT, "title": ""}, "title"),
        ({**REPORT, "lat": 123.0}, "lat"),
        ({k: v for k, v in REPORT.items() if k != "description"}, "description"),
    ]
    for data, field in cases:
        response = post(client, f"{BASE}/", data)
        assert response.status_code == 422, data
        assert field in response.json()["error"]["fields"], response.json()
    response = client.post(f"{BASE}/", "not json", content_type="application/json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "bad_request"
    assert client.post(f"{BASE}/", "[1, 2]", content_type="application/json").status_code == 422  # valid JSON of the wrong shape: invalid input
    assert not Request.objects.exists()


def test_multipart_with_photos(client: Client, personas: Personas) -> None:
    login(client, personas.resident)
    data = {"category": "repairs", "title": "楼道灯坏了", "description": "5 层", "attribute[facility]": "light",
            "attribute[floor]": "5 层", "photos": [png("a.png"), png("b.png")]}
    response = client.post(f"{BASE}/", data)
    assert response.status_code == 201, response.json()
    created = Request.objects.get()
    assert created.attributes == {"facility": "light", "floor": "5 层"} and created.attachments.count() == 2
    fake = {**data, "title": "第二件",
            "photos": [png("a.png"), SimpleUploadedFile("x.jpg", b"not a photo", content_type="image/jpeg")]}
    response = client.post(f"{BASE}/", fake)
    assert response.status_code == 422 and "x.jpg" in json.dumps(response.json(), ensure_ascii=False)
    assert Request.objects.count() == 1 and Attachment.objects.count() == 2
    response = client.post(f"{BASE}/", {**data, "photos": [], "attributes": "{not json"})
    assert response.status_code == 422 and "attributes" in response.json()["error"]["fields"]


def test_staff_enter_a_request_for_a_resident(client: Client, personas: Personas, tree: Tree) -> None:
    login(client, personas.grid_worker)
    response = post(client, f"{BASE}/", {**REPORT})
    assert response.status_code == 422 and "place_id" in response.json()["error"]["fields"]
    response = post(client, f"{BASE}/", {**REPORT, "place_id": tree.far_household.pk})
    assert response.status_code == 422
    response = post(client, f"{BASE}/", {**REPORT, "place_id": tree.building.pk, "channel": "pigeon"})
    assert response.status_code == 422 and "channel" in response.json()["error"]["fields"]
    response = post(client, f"{BASE}/", {**REPORT, "place_id": tree.building.pk, "channel": "visit",
                                         "contact_name": "张阿姨", "contact_phone": "13700001111"})
    assert response.status_code == 201
    created = Request.objects.get()
    assert created.channel == Channel.VISIT and created.reporter is None and created.entered_by == personas.grid_worker
    assert response.json()["url"] == f"/requests/{created.pk}/"


def test_an_api_key_enters_requests_in_its_scope(client: Client, personas: Personas, tree: Tree) -> None:
    _key, secret = apikey_create(name="12345 对接", place=tree.community, role=Role.COMMUNITY_STAFF)
    response = post(client, f"{BASE}/", {**REPORT, "place_id": tree.household.pk, "channel": "hotline",
                                         "contact_name": "市民"}, HTTP_X_API_KEY=secret)
    assert response.status_code == 201
    assert Request.objects.get().channel == Channel.HOTLINE
    response = post(client, f"{BASE}/", {**REPORT, "place_id": tree.far_household.pk}, HTTP_X_API_KEY=secret)
    assert response.status_code == 422
    _audit_key, audit_secret = apikey_create(name="监督", place=tree.community, role=Role.AUDITOR)
    assert post(client, f"{BASE}/", {**REPORT, "place_id": tree.household.pk},
                HTTP_X_API_KEY=audit_secret).status_code == 403


@pytest.mark.parametrize("who", ["auditor", "partner", "outsider"])
def test_intake_is_refused_to_those_who_neither_live_nor_work_here(client: Client, personas: Personas,
                                                                   tree: Tree, who: str) -> None:
    login(client, getattr(personas, who))
    assert post(client, f"{BASE}/", {**REPORT, "place_id": tree.household.pk}).status_code == 403


def test_create_is_documented_for_json_and_multipart(db: None) -> None:
    schema = api.get_openapi_schema()
    content = schema["paths"][f"{BASE}/"]["post"]["requestBody"]["content"]
    assert set(content) == {"application/json", "multipart/form-data"}
    assert {"category", "title", "description"} <= set(content["application/json"]["schema"]["required"])


# Transitions ----------------------------------------------------------------------------

def test_the_transitions(client: Client, personas: Personas, submit: Submit) -> None:
    req = submit()
    login(client, personas.staff)
    r = post(client, f"{BASE}/{req.pk}/accept", {"priority": "high", "expected_version": 0})
    assert r.status_code == 200 and r.json()["status"] == "accepted" and r.json()["priority"] == "high"
    version = r.json()["version"]
    r = post(client, f"{BASE}/{req.pk}/assign", {"handler_id": personas.outside_staff.pk})
    assert r.status_code == 422 and "handler_id" in r.json()["error"]["fields"]
    r = post(client, f"{BASE}/{req.pk}/assign", {"handler_id": personas.grid_worker.pk, "expected_version": version})
    assert r.status_code == 200 and r.json()["handler_id"] == personas.grid_worker.pk
    login(client, personas.grid_worker)
    assert post(client, f"{BASE}/{req.pk}/start", {}).json()["status"] == "in_progress"
    assert post(client, f"{BASE}/{req.pk}/reply", {"body": "明天上午修。"}).status_code == 200
    assert post(client, f"{BASE}/{req.pk}/note", {"body": "需要梯子"}).status_code == 200
    r = post(client, f"{BASE}/{req.pk}/resolve", {"resolution": "已修好"})
    assert r.json()["status"] == "resolved"
    # The reporter rates it, then reopens it.
    login(client, personas.resident)
    r = post(client, f"{BASE}/{req.pk}/rate", {"rating": 2, "solved": False, "comment": "还是暗"})
    assert r.status_code == 200 and r.json()["status"] == "closed" and r.json()["needs_review"]
    r = post(client, f"{BASE}/{req.pk}/reopen", {"reason": "灯还是暗"})
    assert r.status_code == 200 and r.json()["status"] == "in_progress"
    kinds = list(Request.objects.get(pk=req.pk).events.values_list("kind", flat=True))
    assert kinds.count(EventKind.REPLIED) == 1 and EventKind.NOTED in kinds and EventKind.REOPENED in kinds


def test_a_stale_version_is_a_conflict(client: Client, personas: Personas, submit: Submit) -> None:
    req = accepted(submit, personas)
    login(client, personas.staff)
    r = post(client, f"{BASE}/{req.pk}/resolve", {"resolution": "已修好", "expected_version": req.version - 1})
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"
    assert "刚被他人处理过" in r.json()["error"]["message"]
    assert Request.objects.get(pk=req.pk).status == Status.ACCEPTED
    r = post(client, f"{BASE}/{req.pk}/reply", {"body": "x", "expected_version": req.version + 5})
    assert r.status_code == 409


def test_a_step_the_state_does_not_allow_is_a_422(client: Client, personas: Personas, submit: Submit) -> None:
    req = submit()
    login(client, personas.staff)
    r = post(client, f"{BASE}/{req.pk}/resolve", {"resolution": "已修好"})
    assert r.status_code == 422 and "不能办结" in json.dumps(r.json(), ensure_ascii=False)
    r = post(client, f"{BASE}/{req.pk}/close", {"reason": "duplicate", "answer": "x"})
    assert r.status_code == 422 and "reason" in r.json()["error"]["fields"]


def test_the_auditor_and_outsiders_on_transitions(client: Client, personas: Personas, submit: Submit) -> None:
    req = accepted(submit, personas)
    login(client, personas.auditor)
    assert post(client, f"{BASE}/{req.pk}/note", {"body": "x"}).status_code == 403
    login(client, personas.outside_staff)
    assert post(client, f"{BASE}/{req.pk}/note", {"body": "x"}).status_code == 404
    login(client, personas.grid_worker)
    assert post(client, f"{BASE}/{req.pk}/close", {"reason": "privacy", "answer": "x"}).status_code == 403
    # Staff record a return visit only with its channel; residents rate only their own.
    req = svc.request_resolve(request=req, by=personas.staff, resolution="好了")
    login(client, personas.staff)
    r = post(client, f"{BASE}/{req.pk}/rate", {"rating": 5, "solved": True})
    assert r.status_code == 422 and "channel" in r.json()["error"]["fields"]
    login(client, personas.other_resident)
    assert post(client, f"{BASE}/{req.pk}/rate", {"rating": 1, "solved": False}).status_code == 404
    login(client, personas.staff)
    r = post(client, f"{BASE}/{req.pk}/rate", {"rating": 4, "solved": True, "channel": "phone"})
    assert r.status_code == 200 and r.json()["status"] == "closed"


def test_partner_works_on_what_is_dispatched(client: Client, personas: Personas, submit: Submit,
                                             property_manager: Organisation) -> None:
    req = accepted(submit, personas)
    login(client, personas.staff)
    r = post(client, f"{BASE}/{req.pk}/dispatch", {"organisation_id": property_manager.pk, "reason": "物业维保"})
    assert r.status_code == 200 and r.json()["organisation"] == "安居物业"
    login(client, personas.partner)
    assert client.get(f"{BASE}/", {"mine": True}).json()["count"] == 1
    assert post(client, f"{BASE}/{req.pk}/start", {}).status_code == 200
    assert post(client, f"{BASE}/{req.pk}/resolve", {"resolution": "已修好"}).json()["status"] == "resolved"
    assert post(client, f"{BASE}/{req.pk}/accept", {}).status_code == 403


# A resident's own requests ----------------------------------------------------------------

def test_my_requests(client: Client, personas: Personas, submit: Submit, tree: Tree) -> None:
    mine = accepted(submit, personas)
    svc.request_reply(request=mine, by=personas.staff, body="内部备注", public=False)
    svc.request_reply(request=mine, by=personas.staff, body="明天来修")
    followed = submit(by=personas.other_resident, place=tree.other_household, title="邻居的")
    request_follow(request=followed, user=personas.resident)
    login(client, personas.resident)
    data = client.get(f"{BASE}/mine").json()
    assert data["count"] == 2
    assert {(i["id"], i["mine"]) for i in data["items"]} == {(mine.pk, True), (followed.pk, False)}
    detail = client.get(f"{BASE}/mine/{mine.pk}").json()
    bodies = [e["body"] for e in detail["timeline"]]
    assert "明天来修" in bodies and "内部备注" not in bodies
    assert all(e["public"] for e in detail["timeline"]) and detail["place"].endswith("502室")
    login(client, personas.other_resident)
    assert client.get(f"{BASE}/mine/{mine.pk}").status_code == 404
    assert client.get(f"{BASE}/mine").json()["count"] == 1


def test_my_requests_list_runs_a_constant_number_of_queries(client: Client, personas: Personas,
                                                            submit: Submit) -> None:
    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(f"{BASE}/mine").status_code == 200
        return len(ctx.captured_queries)

    for _ in range(3):
        submit()
    login(client, personas.resident)
    few = count()
    for _ in range(12):
        submit()
    assert count() == few


def test_categories(client: Client, personas: Personas) -> None:
    login(client, personas.resident)
    data = client.get(f"{BASE}/categories").json()
    repairs = next(c for c in data if c["code"] == "repairs")
    assert repairs["attributes"][0]["code"] == "facility" and not repairs["allow_anonymous"]
    assert next(c for c in data if c["code"] == "suggestion")["allow_anonymous"]
