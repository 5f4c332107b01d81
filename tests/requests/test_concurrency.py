"""Two staff acting on the same request at once cannot both win a transition.

On PostgreSQL (and on a SQLite file database) the two transitions run in two threads,
each with its own connection, released together by a barrier; on PostgreSQL the test
also proves that they really overlapped: the first to lock the request holds it until
the database shows the other one waiting for that lock. The in-memory SQLite database
cannot be shared by threads, so there the two calls come one after the other, both
from the same stale read, as two browser tabs would send them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from linli.accounts.models import User
from linli.requests import services as svc
from linli.requests.catalogue import categories_install
from linli.requests.intake import request_submit
from linli.requests.models import Category, Channel, EventKind, Request, Status
from tests.conftest import Personas, Tree

WAIT_FOR_OTHER_SECONDS = 20.0


def _parallel() -> bool:
    return not (connection.vendor == "sqlite" and connection.is_in_memory_db())


def _someone_waits_for_a_lock() -> bool:
    """Poll until another backend waits for a lock this transaction holds."""
    deadline = time.monotonic() + WAIT_FOR_OTHER_SECONDS
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
            if cursor.fetchone()[0]:
                return True
            time.sleep(0.01)
    return False


class Race:
    """Run two calls as two members of staff would: at the same moment."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.overlapped = False
        self._first = threading.Event()
        original = svc._lock

        def lock_then_hold(request: Request, *, expected_version: int | None) -> Request:
            fresh = original(request, expected_version=expected_version)
            # Only one caller gets here while the other is still outside: the lock holder.
            if not self._first.is_set():
                self._first.set()
                if connection.vendor == "postgresql":
                    self.overlapped = _someone_waits_for_a_lock()
            return fresh

        monkeypatch.setattr(svc, "_lock", lock_then_hold)

    def run(self, *calls: Callable[[], Any]) -> list[Any]:
        outcomes: list[Any] = [None] * len(calls)

        def worker(index: int, barrier: threading.Barrier | None) -> None:
            try:
                if barrier is not None:
                    barrier.wait(timeout=30)
                outcomes[index] = calls[index]()
            except BaseException as exc:  # noqa: BLE001 - each outcome is checked below
                outcomes[index] = exc
            finally:
                if barrier is not None:
                    connection.close()

        if _parallel():
            barrier = threading.Barrier(len(calls))
            threads = [threading.Thread(target=worker, args=(i, barrier)) for i in range(len(calls))]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
            assert not any(thread.is_alive() for thread in threads), "a transition never finished"
        else:
            for i in range(len(calls)):
                worker(i, None)
        return outcomes


def _one_winner(outcomes: list[Any], losers: tuple[type[BaseException], ...]) -> Request:
    winners = [o for o in outcomes if isinstance(o, Request)]
    failures = [o for o in outcomes if not isinstance(o, Request)]
    assert len(winners) == 1, outcomes
    assert len(failures) == 1 and isinstance(failures[0], losers), outcomes
    return winners[0]


@pytest.fixture
def repairs_category(tree: Tree) -> Category:
    # A transactional test starts from an emptied database: the catalogue's data
    # migration has to be replayed.
    categories_install()
    return Category.objects.get(code="repairs")


def _submitted(tree: Tree, personas: Personas, category: Category) -> Request:
    return request_submit(by=personas.resident, category=category, place=tree.household, title="楼道灯坏了",
                          description="5 层楼道灯不亮", channel=Channel.WEB, attributes={"facility": "light"})


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("with_version", [True, False], ids=["expected_version", "no_version"])
def test_two_staff_accept_at_once_and_one_wins(tree: Tree, personas: Personas, repairs_category: Category,
                                               monkeypatch: pytest.MonkeyPatch, with_version: bool) -> None:
    req = _submitted(tree, personas, repairs_category)
    seen = req.version if with_version else None
    race = Race(monkeypatch)

    staff = [personas.staff, personas.lead]

    def accept(by: User) -> Callable[[], Request]:
        return lambda: svc.request_accept(request=req, by=by, expected_version=seen)

    outcomes = race.run(*(accept(user) for user in staff))
    _one_winner(outcomes, (svc.ConflictError,) if with_version else (ValidationError,))
    who = staff[next(i for i, o in enumerate(outcomes) if isinstance(o, Request))]
    fresh = Request.objects.get(pk=req.pk)
    assert fresh.status == Status.ACCEPTED and fresh.version == req.version + 1
    (event,) = fresh.events.filter(kind=EventKind.ACCEPTED)
    assert event.actor_id == who.pk
    if connection.vendor == "postgresql":
        assert race.overlapped, "the two transitions did not overlap"


@pytest.mark.django_db(transaction=True)
def test_two_staff_assign_from_the_same_version_and_one_wins(tree: Tree, personas: Personas,
                                                             repairs_category: Category,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    req = svc.request_accept(request=_submitted(tree, personas, repairs_category), by=personas.staff)
    seen = req.version
    race = Race(monkeypatch)
    outcomes = race.run(
        lambda: svc.request_assign(request=req, by=personas.staff, handler=personas.grid_worker, expected_version=seen),
        lambda: svc.request_assign(request=req, by=personas.lead, handler=personas.staff, expected_version=seen),
    )
    winner = _one_winner(outcomes, (svc.ConflictError,))
    fresh = Request.objects.get(pk=req.pk)
    assert fresh.status == Status.ASSIGNED and fresh.version == seen + 1
    assert fresh.handler_id == winner.handler_id
    (event,) = fresh.events.filter(kind=EventKind.ASSIGNED)
    assert event.data["handler"] == fresh.handler_id
    if connection.vendor == "postgresql":
        assert race.overlapped, "the two transitions did not overlap"
