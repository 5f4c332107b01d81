"""Every deliberation page renders for the people it is for, in standard and elder mode,
with nothing the strict CSP would block (no inline script or style), and the public
pages show no personal information."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from linli.deliberation import services
from linli.deliberation.models import Meeting
from linli.web.context_processors import ELDER_COOKIE
from tests.conftest import Personas, Tree, login
from tests.deliberation.conftest import Neighbourhood
from tests.web.pages import read

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(hood: Neighbourhood, tree: Tree, personas: Personas) -> dict[str, Any]:
    proposal = services.proposal_create(by=hood.voters[0], place=tree.community, title="增设休息座椅",
                                        body="老人散步需要歇脚的地方。")
    services.proposal_support(proposal=proposal, by=hood.voters[1])
    start = timezone.now() + timedelta(hours=1)
    poll = services.meeting_create(by=personas.staff, place=tree.community, kind="council", title="车棚议事会",
                                   time_options=[(start, start + timedelta(hours=2)),
                                                 (start + timedelta(days=1), start + timedelta(days=1, hours=2))])
    meeting = services.meeting_create(by=personas.staff, place=tree.community, kind="residents_meeting",
                                      title="年度居民会议", starts_at=start, location="社区活动室")
    services.meeting_agenda_add(meeting=meeting, by=personas.staff, proposal=proposal)
    services.meeting_sign_in(meeting=meeting, by=hood.voters[0])
    services.meeting_comment(meeting=meeting, by=hood.voters[0], body="建议每季度开一次。")
    held = services.meeting_create(by=personas.staff, place=tree.community, kind="council", title="议事会",
                                   starts_at=start)
    held = services.meeting_end(meeting=held, by=personas.staff)
    services.meeting_minutes_save(meeting=held, by=personas.staff, text="议定增设座椅。", publish=True)
    decision = services.decision_record(by=personas.staff, place=tree.community, meeting=held, title="增设座椅",
                                        text="年内在 3 号楼前增设休息座椅。", proposals=[proposal])
    action = services.action_create(decision=decision, by=personas.staff, title="采购座椅",
                                    due_on=date(2030, 1, 1), owner=personas.staff, owner_label="居委会")
    services.action_create(decision=decision, by=personas.staff, title="安装", due_on=date(2030, 2, 1),
                           owner_label="安居物业", parent=action)
    services.action_update(action=action, by=personas.staff, status="in_progress", body="已询价")
    return {"proposal": proposal, "poll": poll, "meeting": meeting, "held": held, "decision": decision,
            "action": action}


def pages(w: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(persona, url name, url) of each page."""
    m, d = w["meeting"], w["decision"]
    return [
        ("resident", "deliberation:proposals", reverse("deliberation:proposals")),
        ("resident", "deliberation:proposal_new", reverse("deliberation:proposal_new")),
        ("resident", "deliberation:proposal_detail", reverse("deliberation:proposal_detail", args=[w["proposal"].pk])),
        ("resident", "deliberation:meetings", reverse("deliberation:meetings")),
        ("resident", "deliberation:meeting_detail", reverse("deliberation:meeting_detail", args=[m.pk])),
        ("other_resident", "deliberation:meeting_detail", reverse("deliberation:meeting_detail", args=[w["poll"].pk])),
        ("staff", "deliberation:desk", reverse("deliberation:desk")),
        ("staff", "deliberation:proposal_detail", reverse("deliberation:proposal_detail", args=[w["proposal"].pk])),
        ("staff", "deliberation:meeting_new", reverse("deliberation:meeting_new")),
        ("staff", "deliberation:meeting_detail", reverse("deliberation:meeting_detail", args=[w["poll"].pk])),
        ("staff", "deliberation:meeting_detail", reverse("deliberation:meeting_detail", args=[m.pk])),
        ("staff", "deliberation:meeting_detail", reverse("deliberation:meeting_detail", args=[w["held"].pk])),
        ("staff", "deliberation:meeting_desk", reverse("deliberation:meeting_desk", args=[m.pk]) + "?q=居民"),
        ("staff", "deliberation:decisions", reverse("deliberation:decisions")),
        ("staff", "deliberation:decision_new", reverse("deliberation:decision_new") + f"?meeting={m.pk}"),
        ("staff", "deliberation:decision_detail", reverse("deliberation:decision_detail", args=[d.pk])),
        ("staff", "deliberation:action_detail", reverse("deliberation:action_detail", args=[w["action"].pk])),
        ("auditor", "deliberation:decision_detail", reverse("deliberation:decision_detail", args=[d.pk])),
        ("lead", "deliberation:config", reverse("deliberation:config")),
        ("anonymous", "deliberation:public", reverse("deliberation:public")),
        ("anonymous", "deliberation:public_decision", reverse("deliberation:public_decision", args=[d.pk])),
        ("anonymous", "deliberation:public_meeting", reverse("deliberation:public_meeting", args=[w["held"].pk])),
    ]


@pytest.mark.parametrize("elder", [False, True])
def test_every_page_renders_clean_for_its_people(world: dict[str, Any], personas: Personas, elder: bool) -> None:
    clients: dict[str, Client] = {}
    for persona, name, url in pages(world):
        client = clients.get(persona)
        if client is None:
            client = Client()
            if persona != "anonymous":
                login(client, getattr(personas, persona))
            if elder:
                client.cookies[ELDER_COOKIE] = "1"
            clients[persona] = client
        response = client.get(url)
        assert response.status_code == 200, (persona, url)
        page = read(response.content)
        assert page.inline_scripts == [] and page.inline_styles == [], (name, page.inline_scripts, page.inline_styles)
        assert ("elder" in page.html_classes) is elder
        assert "/static/deliberation/deliberation.css" in response.content.decode()


def test_the_quorum_partial_is_a_clean_fragment(world: dict[str, Any], personas: Personas, client: Client) -> None:
    login(client, personas.staff)
    response = client.get(reverse("deliberation:meeting_quorum", args=[world["meeting"].pk]))
    page = read(response.content)
    assert response.status_code == 200 and "<html" not in response.content.decode()
    assert page.inline_scripts == [] and page.inline_styles == []


def test_public_pages_show_no_personal_information(world: dict[str, Any], hood: Neighbourhood,
                                                   personas: Personas) -> None:
    anonymous = Client()
    names = [a.name for a in hood.adults] + [u.username for u in hood.voters] + [personas.staff.username, "已询价 by"]
    for persona, _name, url in pages(world):
        if persona != "anonymous":
            continue
        text = anonymous.get(url).content.decode()
        for private in names + ["建议每季度开一次", "老人散步需要歇脚的地方"]:
            assert private not in text, (url, private)


def test_the_resident_sees_the_time_poll_and_the_staff_the_schedule(world: dict[str, Any], personas: Personas,
                                                                    client: Client) -> None:
    poll: Meeting = world["poll"]
    login(client, personas.other_resident)
    text = client.get(reverse("deliberation:meeting_detail", args=[poll.pk])).content.decode()
    assert "您哪个时间能参加" in text and "确定会议时间" not in text
    login(client, personas.staff)
    text = client.get(reverse("deliberation:meeting_detail", args=[poll.pk])).content.decode()
    assert "确定会议时间" in text and "添加备选时间" in text
