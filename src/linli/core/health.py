"""``/healthz``: is the database answering, and is the task worker alive? (And, for
information, the parts other apps report: the Open311 queue.)

Monitoring polls it without signing in. It answers 200 when both are fine and 503
otherwise, always with a small JSON body that says which part is wrong; it never
shows personal data or configuration.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError, connection
from django.db.models import Max
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from linli.core.models import WorkerHeartbeat

# The worker beats every WORKER_HEARTBEAT_SECONDS; this many missed beats make it stale.
STALE_AFTER_BEATS = 3


def worker_status(last: datetime | None, *, now: datetime) -> dict[str, Any]:
    """``ok`` while the newest heartbeat is recent enough, else ``stale`` or ``missing``."""
    if last is None:
        return {"status": "missing", "last_heartbeat": None}
    age = (now - last).total_seconds()
    limit = STALE_AFTER_BEATS * settings.WORKER_HEARTBEAT_SECONDS
    return {
        "status": "ok" if age <= limit else "stale",
        "last_heartbeat": last.isoformat(),
        "age_seconds": round(age, 1),
    }


def health_report(*, now: datetime | None = None) -> tuple[bool, dict[str, Any]]:
    """Whether everything is healthy, and the report that says so part by part."""
    now = now or timezone.now()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        last = WorkerHeartbeat.objects.aggregate(last=Max("beat_at"))["last"]
    except DatabaseError as exc:
        return False, {
            "database": {"status": "error", "vendor": connection.vendor, "error": exc.__class__.__name__},
            "worker": {"status": "unknown"},
        }
    worker = worker_status(last, now=now)
    report: dict[str, Any] = {"database": {"status": "ok", "vendor": connection.vendor}, "worker": worker}
    for name, check in sorted(_reports.items()):
        try:
            report[name] = check(now)
        except DatabaseError as exc:
            report[name] = {"status": "error", "error": exc.__class__.__name__}
    return worker["status"] == "ok", report


# Parts other apps report on (a queue's length and age). They inform monitoring but never
# turn the answer into a 503: a backlog that the worker is filing is not an outage, and a
# load balancer must not drop the node for it.
_reports: dict[str, Callable[[datetime], dict[str, Any]]] = {}


def health_part(name: str) -> Callable[[Callable[[datetime], dict[str, Any]]], Callable[[datetime], dict[str, Any]]]:
    """Register ``check(now) -> dict`` as the part ``name`` of ``/healthz``."""

    def register(check: Callable[[datetime], dict[str, Any]]) -> Callable[[datetime], dict[str, Any]]:
        _reports[name] = check
        return check

    return register


@login_not_required
@require_safe
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    healthy, report = health_report()
    return JsonResponse({"status": "ok" if healthy else "degraded", **report}, status=200 if healthy else 503)
