"""One eligible voter never has two counted ballots, whatever the channels and however
many attempts run at once. On PostgreSQL the attempts run in parallel sessions (one
thread and connection each, released together by a barrier); SQLite has one writer at
a time (and the in-memory test database cannot be shared by threads), so there the same
attempts run one after the other."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from linli.deliberation import services, voting
from linli.deliberation.models import (
    OpenBallot,
    OpenBallotRevision,
    PaperBallotEntry,
    PaperEntryStatus,
    SecretBallot,
    Vote,
    VoterRollEntry,
)
from tests.conftest import Personas
from tests.deliberation.conftest import AFTER, DURING, MakeVote, Neighbourhood

ATTEMPTS = 8  # per channel


def run_together(jobs: list[Callable[[], Any]]) -> tuple[list[Any], list[BaseException]]:
    results: list[Any] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    parallel = connection.vendor == "postgresql"
    barrier = threading.Barrier(len(jobs) if parallel else 1)

    def run(job: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=30)
            outcome = job()
            with lock:
                results.append(outcome)
        except BaseException as exc:  # noqa: BLE001 - sorted below
            with lock:
                errors.append(exc)
        finally:
            if parallel:
                connection.close()

    if parallel:
        threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not any(thread.is_alive() for thread in threads), "an attempt hung (deadlock?)"
    else:
        for job in jobs:
            run(job)
    return results, errors


def unexpected(errors: list[BaseException]) -> list[BaseException]:
    """Refusals are expected (already voted, already confirmed); anything else is a bug."""
    return [e for e in errors if not isinstance(e, ValidationError)]


@pytest.mark.django_db(transaction=True)
def test_secret_vote_web_and_paper_race_for_one_voter(hood: Neighbourhood, make_vote: MakeVote,
                                                      personas: Personas) -> None:
    vote = make_vote()
    voter = hood.voters[2]
    entry = VoterRollEntry.objects.get(vote=vote, resident__user=voter)
    codes = services.vote_paper_codes(vote=vote, by=personas.staff, count=ATTEMPTS)
    jobs: list[Callable[[], Any]] = []
    for i in range(ATTEMPTS):
        jobs.append(lambda i=i: services.vote_cast(vote=vote, by=voter, choice=["for", "against"][i % 2], at=DURING))
        jobs.append(lambda: services.paper_issue(vote=vote, entry=entry, by=personas.staff, at=DURING))
    results, errors = run_together(jobs)
    assert unexpected(errors) == []
    assert len(results) == 1, (results, errors)  # exactly one claim won
    assert all(isinstance(e, voting.AlreadyVoted) for e in errors)
    vote = Vote.objects.get(pk=vote.pk)
    web_won = isinstance(results[0], voting.CastReceipt)
    assert SecretBallot.objects.filter(vote=vote).count() == (1 if web_won else 0)
    assert vote.paper_issued == (0 if web_won else 1)

    # After close, every printed paper is typed in and confirmed at once: only a paper
    # handed out against the roll can count.
    vote = services.vote_close(vote=vote, by=personas.lead, at=AFTER)
    papers = [services.paper_entry_create(vote=vote, by=personas.staff, choice="for", code=code) for code in codes]
    results, errors = run_together([lambda p=p: services.paper_entry_confirm(paper=p, by=personas.lead)
                                    for p in papers])
    assert unexpected(errors) == []
    assert SecretBallot.objects.filter(vote=vote).count() == 1
    assert PaperBallotEntry.objects.filter(vote=vote, status=PaperEntryStatus.CONFIRMED).count() == (
        0 if web_won else 1)
    outcome = services.vote_tally(vote=vote, by=personas.lead)
    assert outcome.participants == 1


@pytest.mark.django_db(transaction=True)
def test_named_vote_web_paper_and_proxy_race_for_one_voter(hood: Neighbourhood, make_vote: MakeVote,
                                                           personas: Personas) -> None:
    vote = make_vote(secret=False)
    voter = hood.voters[3]
    entry = VoterRollEntry.objects.get(vote=vote, resident__user=voter)
    services.proxy_record(vote=vote, principal=entry, by=personas.staff, authorisation_ref="委托书-7",
                          proxy_user=hood.voters[4])
    papers = [services.paper_entry_create(vote=vote, by=personas.staff, choice="against", entry=entry, at=DURING)
              for _ in range(ATTEMPTS)]
    jobs: list[Callable[[], Any]] = []
    for i in range(ATTEMPTS):
        jobs.append(lambda: services.vote_cast(vote=vote, by=voter, choice="for", at=DURING))
        jobs.append(lambda: services.vote_cast(vote=vote, by=hood.voters[4], choice="abstain", entry=entry,
                                               at=DURING))
        jobs.append(lambda i=i: services.paper_entry_confirm(paper=papers[i], by=personas.lead, at=DURING))
    results, errors = run_together(jobs)
    assert unexpected(errors) == []
    # One counted ballot; later web attempts may only have changed it (history kept).
    assert OpenBallot.objects.filter(vote=vote, entry=entry).count() == 1
    assert OpenBallot.objects.filter(vote=vote).count() == 1
    ballot = OpenBallot.objects.get(vote=vote, entry=entry)
    assert OpenBallotRevision.objects.filter(ballot=ballot).count() == ballot.revision - 1
    first = ballot if ballot.revision == 1 else OpenBallotRevision.objects.get(ballot=ballot, revision=1)
    confirmed = PaperBallotEntry.objects.filter(vote=vote, status=PaperEntryStatus.CONFIRMED).count()
    # A paper confirmation counted only if it made the ballot; otherwise none did.
    assert confirmed == (1 if first.channel == "paper" else 0)
    vote = services.vote_close(vote=vote, by=personas.lead, at=AFTER)
    assert services.vote_tally(vote=vote, by=personas.lead).participants == 1


@pytest.mark.django_db(transaction=True)
def test_a_proposal_goes_on_the_agenda_once_when_supports_arrive_together(
        hood: Neighbourhood, tree: Any, personas: Personas) -> None:
    from linli.audit.models import AuditEvent
    from linli.deliberation.models import DeliberationConfig, Proposal, ProposalStatus

    DeliberationConfig.objects.create(place=None, support_threshold=3)
    proposal = services.proposal_create(by=hood.voters[0], place=tree.community, title="增设座椅", body="歇脚")
    jobs: list[Callable[[], Any]] = [lambda u=u: services.proposal_support(proposal=proposal, by=u)
                                     for u in hood.voters[1:]]
    results, errors = run_together(jobs)
    assert errors == [] and len(results) == len(hood.voters) - 1
    proposal = Proposal.objects.get(pk=proposal.pk)
    assert proposal.supports_count == len(hood.voters) - 1 and proposal.status == ProposalStatus.AGENDA
    assert AuditEvent.objects.filter(action="deliberation.proposal_agenda").count() == 1
