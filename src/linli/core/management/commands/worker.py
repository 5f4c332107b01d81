"""`linli worker`: runs queued tasks and enqueues the recurring jobs on time.

It is django-tasks-db's ``db_worker`` plus a scheduler thread; run one or more
per deployment (the slot table stops two schedulers from doubling a job).
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from django.db import close_old_connections
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand

from linli.core.jobs import Poller, enqueue_due_jobs, registered_jobs, registered_pollers

logger = logging.getLogger("linli.worker")


class Scheduler(threading.Thread):
    """Every ``tick`` seconds, enqueue the recurring jobs whose slot has come."""

    def __init__(self, tick: float) -> None:
        super().__init__(name="linli-scheduler", daemon=True)
        self.tick = tick
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                enqueue_due_jobs()
            except Exception:
                logger.exception("scheduler tick failed; trying again")
            finally:
                close_old_connections()
            self.stopped.wait(self.tick)

    def stop(self) -> None:
        self.stopped.set()


class PollerThread(threading.Thread):
    """Calls one registered poller every ``poller.every`` seconds (the Open311 queue)."""

    def __init__(self, poller: Poller) -> None:
        super().__init__(name=f"linli-poll-{poller.name}", daemon=True)
        self.poller = poller
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                self.poller.poll()
            except Exception:
                logger.exception("poller %s failed; trying again", self.poller.name)
            finally:
                close_old_connections()
            self.stopped.wait(self.poller.every)

    def stop(self) -> None:
        self.stopped.set()


def _positive_seconds(value: str) -> float:
    seconds = float(value)
    if seconds <= 0:
        raise ValueError(value)
    return seconds


class Command(DbWorkerCommand):
    help = "Run queued background tasks and the recurring jobs (SLA sweeps, reminders, rollups)."

    def add_arguments(self, parser: Any) -> None:
        super().add_arguments(parser)
        parser.add_argument("--no-scheduler", action="store_true", help="Only run tasks: no recurring jobs, no queue pollers.")
        parser.add_argument(
            "--tick", type=_positive_seconds, default=5.0, help="Seconds between scheduler checks (default: 5)."
        )
        # db_worker reloads on code changes when DEBUG is on; a worker in production
        # must not, and the scheduler thread must run in one process only.
        parser.set_defaults(reload=False)

    def handle(self, *args: Any, **options: Any) -> None:
        no_scheduler = options.pop("no_scheduler")
        tick = options.pop("tick")
        # With --reload the outer process only watches files; the child runs the work.
        in_reloader_parent = options["reload"] and os.environ.get(DJANGO_AUTORELOAD_ENV) != "true"
        if not no_scheduler and not options["batch"] and not in_reloader_parent:
            names = ", ".join(job.name for job in registered_jobs())
            self.stdout.write(f"linli worker: recurring jobs: {names}")
            Scheduler(tick).start()
            for item in registered_pollers():
                PollerThread(item).start()
        super().handle(*args, **options)
