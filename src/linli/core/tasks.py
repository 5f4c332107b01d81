from __future__ import annotations

import os
import socket
from datetime import timedelta

from django.conf import settings
from django.tasks import task
from django.utils import timezone

from linli.core.jobs import recurring
from linli.core.models import RecurringJobRun, WorkerHeartbeat


@recurring(every=lambda: timedelta(seconds=settings.WORKER_HEARTBEAT_SECONDS), name="core.heartbeat")
@task()
def heartbeat() -> str:
    worker = f"{socket.gethostname()}:{os.getpid()}"[:64]
    WorkerHeartbeat.objects.update_or_create(worker_id=worker, defaults={"beat_at": timezone.now()})
    return worker


@recurring(every=timedelta(days=1), name="core.prune_job_runs")
@task()
def prune_job_runs() -> int:
    """The slot rows only guard against double enqueueing; a week of them is plenty."""
    cutoff = timezone.now() - timedelta(days=7)
    deleted, _ = RecurringJobRun.objects.filter(enqueued_at__lt=cutoff).delete()
    WorkerHeartbeat.objects.filter(beat_at__lt=cutoff).delete()
    return deleted
