from __future__ import annotations

import pytest
from django.test import Client

from linli.audit.models import AuditEvent
from linli.audit.services import audit_record
from tests.conftest import Personas, Tree, login

pytestmark = pytest.mark.django_db


@pytest.fixture
def events(tree: Tree, personas: Personas) -> dict[str, AuditEvent]:
    return {
        "inside": audit_record(actor=personas.staff, action="test.inside", obj=tree.household, after={"x": 1}),
        "outside": audit_record(actor=personas.outside_staff, action="test.outside", obj=tree.far_household),
        "system": audit_record(actor=None, action="test.system", object_type="x", object_id="1"),
    }


def test_auditor_sees_own_community_events_only(client: Client, personas: Personas, events: dict[str, AuditEvent]) -> None:
    login(client, personas.auditor)
    body = client.get("/audit/").content.decode()
    assert "test.inside" in body
    assert "test.outside" not in body
    assert "test.system" not in body
    assert client.get(f"/audit/{events['inside'].seq}/").status_code == 200
    assert client.get(f"/audit/{events['outside'].seq}/").status_code == 404
    assert client.get(f"/audit/{events['system'].seq}/").status_code == 404


def test_street_supervisor_sees_every_community_below(client: Client, personas: Personas, events: dict[str, AuditEvent]) -> None:
    login(client, personas.street_supervisor)
    body = client.get("/audit/").content.decode()
    assert "test.inside" in body and "test.outside" in body


@pytest.mark.parametrize("persona", ["resident", "staff", "grid_worker", "partner", "outsider"])
def test_others_get_404(client: Client, personas: Personas, events: dict[str, AuditEvent], persona: str) -> None:
    login(client, getattr(personas, persona))
    assert client.get("/audit/").status_code == 404
    assert client.get(f"/audit/{events['inside'].seq}/").status_code == 404


def test_filters_and_bad_dates(client: Client, personas: Personas, events: dict[str, AuditEvent]) -> None:
    login(client, personas.street_supervisor)
    body = client.get("/audit/", {"action": "test.out"}).content.decode()
    assert "test.outside" in body and "test.inside" not in body
    response = client.get("/audit/", {"since": "2026-02-01", "until": "2026-01-01"})
    assert response.status_code == 400
    assert "截止日期不能早于起始日期" in response.content.decode()
    assert client.get("/audit/", {"since": "not-a-date"}).status_code == 400


def test_log_page_query_count_does_not_grow(client: Client, personas: Personas, tree: Tree, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    login(client, personas.lead)
    for i in range(60):
        audit_record(actor=personas.staff, action="test.bulk", obj=tree.household, after={"i": i})
    client.get("/audit/")  # warm the session
    with django_assert_max_num_queries(8):
        assert client.get("/audit/").status_code == 200


def test_api_lists_visible_events(client: Client, personas: Personas, events: dict[str, AuditEvent]) -> None:
    login(client, personas.auditor)
    data = client.get("/api/v1/audit/events").json()
    actions = {item["action"] for item in data["items"]}
    assert "test.inside" in actions and "test.outside" not in actions
    assert client.get(f"/api/v1/audit/events/{events['outside'].seq}").status_code == 404
    login(client, personas.resident)
    response = client.get("/api/v1/audit/events")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
