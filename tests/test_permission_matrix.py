"""The permission matrix: every URL pattern and every API operation, as every persona,
inside and outside its scope.

A new view or API operation without a row here fails ``test_every_route_has_a_rule``,
so nothing reaches production without an access rule that someone wrote down.
Expected answers: ``ok`` (the request got past access control: 2xx, a redirect other
than to the sign-in page, or a 400/422 for the deliberately empty input), ``403``
(read-only), ``404`` (outside scope: nothing leaks), ``login`` (HTML: redirect to
sign-in) and ``401`` (API without credentials).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from linli.accounts.models import Organisation, OrganisationKind, Role, User
from linli.accounts.services import role_grant, user_create
from linli.api import api
from linli.audit.services import audit_record
from linli.people import services as people
from linli.people.models import ConsentBasis
from linli.requests.catalogue import categories_install
from linli.requests.intake import request_submit
from linli.requests.models import Category, Channel
from linli.requests.services import request_accept, request_dispatch
from tests.conftest import PASSWORD, Personas, Tree, login
from tests.matrix_base import (
    ALL,
    AUDIT_READERS,
    PLACE_READERS,
    REGISTRY_READERS,
    REVEALERS,
    Rule,
    World,
    _pk,
    everyone,
    only,
    signed_in,
)
from tests.matrix_rules import (
    extra_api_names,
    extra_api_outside,
    extra_api_rules,
    extra_outside,
    extra_rules,
)


@pytest.fixture
def world(tree: Tree, personas: Personas) -> World:
    superuser = user_create(username="root", password=PASSWORD, is_superuser=True)
    role_grant(user=superuser, role=Role.STREET_SUPERVISOR, place=tree.street)
    hh_inside = people.household_create(ref="M-1", by=None, place=tree.household)
    hh_other = people.household_create(ref="M-2", by=None, place=tree.other_household)
    hh_far = people.household_create(ref="M-3", by=None, place=tree.far_household)
    inside = people.resident_create(household=hh_inside, name="张三", by=None, phone="13900000001",
                                    id_number="11010519491231002X", user=personas.resident)
    other = people.resident_create(household=hh_other, name="李四", by=None, phone="13900000002",
                                   user=personas.other_resident)
    far = people.resident_create(household=hh_far, name="王五", by=None, phone="13900000003")
    organisation = Organisation.objects.create(name="安居物业", kind=OrganisationKind.PROPERTY_MANAGER,
                                               place=tree.community)
    User.objects.filter(pk=personas.partner.pk).update(organisation=organisation)
    personas.partner.organisation = organisation
    categories_install()
    repairs = Category.objects.get(code="repairs")
    request_inside = request_submit(by=personas.resident, category=repairs, place=tree.household, title="楼道灯坏了",
                                    description="5 层楼道灯不亮", channel=Channel.WEB, attributes={"facility": "light"})
    request_inside = request_accept(request=request_inside, by=personas.staff)
    request_inside = request_dispatch(request=request_inside, by=personas.staff, organisation=organisation)
    request_far = request_submit(by=personas.outside_staff, category=repairs, place=tree.far_household,
                                 title="井盖松动", description="1号楼前井盖松动", channel=Channel.PHONE,
                                 contact_name="王先生", attributes={"facility": "other"})
    consent = people.consent_give(resident=inside, purpose="社区服务联系", basis=ConsentBasis.CONSENT, by=None)
    return World(
        tree=tree, personas=personas, superuser=superuser,
        resident_inside=inside, resident_other=other, resident_far=far,
        correction_inside=people.correction_request_create(resident=inside, field="name", requested_value="张叁", by=None),
        correction_far=people.correction_request_create(resident=far, field="name", requested_value="王伍", by=None),
        consent_own=consent.pk,
        event_inside=audit_record(actor=None, action="matrix.inside", obj=tree.household),
        event_far=audit_record(actor=None, action="matrix.far", obj=tree.far_household),
        organisation=organisation,
        request_inside=request_inside,
        request_far=request_far,
    )


# HTML routes ---------------------------------------------------------------------------
RULES: dict[str, Rule] = {
    "web:home": Rule(expect=everyone()),
    "web:settings": Rule(expect=everyone()),
    "web:set_language": Rule(method="post", expect=everyone()),
    "web:set_elder_mode": Rule(method="post", expect=everyone()),
    "accounts:login": Rule(expect=everyone()),
    "accounts:logout": Rule(method="post", expect=signed_in()),
    "accounts:two_factor": Rule(expect=signed_in()),
    "accounts:profile": Rule(expect=signed_in()),
    "healthz": Rule(expect=everyone("any")),
    "places:tree": Rule(expect=only(PLACE_READERS | {"superuser", "outside_staff"}), default="403"),
    "places:import": Rule(expect=only({"lead", "street_supervisor", "superuser"}), default="403"),
    "places:detail": Rule(kwargs=_pk("tree.grid"), expect=only(PLACE_READERS | {"superuser"})),
    "places:children": Rule(kwargs=_pk("tree.grid"), expect=only(PLACE_READERS | {"superuser"})),
    # Anyone signed in may look for their own record; the page says when none is linked.
    "people:my_data": Rule(expect=signed_in()),
    "people:my_data_download": Rule(expect=only({"resident", "other_resident"})),
    "people:my_reveal": Rule(method="post", kwargs=lambda w: {"field": "phone"}, expect=only({"resident", "other_resident"})),
    "people:correction_new": Rule(expect=only({"resident", "other_resident"})),
    "people:consent_withdraw": Rule(method="post", kwargs=lambda w: {"pk": w.consent_own}, expect=only({"resident"})),
    "people:resident_list": Rule(expect=only(REGISTRY_READERS | {"superuser", "outside_staff"}), default="403"),
    "people:resident_detail": Rule(kwargs=_pk("resident_inside"), expect=only(REGISTRY_READERS | {"superuser"})),
    "people:resident_reveal": Rule(method="post", kwargs=lambda w: {"pk": w.resident_inside.pk, "field": "phone"},
                                   data={"reason": "permission matrix"},
                                   expect=only(REVEALERS, auditor="403", street_supervisor="403", superuser="403")),
    "people:corrections": Rule(expect=only(REGISTRY_READERS | {"superuser", "outside_staff"}), default="403"),
    "people:correction_resolve": Rule(method="post", kwargs=_pk("correction_inside"), data={"decision": "reject", "answer": "核实无误"},
                                      expect=only(REVEALERS, auditor="403", street_supervisor="403", superuser="403")),
    "people:import": Rule(expect=only({"staff", "lead", "outside_staff"}), default="403"),
    "audit:log": Rule(expect=only(AUDIT_READERS)),
    "audit:event": Rule(kwargs=lambda w: {"seq": w.event_inside.seq}, expect=only(AUDIT_READERS)),
}

# The same routes for an object in the other community: only the street level reaches it.
OUTSIDE: dict[str, Callable[[World], dict[str, Any]]] = {
    "places:detail": lambda w: {"pk": w.tree.far_household.pk},
    "places:children": lambda w: {"pk": w.tree.other_community.pk},
    "people:resident_detail": lambda w: {"pk": w.resident_far.pk},
    "people:resident_reveal": lambda w: {"pk": w.resident_far.pk, "field": "phone"},
    "people:correction_resolve": lambda w: {"pk": w.correction_far.pk},
    "audit:event": lambda w: {"seq": w.event_far.seq},
}
STREET_LEVEL = {"street_supervisor", "superuser"}

# API operations (method, path as in the OpenAPI document) -------------------------------
API_RULES: dict[tuple[str, str], Rule] = {
    ("get", "/api/v1/me"): Rule(expect=signed_in(anonymous="401")),
    ("get", "/api/v1/places/"): Rule(expect=signed_in(anonymous="401")),
    ("get", "/api/v1/places/{place_id}"): Rule(kwargs=lambda w: {"place_id": w.tree.grid.pk},
                                              expect=only(PLACE_READERS | {"superuser"}, anonymous="401")),
    ("get", "/api/v1/places/{place_id}/children"): Rule(kwargs=lambda w: {"place_id": w.tree.grid.pk},
                                                       expect=only(PLACE_READERS | {"superuser"}, anonymous="401")),
    ("get", "/api/v1/people/residents"): Rule(expect=only(REGISTRY_READERS | {"superuser", "outside_staff"}, anonymous="401"),
                                              default="403"),
    ("get", "/api/v1/people/residents/{resident_id}"): Rule(
        kwargs=lambda w: {"resident_id": w.resident_inside.pk}, expect=only(REGISTRY_READERS | {"superuser"}, anonymous="401")),
    ("post", "/api/v1/people/residents/{resident_id}/reveal"): Rule(
        method="post", kwargs=lambda w: {"resident_id": w.resident_inside.pk},
        data={"field": "phone", "reason": "permission matrix"},
        expect=only(REVEALERS, anonymous="401", auditor="403", street_supervisor="403", superuser="403")),
    ("get", "/api/v1/people/me"): Rule(expect=only({"resident", "other_resident"}, anonymous="401")),
    ("get", "/api/v1/audit/events"): Rule(expect=only(AUDIT_READERS, anonymous="401")),
    ("get", "/api/v1/audit/events/{seq}"): Rule(kwargs=lambda w: {"seq": w.event_inside.seq},
                                               expect=only(AUDIT_READERS, anonymous="401")),
}
API_OUTSIDE: dict[tuple[str, str], Callable[[World], dict[str, Any]]] = {
    ("get", "/api/v1/places/{place_id}"): lambda w: {"place_id": w.tree.far_household.pk},
    ("get", "/api/v1/people/residents/{resident_id}"): lambda w: {"resident_id": w.resident_far.pk},
    ("post", "/api/v1/people/residents/{resident_id}/reveal"): lambda w: {"resident_id": w.resident_far.pk},
    ("get", "/api/v1/audit/events/{seq}"): lambda w: {"seq": w.event_far.seq},
}
RULES.update(extra_rules())
OUTSIDE.update(extra_outside())
API_RULES.update(extra_api_rules())
API_OUTSIDE.update(extra_api_outside())

# Routes the matrix does not drive, each with the reason.
NOT_IN_MATRIX = {
    "api:openapi-json": "public API description (tested in tests/core/test_api.py)",
    "api:openapi-view": "public API docs page (Swagger UI from our static files)",
    "api:api-root": "ninja's root, answers 404 in the API error shape",
}


def _html_routes() -> dict[str, str]:
    found: dict[str, str] = {}

    def walk(resolver: URLResolver, prefix: str, namespace: str) -> None:
        for pattern in resolver.url_patterns:
            if isinstance(pattern, URLResolver):
                if pattern.namespace == "admin":
                    continue  # Django's admin: superusers only, checked below
                ns = ":".join(filter(None, [namespace, pattern.namespace]))
                walk(pattern, prefix + str(pattern.pattern), ns)
            elif isinstance(pattern, URLPattern) and pattern.name:
                found[":".join(filter(None, [namespace, pattern.name]))] = prefix + str(pattern.pattern)

    walk(get_resolver(), "", "")
    return found


def _api_operations() -> set[tuple[str, str]]:
    schema = api.get_openapi_schema()
    return {(method, path) for path, ops in schema["paths"].items() for method in ops}


def test_every_route_has_a_rule() -> None:
    html = {name for name in _html_routes() if not name.startswith("api:")}
    assert html - RULES.keys() == set(), "routes without an access rule in the matrix"
    assert RULES.keys() - html == set(), "rules for routes that no longer exist"
    ops = _api_operations()
    assert ops - API_RULES.keys() == set(), "API operations without an access rule in the matrix"
    assert API_RULES.keys() - ops == set(), "rules for API operations that no longer exist"
    api_names = {name for name in _html_routes() if name.startswith("api:")}
    assert api_names - {f"api:{n}" for n in ("me", "place_roots", "place_detail", "place_children", "resident_list",
                                              "resident_detail", "resident_reveal", "event_list", "event_detail")} \
        - extra_api_names() <= NOT_IN_MATRIX.keys()


def _client_for(world: World, persona: str) -> Client:
    client = Client()
    user = world.user(persona)
    if user is not None:
        login(client, user)
    return client


def _classify(response: Any, *, api_call: bool) -> str:
    status = response.status_code
    assert status < 500, f"server error {status}"
    if status in (401, 403, 404):
        return str(status)
    if status == 302 and "/accounts/login/" in response.get("Location", ""):
        return "login"
    if status in (200, 201, 204, 302, 303, 400, 405, 422):
        return "ok"
    return str(status)


def _request(client: Client, method: str, url: str, data: dict[str, Any]) -> Any:
    if method == "post":
        if url.startswith("/api/"):
            return client.post(url, data, content_type="application/json")
        return client.post(url, data)
    return client.get(url)


def _run(world: World, rule: Rule, url: str, expected: Callable[[str], str], api_call: bool, label: str) -> list[str]:
    wrong = []
    for persona in ALL:
        want = expected(persona)
        if want == "any":
            continue
        response = _request(_client_for(world, persona), rule.method, url, rule.data)
        got = _classify(response, api_call=api_call)
        if got != want:
            wrong.append(f"{rule.method.upper()} {url}{label} as {persona}: expected {want}, got {got}")
        if api_call and response.status_code in (401, 403, 404) and set(response.json()) != {"error"}:
            wrong.append(f"{url}{label} as {persona}: error not in the API's shape")
    return wrong


def _outside(rule: Rule) -> Callable[[str], str]:
    """Outside the inside personas' community: the street level and the other
    community's staff reach it; everybody who reached the inside object gets 404."""

    def expected(persona: str) -> str:
        if persona == "outside_staff":
            return rule.answer("staff")
        want = rule.answer(persona)
        return "404" if want in ("ok", "403") and persona not in STREET_LEVEL else want

    return expected


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(RULES))
def test_html_route(world: World, name: str) -> None:
    from django.urls import reverse

    rule = RULES[name]
    wrong = _run(world, rule, reverse(name, kwargs=rule.kwargs(world)), rule.answer, False, "")
    if name in OUTSIDE:
        wrong += _run(world, rule, reverse(name, kwargs=OUTSIDE[name](world)), _outside(rule), False, " (outside)")
    if wrong:
        pytest.fail("\n".join(wrong))


@pytest.mark.django_db
@pytest.mark.parametrize("operation", sorted(API_RULES), ids=lambda op: f"{op[0]} {op[1]}")
def test_api_operation(world: World, operation: tuple[str, str]) -> None:
    rule = API_RULES[operation]
    path = operation[1]
    wrong = _run(world, rule, path.format(**rule.kwargs(world)), rule.answer, True, "")
    if operation in API_OUTSIDE:
        wrong += _run(world, rule, path.format(**API_OUTSIDE[operation](world)), _outside(rule), True, " (outside)")
    if wrong:
        pytest.fail("\n".join(wrong))


@pytest.mark.django_db
def test_admin_is_for_superusers_only(world: World) -> None:
    for persona in ALL:
        response = _client_for(world, persona).get("/admin/")
        if persona == "superuser":
            assert response.status_code == 200
        else:
            assert response.status_code == 302, persona
            assert "login" in response["Location"], persona
