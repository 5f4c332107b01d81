"""Keeping the request rollups current as events happen (ARCHITECTURE: dashboards read
rollups, never the raw requests). Every change goes to each level of ``ROLLUP_LEVELS``
in the same transaction, so a coarser level is always the finest summed.

A request adds to ``submitted`` on the day it arrives, and to the rate counters on the
day it closes. The key it was counted under at close is kept on the request, so a
reopen takes exactly that contribution back, even if the handler changes later.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F

from linli.requests.calendar import TIME_ZONE
from linli.requests.models import ROLLUP_LEVELS, CloseReason, Rating, Request, RollupBase

RATING_COUNTER = {
    Rating.VERY_SATISFIED: "very_satisfied",
    Rating.SATISFIED: "satisfied",
    Rating.BASICALLY_SATISFIED: "basically_satisfied",
    Rating.DISSATISFIED: "dissatisfied",
    Rating.VERY_DISSATISFIED: "very_dissatisfied",
}


def local_day(at: datetime) -> date:
    return at.astimezone(TIME_ZONE).date()


def rollup_key(request: Request, day: date, *, with_handler: bool = True) -> dict[str, Any]:
    return {
        "community_id": request.community_id,
        "grid_id": request.grid_id or 0,
        "category_id": request.category_id,
        "handler_id": (request.handler_id or 0) if with_handler else 0,
        "organisation_id": (request.organisation_id or 0) if with_handler else 0,
        "day": day.isoformat(),
    }


def rollup_add(key: dict[str, Any], community_path: str, counts: dict[str, int]) -> None:
    """Add ``counts`` under ``key`` (the finest level's columns) at every level."""
    counts = {name: value for name, value in counts.items() if value}
    if not counts:
        return
    full = {**key, "day": date.fromisoformat(key["day"]) if isinstance(key["day"], str) else key["day"]}
    updates = {name: F(name) + value for name, value in counts.items()}
    for level in ROLLUP_LEVELS:
        _upsert(level, {column: full[column] for column in level.KEY}, community_path, counts, updates)


def _upsert(level: type[RollupBase], lookup: dict[str, Any], community_path: str, counts: dict[str, int],
            updates: dict[str, Any]) -> None:
    rows = level._default_manager.filter(**lookup)
    if rows.update(**updates):
        return
    try:
        with transaction.atomic():
            level._default_manager.create(**lookup, community_path=community_path, **counts)
            return
    except IntegrityError:
        pass  # another transaction created the row first
    rows.update(**updates)


def close_counts(request: Request, *, excluded: bool) -> dict[str, int]:
    """What a closed request adds to the rates (DOMAIN §1)."""
    if request.close_reason != CloseReason.RESOLVED:
        return {"not_dispatched": 1}
    counts = {
        "valid": 1,
        "responded_in_time": int(bool(request.first_contact_at and request.contact_due_at
                                      and request.first_contact_at <= request.contact_due_at)),
        "resolved_in_time": int(bool(request.resolved_at and request.resolve_due_at
                                     and request.resolved_at <= request.resolve_due_at)),
        "breached": int(bool(request.resolved_at and request.resolve_due_at
                             and request.resolved_at > request.resolve_due_at)),
        "solved": int(bool(request.solved)),
    }
    if request.rating is not None:
        if excluded:
            counts["rated_excluded"] = 1
        else:
            counts["rated"] = 1
            counts[RATING_COUNTER[Rating(request.rating)]] = 1
    return counts


def count_submitted(request: Request) -> None:
    rollup_add(rollup_key(request, local_day(request.submitted_at), with_handler=False), _community_path(request),
               {"submitted": 1})


def count_closed(request: Request, *, excluded: bool) -> dict[str, Any]:
    """Add a closing request's counts; returns what to store in ``request.counted``."""
    key = rollup_key(request, local_day(request.closed_at or request.updated_at))
    counts = close_counts(request, excluded=excluded)
    rollup_add(key, _community_path(request), counts)
    return {"key": key, "counts": counts}


def uncount_closed(request: Request, *, reopened: bool = True) -> None:
    """Take back what ``count_closed`` added (a reopen), and count the reopen itself."""
    if not request.counted:
        return
    key, counts = request.counted["key"], request.counted["counts"]
    negative = {name: -value for name, value in counts.items()}
    if reopened:
        negative["reopened"] = 1
    rollup_add(key, _community_path(request), negative)


def _community_path(request: Request) -> str:
    return request.community.path


def on_place_moved(*, old_path: str, new_path: str, **_kwargs: Any) -> None:
    """Keep the copied paths of requests and rollups in step with a moved subtree."""
    from django.db.models import Value
    from django.db.models.functions import Concat, Substr

    Request.objects.filter(place_path__startswith=old_path).update(
        place_path=Concat(Value(new_path), Substr("place_path", len(old_path) + 1))
    )
    for level in ROLLUP_LEVELS:
        level._default_manager.filter(community_path__startswith=old_path).update(
            community_path=Concat(Value(new_path), Substr("community_path", len(old_path) + 1))
        )
