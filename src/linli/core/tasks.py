"""The core's own recurring jobs: the worker heartbeat and tidying the slot table."""

from __future__ import annotations

import os
import socket
from datetime import timedelta

from django.conf import settings
from django.tasks import task
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from linli.core.jobs import recurring
from linli.core.models import RecurringJobRun, WorkerHeartbeat


def _heartbeat_interval() -> timedelta:
    return timedelta(seconds=settings.WORKER_HEARTBEAT_SECONDS)


@recurring(every=_heartbeat_interval, name="core.heartbeat")
@task()
def heartbeat() -> str:
    """Runs inside the worker, so a fresh row proves that queued tasks get run."""
    worker = f"{socket.gethostname()}:{os.getpid()}"[:64]
    WorkerHeartbeat.objects.update_or_create(worker_id=worker, defaults={"beat_at": timezone.now()})
    return worker


# Finished tasks are kept a week for inspection (failed ones a month, to find the cause);
# without pruning, the heartbeat alone would add thousands of rows a day.
KEEP_FINISHED = timedelta(days=7)
KEEP_FAILED = timedelta(days=30)


@recurring(every=timedelta(days=1), name="core.prune_job_runs")
@task()
def prune_job_runs() -> dict[str, int]:
    """Delete the core's own technical records once they are no longer useful: slot
    rows (they only guard against double enqueueing), heartbeats of workers long gone,
    and the results of finished tasks. Domain records and the audit log are never touched."""
    now = timezone.now()
    job_runs, _ = RecurringJobRun.objects.filter(enqueued_at__lt=now - KEEP_FINISHED).delete()
    heartbeats, _ = WorkerHeartbeat.objects.filter(beat_at__lt=now - KEEP_FINISHED).delete()
    succeeded, _ = DBTaskResult.objects.successful().filter(finished_at__lt=now - KEEP_FINISHED).delete()
    failed, _ = DBTaskResult.objects.failed().filter(finished_at__lt=now - KEEP_FAILED).delete()
    return {"job_runs": job_runs, "heartbeats": heartbeats, "task_results": succeeded + failed}
