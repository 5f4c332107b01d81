from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import Max
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from django.contrib.auth.decorators import login_not_required

from linli.core.models import WorkerHeartbeat


def health_report(*, now: datetime | None = None) -> tuple[bool, dict[str, object]]:
    now = now or timezone.now()
    report: dict[str, object] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        report["database"] = {"status": "ok", "vendor": connection.vendor}
        last = WorkerHeartbeat.objects.aggregate(last=Max("beat_at"))["last"]
    except DatabaseError as exc:
        report["database"] = {"status": "error", "error": exc.__class__.__name__}
        report["worker"] = {"status": "unknown"}
        return False, report
    limit = 3 * settings.WORKER_HEARTBEAT_SECONDS
    if last is None:
        report["worker"] = {"status": "missing", "last_heartbeat": None}
    else:
        age = (now - last).total_seconds()
        report["worker"] = {
            "status": "ok" if age <= limit else "stale",
            "last_heartbeat": last.isoformat(),
            "age_seconds": round(age, 1),
        }
    healthy = report["worker"]["status"] == "ok"  # type: ignore[index]
    return healthy, report


@require_GET
@never_cache
@login_not_required
def healthz(request: HttpRequest) -> JsonResponse:
    healthy, report = health_report()
    return JsonResponse({"status": "ok" if healthy else "degraded", **report}, status=200 if healthy else 503)
