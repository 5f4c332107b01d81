"""Which targets apply to a request, and the deadlines they give (DOMAIN §1)."""

from __future__ import annotations

import time as _time
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q

from linli.requests.calendar import WorkCalendar, calendar_for
from linli.requests.models import Priority, SlaPolicy, TimeUnit


@dataclass(frozen=True)
class Target:
    amount: int
    unit: str


@dataclass(frozen=True)
class Targets:
    accept: Target
    contact: Target
    resolve: Target
    warn_at_percent: int = 80
    street_after_days: int = 2


H, WH, WD = TimeUnit.HOURS, TimeUnit.WORKING_HOURS, TimeUnit.WORKING_DAYS
# Defaults from DOMAIN §1 (Beijing DB11/T draft figures): online requests are accepted
# within 2 hours; emergencies get feedback within 2 hours, water/power/gas/heating within
# 24 hours, ordinary requests within 7 days and complex ones within 15.
DEFAULT_TARGETS: dict[str, Targets] = {
    Priority.URGENT: Targets(Target(2, H), Target(2, H), Target(24, H)),
    Priority.HIGH: Targets(Target(2, WH), Target(24, H), Target(3, WD)),
    Priority.NORMAL: Targets(Target(2, WH), Target(1, WD), Target(7, WD)),
    Priority.COMPLEX: Targets(Target(2, WH), Target(2, WD), Target(15, WD)),
}


def _from_policy(policy: SlaPolicy) -> Targets:
    return Targets(
        Target(policy.accept_amount, policy.accept_unit),
        Target(policy.contact_amount, policy.contact_unit),
        Target(policy.resolve_amount, policy.resolve_unit),
        policy.warn_at_percent,
        policy.street_after_days,
    )


def targets_for(*, community_id: int, category_id: int, priority: str) -> Targets:
    """The most specific policy: (community, category), (community, any), (any, category),
    (any, any); else the built-in defaults."""
    rows = list(
        SlaPolicy.objects.filter(priority=priority)
        .filter(Q(place__isnull=True) | Q(place_id=community_id))
        .filter(Q(category__isnull=True) | Q(category_id=category_id))
    )
    if not rows:
        return DEFAULT_TARGETS[priority]

    def rank(policy: SlaPolicy) -> tuple[int, int]:
        return (policy.place_id is not None, policy.category_id is not None)

    return _from_policy(max(rows, key=rank))


# Calendars are read for every deadline; a process keeps each for a minute, and the
# services that change calendars clear it (other processes catch up within the minute).
_CACHE_SECONDS = 60.0
_calendars: dict[int | None, tuple[float, WorkCalendar]] = {}


def calendar(community_id: int | None) -> WorkCalendar:
    now = _time.monotonic()
    cached = _calendars.get(community_id)
    if cached is not None and now - cached[0] < _CACHE_SECONDS:
        return cached[1]
    cal = calendar_for(community_id)
    _calendars[community_id] = (now, cal)
    return cal


def forget_calendars() -> None:
    _calendars.clear()


def due(community_id: int, start: datetime, target: Target) -> datetime:
    return calendar(community_id).due(start, target.amount, target.unit)
