from __future__ import annotations

import json
import re
from datetime import date

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from linli.audit.models import AuditEvent
from linli.core.crypto import mask
from linli.people.models import (
    ConsentBasis,
    CorrectionRequest,
    CorrectionStatus,
    RelationKind,
    SensitiveAccess,
    SpecialGroup,
)
from linli.people.services import (
    consent_give,
    correction_request_create,
    relation_add,
    resident_create,
    tag_add,
)
from tests.conftest import Personas, login
from tests.people.conftest import (
    CHILD_PHONE,
    MY_HEALTH,
    MY_ID,
    MY_PHONE,
    NEIGHBOUR_PHONE,
    People,
    make_id,
)

pytestmark = pytest.mark.django_db

PLAIN = (MY_ID, MY_PHONE, MY_HEALTH, NEIGHBOUR_PHONE, CHILD_PHONE)


def assert_masked(body: str) -> None:
    for plain in PLAIN:
        assert plain not in body


def _detail(people: People) -> str:
    return reverse("people:resident_detail", args=[people.me.pk])


def _reveal(people: People, field: str) -> str:
    return reverse("people:resident_reveal", args=[people.me.pk, field])


# The list ---------------------------------------------------------------------------------

def test_list_shows_residents_in_scope_masked(client: Client, personas: Personas, people: People) -> None:
    login(client, personas.staff)
    response = client.get(reverse("people:resident_list"))
    body = response.content.decode()
    assert response.status_code == 200
    assert "王秀英" in body and "李建国" in body and "赵敏" not in body
    assert mask(MY_PHONE) in body and mask(MY_ID) in body
    assert_masked(body)


def test_list_scope_follows_the_role(client: Client, personas: Personas, people: People) -> None:
    login(client, personas.outside_staff)
    body = client.get(reverse("people:resident_list")).content.decode()
    assert "赵敏" in body and "王秀英" not in body
    login(client, personas.auditor)
    assert client.get(reverse("people:resident_list")).status_code == 200
    login(client, personas.street_supervisor)
    body = client.get(reverse("people:resident_list")).content.decode()
    assert "赵敏" in body and "王秀英" in body


@pytest.mark.parametrize("who", ["resident", "partner", "outsider"])
def test_list_is_closed_to_people_without_a_registry_role(client: Client, personas: Personas, people: People, who: str) -> None:
    login(client, getattr(personas, who))
    assert client.get(reverse("people:resident_list")).status_code == 403


def test_list_needs_sign_in(client: Client, people: People) -> None:
    response = client.get(reverse("people:resident_list"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_search_by_name_phone_and_id_number(client: Client, personas: Personas, people: People) -> None:
    login(client, personas.staff)
    url = reverse("people:resident_list")
    by_name = client.get(url, {"q": "建国"}).content.decode()
    assert "李建国" in by_name and "王秀英" not in by_name
    by_phone = client.get(url, {"q": "139-1234-5678"}).content.decode()
    assert "王秀英" in by_phone and "李建国" not in by_phone
    by_id = client.get(url, {"q": MY_ID.lower()}).content.decode()
    assert "王秀英" in by_id and "王小明" not in by_id
    assert_masked(by_phone + by_id)
    # A partial number matches nothing: lookups are by keyed hash, exact only.
    assert "王秀英" not in client.get(url, {"q": MY_PHONE[:7]}).content.decode()


def test_filter_by_place_and_group(client: Client, personas: Personas, people: People, tree) -> None:  # type: ignore[no-untyped-def]
    tag_add(resident=people.neighbour, group=SpecialGroup.EMPTY_NEST, by=None)
    login(client, personas.staff)
    url = reverse("people:resident_list")
    body = client.get(url, {"group": SpecialGroup.EMPTY_NEST}).content.decode()
    assert "李建国" in body and "王秀英" not in body
    body = client.get(url, {"place": tree.other_grid.pk}).content.decode()
    assert "李建国" not in body and "王秀英" not in body
    body = client.get(url, {"place": tree.grid.pk}).content.decode()
    assert "李建国" in body and "王秀英" in body
    # A place outside the scope is not a choice: a field error, not a leak.
    response = client.get(url, {"place": tree.far_household.pk})
    assert response.status_code == 400 and "errorlist" in response.content.decode()


def _add_residents(people: People, n: int, start: int) -> None:
    for i in range(start, start + n):
        resident = resident_create(
            household=people.household, name=f"居民{i}", id_number=make_id(date(1970, 1, 1) .replace(year=1950 + i % 50), i),
            phone=f"1380000{i:04d}", by=None,
        )
        tag_add(resident=resident, group=SpecialGroup.DIBAO, by=None)


def _count_queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_list_page_query_count_is_constant(client: Client, personas: Personas, people: People) -> None:
    login(client, personas.staff)
    url = reverse("people:resident_list")
    client.get(url)  # warm the session
    few = _count_queries(client, url)
    _add_residents(people, 60, 100)
    many = _count_queries(client, url)
    assert few == many
    assert many <= 9
    body = client.get(url).content.decode()
    assert "第 1 / 2 页" in body and len(re.findall(r'href="/people/residents/\d+/"', body)) == 50
    assert "居民159" in client.get(url, {"page": 2}).content.decode()


# The detail page and reveal ------------------------------------------------------------

def test_detail_is_masked_and_offers_reveal(client: Client, personas: Personas, people: People) -> None:
    consent_give(resident=people.me, purpose="上门探访", basis=ConsentBasis.SEPARATE_CONSENT, by=None)
    relation_add(from_resident=people.me, to_resident=people.child, kind=RelationKind.GUARDIAN_OF, by=None)
    login(client, personas.grid_worker)
    response = client.get(_detail(people))
    body = response.content.decode()
    assert response.status_code == 200
    assert "王秀英" in body and "王小明" in body and "上门探访" in body and "本人是其监护人" in body
    child_page = client.get(reverse("people:resident_detail", args=[people.child.pk])).content.decode()
    assert "监护人：" in child_page
    assert mask(MY_ID) in body and "已登记" in body
    assert_masked(body)
    assert _reveal(people, "id_number") in body


def test_detail_for_a_child_hides_everything_beyond_name_and_age(client: Client, personas: Personas, people: People) -> None:
    login(client, personas.staff)
    body = client.get(reverse("people:resident_detail", args=[people.child.pk])).content.decode()
    assert "王小明" in body and "已隐藏" in body
    assert people.child.id_number not in body and mask(people.child.id_number) not in body
    assert people.child.birth_date.isoformat() not in body  # type: ignore[union-attr]
    assert_masked(body)


def test_detail_404_outside_scope(client: Client, personas: Personas, people: People) -> None:
    for who in ("outside_staff", "resident", "other_resident", "partner", "outsider"):
        login(client, getattr(personas, who))
        assert client.get(_detail(people)).status_code == 404, who
    login(client, personas.staff)
    assert client.get(reverse("people:resident_detail", args=[999999])).status_code == 404


def test_auditor_reads_but_cannot_reveal(client: Client, personas: Personas, people: People) -> None:
    login(client, personas.auditor)
    body = client.get(_detail(people)).content.decode()
    assert "王秀英" in body and _reveal(people, "phone") not in body
    response = client.post(_reveal(people, "phone"), {"reason": "审计抽查"})
    assert response.status_code == 403
    assert MY_PHONE not in response.content.decode()
    assert not SensitiveAccess.objects.exists()


def test_reveal_with_htmx_returns_only_the_field(client: Client, personas: Personas, people: People) -> None:
    login(client, personas.staff)
    response = client.post(_reveal(people, "phone"), {"reason": "联系走访"}, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert response.status_code == 200
    assert MY_PHONE in body and "<html" not in body and 'id="sensitive-phone"' in body
    assert MY_ID not in body
    access = SensitiveAccess.objects.get()
    assert (access.user, access.field, access.reason) == (personas.staff, "phone", "联系走访")
    assert AuditEvent.objects.filter(action="resident.reveal", object_id=str(people.me.pk)).count() == 1
    # The next page load is masked again, and lists the access.
    body = client.get(_detail(people)).content.decode()
    assert MY_PHONE not in body and "联系走访" in body


def test_reveal_without_javascript_renders_the_page(client: Client, personas: Personas, people: People) -> None:
    login(client, personas.lead)
    response = client.post(_reveal(people, "health"), {"reason": "救助评估"})
    body = response.content.decode()
    assert response.status_code == 200 and "<html" in body and MY_HEALTH in body
    assert MY_PHONE not in body and MY_ID not in body


def test_reveal_needs_a_reason(client: Client, personas: Personas, people: People) -> None:
    login(client, personas.staff)
    response = client.post(_reveal(people, "phone"), {"reason": ""})
    assert response.status_code == 400 and "请填写查看事由" in response.content.decode()
    htmx = client.post(_reveal(people, "phone"), {}, headers={"HX-Request": "true"})
    assert htmx.status_code == 200 and "请填写查看事由" in htmx.content.decode()
    assert MY_PHONE not in response.content.decode() + htmx.content.decode()
    assert not SensitiveAccess.objects.exists()


def test_reveal_paths(client: Client, personas: Personas, people: People) -> None:
    login(client, personas.outside_staff)
    assert client.post(_reveal(people, "phone"), {"reason": "x"}).status_code == 404
    login(client, personas.street_supervisor)
    assert client.post(_reveal(people, "phone"), {"reason": "x"}).status_code == 403
    login(client, personas.staff)
    assert client.get(_reveal(people, "phone")).status_code == 405
    assert client.post(_reveal(people, "password"), {"reason": "x"}).status_code == 404
    assert client.post(_reveal(people, "disability"), {"reason": "x"}).status_code == 404  # nothing recorded
    assert not SensitiveAccess.objects.exists()


# A resident's own data ----------------------------------------------------------------------

def test_my_data_shows_own_record_masked(client: Client, personas: Personas, people: People) -> None:
    consent_give(resident=people.me, purpose="上门探访", basis=ConsentBasis.CONSENT, by=None)
    login(client, personas.resident)
    response = client.get(reverse("people:my_data"))
    body = response.content.decode()
    assert response.status_code == 200
    assert "王秀英" in body and "王小明" in body and "李建国" not in body
    assert mask(MY_PHONE) in body
    assert_masked(body)
    assert reverse("people:my_reveal", args=["phone"]) in body
    assert reverse("people:my_data_download") in body


def test_my_data_without_a_linked_record(client: Client, personas: Personas, people: People) -> None:
    login(client, personas.staff)
    response = client.get(reverse("people:my_data"))
    assert response.status_code == 200 and "尚未关联" in response.content.decode()
    assert client.get(reverse("people:my_data_download")).status_code == 404
    assert client.get(reverse("people:correction_new")).status_code == 404


def test_my_reveal_is_logged(client: Client, personas: Personas, people: People) -> None:
    login(client, personas.resident)
    response = client.post(reverse("people:my_reveal", args=["id_number"]), headers={"HX-Request": "true"})
    assert response.status_code == 200 and MY_ID in response.content.decode()
    access = SensitiveAccess.objects.get()
    assert (access.user, access.resident, access.reason) == (personas.resident, people.me, "本人查看")


def test_my_data_download(client: Client, personas: Personas, people: People) -> None:
    consent_give(resident=people.me, purpose="上门探访", basis=ConsentBasis.CONSENT, by=None)
    tag_add(resident=people.me, group=SpecialGroup.ELDERLY_ALONE, by=None)
    login(client, personas.resident)
    response = client.get(reverse("people:my_data_download"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"].startswith("attachment")
    data = json.loads(response.content)
    assert data["resident"]["id_number"] == MY_ID
    assert data["resident"]["phone"] == MY_PHONE
    assert data["resident"]["health"] == MY_HEALTH
    assert data["household"]["ref"] == "H-502"
    assert [m["name"] for m in data["household_members"]] == ["王小明"]
    assert data["special_groups"][0]["group"] == SpecialGroup.ELDERLY_ALONE
    assert data["consents"][0]["purpose"] == "上门探访"
    # Only their own values: a household member's number is not theirs to copy.
    assert CHILD_PHONE not in response.content.decode() and NEIGHBOUR_PHONE not in response.content.decode()
    assert AuditEvent.objects.filter(action="resident.data_export", object_id=str(people.me.pk)).exists()


def test_withdraw_consent(client: Client, personas: Personas, people: People) -> None:
    consent = consent_give(resident=people.me, purpose="上门探访", basis=ConsentBasis.CONSENT, by=None)
    other = consent_give(resident=people.neighbour, purpose="上门探访", basis=ConsentBasis.CONSENT, by=None)
    login(client, personas.resident)
    assert client.post(reverse("people:consent_withdraw", args=[other.pk])).status_code == 404
    response = client.post(reverse("people:consent_withdraw", args=[consent.pk]))
    assert response.status_code == 302
    consent.refresh_from_db()
    other.refresh_from_db()
    assert consent.withdrawn_at is not None and other.withdrawn_at is None
    # A second withdrawal is refused with a message, not an error page.
    response = client.post(reverse("people:consent_withdraw", args=[consent.pk]), follow=True)
    assert response.status_code == 200 and "已撤回" in response.content.decode()


def test_correction_request_form(client: Client, personas: Personas, people: People) -> None:
    login(client, personas.resident)
    url = reverse("people:correction_new")
    assert client.get(url).status_code == 200
    response = client.post(url, {"field": "id_number", "requested_value": "110105194912310021"})
    assert response.status_code == 400 and "校验位" in response.content.decode()
    response = client.post(url, {"field": "nonsense", "requested_value": "x"})
    assert response.status_code == 400
    response = client.post(url, {"field": "phone", "requested_value": "13511112222", "note": "换号了"})
    assert response.status_code == 302
    correction = CorrectionRequest.objects.get()
    assert (correction.resident, correction.field, correction.requested_value) == (people.me, "phone", "13511112222")
    body = client.get(reverse("people:my_data")).content.decode()
    assert "待处理" in body and "13511112222" not in body


# The corrections queue ----------------------------------------------------------------------

def test_corrections_queue_and_resolve(client: Client, personas: Personas, people: People) -> None:
    correction = correction_request_create(resident=people.me, field="phone", requested_value="13511112222", by=None)
    login(client, personas.staff)
    body = client.get(reverse("people:corrections")).content.decode()
    assert "王秀英" in body and mask("13511112222") in body and "13511112222" not in body
    url = reverse("people:correction_resolve", args=[correction.pk])
    response = client.post(url, {"decision": "reject"})
    assert response.status_code == 400 and "不予更正时请写明理由" in response.content.decode()
    response = client.post(url, {"decision": "accept"})
    assert response.status_code == 302
    people.me.refresh_from_db()
    assert people.me.phone == "13511112222"
    correction.refresh_from_db()
    assert correction.status == CorrectionStatus.ACCEPTED


def test_corrections_access(client: Client, personas: Personas, people: People) -> None:
    correction = correction_request_create(resident=people.me, field="name", requested_value="王秀瑛", by=None)
    url = reverse("people:correction_resolve", args=[correction.pk])
    login(client, personas.auditor)
    assert client.get(reverse("people:corrections")).status_code == 200
    assert client.post(url, {"decision": "accept"}).status_code == 403
    login(client, personas.outside_staff)
    assert "王秀瑛" not in client.get(reverse("people:corrections")).content.decode()
    assert client.post(url, {"decision": "accept"}).status_code == 404
    for who in ("resident", "partner"):
        login(client, getattr(personas, who))
        assert client.get(reverse("people:corrections")).status_code == 403
        assert client.post(url, {"decision": "accept"}).status_code == 404
    correction.refresh_from_db()
    assert correction.status == CorrectionStatus.OPEN
