"""Search by number only for those who may reveal (and logged), sensitive special groups
hidden from those who may not, full-width digits, relations outside the scope."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from linli.accounts.services import user_create
from linli.audit.models import AuditEvent
from linli.core.crypto import lookup_hash, normalise
from linli.people.models import RelationKind, Resident, SensitiveAccess, SpecialGroup
from linli.people.services import relation_add, resident_create, tag_add
from linli.people.validation import clean_id_number, clean_phone
from tests.conftest import Personas, login
from tests.people.conftest import MY_ID, MY_PHONE, People, make_id
from tests.people.test_views import assert_masked

pytestmark = pytest.mark.django_db

LIST = "/people/residents/"
API = "/api/v1/people/residents"
FULL_WIDTH_PHONE = MY_PHONE.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
FULL_WIDTH_ID = MY_ID.translate(str.maketrans("0123456789X", "０１２３４５６７８９Ｘ"))


def _names(body: str) -> set[str]:
    return set(re.findall(r'href="/people/residents/\d+/">([^<]+)</a>', body))


# Exact search by number ------------------------------------------------------------------

def test_number_search_by_a_revealer_is_logged_without_the_number(client: Client, personas: Personas, people: People) -> None:
    assert reverse("people:resident_list") == LIST
    login(client, personas.staff)
    body = client.get(LIST, {"q": MY_PHONE}).content.decode()
    assert _names(body) == {"王秀英"}
    access = SensitiveAccess.objects.get()
    assert (access.field, access.reason, access.resident_id, access.community_id, access.user_id) == (
        "search:phone", "按号码查找居民", people.me.pk, people.me.community_id, personas.staff.pk,
    )
    event = AuditEvent.objects.get(action="resident.search_by_number")
    assert event.after["field"] == "phone" and MY_PHONE not in str(event.after) and event.actor_id == personas.staff.pk
    # By ID number, in full-width digits: the same number.
    assert _names(client.get(LIST, {"q": FULL_WIDTH_ID}).content.decode()) == {"王秀英"}
    assert SensitiveAccess.objects.filter(field="search:id_number", resident=people.me).count() == 1
    # The log on the resident's page names the search.
    assert "按身份证号查找" in client.get(reverse("people:resident_detail", args=[people.me.pk])).content.decode()


def test_number_search_with_no_hit_logs_no_resident(client: Client, personas: Personas, people: People) -> None:
    login(client, personas.grid_worker)
    assert _names(client.get(LIST, {"q": "13500000000"}).content.decode()) == set()
    access = SensitiveAccess.objects.get()
    assert access.field == "search:phone" and access.resident is None and access.community is None
    # Names are not logged.
    client.get(LIST, {"q": "王"})
    assert SensitiveAccess.objects.count() == 1


@pytest.mark.parametrize("who", ["auditor", "street_supervisor"])
def test_number_search_is_a_name_search_for_those_who_may_not_reveal(
    client: Client, personas: Personas, people: People, who: str,
) -> None:
    login(client, getattr(personas, who))
    for q in (MY_PHONE, MY_ID, FULL_WIDTH_PHONE):
        response = client.get(LIST, {"q": q})
        body = response.content.decode()
        assert response.status_code == 200
        assert _names(body) == set() and "按号码精确查找需要查看权限" in body
    assert _names(client.get(LIST, {"q": "秀英"}).content.decode()) == {"王秀英"}
    data = client.get(API, {"q": MY_PHONE}).json()
    assert data["items"] == [] and data["count"] == 0 and "查看权限" in data["note"]
    assert client.get(API, {"q": "秀英"}).json()["count"] == 1
    assert not SensitiveAccess.objects.exists()
    assert not AuditEvent.objects.filter(action="resident.search_by_number").exists()


def test_api_number_search_is_logged(client: Client, personas: Personas, people: People) -> None:
    login(client, personas.lead)
    data = client.get(API, {"q": MY_ID}).json()
    assert [item["name"] for item in data["items"]] == ["王秀英"] and data["note"] == ""
    assert SensitiveAccess.objects.get().field == "search:id_number"


def test_pager_of_a_number_search_does_not_carry_the_number(client: Client, personas: Personas, people: People) -> None:
    shared = "13899990000"
    for i in range(55):
        resident_create(household=people.household, name=f"同号{i}", phone=shared, by=None)
    login(client, personas.staff)
    body = client.get(LIST, {"q": shared}).content.decode()
    pager = body.split('class="pager"', 1)[1].split("</nav>", 1)[0]
    assert "第 1 / 2 页" in body and "page=2" in pager and shared not in pager
    access = SensitiveAccess.objects.get()
    assert access.resident is None and access.community_id == people.me.community_id
    # A name search keeps its query in the pager.
    body = client.get(LIST, {"q": "同号"}).content.decode()
    assert "第 1 / 2 页" in body and "q=%E5%90%8C%E5%8F%B7" in body


def test_reveals_and_download_are_not_cached(client: Client, personas: Personas, people: People) -> None:
    login(client, personas.staff)
    url = reverse("people:resident_reveal", args=[people.me.pk, "phone"])
    assert "no-store" in client.post(url, {"reason": "上门核实"})["Cache-Control"]
    assert "no-store" in client.post(url, {"reason": "上门核实"}, headers={"HX-Request": "true"})["Cache-Control"]
    response = client.post(f"{API}/{people.me.pk}/reveal", {"field": "phone", "reason": "核实"}, content_type="application/json")
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    login(client, personas.resident)
    assert "no-store" in client.post(reverse("people:my_reveal", args=["phone"]))["Cache-Control"]
    assert "no-store" in client.get(reverse("people:my_data_download"))["Cache-Control"]


# Sensitive special groups ----------------------------------------------------------------

@pytest.fixture
def tagged(people: People) -> People:
    tag_add(resident=people.neighbour, group=SpecialGroup.DIBAO, by=None)
    tag_add(resident=people.neighbour, group=SpecialGroup.EMPTY_NEST, by=None)
    return people


@pytest.mark.parametrize("who", ["auditor", "street_supervisor"])
def test_sensitive_groups_are_hidden_from_those_who_may_not_reveal(
    client: Client, personas: Personas, tagged: People, who: str,
) -> None:
    login(client, getattr(personas, who))
    for url in (LIST, reverse("people:resident_detail", args=[tagged.neighbour.pk])):
        body = client.get(url).content.decode()
        assert "低保" not in body and "已隐藏" in body and "空巢老人" in body, url
    item = next(i for i in client.get(API).json()["items"] if i["id"] == tagged.neighbour.pk)
    assert item["groups"] == ["已隐藏", "空巢老人"]
    assert client.get(f"{API}/{tagged.neighbour.pk}").json()["groups"] == ["已隐藏", "空巢老人"]
    # Filtering by a sensitive group is refused; by another one it works.
    response = client.get(LIST, {"group": SpecialGroup.DIBAO})
    assert response.status_code == 400 and "按该特殊群体筛选需要查看权限" in response.content.decode()
    assert "李建国" not in response.content.decode()
    response = client.get(API, {"group": SpecialGroup.DIBAO})
    assert response.status_code == 422 and set(response.json()["error"]["fields"]) == {"group"}
    assert _names(client.get(LIST, {"group": SpecialGroup.EMPTY_NEST}).content.decode()) == {"李建国"}


def test_sensitive_groups_are_shown_to_those_who_may_reveal(client: Client, personas: Personas, tagged: People) -> None:
    login(client, personas.grid_worker)
    assert "低保" in client.get(reverse("people:resident_detail", args=[tagged.neighbour.pk])).content.decode()
    item = next(i for i in client.get(API).json()["items"] if i["id"] == tagged.neighbour.pk)
    assert item["groups"] == ["低保", "空巢老人"]
    assert _names(client.get(LIST, {"group": SpecialGroup.DIBAO}).content.decode()) == {"李建国"}
    # The resident sees their own.
    login(client, personas.other_resident)
    assert "低保" in client.get(reverse("people:my_data")).content.decode()


def test_admin_does_not_show_sensitive_groups(client: Client, tagged: People) -> None:
    admin = user_create(username="root", password="x-very-long-password-1", is_superuser=True)
    login(client, admin)
    body = client.get(reverse("admin:people_specialgrouptag_changelist")).content.decode()
    assert "李建国" in body and "空巢老人" in body and "低保" not in body and "已隐藏" in body
    tag = tagged.neighbour.tags.get(group=SpecialGroup.DIBAO)
    assert client.get(reverse("admin:people_specialgrouptag_change", args=[tag.pk])).status_code == 403


# Full-width digits -----------------------------------------------------------------------

def test_full_width_digits_are_the_same_number(people: People) -> None:
    assert normalise(FULL_WIDTH_PHONE) == MY_PHONE and lookup_hash(FULL_WIDTH_ID) == lookup_hash(MY_ID)
    assert clean_phone(FULL_WIDTH_PHONE) == MY_PHONE and clean_id_number(FULL_WIDTH_ID) == MY_ID
    with pytest.raises(ValidationError) as caught:
        resident_create(household=people.other_household, name="冒名", id_number=FULL_WIDTH_ID, by=None)
    assert "已登记" in str(caught.value.message_dict["id_number"])
    other = resident_create(household=people.other_household, name="新人", phone=FULL_WIDTH_PHONE, by=None)
    assert other.phone == MY_PHONE and Resident.objects.filter(phone_hash=lookup_hash(MY_PHONE)).count() == 2


@pytest.mark.parametrize("value", ["١٣٩١٢٣٤٥٦٧٨", "१३९१२३४५६७८"])
def test_other_scripts_digits_are_not_a_phone(value: str) -> None:
    with pytest.raises(ValueError, match="11 位"):
        clean_phone(value)


def test_other_scripts_digits_are_not_an_id_number() -> None:
    devanagari = MY_ID[:17].translate(str.maketrans("0123456789", "०१२३४५६७८९")) + MY_ID[17]
    with pytest.raises(ValueError, match="18 位"):
        clean_id_number(devanagari)


# Relations outside the scope -------------------------------------------------------------

def test_relations_outside_the_scope_are_not_named(client: Client, personas: Personas, people: People) -> None:
    relation_add(from_resident=people.far, to_resident=people.me, kind=RelationKind.EMERGENCY_CONTACT_OF, by=None)
    relation_add(from_resident=people.neighbour, to_resident=people.me, kind=RelationKind.CARER_OF, by=None)
    url = reverse("people:resident_detail", args=[people.me.pk])
    login(client, personas.staff)
    body = client.get(url).content.decode()
    assert "赵敏" not in body and "（辖区外居民）" in body and "李建国" in body
    assert f'href="/people/residents/{people.far.pk}/"' not in body
    login(client, personas.street_supervisor)
    body = client.get(url).content.decode()
    assert "赵敏" in body and "（辖区外居民）" not in body
    # The resident's own download names their relatives.
    login(client, personas.resident)
    assert "赵敏" in client.get(reverse("people:my_data_download")).content.decode()


def test_masked_pages_stay_masked(client: Client, personas: Personas, people: People) -> None:
    tag_add(resident=people.me, group=SpecialGroup.DISABLED, by=None)
    resident_create(household=people.household, name="另一人", id_number=make_id(date(1970, 1, 1), 5), by=None)
    login(client, personas.auditor)
    body = client.get(LIST).content.decode()
    assert_masked(body) and "残疾人" not in body
