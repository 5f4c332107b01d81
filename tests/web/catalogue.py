"""Every HTML page linli serves, found by walking the URL patterns, with the personas
that may open it. The CSP tests and the axe-core browser tests both read it, so a
new page is checked the day it is added.

A pattern with arguments needs a sample in ``SAMPLES`` (or a place in
``NOT_PAGES``); ``uncovered_patterns`` names any that has neither, and a test fails
until it is added here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from linli.accounts.middleware import SESSION_2FA
from linli.accounts.models import User
from linli.people.models import ConsentBasis, HouseholdRole, Resident
from linli.people.services import (
    consent_give,
    correction_request_create,
    household_create,
    resident_create,
)
from tests.conftest import Personas, Tree

# Served elsewhere or not HTML: the JSON API and Open311 (JSON/XML) have their own tests,
# /healthz is JSON.
SKIP_ROUTE_PREFIXES = ("api/", "healthz", "open311/")
# Parameterised patterns that are not pages a person opens (POST-only actions, downloads).
NOT_PAGES: set[str] = {
    "people:my_data_download",
    "people:my_reveal",
    "people:resident_reveal",
    "people:consent_withdraw",
    "people:correction_resolve",
    "requests:mine_action",
    "requests:follow",
    "requests:action",
    "requests:attachment",
    "surveys:status",
    "surveys:copy",
    "surveys:dimension_add",
    "surveys:question_add",
    "surveys:question_move",
    "surveys:question_delete",
    "surveys:remind",
    # 议事协商: the forms on a proposal's and a meeting's page post here; photos are files.
    *(f"deliberation:{name}" for name in (
        "proposal_support", "proposal_withdraw", "proposal_answer", "proposal_agenda",
        "meeting_poll", "meeting_option_add", "meeting_schedule", "meeting_agenda_add", "meeting_sign_in",
        "meeting_comment", "comment_hide", "meeting_end", "meeting_cancel", "meeting_minutes",
        "action_new", "action_update", "action_photo")),
    # The live quorum: an HTMX fragment polled by the meeting page, not a page of its own.
    "deliberation:meeting_quorum",
    # 表决: the buttons on a vote's pages post here; authorisation photos and the result file are downloads.
    *(f"votes:{name}" for name in (
        "open", "close", "publish", "cancel", "remind", "paper_issue", "paper_confirm", "paper_reject",
        "proxy_revoke", "owner_link", "proxy_file", "public_file")),
    # 满意度分析: the run's XLSX/CSV export.
    "insights:satisfaction_export",
}
# Django's own admin: only pages without arguments are checked.
ADMIN_NAMESPACE = "admin"
# Who may open what, tried in this order; the first that gets a page is "the right persona".
# "pending" is community staff who gave a password but not yet the one-time code.
PERSONAS = (
    "anonymous", "resident", "grid_worker", "staff", "lead", "street_supervisor", "auditor", "partner", "superuser",
    "pending",
)


# Pages only one kind of person ever sees.
ONLY: dict[str, tuple[str, ...]] = {"accounts:two_factor": ("pending",)}


# A valid mainland ID number (check digit included) for a woman born 1949-12-31.
ID_NUMBER = "11010519491231002X"
PHONE = "13800138000"


def register_resident(tree: Tree, personas: Personas) -> Resident:
    """The resident persona's own record in the registry, with something in each section."""
    household = household_create(ref="YH-502", place=tree.household, by=None)
    resident = resident_create(
        household=household, name="王秀英", household_role=HouseholdRole.HEAD, id_number=ID_NUMBER, phone=PHONE,
        health="高血压", user=personas.resident, by=None,
    )
    resident_create(household=household, name="李建国", household_role=HouseholdRole.SPOUSE, by=None)
    consent_give(resident=resident, purpose="社区养老服务联系", basis=ConsentBasis.CONSENT, by=personas.staff)
    correction_request_create(resident=resident, field="phone", requested_value="13900139000", by=personas.resident)
    return resident


@dataclass
class Sample:
    tree: Tree
    personas: Personas
    superuser: User
    resident: Resident


def _first_audit_seq(sample: Sample) -> dict[str, Any]:
    from linli.audit.models import AuditEvent

    event = AuditEvent.objects.order_by("seq").first()
    assert event is not None, "the personas fixture writes audit events"
    return {"seq": event.seq}


def _request(sample: Sample) -> dict[str, Any]:
    """The resident persona's request in their household, accepted, with a reply and an
    internal note, so both the staff and the resident's page have a timeline."""
    from linli.requests.catalogue import categories_install
    from linli.requests.intake import request_submit
    from linli.requests.models import Category, Channel
    from linli.requests.services import request_accept, request_reply

    cached = getattr(sample, "request_pk", None)
    if cached is None:
        categories_install()  # a transactional test may have flushed the migration's rows
        request = request_submit(
            by=sample.personas.resident, category=Category.objects.get(code="repairs"), place=sample.tree.household,
            title="楼道灯坏了", description="3号楼2单元5层楼道灯不亮", channel=Channel.WEB,
            attributes={"facility": "light"},
        )
        request = request_accept(request=request, by=sample.personas.staff)
        request_reply(request=request, by=sample.personas.staff, body="明天上午安排电工更换。")
        request_reply(request=request, by=sample.personas.staff, body="电工已约好", public=False)
        cached = request.pk
        sample.request_pk = cached  # type: ignore[attr-defined]
    return {"pk": cached}


def _survey(sample: Sample) -> Any:
    """The satisfaction questionnaire of the persona's community, open and sent to everyone."""
    from linli.surveys.distribution import questionnaire_distribute
    from linli.surveys.services import questionnaire_from_template, questionnaire_open

    survey = getattr(sample, "survey", None)
    if survey is None:
        survey = questionnaire_from_template(template="satisfaction", place=sample.tree.community,
                                             by=sample.personas.staff)
        questionnaire_open(questionnaire=survey, by=sample.personas.staff)
        questionnaire_distribute(questionnaire=survey, by=sample.personas.staff, mode="all")
        sample.survey = survey  # type: ignore[attr-defined]
    return survey


def _survey_pk(sample: Sample) -> dict[str, Any]:
    return {"pk": _survey(sample).pk}


def _survey_token(sample: Sample) -> dict[str, Any]:
    from linli.surveys.models import Invitation

    return {"token": Invitation.objects.get(questionnaire=_survey(sample), resident=sample.resident).token}


def _survey_dimension(sample: Sample) -> dict[str, Any]:
    return {"pk": _survey(sample).dimensions.get(code="SAT").pk}


def _survey_question(sample: Sample) -> dict[str, Any]:
    from linli.surveys.models import Question

    return {"pk": Question.objects.get(questionnaire=_survey(sample), code="SAT1").pk}


def _deliberation(sample: Sample) -> dict[str, Any]:
    """议事协商 in the persona's community: the resident's proposal on the agenda of a
    coming residents' meeting (signed in, a comment), and a council that was held, with
    published minutes, a decision and an action under way."""
    from datetime import date, timedelta

    from django.utils import timezone

    from linli.deliberation import services

    cached: dict[str, Any] | None = getattr(sample, "deliberation", None)
    if cached is None:
        staff, resident = sample.personas.staff, sample.personas.resident
        community = sample.tree.community
        proposal = services.proposal_create(by=resident, place=community, title="增设休息座椅",
                                            body="老人散步需要歇脚的地方。")
        start = timezone.now() + timedelta(hours=1)
        meeting = services.meeting_create(by=staff, place=community, kind="residents_meeting", title="年度居民会议",
                                          starts_at=start, location="社区活动室")
        services.meeting_agenda_add(meeting=meeting, by=staff, proposal=proposal)
        services.meeting_sign_in(meeting=meeting, by=resident)
        services.meeting_comment(meeting=meeting, by=resident, body="建议每季度开一次。")
        held = services.meeting_create(by=staff, place=community, kind="council", title="议事会", starts_at=start)
        held = services.meeting_end(meeting=held, by=staff)
        services.meeting_minutes_save(meeting=held, by=staff, text="议定增设座椅。", publish=True)
        decision = services.decision_record(by=staff, place=community, meeting=held, title="增设座椅",
                                            text="年内在 3 号楼前增设休息座椅。", proposals=[proposal])
        action = services.action_create(decision=decision, by=staff, title="采购座椅", due_on=date(2030, 1, 1),
                                        owner=staff, owner_label="居委会")
        services.action_update(action=action, by=staff, status="in_progress", body="已询价")
        cached = {"proposal": proposal.pk, "meeting": meeting.pk, "held": held.pk, "decision": decision.pk,
                  "action": action.pk}
        sample.deliberation = cached  # type: ignore[attr-defined]
    return cached


def _votes(sample: Sample) -> dict[str, Any]:
    """Votes of the persona's community, open now (the pages use the real clock): a secret
    one the resident has yet to cast, a named one they cast and changed, and a secret one
    cast, closed and published; and an owners' roll."""
    import io
    from datetime import timedelta

    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils import timezone

    from linli.deliberation import services

    cached: dict[str, Any] | None = getattr(sample, "votes", None)
    if cached is None:
        staff, lead, resident = sample.personas.staff, sample.personas.lead, sample.personas.resident
        now = timezone.now().replace(microsecond=0)

        def vote(**fields: Any) -> Any:
            made = services.vote_create(
                by=staff, **{"place": sample.tree.community, "title": "是否增设电动自行车充电桩",
                             "question_kind": "yes_no", "eligibility": "adults", "rule": "simple_majority",
                             "opens_at": now - timedelta(hours=1), "closes_at": now + timedelta(days=2),
                             "secret": True, **fields})
            return services.vote_open(vote=made, by=lead, at=now)

        secret = vote()
        named = vote(title="东门还是西门", secret=False, question_kind="single", options=["东门", "西门"])
        services.vote_cast(vote=named, by=resident, choice="1")
        services.vote_cast(vote=named, by=resident, choice="2")
        public = vote(title="是否更换小区大门")
        services.vote_cast(vote=public, by=resident, choice="for")
        public = services.vote_close(vote=public, by=lead, at=public.closes_at + timedelta(minutes=1))
        services.vote_publish(vote=public, by=lead)
        register = io.StringIO()
        for row in (["房屋", "业主", "面积"], ["1-101", "张三", "90"], ["1-102", "李四", "80"]):
            register.write(",".join(row) + "\n")
        report = services.owner_roll_import(
            place=sample.tree.community, by=staff,
            upload=SimpleUploadedFile("register.csv", register.getvalue().encode(), content_type="text/csv"))
        assert report.roll is not None, report.errors
        cached = {"secret": secret.pk, "named": named.pk, "public": public.pk, "roll": report.roll.pk}
        sample.votes = cached  # type: ignore[attr-defined]
    return cached


def _satisfaction_run(sample: Sample) -> dict[str, Any]:
    """A fitted 满意度 run of the persona's community: R's satisfaction data with its model."""
    import json

    from linli.insights.satisfaction import satisfaction_run_compute, satisfaction_run_for_upload
    from tests.insights.pls.reference import DATA, SATISFACTION_BLOCKS, SATISFACTION_PATHS

    cached = getattr(sample, "satisfaction_run_pk", None)
    if cached is None:
        model = json.dumps({"blocks": {name: {"items": items} for name, items in SATISFACTION_BLOCKS.items()},
                            "paths": [list(p) for p in SATISFACTION_PATHS], "scaled": False, "scale": [0, 10]})
        run = satisfaction_run_for_upload(
            place=sample.tree.community, by=sample.personas.staff, name="satisfaction.csv",
            data=(DATA / "satisfaction.csv").read_bytes(), model_text=model, bootstrap=100, seed=1,
            title="银行客户满意度（R 示例数据）")
        cached = satisfaction_run_compute(run=run).pk
        sample.satisfaction_run_pk = cached  # type: ignore[attr-defined]
    return {"pk": cached}


def _one(make: Callable[[Sample], dict[str, Any]], key: str) -> Callable[[Sample], dict[str, Any]]:
    return lambda sample: {"pk": make(sample)[key]}


SAMPLES: dict[str, Callable[[Sample], dict[str, Any]]] = {
    **{f"surveys:{name}": _survey_pk for name in (
        "detail", "settings", "distribute", "slips", "rates", "paper", "results", "texts", "take")},
    "surveys:dimension_edit": _survey_dimension,
    "surveys:question_edit": _survey_question,
    "surveys:answer": _survey_token,
    "surveys:thanks": _survey_token,
    "requests:detail": _request,
    "requests:mine_detail": _request,
    "places:detail": lambda s: {"pk": s.tree.community.pk},
    "places:children": lambda s: {"pk": s.tree.community.pk},
    "audit:event": _first_audit_seq,
    "people:resident_detail": lambda s: {"pk": s.resident.pk},
    "deliberation:proposal_detail": _one(_deliberation, "proposal"),
    "deliberation:meeting_detail": _one(_deliberation, "meeting"),
    "deliberation:meeting_desk": _one(_deliberation, "meeting"),
    "deliberation:decision_detail": _one(_deliberation, "decision"),
    "deliberation:action_detail": _one(_deliberation, "action"),
    "deliberation:public_decision": _one(_deliberation, "decision"),
    "deliberation:public_meeting": _one(_deliberation, "held"),
    **{f"votes:{name}": _one(_votes, "secret") for name in (
        "detail", "roll", "paper", "paper_codes", "proxies", "ballot")},
    "votes:history": _one(_votes, "named"),
    "votes:receipt": _one(_votes, "named"),
    "votes:public_detail": _one(_votes, "public"),
    "votes:owner_roll": _one(_votes, "roll"),
    "insights:satisfaction_run": _satisfaction_run,
    "insights:satisfaction_print": _satisfaction_run,
}


@dataclass(frozen=True)
class Pattern:
    name: str | None
    route: str
    has_args: bool


def _walk(patterns: list[Any], prefix: str = "", namespace: str = "") -> Iterator[Pattern]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            route = prefix + str(entry.pattern)
            name = f"{namespace}{entry.name}" if entry.name else None
            yield Pattern(name, route, bool(entry.pattern.regex.groups))


def patterns() -> list[Pattern]:
    return [p for p in _walk(get_resolver().url_patterns) if not p.route.startswith(SKIP_ROUTE_PREFIXES)]


def uncovered_patterns() -> list[str]:
    """Named, parameterised, non-admin patterns that neither have a sample nor are known not to be pages."""
    return sorted(
        p.name or p.route
        for p in patterns()
        if p.has_args and not p.route.startswith(f"{ADMIN_NAMESPACE}/")
        and (p.name is None or (p.name not in SAMPLES and p.name not in NOT_PAGES))
    )


def urls(sample: Sample) -> list[tuple[str, str]]:
    """(name, url) of every page to open."""
    found = []
    for p in patterns():
        if p.name is None or p.name in NOT_PAGES:
            continue
        if p.has_args:
            if p.name in SAMPLES:
                found.append((p.name, reverse(p.name, kwargs=SAMPLES[p.name](sample))))
            continue
        found.append((p.name, reverse(p.name)))
    return found


def client_for(persona: str, sample: Sample) -> Client:
    client = Client()
    if persona == "anonymous":
        return client
    if persona == "pending":
        client.force_login(sample.personas.staff)
        return client
    user = sample.superuser if persona == "superuser" else getattr(sample.personas, persona)
    client.force_login(user)
    session = client.session
    session[SESSION_2FA] = True
    session.save()
    return client


@dataclass(frozen=True)
class PageCase:
    name: str
    url: str
    persona: str
    full_page: bool  # False: an HTMX fragment
    content: bytes = field(default=b"", repr=False, compare=False)
    csp: str = field(default="", repr=False, compare=False)


def pages(sample: Sample, *, every_persona: bool = False) -> list[PageCase]:
    """Each page with the first persona that may open it (or every such persona)."""
    clients = {persona: client_for(persona, sample) for persona in PERSONAS}
    cases = []
    for name, url in urls(sample):
        tried = ONLY.get(name) or (("superuser",) if name.startswith(f"{ADMIN_NAMESPACE}:") else PERSONAS)
        for persona in tried:
            response = clients[persona].get(url)
            if response.status_code != 200 or not response["Content-Type"].startswith("text/html"):
                continue
            cases.append(PageCase(
                name, url, persona, b"<html" in response.content[:300], response.content,
                response.get("Content-Security-Policy", ""),
            ))
            if not every_persona:
                break
    return cases
