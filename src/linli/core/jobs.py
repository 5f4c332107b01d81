"""Recurring jobs: task functions that the worker enqueues on a fixed interval.

Apps register theirs (SLA sweeps, reminders, rollups) in their ``tasks.py``, which
every process imports at start-up (see ``CoreConfig.ready``)::

    @recurring(every=timedelta(minutes=5))
    @task()
    def sweep_deadlines() -> None: ...

Time is cut into slots of ``every``; a job is enqueued at most once per slot, however
many schedulers run, because each enqueue first claims the (job, slot) row.
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

Interval = timedelta | Callable[[], timedelta]


@dataclass(frozen=True)
class RecurringJob:
    name: str
    # A callable is read at each tick, so an interval can come from settings.
    every: Interval
    task: Task[Any, Any]
    kwargs: Callable[[], dict[str, Any]] | None = None

    def interval(self) -> timedelta:
        value = self.every() if callable(self.every) else self.every
        if value.total_seconds() <= 0:
            raise ValueError(f"recurring job {self.name}: the interval must be positive")
        return value

    def slot(self, at: datetime) -> int:
        """Which slot ``at`` falls in: seconds since the epoch // the interval."""
        return int(at.timestamp() // self.interval().total_seconds())


_registry: dict[str, RecurringJob] = {}


def recurring(
    *, every: Interval, name: str | None = None, kwargs: Callable[[], dict[str, Any]] | None = None,
) -> Callable[[Task[Any, Any]], Task[Any, Any]]:
    """Register a task as a recurring job (put it above ``@task()``)."""

    def register(task: Task[Any, Any]) -> Task[Any, Any]:
        job_name = name or task.module_path
        _registry[job_name] = RecurringJob(name=job_name, every=every, task=task, kwargs=kwargs)
        return task

    return register


def registered_jobs() -> list[RecurringJob]:
    return sorted(_registry.values(), key=lambda job: job.name)


def enqueue_due_jobs(*, now: datetime | None = None) -> list[str]:
    """Enqueue every job whose current slot has not been enqueued yet; return their names.

    The slot row and the queued task commit together, so a crash between them can
    neither lose the job for that slot nor queue it twice. One failing job does not
    stop the others.
    """
    from linli.core.models import RecurringJobRun

    now = now or timezone.now()
    enqueued = []
    for job in registered_jobs():
        try:
            with transaction.atomic():
                try:
                    with transaction.atomic():
                        RecurringJobRun.objects.create(job=job.name, slot=job.slot(now))
                except IntegrityError:
                    continue  # this slot is already taken, by us or another scheduler
                job.task.enqueue(**(job.kwargs() if job.kwargs else {}))
        except Exception:
            logger.exception("could not enqueue recurring job %s", job.name)
            continue
        enqueued.append(job.name)
    if enqueued:
        logger.info("enqueued recurring jobs: %s", ", ".join(enqueued))
    return enqueued


# Pollers ----------------------------------------------------------------------------------
# A few queues must move within a second, faster than a recurring job's slot: the worker
# calls each poller every ``every`` seconds in a thread of its own (an app registers it in
# its tasks.py with ``poller``). A poller does its own work and returns quickly when
# there is none.

@dataclass(frozen=True)
class Poller:
    name: str
    every: float
    poll: Callable[[], Any]


_pollers: dict[str, Poller] = {}


def poller(*, every: float, name: str) -> Callable[[Callable[[], Any]], Callable[[], Any]]:
    """Register ``poll`` to be called by the worker every ``every`` seconds."""

    def register(poll: Callable[[], Any]) -> Callable[[], Any]:
        _pollers[name] = Poller(name=name, every=every, poll=poll)
        return poll

    return register


def registered_pollers() -> list[Poller]:
    return sorted(_pollers.values(), key=lambda item: item.name)
