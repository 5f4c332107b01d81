"""``/healthz``: is the database answering, and is the task worker alive?

Monitoring polls it without signing in. It answers 200 when both are fine and 503
otherwise, always with a small JSON body that says which part is wrong; it never
shows personal data or configuration.
"""

from __future__ import annotations

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
    report = {"database": {"status": "ok", "vendor": connection.vendor}, "worker": worker}
    return worker["status"] == "ok", report


@login_not_required
@require_safe
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    healthy, report = health_report()
    return JsonResponse({"status": "ok" if healthy else "degraded", **report}, status=200 if healthy else 503)
