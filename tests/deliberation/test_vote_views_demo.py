"""The demo's votes: a published owners' vote that verifies against the database and the
audit chain, and an open residents' vote that the demo's sign-in resident accounts can
cast on the web."""

from __future__ import annotations

import pytest
from django.urls import reverse

from linli.accounts.models import User
from linli.deliberation.counting import vote_verify
from linli.deliberation.models import Eligibility, Vote, VoterRollEntry, VoteStatus
from linli.demo.build import build_demo
from linli.demo.generator import SCALES
from linli.places.models import Place, PlaceKind
from tests.deliberation.test_vote_views_support import as_user, text

pytestmark = pytest.mark.django_db


def test_demo_votes() -> None:
    built = build_demo(scale=SCALES["tiny"])
    assert built is not None
    first = Place.objects.filter(kind=PlaceKind.COMMUNITY, code__startswith="demo").order_by("path").first()
    assert first is not None
    published = Vote.objects.get(status=VoteStatus.PUBLISHED)
    assert (published.eligibility, published.rule, published.secret) == (Eligibility.OWNERS, "civil_code_ordinary",
                                                                          False)
    checked = vote_verify(vote=published)
    assert checked.ok, checked.problems
    assert checked.document is not None and checked.document.outcome is not None
    assert checked.document.outcome.conditions_met  # turnout above Art. 278's two thirds
    # The owners' roll counts a buyer of two units once and the developer's unsold units as one.
    roll = published.owner_roll
    assert roll is not None and roll.units_count >= roll.owners_count + 3
    assert roll.owners.get(is_developer=True).units_count == 3
    vote = Vote.objects.get(status=VoteStatus.OPEN, eligibility=Eligibility.ADULTS, secret=True)
    assert vote.community_id == published.community_id == first.pk
    assert VoterRollEntry.objects.filter(vote=vote, voted=True).exists()  # neighbours have voted
    # The sign-in residents find the open vote and can cast it.
    for username in ("resident-1a", "resident-1b"):
        user = User.objects.get(username=username)
        assert VoterRollEntry.objects.filter(vote=vote, resident__user=user, voted=False).exists()
        client = as_user(user)
        assert vote.title in text(client.get(reverse("votes:mine")))
        url = reverse("votes:ballot", args=[vote.pk])
        response = client.post(url, {"choice": "for", "confirm": "1"})
        assert response.status_code == 200 and "投票成功" in text(response)
    assert built.generated.counts["votes"] == 2
