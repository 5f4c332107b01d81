"""Deadlines with a frozen clock (explicit ``at=``): the handler is warned at the policy's
share of the working time, the committee lead is told on a breach, the street office
some working days later; nobody is told twice, paused requests wait, a community's own
policy wins, and resolved requests nobody rated close by themselves."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
import time_machine
from django.db.models import Sum

from linli.accounts.models import User
from linli.core.jobs import registered_jobs
from linli.notifications.models import Notification
from linli.requests import services as svc
from linli.requests import sla
from linli.requests.calendar import TIME_ZONE
from linli.requests.deadlines import request_autoclose_unrated, sla_sweep
from linli.requests.models import (
    Channel,
    CloseReason,
    EventKind,
    Priority,
    Rating,
    Request,
    RequestRollup,
    SlaPolicy,
    Status,
    TimeUnit,
)
from linli.requests.tasks import close_unrated, sweep_deadlines
from tests.conftest import Personas, Tree
from tests.requests.conftest import Submit

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_calendars() -> Iterator[None]:
    """The process keeps calendars for a minute; a test's rolled-back days must not leak."""
    sla.forget_calendars()
    yield
    sla.forget_calendars()
NOTHING = {"warned": 0, "lead": 0, "street": 0}


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=TIME_ZONE)  # type: ignore[misc]


def told(user: User) -> list[str]:
    return list(Notification.objects.filter(user=user).order_by("created_at", "id").values_list("title", flat=True))


def events(req: Request, kind: str) -> list[dict[str, object]]:
    return list(req.events.filter(kind=kind).values_list("data", flat=True))


@pytest.fixture
def assigned(submit: Submit, personas: Personas) -> Request:
    """Accepted at Monday 23 Nov 2026 09:00 (normal priority: 7 working days, due at the
    close of Tuesday 1 Dec) and assigned to the grid worker."""
    req = submit(at=at(2026, 11, 23, 8, 30))
    req = svc.request_accept(request=req, by=personas.staff, at=at(2026, 11, 23, 9, 0))
    assert req.resolve_due_at == at(2026, 12, 1, 17, 30)
    req = svc.request_assign(request=req, by=personas.lead, handler=personas.grid_worker, at=at(2026, 11, 23, 9, 5))
    Notification.objects.all().delete()  # only the sweep's notices from here on
    return req


def test_warning_breach_and_street_each_come_once_and_on_time(assigned: Request, personas: Personas) -> None:
    req = assigned
    # 80% of 49 working hours (7 days of 7 hours) have passed when 9 h 48 min are left:
    # 14:42 on Monday 30 Nov. The weekend does not count (as a share of the wall-clock
    # time it would be 01:24 that Monday night).
    assert sla_sweep(at=at(2026, 11, 30, 1, 30)) == NOTHING
    assert sla_sweep(at=at(2026, 11, 30, 14, 41)) == NOTHING
    assert sla_sweep(at=at(2026, 11, 30, 14, 42)) == {"warned": 1, "lead": 0, "street": 0}
    assert told(personas.grid_worker) == [f"诉求 #{req.pk} 即将超时"]
    assert told(personas.lead) == [] and told(personas.street_supervisor) == []
    # The deadline itself is not yet a breach; a minute after it is, and the lead is told.
    assert sla_sweep(at=at(2026, 12, 1, 17, 30)) == NOTHING
    assert sla_sweep(at=at(2026, 12, 1, 17, 31)) == {"warned": 0, "lead": 1, "street": 0}
    assert told(personas.lead) == [f"诉求 #{req.pk} 已超时"]
    # street_after_days (2) more working days: the close of Thursday 3 Dec.
    assert sla_sweep(at=at(2026, 12, 3, 17, 30)) == NOTHING
    assert sla_sweep(at=at(2026, 12, 3, 17, 31)) == {"warned": 0, "lead": 0, "street": 1}
    assert told(personas.street_supervisor) == [f"诉求 #{req.pk} 超时未办结，升级至街道"]
    # Later sweeps tell nobody again.
    before = Notification.objects.count()
    for day in (4, 7, 14):
        assert sla_sweep(at=at(2026, 12, day, 10, 0)) == NOTHING
    assert Notification.objects.count() == before
    req.refresh_from_db()
    assert req.escalation == 3 and req.warned_at == at(2026, 11, 30, 14, 42)
    assert req.breached_at == at(2026, 12, 1, 17, 31)
    assert events(req, EventKind.WARNED) == [{"level": 1}]
    assert events(req, EventKind.ESCALATED) == [{"level": 2}, {"level": 3}]
    assert not req.events.filter(kind__in=[EventKind.WARNED, EventKind.ESCALATED], public=True).exists()
    # Only staff were told: the resident's timeline and inbox stay quiet.
    assert told(personas.resident) == []


def test_a_late_first_sweep_warns_and_tells_the_lead_at_once(assigned: Request, personas: Personas) -> None:
    assert sla_sweep(at=at(2026, 12, 2, 10, 0)) == {"warned": 1, "lead": 1, "street": 0}
    assert sla_sweep(at=at(2026, 12, 2, 10, 5)) == NOTHING
    assert len(told(personas.grid_worker)) == 1 and len(told(personas.lead)) == 1


def test_without_a_handler_the_community_staff_are_warned(submit: Submit, personas: Personas) -> None:
    req = svc.request_accept(request=submit(at=at(2026, 11, 23, 8, 0)), by=personas.staff, at=at(2026, 11, 23, 9, 0))
    Notification.objects.all().delete()
    assert sla_sweep(at=at(2026, 11, 30, 15, 0))["warned"] == 1
    assert told(personas.staff) == [f"诉求 #{req.pk} 即将超时"]
    assert told(personas.grid_worker) == []


def test_a_waiting_request_is_not_escalated_and_its_clock_restarts(assigned: Request, personas: Personas) -> None:
    req = svc.request_wait(request=assigned, by=personas.grid_worker, question="请问是哪一层？",
                           at=at(2026, 11, 24, 10, 0))
    for moment in (at(2026, 11, 30, 15, 0), at(2026, 12, 2, 10, 0), at(2026, 12, 10, 10, 0)):
        assert sla_sweep(at=moment) == NOTHING
    assert Notification.objects.filter(title__contains="超时").count() == 0
    svc.request_comment(request=req, by=personas.resident, body="5 层", at=at(2026, 12, 14, 10, 0))
    req.refresh_from_db()
    assert req.status == Status.ASSIGNED and req.resolve_due_at is not None
    assert req.resolve_due_at > at(2026, 12, 14, 10, 0)
    # Just after the resident answers, almost all of the working time is still left.
    assert sla_sweep(at=at(2026, 12, 14, 10, 1)) == NOTHING
    assert sla_sweep(at=req.resolve_due_at + timedelta(minutes=1)) == {"warned": 1, "lead": 1, "street": 0}


def test_a_reopened_request_is_not_warned_at_once(submit: Submit, personas: Personas) -> None:
    req = svc.request_accept(request=submit(at=at(2026, 11, 23, 8, 0)), by=personas.staff, at=at(2026, 11, 23, 9, 0))
    req = svc.request_resolve(request=req, by=personas.staff, resolution="已处理", at=at(2026, 11, 24, 10, 0))
    req = svc.request_rate(request=req, by=personas.resident, rating=Rating.DISSATISFIED, solved=False,
                           at=at(2026, 11, 24, 18, 0))
    req = svc.request_reopen(request=req, by=personas.resident, reason="灯还是不亮", at=at(2026, 12, 20, 10, 0))
    assert req.resolve_due_at == at(2026, 12, 29, 17, 30)  # seven working days from the reopen
    Notification.objects.all().delete()
    # A fifth of the new time has passed: too early for "about to be late".
    assert sla_sweep(at=at(2026, 12, 22, 15, 0)) == NOTHING
    assert sla_sweep(at=at(2026, 12, 28, 15, 0))["warned"] == 1


def test_a_warning_does_not_turn_the_next_step_into_a_conflict(assigned: Request, personas: Personas) -> None:
    seen = Request.objects.get(pk=assigned.pk).version  # a page opened before the sweep
    assert sla_sweep(at=at(2026, 11, 30, 15, 0))["warned"] == 1
    req = svc.request_start(request=assigned, by=personas.grid_worker, expected_version=seen,
                            at=at(2026, 11, 30, 15, 1))
    assert req.status == Status.IN_PROGRESS


def test_a_community_policy_wins_over_the_default(submit: Submit, tree: Tree, personas: Personas) -> None:
    common = {"priority": Priority.NORMAL, "accept_amount": 2, "accept_unit": TimeUnit.WORKING_HOURS,
              "contact_amount": 1, "contact_unit": TimeUnit.WORKING_DAYS, "resolve_unit": TimeUnit.WORKING_DAYS}
    SlaPolicy.objects.create(place=None, category=None, resolve_amount=7, warn_at_percent=80, street_after_days=2,
                             **common)
    SlaPolicy.objects.create(place=tree.community, category=None, resolve_amount=2, warn_at_percent=50,
                             street_after_days=1, **common)
    inside = svc.request_accept(request=submit(at=at(2026, 11, 23, 8, 0)), by=personas.staff,
                                at=at(2026, 11, 23, 9, 0))
    far = submit(by=personas.outside_staff, place=tree.far_household, channel=Channel.PHONE, contact_name="王先生",
                 at=at(2026, 11, 23, 8, 0))
    far = svc.request_accept(request=far, by=personas.outside_staff, at=at(2026, 11, 23, 9, 0))
    assert inside.resolve_due_at == at(2026, 11, 24, 17, 30)  # 2 working days, the community's
    assert far.resolve_due_at == at(2026, 12, 1, 17, 30)  # 7, the default
    # Half of the community's 14 working hours are gone at the close of Monday.
    assert sla_sweep(at=at(2026, 11, 23, 17, 0)) == NOTHING
    assert sla_sweep(at=at(2026, 11, 24, 9, 0)) == {"warned": 1, "lead": 0, "street": 0}
    assert Request.objects.get(pk=far.pk).escalation == 0
    assert sla_sweep(at=at(2026, 11, 24, 17, 31))["lead"] == 1
    # One more working day, not two, before the street is told.
    assert sla_sweep(at=at(2026, 11, 25, 17, 31)) == {"warned": 0, "lead": 0, "street": 1}
    assert Request.objects.get(pk=far.pk).escalation == 0


def test_wall_clock_targets_warn_in_wall_clock_time(submit: Submit, personas: Personas) -> None:
    req = submit(priority=Priority.URGENT, at=at(2026, 11, 28, 21, 0))  # a Saturday night
    req = svc.request_accept(request=req, by=personas.staff, at=at(2026, 11, 28, 22, 0))
    assert req.resolve_due_at == at(2026, 11, 29, 22, 0)  # 24 hours, weekend or not
    assert sla_sweep(at=at(2026, 11, 29, 17, 11)) == NOTHING
    assert sla_sweep(at=at(2026, 11, 29, 17, 13))["warned"] == 1  # 80% of 24 h: 19 h 12 min


def test_closed_and_resolved_requests_are_left_alone(assigned: Request, personas: Personas) -> None:
    svc.request_resolve(request=assigned, by=personas.grid_worker, resolution="已处理", at=at(2026, 11, 30, 10, 0))
    assert sla_sweep(at=at(2026, 12, 10, 10, 0)) == NOTHING


# Closing resolved requests nobody rated ---------------------------------------------------

def test_unrated_requests_close_after_the_rating_window(submit: Submit, personas: Personas) -> None:
    quiet = svc.request_accept(request=submit(at=at(2026, 11, 23, 8, 0)), by=personas.staff,
                               at=at(2026, 11, 23, 9, 0))
    quiet = svc.request_resolve(request=quiet, by=personas.staff, resolution="已处理", at=at(2026, 11, 24, 10, 0))
    rated = svc.request_accept(request=submit(at=at(2026, 11, 23, 8, 0)), by=personas.staff,
                               at=at(2026, 11, 23, 9, 0))
    rated = svc.request_resolve(request=rated, by=personas.staff, resolution="已处理", at=at(2026, 11, 24, 10, 0))
    svc.request_rate(request=rated, by=personas.resident, rating=Rating.SATISFIED, solved=True,
                     at=at(2026, 11, 25, 10, 0))
    assert request_autoclose_unrated(at=at(2026, 12, 1, 10, 0)) == 0  # exactly seven days: not yet
    assert request_autoclose_unrated(at=at(2026, 12, 1, 10, 1)) == 1
    assert request_autoclose_unrated(at=at(2026, 12, 2, 10, 0)) == 0  # once only
    quiet.refresh_from_db()
    assert quiet.status == Status.CLOSED and quiet.close_reason == CloseReason.RESOLVED
    assert quiet.closed_at == at(2026, 12, 1, 10, 1) and quiet.rating is None
    assert events(quiet, EventKind.CLOSED) == [{"reason": CloseReason.RESOLVED, "unrated": True}]
    totals = RequestRollup.objects.aggregate(valid=Sum("valid"), rated=Sum("rated"), solved=Sum("solved"))
    assert totals == {"valid": 2, "rated": 1, "solved": 1}  # counts for resolution, not for satisfaction


# The worker's recurring jobs ------------------------------------------------------------

def test_the_sweeps_are_registered_recurring_jobs(assigned: Request) -> None:
    jobs = {job.name: job for job in registered_jobs()}
    assert jobs["requests.sla_sweep"].interval() == timedelta(minutes=5)
    assert jobs["requests.sla_sweep"].task is sweep_deadlines
    assert jobs["requests.autoclose_unrated"].interval() == timedelta(hours=1)
    assert jobs["requests.autoclose_unrated"].task is close_unrated
    # The tasks sweep "now": freeze the clock past the deadline.
    with time_machine.travel(at(2026, 12, 2, 10, 0), tick=False):
        assert sweep_deadlines.call() == {"warned": 1, "lead": 1, "street": 0}
        assert close_unrated.call() == 0
