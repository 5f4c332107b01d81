"""Recurring jobs: task functions that the worker enqueues on a fixed interval.

Later apps register theirs (SLA sweeps, reminders, rollups) with ``recurring``::

    @recurring(every=timedelta(minutes=5))
    @task()
    def sweep_deadlines() -> None: ...
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.tasks import Task
from django.utils import timezone

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecurringJob:
    name: str
    every: timedelta
    task: Task[Any, Any]
    kwargs: Callable[[], dict[str, Any]] | None = None


_registry: dict[str, RecurringJob] = {}


def recurring(*, every: timedelta | Callable[[], timedelta], name: str | None = None) -> Callable[[Task[Any, Any]], Task[Any, Any]]:
    def register(task: Task[Any, Any]) -> Task[Any, Any]:
        job_name = name or task.module_path
        interval = every() if callable(every) else every
        _registry[job_name] = RecurringJob(name=job_name, every=interval, task=task)
        return task

    return register


def registered_jobs() -> list[RecurringJob]:
    return sorted(_registry.values(), key=lambda job: job.name)


def enqueue_due_jobs(*, now: datetime | None = None) -> list[str]:
    """Enqueue every job whose current slot has not been enqueued yet; return their names."""
    from linli.core.models import RecurringJobRun

    now = now or timezone.now()
    enqueued = []
    for job in registered_jobs():
        slot = int(now.timestamp() // job.every.total_seconds())
        try:
            with transaction.atomic():
                RecurringJobRun.objects.create(job=job.name, slot=slot)
                job.task.enqueue()
        except IntegrityError:
            continue
        enqueued.append(job.name)
    if enqueued:
        logger.info("enqueued recurring jobs: %s", ", ".join(enqueued))
    return enqueued
