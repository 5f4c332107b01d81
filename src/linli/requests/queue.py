"""Open311 requests received now and filed by the worker (GeoReport's tokens).

A GeoReport POST is checked completely (``intake.request_check``) and written as one
``Submission`` row; the answer carries a ``token``. The worker polls the queue twice a
second and files each submission as a request (``intake.request_file``), with the
receipt time as its submission time, so the deadlines count from when the client
sent it. A burst of machine submissions therefore costs the server one insert each,
and the deadlines, rollups and notices follow within a second or so when the queue is
short (a burst is filed at the worker's pace: bench/README.md has the rates).

Without a worker (the immediate task backend of the tests and of a one-process
setup), ``OPEN311_QUEUE`` is off and a POST files the request at once.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Min, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.accounts.models import ApiKey
from linli.places.models import Place
from linli.requests.intake import Checked, request_check, request_file
from linli.requests.models import Category, Channel, Submission

logger = logging.getLogger("linli.requests.queue")

# A submission whose filing fails for an unexpected reason (not a refusal: the database
# busy or failing, a fault in the code) is tried again later, waiting twice as long each
# time up to RETRY_MAX, and refused only once it has failed for GIVE_UP_AFTER.
RETRY_FIRST = timedelta(seconds=5)
RETRY_MAX = timedelta(minutes=10)
GIVE_UP_AFTER = timedelta(days=2)
BATCH = 25


def queue_enabled() -> bool:
    return bool(getattr(settings, "OPEN311_QUEUE", False))


def validation_messages(exc: ValidationError) -> list[str]:
    if hasattr(exc, "error_dict"):
        return [f"{field}: {message}" for field, messages in exc.message_dict.items() for message in messages]
    return list(exc.messages)


def _payload(checked: Checked) -> str:
    return json.dumps({
        "category": checked.category.pk, "place": checked.place.pk, "priority": checked.priority,
        "title": checked.title, "description": checked.description, "address": checked.address,
        "lat": str(checked.lat) if checked.lat is not None else None,
        "long": str(checked.long) if checked.long is not None else None,
        "attributes": checked.attributes, "contact_name": checked.contact_name,
        "contact_phone": checked.contact_phone, "contact_email": checked.contact_email,
        "device_id": checked.device_id, "account_id": checked.account_id,
    }, ensure_ascii=False)


def submission_queue(*, key: ApiKey, at: datetime | None = None, **fields: Any) -> Submission:
    """Check a GeoReport submission as ``request_submit`` would (a ValidationError if it
    is wrong) and queue it for the worker."""
    checked = request_check(by=key, channel=Channel.OPEN311, **fields)
    return Submission.objects.create(api_key=key, received_at=at or timezone.now(), payload=_payload(checked))


def _file(row: Submission) -> Submission.State:
    data = json.loads(row.payload)  # request_check's own arguments, as _payload wrote them
    category = Category.objects.get(pk=data.pop("category"))
    place = Place.objects.get(pk=data.pop("place"))
    checked = request_check(by=row.api_key, channel=Channel.OPEN311, category=category, place=place, **data)
    row.request = request_file(checked, by=row.api_key, at=row.received_at)
    return Submission.State.FILED


def submissions_file(*, batch: int = BATCH) -> dict[str, int]:
    """File every queued submission, oldest first, ``batch`` to a transaction; two
    workers at once take different rows (``SKIP LOCKED`` on PostgreSQL; SQLite has one
    writer at a time anyway). Returns how many were filed, refused and left to retry."""
    counts = {"filed": 0, "refused": 0, "retry": 0}
    while True:
        now = timezone.now()
        with transaction.atomic():
            # The payload is read row by row inside the guard below: one that cannot be
            # decrypted fails alone instead of the whole batch.
            rows = list(
                due(Submission.objects.select_for_update(skip_locked=True, of=("self",)), now)
                .select_related("api_key__place").defer("payload").order_by("pk")[:batch]
            )
            if not rows:
                return counts
            for row in rows:
                try:
                    with transaction.atomic():
                        row.state = _file(row)
                except (ValidationError, Category.DoesNotExist, Place.DoesNotExist) as exc:
                    row.state = Submission.State.REFUSED
                    row.error = "; ".join(validation_messages(exc)) if isinstance(exc, ValidationError) \
                        else _("类别或地点已不存在。")
                except Exception:
                    logger.exception("open311 queue: submission %s could not be filed", row.pk)
                    row.attempts += 1
                    if now - row.received_at < GIVE_UP_AFTER:
                        row.retry_at = now + min(RETRY_FIRST * 2 ** (row.attempts - 1), RETRY_MAX)
                        row.save(update_fields=["attempts", "retry_at"])
                        counts["retry"] += 1
                        continue
                    row.state = Submission.State.REFUSED
                    row.error = _("服务暂时无法处理此诉求。")
                counts["filed" if row.state == Submission.State.FILED else "refused"] += 1
                row.payload = ""
                row.processed_at = timezone.now()
                row.save(update_fields=["state", "request", "error", "attempts", "payload", "processed_at"])


def due(rows: QuerySet[Submission], now: datetime) -> QuerySet[Submission]:
    """Queued submissions not waiting to be tried again."""
    return rows.filter(Q(retry_at__isnull=True) | Q(retry_at__lte=now), state=Submission.State.QUEUED)


def queue_poll() -> dict[str, int] | None:
    """The worker's poll: file what is queued (one indexed read when nothing is)."""
    if not due(Submission.objects.all(), timezone.now()).exists():
        return None
    return submissions_file()


# The oldest queued submission older than this makes the queue "behind" on /healthz.
BEHIND_AFTER = timedelta(minutes=10)


def queue_report(now: datetime) -> dict[str, Any]:
    """How many submissions wait, and since when (for /healthz)."""
    waiting = Submission.objects.filter(state=Submission.State.QUEUED).aggregate(
        queued=Count("id"), oldest=Min("received_at"))
    oldest = waiting["oldest"]
    age = round((now - oldest).total_seconds(), 1) if oldest else 0.0
    return {"status": "behind" if oldest and now - oldest > BEHIND_AFTER else "ok",
            "queued": waiting["queued"], "oldest_seconds": age}
