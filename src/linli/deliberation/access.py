"""Who reaches proposals, meetings, votes and decisions (staff pages; the later views
and API share these helpers).

Staff reach what lies below the nodes where they hold a deliberation role: 404 outside
that scope, 403 where they may only read (auditors) or may work but not manage. The
public reaches only what is published (``public_vote``), residents their own
community's proposals and meetings (``resident_reaches``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import Http404

from linli.accounts.access import grant_covering
from linli.deliberation.base import has_role, lives_in
from linli.deliberation.models import (
    DELIBERATION_MANAGE_ROLES,
    DELIBERATION_VIEW_ROLES,
    DELIBERATION_WORK_ROLES,
    VOTE_RUN_ROLES,
    Action,
    Decision,
    Meeting,
    MeetingStatus,
    Proposal,
    Vote,
    VoteStatus,
)
from linli.places.models import Place


def check_scope(principal: Any, path: str, *, write: bool = False, roles: Iterable[str] = DELIBERATION_WORK_ROLES
                ) -> None:
    """404 when no deliberation role covers ``path``; 403 when the caller may look but
    not do this (``roles`` says who may)."""
    seen = grant_covering(principal, path, roles=DELIBERATION_VIEW_ROLES)
    if not seen:
        raise Http404
    if write and not [g for g in grant_covering(principal, path, roles=roles) if not g.read_only]:
        raise PermissionDenied


def _get[M: models.Model](model: type[M], pk: int, related: tuple[str, ...] = ()) -> M:
    obj = model._default_manager.select_related(*related).filter(pk=pk).first()
    if obj is None:
        raise Http404
    return obj


def access_proposal(principal: Any, pk: int, *, write: bool = False) -> Proposal:
    proposal = _get(Proposal, pk, ("community", "place", "proposer"))
    check_scope(principal, proposal.place_path, write=write, roles=DELIBERATION_MANAGE_ROLES)
    return proposal


def access_meeting(principal: Any, pk: int, *, write: bool = False, manage: bool = False) -> Meeting:
    meeting = _get(Meeting, pk, ("community", "place"))
    check_scope(principal, meeting.place_path, write=write or manage,
                roles=DELIBERATION_MANAGE_ROLES if manage else DELIBERATION_WORK_ROLES)
    return meeting


def access_vote(principal: Any, pk: int, *, write: bool = False, run: bool = False) -> Vote:
    """``write``: enter paper ballots, sign in; ``run``: open, close and publish."""
    vote = _get(Vote, pk, ("community", "place"))
    roles = VOTE_RUN_ROLES if run else DELIBERATION_WORK_ROLES
    check_scope(principal, vote.place_path, write=write or run, roles=roles)
    return vote


def access_decision(principal: Any, pk: int, *, write: bool = False) -> Decision:
    decision = _get(Decision, pk, ("community", "place"))
    check_scope(principal, decision.place_path, write=write, roles=DELIBERATION_MANAGE_ROLES)
    return decision


def resident_reaches(principal: Any, place: Place) -> bool:
    """A resident takes part in what concerns their community."""
    return lives_in(principal, place)


def public_vote(pk: int) -> Vote:
    """A vote on the public record: only once its result is published."""
    vote = Vote.objects.select_related("published").filter(pk=pk, status=VoteStatus.PUBLISHED).first()
    if vote is None:
        raise Http404
    return vote


# Pages: residents take part in their community's proposals and meetings; staff see them in scope.

@dataclass(frozen=True)
class Reach:
    """How the caller reaches a proposal or a meeting."""

    member: bool  # lives in its community: proposes, supports, answers polls, signs in, comments
    staff: bool  # holds a deliberation role covering it (auditors and the street level read)
    work: bool  # may sign people in (DELIBERATION_WORK_ROLES, not read-only)
    manage: bool  # may convene, answer, record (DELIBERATION_MANAGE_ROLES, not read-only)


def reach(principal: Any, community: Place, path: str) -> Reach:
    """404 for whoever neither lives in ``community`` nor holds a deliberation role over ``path``."""
    member = lives_in(principal, community)
    staff = bool(grant_covering(principal, path, roles=DELIBERATION_VIEW_ROLES))
    if not (member or staff):
        raise Http404
    return Reach(member, staff, has_role(principal, path, DELIBERATION_WORK_ROLES),
                 has_role(principal, path, DELIBERATION_MANAGE_ROLES))


def reach_proposal(principal: Any, pk: int) -> tuple[Proposal, Reach]:
    proposal = _get(Proposal, pk, ("community", "place", "proposer", "merged_into"))
    return proposal, reach(principal, proposal.community, proposal.place_path)


def reach_meeting(principal: Any, pk: int) -> tuple[Meeting, Reach]:
    meeting = _get(Meeting, pk, ("community", "place"))
    return meeting, reach(principal, meeting.community, meeting.place_path)


def access_action(principal: Any, pk: int, *, write: bool = False) -> Action:
    """Staff in scope see an action, and so does its owner; the owner and those who
    manage report progress (403 for the others)."""
    action = _get(Action, pk, ("decision", "parent", "owner"))
    is_owner = action.owner_id is not None and action.owner_id == getattr(principal, "pk", None)
    if not is_owner:
        check_scope(principal, action.place_path, write=write, roles=DELIBERATION_MANAGE_ROLES)
    return action


def public_meeting(pk: int) -> Meeting:
    """A meeting on the public record: held, with its minutes published."""
    meeting = Meeting.objects.select_related("community", "place").filter(
        pk=pk, status=MeetingStatus.HELD, minutes_published=True).first()
    if meeting is None:
        raise Http404
    return meeting


def public_decision(pk: int) -> Decision:
    """Decisions are public: what the committee decided, and how it is carried out."""
    return _get(Decision, pk, ("community", "place", "meeting", "vote"))
