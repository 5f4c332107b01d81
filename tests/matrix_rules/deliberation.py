"""Matrix rows of the deliberation pages (``linli.deliberation``; votes have their own rows
in ``deliberation_votes``).

Inside (``tree.community``): a proposal by ``resident``; a residents' meeting, scheduled,
with a comment of ``resident``; a second meeting, held, with its minutes published; a
decision with one action and a progress photo. Far (``tree.other_community``): the same,
by the other community's staff and a resident living there. Both ``resident`` and
``other_resident`` live in the inside community, so they take part in its proposals and
meetings; the grid worker's grid lies below the community, so community-wide things are
outside their scope (404). Each POST carries a valid or a deliberately empty body, so a
refusal can only come from access control (a 400 for an empty form is "ok").
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from linli.accounts.models import Role, User
from linli.accounts.services import role_grant, user_create
from linli.deliberation import services
from linli.deliberation.models import (
    Action,
    ActionPhoto,
    Decision,
    Meeting,
    MeetingComment,
    Proposal,
)
from linli.places.models import Place
from tests.conftest import PASSWORD
from tests.matrix_base import Rule, World, everyone, only

RESIDENTS = frozenset({"resident", "other_resident"})
# A deliberation role anywhere (lists and the overview): the grid worker's grid, the other community's staff.
VIEWERS_ANYWHERE = frozenset({"grid_worker", "staff", "lead", "street_supervisor", "auditor", "superuser",
                              "outside_staff"})
MANAGERS_ANYWHERE = frozenset({"staff", "lead", "outside_staff"})
# A deliberation role over the inside community (the street level reads it too).
VIEWERS = frozenset({"staff", "lead", "street_supervisor", "auditor", "superuser"})
MANAGERS = frozenset({"staff", "lead"})
READ_ONLY = {"street_supervisor": "403", "auditor": "403", "superuser": "403"}


@dataclass
class Side:
    proposal: Proposal
    meeting: Meeting
    held: Meeting
    comment: MeetingComment
    decision: Decision
    action: Action
    photo: ActionPhoto


def _jpeg() -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (8, 6), "green").save(out, "JPEG")
    return SimpleUploadedFile("site.jpg", out.getvalue(), content_type="image/jpeg")


def _side(w: World, *, far: bool = False) -> Side:
    """Made once per world (the rows' ``kwargs`` run for each URL they build)."""
    attr = "_deliberation_far" if far else "_deliberation_inside"
    found: Side | None = getattr(w, attr, None)
    if found is not None:
        return found
    staff = w.personas.outside_staff if far else w.personas.staff
    community: Place = w.tree.other_community if far else w.tree.community
    proposer: User = w.personas.resident
    if far:
        proposer = user_create(username="far_resident", password=PASSWORD)
        role_grant(user=proposer, role=Role.RESIDENT, place=w.tree.far_household)
    start = timezone.now() + timedelta(hours=1)
    proposal = services.proposal_create(by=proposer, place=community, title="增设休息座椅", body="老人需要歇脚。")
    meeting = services.meeting_create(by=staff, place=community, kind="residents_meeting", title="居民会议",
                                      starts_at=start)
    comment = services.meeting_comment(meeting=meeting, by=proposer, body="建议每季度开一次。")
    held = services.meeting_create(by=staff, place=community, kind="council", title="议事会", starts_at=start)
    held = services.meeting_end(meeting=held, by=staff)
    services.meeting_minutes_save(meeting=held, by=staff, text="议定增设座椅。", publish=True)
    decision = services.decision_record(by=staff, place=community, meeting=held, title="增设座椅", text="年内增设。")
    action = services.action_create(decision=decision, by=staff, title="采购座椅", due_on=date(2030, 1, 1),
                                    owner_label="居委会")
    services.action_update(action=action, by=staff, status="in_progress", photos=[_jpeg()])
    side = Side(proposal, meeting, held, comment, decision, action, ActionPhoto.objects.get(update__action=action))
    setattr(w, attr, side)
    return side


def _pk(attr: str, *, far: bool = False) -> Callable[[World], dict[str, Any]]:
    return lambda w: {"pk": getattr(_side(w, far=far), attr).pk}


def _of_object(ok: frozenset[str], **overrides: str) -> dict[str, str]:
    return only(ok, **overrides)


SEES_PROPOSALS = RESIDENTS | VIEWERS
# Residents take part (poll, comment); staff who work here too; those who only read get 403.
TAKE_PART = only(RESIDENTS | MANAGERS, **READ_ONLY)
MANAGE = only(MANAGERS, **READ_ONLY, resident="403", other_resident="403")
MANAGE_STAFF_PAGE = only(MANAGERS, **READ_ONLY)  # a staff page: residents get 404 like anyone outside

RULES: dict[str, Rule] = {
    # Lists and the overview: 403 for whoever holds no deliberation role and lives nowhere.
    "deliberation:desk": Rule(expect=only(VIEWERS_ANYWHERE), default="403"),
    "deliberation:config": Rule(expect=only({"lead"}), default="403"),
    "deliberation:proposals": Rule(expect=only(VIEWERS_ANYWHERE | RESIDENTS), default="403"),
    "deliberation:proposal_new": Rule(expect=only(RESIDENTS), default="403"),
    "deliberation:meetings": Rule(expect=only(VIEWERS_ANYWHERE | RESIDENTS), default="403"),
    "deliberation:meeting_new": Rule(expect=only(MANAGERS_ANYWHERE), default="403"),
    "deliberation:decisions": Rule(expect=only(VIEWERS_ANYWHERE), default="403"),
    "deliberation:decision_new": Rule(expect=only(MANAGERS_ANYWHERE), default="403"),
    # A proposal: residents of the community and staff over it see it.
    "deliberation:proposal_detail": Rule(kwargs=_pk("proposal"), expect=only(SEES_PROPOSALS)),
    "deliberation:proposal_support": Rule(method="post", kwargs=_pk("proposal"), expect=only(
        RESIDENTS, **READ_ONLY, staff="403", lead="403")),
    "deliberation:proposal_withdraw": Rule(method="post", kwargs=_pk("proposal"), expect=only(
        {"resident"}, **READ_ONLY, other_resident="403", staff="403", lead="403")),
    "deliberation:proposal_answer": Rule(method="post", kwargs=_pk("proposal"),
                                         data={"outcome": "accepted", "answer": "采纳，年内实施。"}, expect=MANAGE),
    "deliberation:proposal_agenda": Rule(method="post", kwargs=_pk("proposal"), expect=MANAGE),
    # A meeting: the same people see it; residents take part, staff run it.
    "deliberation:meeting_detail": Rule(kwargs=_pk("meeting"), expect=only(SEES_PROPOSALS)),
    "deliberation:meeting_quorum": Rule(kwargs=_pk("meeting"), expect=only(SEES_PROPOSALS)),
    "deliberation:meeting_poll": Rule(method="post", kwargs=_pk("meeting"), expect=TAKE_PART),
    "deliberation:meeting_comment": Rule(method="post", kwargs=_pk("meeting"), expect=TAKE_PART),
    "deliberation:meeting_sign_in": Rule(method="post", kwargs=_pk("meeting"), expect=only(
        RESIDENTS, **READ_ONLY, staff="403", lead="403")),
    "deliberation:meeting_desk": Rule(kwargs=_pk("meeting"), expect=MANAGE_STAFF_PAGE),
    "deliberation:meeting_option_add": Rule(method="post", kwargs=_pk("meeting"), expect=MANAGE),
    "deliberation:meeting_schedule": Rule(method="post", kwargs=_pk("meeting"), expect=MANAGE),
    "deliberation:meeting_agenda_add": Rule(method="post", kwargs=_pk("meeting"), expect=MANAGE),
    "deliberation:meeting_end": Rule(method="post", kwargs=_pk("meeting"), expect=MANAGE),
    "deliberation:meeting_cancel": Rule(method="post", kwargs=_pk("meeting"), expect=MANAGE),
    "deliberation:meeting_minutes": Rule(method="post", kwargs=_pk("meeting"), expect=MANAGE),
    "deliberation:comment_hide": Rule(method="post", kwargs=_pk("comment"), expect=MANAGE_STAFF_PAGE),
    # Decisions and actions: staff pages.
    "deliberation:decision_detail": Rule(kwargs=_pk("decision"), expect=only(VIEWERS)),
    "deliberation:action_new": Rule(method="post", kwargs=_pk("decision"), expect=MANAGE_STAFF_PAGE),
    "deliberation:action_detail": Rule(kwargs=_pk("action"), expect=only(VIEWERS)),
    "deliberation:action_update": Rule(method="post", kwargs=_pk("action"), expect=MANAGE_STAFF_PAGE),
    # The public record: anyone, signed in or not.
    "deliberation:public": Rule(expect=everyone()),
    "deliberation:public_decision": Rule(kwargs=_pk("decision"), expect=everyone()),
    "deliberation:public_meeting": Rule(kwargs=_pk("held"), expect=everyone()),
    "deliberation:action_photo": Rule(kwargs=_pk("photo"), expect=everyone()),
}

OUTSIDE: dict[str, Callable[[World], dict[str, Any]]] = {
    **{f"deliberation:{name}": _pk("proposal", far=True) for name in (
        "proposal_detail", "proposal_support", "proposal_withdraw", "proposal_answer", "proposal_agenda")},
    **{f"deliberation:{name}": _pk("meeting", far=True) for name in (
        "meeting_detail", "meeting_quorum", "meeting_poll", "meeting_comment", "meeting_sign_in", "meeting_desk",
        "meeting_option_add", "meeting_schedule", "meeting_agenda_add", "meeting_end", "meeting_cancel",
        "meeting_minutes")},
    "deliberation:comment_hide": _pk("comment", far=True),
    "deliberation:decision_detail": _pk("decision", far=True),
    "deliberation:action_new": _pk("decision", far=True),
    "deliberation:action_detail": _pk("action", far=True),
    "deliberation:action_update": _pk("action", far=True),
}
