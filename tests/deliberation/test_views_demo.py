"""The demo's 议事协商: consistent with what the services write (support counts, rolled-up
progress, frozen attendance), quick to build, and shown on the pages of the demo's
resident, staff and the public."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
import time_machine
from django.db.models import Avg, Count
from django.test import Client
from django.urls import reverse

from linli.accounts.models import User
from linli.deliberation.models import (
    Action,
    Attendance,
    Meeting,
    MeetingMember,
    MeetingStatus,
    Proposal,
    ProposalStatus,
    ProposalSupport,
)
from linli.deliberation.selectors import meeting_quorum
from linli.demo.build import DemoBuild, build_demo
from linli.demo.generator import SCALES
from linli.requests.calendar import TIME_ZONE
from tests.conftest import login

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 27, 10, 30, tzinfo=TIME_ZONE)


@pytest.fixture
def demo() -> DemoBuild:
    with time_machine.travel(NOW, tick=False):
        build = build_demo(scale=SCALES["tiny"], seed=7)
    assert build is not None
    return build


def test_every_proposal_state_and_consistent_supports(demo: DemoBuild) -> None:
    assert set(Proposal.objects.values_list("status", flat=True)) == set(ProposalStatus.values)
    for proposal in Proposal.objects.annotate(n=Count("supports")):
        assert proposal.supports_count == proposal.n
        assert not ProposalSupport.objects.filter(proposal=proposal, user_id=proposal.proposer_id).exists()
        if proposal.status in (ProposalStatus.AGENDA, ProposalStatus.NOT_FEASIBLE):
            assert proposal.supports_count >= proposal.support_threshold and proposal.agenda_at is not None
        # Every supporter lives in the proposal's community.
        assert set(User.objects.filter(pk__in=proposal.supports.values("user_id"))
                   .values_list("resident__community_id", flat=True)) <= {proposal.community_id}
    assert demo.generated.counts["proposals"] == Proposal.objects.count()


def test_meetings_actions_and_their_numbers(demo: DemoBuild) -> None:
    held = list(Meeting.objects.filter(status=MeetingStatus.HELD))
    assert held and Meeting.objects.filter(status=MeetingStatus.PLANNING).count() == len(held)
    for meeting in held:
        members = MeetingMember.objects.filter(meeting=meeting).values("resident_id")
        assert meeting.body_size == members.count()
        assert meeting.present_count == Attendance.objects.filter(meeting=meeting, resident__in=members).count()
        assert meeting_quorum(meeting).reached and meeting.minutes_published
        assert meeting.decisions.count() == 2
    for parent in Action.objects.filter(children__isnull=False).distinct():
        mean = parent.children.aggregate(m=Avg("rolled_progress"))["m"]
        assert parent.rolled_progress == Decimal(mean).quantize(Decimal("0.01"))
    assert Action.objects.filter(status="done").exists() and Action.objects.filter(status="planned").exists()


def test_the_demo_shows_on_the_pages(demo: DemoBuild) -> None:
    resident = Client()
    login(resident, User.objects.get(username="resident-1b"))
    page = resident.get(reverse("deliberation:proposals")).content.decode()
    assert "在中心花园增设休息座椅" in page and "已采纳" in page
    staff = Client()
    login(staff, User.objects.get(username="staff-1a"))
    assert "电动自行车充电桩议事会" in staff.get(reverse("deliberation:desk")).content.decode()
    public = Client().get(reverse("deliberation:public")).content.decode()
    assert "75%" in public and "居民代表会议" in public
