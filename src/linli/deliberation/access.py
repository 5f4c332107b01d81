"""Who reaches proposals, meetings, votes and decisions (staff pages; the later views
and API share these helpers).

Staff reach what lies below the nodes where they hold a deliberation role: 404 outside
that scope, 403 where they may only read (auditors) or may work but not manage. The
public reaches only what is published (``public_vote``), residents their own
community's proposals and meetings (``resident_reaches``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import Http404

from linli.accounts.access import grant_covering
from linli.deliberation.base import lives_in
from linli.deliberation.models import (
    DELIBERATION_MANAGE_ROLES,
    DELIBERATION_VIEW_ROLES,
    DELIBERATION_WORK_ROLES,
    VOTE_RUN_ROLES,
    Decision,
    Meeting,
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
