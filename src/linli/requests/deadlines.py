"""Deadlines: warnings before a breach, escalation after one (handler → committee lead →
street), and closing resolved requests nobody rated. Run by the worker (``tasks.py``)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.accounts.models import Role, User
from linli.places.models import Place
from linli.requests import sla
from linli.requests.models import ACTIVE_STATUSES, CloseReason, EventKind, Request, Status, TimeUnit
from linli.requests.services import RATING_WINDOW, _close, _event, _save, _tell_staff, holders

# Deadlines ------------------------------------------------------------------------------

def request_autoclose_unrated(*, at: datetime | None = None) -> int:
    """Close requests resolved longer ago than the rating window without a rating."""
    at = at or timezone.now()
    closed = 0
    for pk in Request.objects.filter(status=Status.RESOLVED, resolved_at__lt=at - RATING_WINDOW).values_list(
        "pk", flat=True
    ):
        with transaction.atomic():
            req = Request.objects.select_for_update(of=("self",)).select_related("community", "category").get(pk=pk)
            if req.status != Status.RESOLVED:
                continue
            _close(req, by=None, at=at, reason=CloseReason.RESOLVED)
            _save(req, ["status", "closed_at", "close_reason", "counted"])
            _event(req, EventKind.CLOSED, by=None, at=at, data={"reason": CloseReason.RESOLVED, "unrated": True})
            closed += 1
    return closed


def sla_sweep(*, at: datetime | None = None) -> dict[str, int]:
    """Warn before a breach and escalate after one: the handler is warned when the share of
    time set in the policy has passed; on breach the committee lead is told; if still
    open some working days later, the street office is told."""
    at = at or timezone.now()
    counts = {"warned": 0, "lead": 0, "street": 0}
    candidates = Request.objects.active().filter(paused_at__isnull=True, resolve_due_at__isnull=False,
                                                 escalation__lt=3).select_related("community", "category", "handler")
    for req in candidates.iterator():
        targets = sla.targets_for(community_id=req.community_id, category_id=req.category_id, priority=req.priority)
        if req.resolve_due_at is None or req.accepted_at is None:
            continue
        if req.escalation < 1 and _time_is_short(req, targets, at) and _escalate(
            req, level=1, at=at, to=[req.handler] if req.handler else holders(req.community, [Role.COMMUNITY_STAFF]),
            title=_("诉求 #%(n)s 即将超时") % {"n": req.pk},
        ):
            counts["warned"] += 1
        if req.escalation < 2 and at > req.resolve_due_at and _escalate(
            req, level=2, at=at, to=holders(req.community, [Role.COMMITTEE_LEAD]),
            title=_("诉求 #%(n)s 已超时") % {"n": req.pk},
        ):
            counts["lead"] += 1
        if req.escalation == 2:
            street_at = sla.calendar(req.community_id).due(req.resolve_due_at, targets.street_after_days,
                                                           "working_days")
            if at > street_at:
                parent = Place.objects.filter(pk=req.community.parent_id).first() if req.community.parent_id else None
                street = parent or req.community
                if _escalate(req, level=3, at=at, to=holders(street, [Role.STREET_SUPERVISOR]),
                             title=_("诉求 #%(n)s 超时未办结，升级至街道") % {"n": req.pk}):
                    counts["street"] += 1
    return counts


def _time_is_short(req: Request, targets: sla.Targets, at: datetime) -> bool:
    """Has the policy's share of the time to resolve passed? Counted back from the deadline
    as the target counts time (working time for working units), so a weekend, a pause or a
    reopen (which sets a new deadline) does not make the warning come early."""
    if req.resolve_due_at is None:
        return False
    left_share = (100 - targets.warn_at_percent) / 100
    unit, amount = targets.resolve.unit, targets.resolve.amount
    if unit == TimeUnit.HOURS:
        return req.resolve_due_at - at <= timedelta(hours=amount) * left_share
    cal = sla.calendar(req.community_id)
    total = timedelta(hours=amount) if unit == TimeUnit.WORKING_HOURS else cal.standard_day() * amount
    return cal.working_between(at, req.resolve_due_at) <= total * left_share


def _escalate(req: Request, *, level: int, at: datetime, to: list[User], title: str) -> bool:
    with transaction.atomic():
        fresh = Request.objects.select_for_update().get(pk=req.pk)
        if fresh.escalation >= level or fresh.status not in ACTIVE_STATUSES or fresh.paused_at is not None:
            return False
        fresh.escalation = level
        fields = ["escalation"]
        if level == 1:
            fresh.warned_at = at
            fields.append("warned_at")
        if level >= 2 and fresh.breached_at is None:
            fresh.breached_at = at
            fields.append("breached_at")
        # Not a transition: written without bumping ``version``, so a member of staff who
        # opened the request before the sweep can still act on it (the row lock, or
        # SQLite's single writer, keeps this from crossing a transition).
        Request.objects.filter(pk=fresh.pk).update(**{name: getattr(fresh, name) for name in fields})
        _event(fresh, EventKind.WARNED if level == 1 else EventKind.ESCALATED, by=None, at=at, public=False,
               data={"level": level})
        _tell_staff(to, fresh, title, fresh.title)
        req.escalation = fresh.escalation
    return True
