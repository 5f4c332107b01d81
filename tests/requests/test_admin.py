"""The requests configuration in Django's admin: superusers only, every check a form
error (never a 500), saves through the calendar services where they exist and audited
everywhere, and requests themselves read-only."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from linli.accounts.models import Organisation, OrganisationKind, User
from linli.accounts.services import user_create
from linli.audit.models import AuditEvent
from linli.requests import sla
from linli.requests.admin import attributes_validate
from linli.requests.calendar import library_schedule
from linli.requests.models import (
    CalendarDay,
    Category,
    DayKind,
    Priority,
    RatesConfig,
    ReplyTemplate,
    Request,
    SlaPolicy,
    TimeUnit,
    WorkingHours,
)
from tests.conftest import PASSWORD, Personas, Tree, login
from tests.requests.conftest import Submit

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_calendars() -> Iterator[None]:
    """The process keeps calendars for a minute; a test's rolled-back days must not leak."""
    sla.forget_calendars()
    yield
    sla.forget_calendars()

FLOOR = {"code": "floor", "datatype": "string", "description": "所在楼层"}
KIND = {"code": "kind", "datatype": "singlevaluelist", "required": True, "description": "什么设施",
        "values": [{"key": "lift", "name": "电梯"}, {"key": 2, "name": "门禁"}]}


def category_data(**overrides: Any) -> dict[str, Any]:
    data = {
        "code": "lifts", "name": "电梯故障", "name_en": "Lifts", "group": "居住环境", "description": "电梯停运、困人",
        "keywords": "电梯", "attributes": json.dumps([KIND, FLOOR], ensure_ascii=False),
        "default_priority": Priority.HIGH, "default_handler_role": "community_staff",
        "default_organisation_kind": OrganisationKind.PROPERTY_MANAGER, "is_active": "on", "order": 15,
    }
    data.update(overrides)
    return data


def form_errors(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.status_code
    return dict(response.context["adminform"].form.errors)


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# Categories ---------------------------------------------------------------------------

def test_superuser_adds_a_category_with_attributes(admin_client: Client, admin_user: User) -> None:
    page = admin_client.get(reverse("admin:requests_category_add"))
    assert page.status_code == 200
    response = admin_client.post(reverse("admin:requests_category_add"), category_data())
    assert response.status_code == 302, form_errors(response)
    category = Category.objects.get(code="lifts")
    # The optional keys are filled in, and list keys are written as strings.
    assert category.attributes == [
        {"variable": True, "code": "kind", "datatype": "singlevaluelist", "required": True,
         "datatype_description": "", "order": 1, "description": "什么设施",
         "values": [{"key": "lift", "name": "电梯"}, {"key": "2", "name": "门禁"}]},
        {"variable": True, "code": "floor", "datatype": "string", "required": False, "datatype_description": "",
         "order": 2, "description": "所在楼层"},
    ]
    event = AuditEvent.objects.get(action="requests.category_add", object_id=str(category.pk))
    assert event.actor_id == admin_user.pk and event.after["code"] == "lifts"
    # The change page shows the attributes indented and readable, and the code is fixed.
    page = admin_client.get(reverse("admin:requests_category_change", args=[category.pk]))
    body = page.content.decode()
    assert "什么设施" in body and "[\n  {\n    &quot;" in body  # indented, Chinese as it is
    assert "code" not in page.context["adminform"].form.fields


@pytest.mark.parametrize(("attributes", "says"), [
    ("[{", "JSON"),
    ('{"code": "x"}', "JSON 数组"),
    (json.dumps([{**FLOOR, "datatype": "colour"}]), "datatype"),
    (json.dumps([{**KIND, "values": []}]), "values"),
    (json.dumps([{**KIND, "values": [{"key": "a"}]}]), "values"),
    (json.dumps([{**FLOOR, "values": [{"key": "a", "name": "A"}]}]), "只有选择题"),
    (json.dumps([FLOOR, FLOOR]), "重复"),
    (json.dumps([{**FLOOR, "code": "楼层 x"}]), "code"),
    (json.dumps([{**FLOOR, "description": ""}]), "description"),
    (json.dumps([{**FLOOR, "requried": True}]), "未知的键"),
    (json.dumps([{**FLOOR, "required": "yes"}]), "required"),
    (json.dumps(["floor"]), "对象"),
])
def test_bad_attributes_are_a_form_error(admin_client: Client, attributes: str, says: str) -> None:
    response = admin_client.post(reverse("admin:requests_category_add"), category_data(attributes=attributes))
    errors = form_errors(response)
    assert "attributes" in errors and says in " ".join(errors["attributes"]), errors
    assert not Category.objects.filter(code="lifts").exists()
    # What was typed comes back (as typed when it is not even JSON), so nothing is lost.
    value = response.context["adminform"].form["attributes"].value()
    if says == "JSON":
        assert attributes in response.content.decode()
    else:
        assert json.loads(value) == json.loads(attributes)


def test_attributes_validate_names_every_bad_question() -> None:
    with pytest.raises(Exception) as info:
        attributes_validate([{**FLOOR, "datatype": "x"}, FLOOR, {**KIND, "values": None}])
    messages = info.value.messages  # type: ignore[attr-defined]
    assert [m.split("：")[0] for m in messages] == ["第 1 个问题（floor）", "第 2 个问题", "第 3 个问题（kind）"]
    assert "重复" in messages[1]


def test_a_category_cannot_be_deleted(admin_client: Client, repairs: Category) -> None:
    response = admin_client.post(reverse("admin:requests_category_delete", args=[repairs.pk]), {"post": "yes"})
    assert response.status_code == 403
    assert Category.objects.filter(pk=repairs.pk).exists()


# SLA policies --------------------------------------------------------------------------

def sla_data(**overrides: Any) -> dict[str, Any]:
    data = {"place": "", "category": "", "priority": Priority.NORMAL, "accept_amount": 2,
            "accept_unit": TimeUnit.WORKING_HOURS, "contact_amount": 1, "contact_unit": TimeUnit.WORKING_DAYS,
            "resolve_amount": 5, "resolve_unit": TimeUnit.WORKING_DAYS, "warn_at_percent": 75, "street_after_days": 1}
    data.update(overrides)
    return data


def test_sla_policy_for_a_community_wins_and_is_audited(admin_client: Client, tree: Tree, repairs: Category) -> None:
    response = admin_client.post(reverse("admin:requests_slapolicy_add"), sla_data(place=tree.community.pk))
    assert response.status_code == 302, form_errors(response)
    targets = sla.targets_for(community_id=tree.community.pk, category_id=repairs.pk, priority=Priority.NORMAL)
    assert targets.resolve == sla.Target(5, TimeUnit.WORKING_DAYS) and targets.warn_at_percent == 75
    assert AuditEvent.objects.filter(action="requests.slapolicy_add").exists()
    listing = admin_client.get(reverse("admin:requests_slapolicy_changelist"))
    assert listing.status_code == 200 and "5 工作日" in listing.content.decode()


@pytest.mark.parametrize(("overrides", "field"), [
    ({"resolve_amount": 0}, "resolve_amount"),
    ({"accept_amount": 10**6, "accept_unit": TimeUnit.HOURS}, "accept_amount"),
    ({"warn_at_percent": 100}, "warn_at_percent"),
    ({"warn_at_percent": 0}, "warn_at_percent"),
    ({"street_after_days": 99}, "street_after_days"),
    ({"priority": "whenever"}, "priority"),
])
def test_bad_sla_policy_is_a_form_error(admin_client: Client, tree: Tree, overrides: dict[str, Any],
                                        field: str) -> None:
    response = admin_client.post(reverse("admin:requests_slapolicy_add"), sla_data(**overrides))
    assert field in form_errors(response)
    assert not SlaPolicy.objects.exists()


def test_a_second_policy_for_the_same_scope_is_a_form_error(admin_client: Client, tree: Tree) -> None:
    assert admin_client.post(reverse("admin:requests_slapolicy_add"), sla_data()).status_code == 302
    response = admin_client.post(reverse("admin:requests_slapolicy_add"), sla_data(resolve_amount=9))
    assert "__all__" in form_errors(response)
    response = admin_client.post(reverse("admin:requests_slapolicy_add"), sla_data(place=tree.grid.pk))
    assert "place" in form_errors(response)  # only communities may have their own
    assert SlaPolicy.objects.count() == 1


# Working hours ------------------------------------------------------------------------

def test_working_hours_go_through_the_service(admin_client: Client, tree: Tree, admin_user: User) -> None:
    windows = {"0": [["13:30", "17:30"], ["08:30", "12:00"]], "5": [["09:00", "12:00"]]}
    response = admin_client.post(reverse("admin:requests_workinghours_add"), {
        "place": tree.community.pk, "windows": json.dumps(windows), "workday_template": 0})
    assert response.status_code == 302, form_errors(response)
    row = WorkingHours.objects.get(place=tree.community)
    assert row.windows["0"] == [["08:30", "12:00"], ["13:30", "17:30"]] and row.windows["6"] == []
    assert AuditEvent.objects.filter(action="requests.working_hours_set", actor_id=admin_user.pk).exists()
    assert sla.calendar(tree.community.pk).windows[5]
    listing = admin_client.get(reverse("admin:requests_workinghours_changelist"))
    assert "周一 08:30–12:00，13:30–17:30" in listing.content.decode()


@pytest.mark.parametrize(("windows", "template", "field"), [
    ('{"0": [["17:00", "09:00"]]}', 0, "windows"),
    ('{"0": [["09:00", "12:00"], ["11:00", "14:00"]]}', 0, "windows"),
    ('{"8": []}', 0, "windows"),
    ('{"0": [["nine", "ten"]]}', 0, "windows"),
    ('[["09:00", "17:00"]]', 0, "windows"),
    ('{"0": []}', 0, "windows"),
    ("{", 0, "windows"),
    ('{"0": [["09:00", "17:00"]]}', 3, "workday_template"),
    ('{"0": [["09:00", "17:00"]]}', 9, "workday_template"),
])
def test_bad_windows_are_a_form_error(admin_client: Client, tree: Tree, windows: str, template: int,
                                      field: str) -> None:
    response = admin_client.post(reverse("admin:requests_workinghours_add"), {
        "place": tree.community.pk, "windows": windows, "workday_template": template})
    assert field in form_errors(response)
    assert not WorkingHours.objects.exists()


# Calendar days -------------------------------------------------------------------------

def test_calendar_day_add_change_delete_through_the_service(admin_client: Client, tree: Tree) -> None:
    response = admin_client.post(reverse("admin:requests_calendarday_add"), {
        "place": "", "date": "2026-11-30", "kind": DayKind.HOLIDAY, "name": "示例"})
    assert response.status_code == 302, form_errors(response)
    row = CalendarDay.objects.get()
    assert not sla.calendar(None).is_workday(date(2026, 11, 30))
    response = admin_client.post(reverse("admin:requests_calendarday_add"), {
        "place": "", "date": "2026-11-30", "kind": DayKind.WORKDAY, "name": ""})
    assert "date" in form_errors(response)
    response = admin_client.post(reverse("admin:requests_calendarday_change", args=[row.pk]), {
        "place": tree.community.pk, "date": "2026-12-01", "kind": DayKind.HOLIDAY, "name": "社区"})
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.place_id == tree.community.pk and row.date == date(2026, 12, 1)
    response = admin_client.post(reverse("admin:requests_calendarday_delete", args=[row.pk]), {"post": "yes"})
    assert response.status_code == 302 and not CalendarDay.objects.exists()
    actions = list(AuditEvent.objects.filter(action__startswith="requests.calendar_day").values_list("action", flat=True))
    assert actions == ["requests.calendar_day_set", "requests.calendar_day_set", "requests.calendar_day_delete"]


def test_sync_a_year_from_the_library(admin_client: Client) -> None:
    listing = admin_client.get(reverse("admin:requests_calendarday_changelist"))
    assert reverse("admin:requests_calendarday_sync") in listing.content.decode()
    page = admin_client.get(reverse("admin:requests_calendarday_sync"))
    assert page.status_code == 200 and "2004–2026" in page.content.decode()
    response = admin_client.post(reverse("admin:requests_calendarday_sync"), {"year": 2026})
    assert response.status_code == 302 and response["Location"].endswith("?date__year=2026")
    assert CalendarDay.objects.filter(place__isnull=True).count() == len(library_schedule(2026))
    again = admin_client.post(reverse("admin:requests_calendarday_sync"), {"year": 2026}, follow=True)
    assert "新增 0 条" in again.content.decode()
    for year in ("2099", "nope", ""):
        response = admin_client.post(reverse("admin:requests_calendarday_sync"), {"year": year})
        assert response.status_code == 400 and response.context["form"].errors["year"]


def test_load_a_csv_in_the_admin(admin_client: Client, tree: Tree) -> None:
    url = reverse("admin:requests_calendarday_load")
    assert admin_client.get(url).status_code == 200
    bad = SimpleUploadedFile("2027.csv", "2027-01-01,放假,元旦\n2027-02-30,放假,春节\n2027-02-20,补班\n".encode())
    response = admin_client.post(url, {"file": bad, "place": "", "replace_year": "2027"})
    assert response.status_code == 400
    assert response.context["row_errors"][0].startswith("第 2 行") and response.context["row_errors"][1].startswith(
        "第 3 行")
    assert not CalendarDay.objects.exists()
    good = SimpleUploadedFile("2027.csv", "date,kind,name\n2027-01-01,holiday,元旦\n2027-02-20,workday,春节\n".encode())
    response = admin_client.post(url, {"file": good, "place": tree.community.pk, "replace_year": ""})
    assert response.status_code == 302
    assert CalendarDay.objects.filter(place=tree.community).count() == 2
    assert AuditEvent.objects.filter(action="requests.calendar_load").count() == 1


# Reply templates, rates, organisations ----------------------------------------------------

def test_reply_template_is_audited(admin_client: Client, tree: Tree, repairs: Category) -> None:
    response = admin_client.post(reverse("admin:requests_replytemplate_add"), {
        "place": tree.community.pk, "category": repairs.pk, "title": "已派维修", "body": "已通知物业，今天内上门。"})
    assert response.status_code == 302, form_errors(response)
    template = ReplyTemplate.objects.get()
    assert AuditEvent.objects.filter(action="requests.replytemplate_add", object_id=str(template.pk)).exists()


def test_rates_weights(admin_client: Client, tree: Tree) -> None:
    url = reverse("admin:requests_ratesconfig_add")
    data = {"place": "", "response_weight": "0.1", "resolution_weight": "0.5", "satisfaction_weight": "0.4",
            "basic_weight": "0.9"}
    response = admin_client.post(url, {**data, "resolution_weight": "-0.5"})
    assert "resolution_weight" in form_errors(response)
    response = admin_client.post(url, {**data, "basic_weight": "1.5"})
    assert "basic_weight" in form_errors(response)
    response = admin_client.post(url, data)
    assert response.status_code == 302 and not [m for m in messages_of(response) if "不等于 1" in m]
    response = admin_client.post(url, data)
    assert "place" in form_errors(response)  # one default only
    response = admin_client.post(url, {**data, "place": tree.community.pk, "satisfaction_weight": "0.5"})
    assert response.status_code == 302
    assert [m for m in messages_of(response) if "1.1，" in m and "不等于 1" in m]
    assert RatesConfig.objects.count() == 2


def test_organisation_admin_and_user_membership(admin_client: Client, tree: Tree, personas: Personas,
                                                admin_user: User) -> None:
    response = admin_client.post(reverse("admin:accounts_organisation_add"), {
        "name": "安居物业", "kind": OrganisationKind.PROPERTY_MANAGER, "place": tree.community.pk,
        "contact": "010-1234", "is_active": "on"})
    assert response.status_code == 302, form_errors(response)
    organisation = Organisation.objects.get()
    assert AuditEvent.objects.filter(action="organisation.create", object_id=str(organisation.pk)).exists()
    response = admin_client.post(reverse("admin:accounts_organisation_add"), {
        "name": "安居物业", "kind": OrganisationKind.OTHER, "place": tree.community.pk, "contact": "", "is_active": "on"})
    assert form_errors(response)  # the same name twice at one place
    partner = personas.partner
    response = admin_client.post(reverse("admin:accounts_user_change", args=[partner.pk]), {
        "display_name": partner.display_name, "email": "", "new_phone": "", "is_active": "on",
        "organisation": organisation.pk})
    assert response.status_code == 302, form_errors(response)
    assert User.objects.get(pk=partner.pk).organisation_id == organisation.pk
    assert AuditEvent.objects.filter(action="user.set_organisation", actor_id=admin_user.pk).exists()
    listing = admin_client.get(reverse("admin:accounts_organisation_changelist"))
    assert listing.status_code == 200 and listing.context["cl"].result_list[0].members_total == 1
    assert admin_client.post(reverse("admin:accounts_organisation_delete", args=[organisation.pk]),
                             {"post": "yes"}).status_code == 403


# Requests are read-only -------------------------------------------------------------

def test_requests_are_read_only_in_the_admin(admin_client: Client, submit: Submit, tree: Tree) -> None:
    req = submit(contact_phone="13912345678")
    listing = admin_client.get(reverse("admin:requests_request_changelist"), {"status__exact": "submitted"})
    assert listing.status_code == 200 and [r.pk for r in listing.context["cl"].result_list] == [req.pk]
    page = admin_client.get(reverse("admin:requests_request_change", args=[req.pk]))
    assert page.status_code == 200
    body = page.content.decode()
    assert Request.objects.get(pk=req.pk).contact_phone == "13912345678"
    assert "13912345678" not in body and "139****5678" in body
    assert admin_client.get(reverse("admin:requests_request_add")).status_code == 403
    response = admin_client.post(reverse("admin:requests_request_change", args=[req.pk]), {"title": "改了"})
    assert response.status_code == 403
    response = admin_client.post(reverse("admin:requests_request_delete", args=[req.pk]), {"post": "yes"})
    assert response.status_code == 403
    assert Request.objects.get(pk=req.pk).title == req.title


# Who reaches it ---------------------------------------------------------------------------

ADMIN_URLS = ("admin:requests_category_changelist", "admin:requests_category_add", "admin:requests_calendarday_sync",
              "admin:requests_calendarday_load", "admin:requests_request_changelist",
              "admin:accounts_organisation_changelist")


@pytest.mark.parametrize("name", ADMIN_URLS)
def test_non_superusers_cannot_reach_the_admin(client: Client, personas: Personas, name: str) -> None:
    for persona in ("staff", "lead", "street_supervisor"):
        response = login(Client(), getattr(personas, persona)).get(reverse(name))
        assert response.status_code == 302 and "login" in response["Location"], persona
    assert client.get(reverse(name)).status_code == 302
    # A staff account without superuser rights sees the admin but none of this.
    clerk = user_create(username="clerk", password=PASSWORD)
    User.objects.filter(pk=clerk.pk).update(is_staff=True)
    clerk.refresh_from_db()
    assert login(Client(), clerk).get(reverse(name)).status_code == 403
    assert login(Client(), clerk).post(reverse("admin:requests_calendarday_sync"), {"year": 2026}).status_code == 403
    assert not CalendarDay.objects.exists()
