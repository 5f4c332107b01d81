"""Fixtures for the rates tests: requests made and handled through the real services,
at explicit times, so each deadline is met or missed on purpose.

A repairs request accepted on Monday 2026-11-09 10:00 must be contacted by Tuesday
10:00 and resolved by Wednesday 2026-11-18 10:00 (7 working days, see
tests/requests/test_lifecycle.py). ``Cases.handle`` takes it from submission to the
rating with the first public reply and the resolution on either side of those."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.core.cache import cache

from linli.accounts.models import Organisation, User
from linli.places.models import Place
from linli.requests import services as svc
from linli.requests.calendar import TIME_ZONE
from linli.requests.models import Category, CloseReason, Request
from tests.conftest import Personas, Tree
from tests.requests.conftest import Submit, property_manager, repairs, submit, suggestion  # noqa: F401

# Every rates test runs on this clock (local noon), after the cases it builds.
TODAY = datetime(2026, 12, 20, 12, 0, tzinfo=TIME_ZONE)
# A Monday without holidays: accepted at 10:00, contact due Tuesday 10:00.
MONDAY = datetime(2026, 11, 9, 9, 0, tzinfo=TIME_ZONE)


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=TIME_ZONE)  # type: ignore[misc]


@pytest.fixture
def rates_clock() -> Iterator[None]:
    """The fixed clock, and an empty cache: the cache outlives a test's database and ids
    come back, so cached sums must not. (Not autouse: tests/insights/pls is another
    suite.) Rates test modules use it through ``pytestmark``."""
    cache.clear()
    with time_machine.travel(TODAY, tick=False):
        yield
    cache.clear()


@pytest.fixture
def dispute(db: None) -> Category:
    return Category.objects.get(code="dispute")


@dataclass
class Cases:
    tree: Tree
    personas: Personas
    submit: Submit

    def handle(self, *, start: datetime = MONDAY, contact_in_time: bool = True,
               resolve_in_time: bool = True, solved: bool = True, rating: int | None = 5,
               rate_at: datetime | None = None, handler: User | None = None,
               partner: Organisation | None = None, place: Place | None = None, **fields: Any) -> Request:
        """One valid case: submitted at ``start``, accepted an hour later, then a first
        public reply, the resolution and (unless ``rating`` is None) the rating."""
        staff = self.personas.staff
        if place is not None:
            fields["place"] = place
        req = self.submit(at=start, **fields)
        accepted = start + timedelta(hours=1)
        req = svc.request_accept(request=req, by=staff, at=accepted)
        assert req.contact_due_at is not None and req.resolve_due_at is not None
        if handler is not None:
            req = svc.request_assign(request=req, by=self.personas.lead, handler=handler,
                                     at=accepted + timedelta(minutes=5))
        if partner is not None:
            req = svc.request_dispatch(request=req, by=staff, organisation=partner,
                                       at=accepted + timedelta(minutes=5))
        contact = accepted + timedelta(hours=1) if contact_in_time else req.contact_due_at + timedelta(hours=1)
        svc.request_reply(request=req, by=handler or staff, body="已联系您，马上处理。", at=contact)
        resolved = (contact + timedelta(hours=1) if resolve_in_time
                    else max(contact, req.resolve_due_at) + timedelta(hours=2))
        req = svc.request_resolve(request=req, by=handler or staff, resolution="已处理完毕。", at=resolved)
        if rating is not None:
            req = svc.request_rate(request=req, by=self.personas.resident, rating=rating, solved=solved,
                                   at=rate_at or resolved + timedelta(hours=3))
        return req

    def not_dispatched(self, *, start: datetime = MONDAY, **fields: Any) -> Request:
        req = self.submit(at=start, **fields)
        return svc.request_close(request=req, by=self.personas.staff, reason=CloseReason.OUTSIDE_DUTY,
                                 answer="不属于社区职责，建议联系物业。", at=start + timedelta(hours=2))


@pytest.fixture
def cases(tree: Tree, personas: Personas, submit: Submit) -> Cases:  # noqa: F811
    return Cases(tree, personas, submit)
