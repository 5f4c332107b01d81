"""Proposals reach the agenda and get a public answer; meetings find a time, sign people
in, check their quorum live and keep minutes; decisions spawn actions whose progress
rolls up."""

from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from linli.audit.models import AuditEvent
from linli.deliberation import selectors, services
from linli.deliberation.models import (
    Action,
    ActionPhoto,
    ActionStatus,
    DeliberationConfig,
    MeetingStatus,
    ProposalStatus,
)
from linli.notifications.models import Notification
from linli.requests.intake import request_submit
from linli.requests.models import Category, Channel
from tests.conftest import Personas, Tree
from tests.deliberation.conftest import OPENS, Neighbourhood


def inbox(user: object) -> list[str]:
    return list(Notification.objects.filter(user=user).order_by("id").values_list("title", flat=True))


# Proposals ------------------------------------------------------------------------------------

def test_a_proposal_reaches_the_agenda_at_the_threshold_and_everyone_is_told(
        hood: Neighbourhood, tree: Tree, personas: Personas) -> None:
    DeliberationConfig.objects.create(place=tree.community, support_threshold=3)
    proposer = hood.voters[0]
    proposal = services.proposal_create(by=proposer, place=tree.community, title="小区增设休息座椅",
                                        body="老人散步需要歇脚的地方。")
    assert proposal.support_threshold == 3 and proposal.status == ProposalStatus.OPEN
    assert "已提交" in inbox(proposer)[-1]
    with pytest.raises(ValidationError, match="自己"):
        services.proposal_support(proposal=proposal, by=proposer)
    for user in (personas.outsider, personas.staff):
        with pytest.raises(PermissionDenied):
            services.proposal_support(proposal=proposal, by=user)
    services.proposal_support(proposal=proposal, by=hood.voters[1])
    with pytest.raises(ValidationError, match="已经附议"):
        services.proposal_support(proposal=proposal, by=hood.voters[1])
    proposal = services.proposal_support(proposal=proposal, by=hood.voters[2])
    assert proposal.status == ProposalStatus.OPEN and proposal.supports_count == 2
    proposal = services.proposal_support(proposal=proposal, by=hood.voters[3])
    assert proposal.status == ProposalStatus.AGENDA and proposal.agenda_at is not None
    assert "列入居委会议程" in inbox(proposer)[-1] and "列入居委会议程" in inbox(hood.voters[1])[-1]
    assert any("附议人数" in title for title in inbox(personas.staff))
    # Support after the agenda is still counted, but the agenda step happens once.
    services.proposal_support(proposal=proposal, by=hood.voters[4])
    assert AuditEvent.objects.filter(action="deliberation.proposal_agenda").count() == 1


def test_the_committee_answers_publicly_with_a_reason(hood: Neighbourhood, tree: Tree, personas: Personas) -> None:
    first = services.proposal_create(by=hood.voters[0], place=tree.community, title="修补东门路面", body="坑洼")
    second = services.proposal_create(by=hood.voters[1], place=tree.community, title="东门路面积水", body="下雨积水")
    services.proposal_support(proposal=second, by=hood.voters[2])
    with pytest.raises(PermissionDenied):
        services.proposal_answer(proposal=second, by=personas.auditor, outcome="accepted", answer="好")
    with pytest.raises(ValidationError):
        services.proposal_answer(proposal=second, by=personas.staff, outcome="not_feasible", answer=" ")
    with pytest.raises(ValidationError):
        services.proposal_answer(proposal=second, by=personas.staff, outcome="merged", answer="同一问题")
    second = services.proposal_answer(proposal=second, by=personas.staff, outcome="merged",
                                      answer="与“修补东门路面”是同一问题，一并处理。", merged_into=first)
    assert second.status == ProposalStatus.MERGED and second.merged_into == first
    assert "已答复" in inbox(hood.voters[1])[-1] and "已答复" in inbox(hood.voters[2])[-1]
    with pytest.raises(ValidationError, match="已经答复"):
        services.proposal_answer(proposal=second, by=personas.staff, outcome="accepted", answer="再答")
    with pytest.raises(ValidationError):  # a withdrawn or answered proposal cannot be withdrawn
        services.proposal_withdraw(proposal=second, by=hood.voters[1])


# Meetings ---------------------------------------------------------------------------------------

def test_a_time_poll_picks_the_time_most_can_attend(hood: Neighbourhood, tree: Tree, personas: Personas) -> None:
    slots = [(OPENS + timedelta(days=d), OPENS + timedelta(days=d, hours=2)) for d in (1, 2, 3)]
    meeting = services.meeting_create(by=personas.staff, place=tree.community, kind="council", title="议事会",
                                      time_options=slots)
    assert meeting.status == MeetingStatus.PLANNING
    options = list(meeting.time_options.all())
    answers = {0: ["no", "yes", "maybe"], 1: ["yes", "yes", "no"], 2: ["yes", "maybe", "no"]}
    for i, row in answers.items():
        for option, answer in zip(options, row, strict=True):
            services.meeting_poll_answer(option=option, by=hood.voters[i], answer=answer)
    services.meeting_poll_answer(option=options[2], by=hood.voters[0], answer="yes")  # changed their mind
    best = selectors.poll_summary(meeting)
    # Options 1 and 2 each have two "yes"; option 2 also has a "maybe".
    assert [row[1:] for row in best] == [(2, 1, 0), (2, 0, 1), (1, 0, 2)]
    assert best[0][0] == options[1]
    with pytest.raises(PermissionDenied):
        services.meeting_poll_answer(option=options[0], by=personas.outsider, answer="yes")
    meeting = services.meeting_schedule(meeting=meeting, by=personas.staff, option=best[0][0])
    assert meeting.status == MeetingStatus.SCHEDULED and meeting.starts_at == slots[1][0]
    assert "定于" in inbox(hood.voters[2])[-1]
    with pytest.raises(ValidationError):
        services.meeting_poll_answer(option=options[0], by=hood.voters[1], answer="no")


def test_live_quorum_of_a_residents_meeting(hood: Neighbourhood, tree: Tree, personas: Personas) -> None:
    meeting = services.meeting_create(by=personas.staff, place=tree.community, kind="residents_meeting",
                                      title="年度居民会议", starts_at=OPENS, location="社区活动室")
    assert meeting.body_kind == "adults"
    quorum = selectors.meeting_quorum(meeting)
    assert quorum.applies and quorum.body_size == len(hood.adults) == 6 and quorum.present == 0
    services.meeting_sign_in(meeting=meeting, by=hood.voters[0], at=OPENS)  # signs themselves in
    with pytest.raises(ValidationError, match="已经签到"):
        services.meeting_sign_in(meeting=meeting, by=hood.voters[0], at=OPENS)
    services.meeting_sign_in(meeting=meeting, by=personas.staff, resident=hood.adults[1], at=OPENS)
    services.meeting_sign_in(meeting=meeting, by=personas.staff, resident=hood.child, at=OPENS)  # not of the body
    services.meeting_sign_in(meeting=meeting, by=hood.voters[2], at=OPENS)
    quorum = selectors.meeting_quorum(meeting)
    assert quorum.present == 3 and not quorum.reached  # 3 of 6 is not more than half
    with pytest.raises(PermissionDenied):
        services.meeting_sign_in(meeting=meeting, by=personas.auditor, resident=hood.adults[3], at=OPENS)
    services.meeting_sign_in(meeting=meeting, by=personas.lead, resident=hood.adults[3], at=OPENS)
    assert selectors.meeting_quorum(meeting).reached
    services.meeting_comment(meeting=meeting, by=hood.voters[0], body="建议每季度开一次。")
    with pytest.raises(ValidationError):
        services.meeting_minutes_save(meeting=meeting, by=personas.staff, text="纪要", publish=True)
    meeting = services.meeting_end(meeting=meeting, by=personas.staff)
    assert meeting.status == MeetingStatus.HELD and (meeting.present_count, meeting.body_size) == (4, 6)
    meeting = services.meeting_minutes_save(meeting=meeting, by=personas.staff, text="到会 4 人，议定……",
                                            publish=True)
    assert meeting.minutes_published


def test_household_body_counts_a_household_once(hood: Neighbourhood, tree: Tree, personas: Personas) -> None:
    from linli.people.services import resident_create

    spouse = resident_create(household=hood.households[0], name="王建华", birth_date=date(1957, 3, 3), by=None)
    meeting = services.meeting_create(by=personas.staff, place=tree.community, kind="residents_meeting",
                                      title="户代表会议", body_kind="households", starts_at=OPENS)
    services.meeting_sign_in(meeting=meeting, by=personas.staff, resident=hood.adults[0], at=OPENS)
    services.meeting_sign_in(meeting=meeting, by=personas.staff, resident=spouse, at=OPENS)
    quorum = selectors.meeting_quorum(meeting)
    assert (quorum.present, quorum.body_size) == (1, len(hood.households))


def test_agenda_takes_proposals_and_motions(hood: Neighbourhood, tree: Tree, personas: Personas) -> None:
    proposal = services.proposal_create(by=hood.voters[0], place=tree.community, title="加装电梯", body="老楼")
    meeting = services.meeting_create(by=personas.staff, place=tree.community, kind="forum", title="座谈会",
                                      starts_at=OPENS)
    item = services.meeting_agenda_add(meeting=meeting, by=personas.staff, proposal=proposal)
    assert item.kind == "proposal" and item.title == "加装电梯" and item.order == 1
    assert "议程" in inbox(hood.voters[0])[-1]
    motion = services.meeting_agenda_add(meeting=meeting, by=personas.lead, title="垃圾分类督导", body="")
    assert motion.kind == "motion" and motion.order == 2
    with pytest.raises(ValidationError, match="已在"):
        services.meeting_agenda_add(meeting=meeting, by=personas.staff, proposal=proposal)


# Decisions and actions --------------------------------------------------------------------------

def photo() -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "green").save(out, "JPEG")
    return SimpleUploadedFile("site.jpg", out.getvalue(), "image/jpeg")


def test_actions_roll_progress_up_and_link_back_to_proposals_and_requests(
        hood: Neighbourhood, tree: Tree, personas: Personas) -> None:
    DeliberationConfig.objects.create(place=None, progress_in_progress=40)
    proposal = services.proposal_create(by=hood.voters[0], place=tree.community, title="修缮车棚", body="漏雨")
    request = request_submit(by=personas.resident, category=Category.objects.get(code="repairs"),
                             place=tree.household, title="车棚漏雨", description="3号楼车棚漏雨",
                             channel=Channel.WEB, attributes={"facility": "other"})
    decision = services.decision_record(by=personas.staff, place=tree.community, title="修缮车棚",
                                        text="年内修缮 3 号楼车棚。", proposals=[proposal], requests=[request])
    assert list(decision.proposals.all()) == [proposal] and list(decision.requests.all()) == [request]
    parent = services.action_create(decision=decision, by=personas.staff, title="车棚修缮", due_on=date(2027, 3, 1),
                                    owner=personas.grid_worker, proposals=[proposal], requests=[request])
    assert parent.status == ActionStatus.PLANNED and parent.progress == 0
    assert "落实事项" in inbox(personas.grid_worker)[-1]
    roof = services.action_create(decision=decision, by=personas.staff, title="更换顶棚", due_on=date(2027, 1, 1),
                                  parent=parent, owner_label="安居物业")
    lights = services.action_create(decision=decision, by=personas.staff, title="加装照明", due_on=date(2027, 2, 1),
                                    parent=parent, owner_label="安居物业")
    services.action_update(action=roof, by=personas.staff, status="in_progress", body="材料已到", photos=[photo()])
    parent.refresh_from_db()
    assert Action.objects.get(pk=roof.pk).progress == 40  # the configured default
    assert parent.rolled_progress == Decimal("20.00")  # mean of 40 and 0
    services.action_update(action=roof, by=personas.staff, status="done")
    services.action_update(action=lights, by=personas.staff, progress=33)
    parent.refresh_from_db()
    assert parent.rolled_progress == Decimal("66.50")
    stored = ActionPhoto.objects.get()
    assert stored.content_type == "image/jpeg" and stored.width == 40
    # The owner reports on their own action; a resident cannot.
    services.action_update(action=parent, by=personas.grid_worker, body="已与物业确认工期")
    with pytest.raises(PermissionDenied):
        services.action_update(action=parent, by=personas.resident, body="我来更新")
    with pytest.raises(ValidationError):
        services.action_update(action=lights, by=personas.staff, progress=101)
    assert list(proposal.actions.all()) == [parent]
    assert list(request.deliberation_actions.all()) == [parent]
