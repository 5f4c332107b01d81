"""Casts arriving together keep the audit chain whole. The audit append takes the chain
head with one UPDATE … RETURNING and writes the event and the new head in one more
statement, inside the cast's own transaction (no savepoint): on PostgreSQL the casts run
in parallel sessions and must still leave a gapless, unbroken chain, one cast event per
ballot, and ``vote_verify`` passing after publication."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from linli.audit.models import AuditEvent, AuditHead
from linli.audit.services import audit_verify
from linli.deliberation import services, voting
from linli.deliberation.models import SecretBallot
from tests.conftest import Personas, Tree
from tests.deliberation.conftest import Neighbourhood
from tests.deliberation.test_concurrency import run_together
from tests.deliberation.test_vote_views_support import close, new_vote


@pytest.mark.django_db(transaction=True)
def test_parallel_casts_leave_an_unbroken_audit_chain(hood: Neighbourhood, tree: Tree, personas: Personas) -> None:
    vote = new_vote(tree, personas)
    before = AuditHead.objects.get().last_seq
    jobs: list[Callable[[], Any]] = [
        lambda user=user, i=i: services.vote_cast(vote=vote, by=user, choice=["for", "against"][i % 2])
        for i, user in enumerate(hood.voters)
    ]
    # Each voter twice at once: one claim wins, the other is refused and writes nothing.
    jobs += list(jobs)
    results, errors = run_together(jobs)
    assert len(results) == len(hood.voters) and len(errors) == len(hood.voters)
    assert all(isinstance(error, voting.AlreadyVoted) for error in errors), errors
    assert SecretBallot.objects.filter(vote=vote).count() == len(hood.voters)
    casts = list(AuditEvent.objects.filter(action="deliberation.ballot_cast").values_list("seq", flat=True))
    assert len(casts) == len(hood.voters)
    head = AuditHead.objects.get()
    assert head.last_seq == before + len(hood.voters)
    assert sorted(AuditEvent.objects.values_list("seq", flat=True)) == list(range(1, head.last_seq + 1))
    checked, problems = audit_verify()
    assert problems == [] and checked == head.last_seq
    vote = close(vote, personas)
    services.vote_publish(vote=vote, by=personas.lead)
    assert services.vote_verify(vote=vote).ok
