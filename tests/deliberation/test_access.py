"""The access helpers the later pages and API share: 404 outside scope, 403 read-only."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from linli.deliberation import services
from linli.deliberation.access import access_meeting, access_proposal, access_vote, public_vote
from tests.conftest import Personas, Tree
from tests.deliberation.conftest import AFTER, DURING, MakeVote, Neighbourhood


def test_vote_access_by_scope_and_role(hood: Neighbourhood, make_vote: MakeVote, personas: Personas) -> None:
    vote = make_vote()
    assert access_vote(personas.staff, vote.pk, write=True) == vote
    assert access_vote(personas.lead, vote.pk, run=True) == vote
    assert access_vote(personas.auditor, vote.pk) == vote
    with pytest.raises(PermissionDenied):
        access_vote(personas.auditor, vote.pk, write=True)
    with pytest.raises(PermissionDenied):
        access_vote(personas.staff, vote.pk, run=True)
    for outsider in (personas.outside_staff, personas.outsider, personas.resident, personas.partner, None):
        with pytest.raises(Http404):
            access_vote(outsider, vote.pk)
    with pytest.raises(Http404):
        access_vote(personas.staff, vote.pk + 1000)
    with pytest.raises(Http404):
        public_vote(vote.pk)  # not published yet
    services.vote_cast(vote=vote, by=personas.resident, choice="for", at=DURING)
    services.vote_close(vote=vote, by=personas.lead, at=AFTER)
    services.vote_publish(vote=vote, by=personas.lead, at=AFTER)
    assert public_vote(vote.pk).pk == vote.pk


def test_proposal_and_meeting_access(hood: Neighbourhood, tree: Tree, personas: Personas) -> None:
    proposal = services.proposal_create(by=personas.resident, place=tree.building, title="座椅", body="歇脚")
    meeting = services.meeting_create(by=personas.staff, place=tree.community, kind="council", title="议事会",
                                      starts_at=DURING)
    assert access_proposal(personas.lead, proposal.pk, write=True) == proposal
    with pytest.raises(PermissionDenied):
        access_proposal(personas.grid_worker, proposal.pk, write=True)  # works, does not answer
    with pytest.raises(Http404):
        access_proposal(personas.outside_staff, proposal.pk)
    assert access_meeting(personas.staff, meeting.pk, manage=True) == meeting
    with pytest.raises(PermissionDenied):
        access_meeting(personas.auditor, meeting.pk, write=True)
    with pytest.raises(Http404):
        access_meeting(personas.outsider, meeting.pk)
