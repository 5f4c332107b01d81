"""One response per resident when the same invitation answers twice at the same moment
(a double tap, or the web and a paper entry together). On PostgreSQL the attempts run
in parallel sessions (one thread and connection each, released together by a barrier);
the in-memory SQLite test database cannot be shared by threads, so there the same
attempts run one after the other, all from the same stale read."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from linli.surveys import responses
from linli.surveys import services as svc
from linli.surveys.catalogue import TEMPLATES
from linli.surveys.models import (
    Answer,
    Invitation,
    Questionnaire,
    Response,
    ResponseChannel,
    Template,
)
from linli.surveys.responses import AlreadyAnswered, response_submit
from tests.conftest import Personas, Tree
from tests.surveys.conftest import full_answers, make_neighbourhood, open_and_invite_all

ATTEMPTS = 6
WAIT_FOR_OTHERS_SECONDS = 20.0


def _someone_waits_for_a_lock() -> bool:
    """Poll until another session waits for a lock this transaction holds."""
    deadline = time.monotonic() + WAIT_FOR_OTHERS_SECONDS
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
            if cursor.fetchone()[0]:
                return True
            time.sleep(0.01)
    return False


class Overlap:
    """On PostgreSQL, prove the attempts really ran at once: the first to claim the
    invitation holds its row until the database shows another attempt waiting for it."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.seen = False
        self._first = threading.Event()
        original = responses._answer_rows

        def rows_then_hold(*args: Any, **kwargs: Any) -> Any:
            if not self._first.is_set():
                self._first.set()
                if connection.vendor == "postgresql":
                    self.seen = _someone_waits_for_a_lock()
            return original(*args, **kwargs)

        monkeypatch.setattr(responses, "_answer_rows", rows_then_hold)


def _parallel() -> bool:
    return not (connection.vendor == "sqlite" and connection.is_in_memory_db())


def run_together(jobs: list[Callable[[], Any]]) -> list[Any]:
    outcomes: list[Any] = [None] * len(jobs)
    parallel = _parallel()
    barrier = threading.Barrier(len(jobs)) if parallel else None

    def run(index: int) -> None:
        try:
            if barrier is not None:
                barrier.wait(timeout=30)
            outcomes[index] = jobs[index]()
        except BaseException as exc:  # noqa: BLE001 - every outcome is checked by the caller
            outcomes[index] = exc
        finally:
            if parallel:
                connection.close()

    if parallel:
        threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not any(thread.is_alive() for thread in threads), "an attempt hung (deadlock?)"
    else:
        for i in range(len(jobs)):
            run(i)
    return outcomes


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("anonymous", [True, False], ids=["anonymous", "named"])
def test_simultaneous_answers_of_one_resident_make_one_response(tree: Tree, personas: Personas,
                                                                monkeypatch: pytest.MonkeyPatch,
                                                                anonymous: bool) -> None:
    assert Template.SATISFACTION in TEMPLATES
    hood = make_neighbourhood(tree, personas, extra_grid1=0, grid2=1)
    questionnaire = svc.questionnaire_from_template(template=Template.SATISFACTION, place=tree.community,
                                                    by=personas.staff)
    if not anonymous:
        svc.questionnaire_update(questionnaire=questionnaire, by=personas.staff, anonymous=False)
    invitation = next(i for i in open_and_invite_all(questionnaire, personas.staff) if i.resident_id == hood.me.pk)
    answers = full_answers(questionnaire)

    def web() -> Any:
        return response_submit(invitation=invitation, answers=answers)

    def paper() -> Any:
        return response_submit(invitation=invitation, answers=answers, channel=ResponseChannel.PAPER,
                               by=personas.staff)

    overlap = Overlap(monkeypatch)
    outcomes = run_together([web if i % 2 else paper for i in range(ATTEMPTS)])
    winners = [o for o in outcomes if isinstance(o, Response)]
    losers = [o for o in outcomes if not isinstance(o, Response)]
    assert len(winners) == 1, outcomes
    assert len(losers) == ATTEMPTS - 1 and all(isinstance(o, AlreadyAnswered) for o in losers), outcomes
    assert Response.objects.filter(questionnaire=questionnaire).count() == 1
    response = Response.objects.get(questionnaire=questionnaire)
    assert Answer.objects.filter(response=response).count() == Answer.objects.filter(
        questionnaire=questionnaire).count()
    assert Invitation.objects.get(pk=invitation.pk).answered
    assert (response.resident_id is None) is anonymous
    assert Questionnaire.objects.get(pk=questionnaire.pk).anonymous is anonymous
    if connection.vendor == "postgresql":
        assert overlap.seen, "the attempts did not overlap"
