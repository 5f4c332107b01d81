from __future__ import annotations

import os
import socket
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.tasks import task
from django.test import override_settings
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from linli.core import jobs
from linli.core.jobs import RecurringJob, enqueue_due_jobs, recurring, registered_jobs
from linli.core.models import RecurringJobRun, WorkerHeartbeat
from linli.core.tasks import heartbeat, prune_job_runs

pytestmark = pytest.mark.django_db

DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
# On a 30-second and a one-day boundary, so the slots below are easy to reason about.
MIDNIGHT = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)


def test_core_jobs_are_registered_without_the_worker() -> None:
    names = {job.name for job in registered_jobs()}
    assert {"core.heartbeat", "core.prune_job_runs"} <= names


def test_heartbeat_interval_follows_the_setting() -> None:
    job = next(job for job in registered_jobs() if job.name == "core.heartbeat")
    with override_settings(WORKER_HEARTBEAT_SECONDS=7):
        assert job.interval() == timedelta(seconds=7)


def test_each_job_is_enqueued_once_per_slot_even_when_called_twice() -> None:
    expected = {job.name for job in registered_jobs()}
    with override_settings(TASKS=DATABASE_TASKS):
        first = enqueue_due_jobs(now=MIDNIGHT)
        second = enqueue_due_jobs(now=MIDNIGHT + timedelta(seconds=1))
        assert set(first) == expected
        assert second == []
        queued = Counter(DBTaskResult.objects.values_list("task_path", flat=True))
        assert queued == Counter({job.task.module_path: 1 for job in registered_jobs()})
        assert set(DBTaskResult.objects.values_list("status", flat=True)) == {"READY"}
        assert RecurringJobRun.objects.count() == len(expected)

        # The next heartbeat slot comes round; the daily job's does not.
        later = enqueue_due_jobs(now=MIDNIGHT + timedelta(seconds=30))
        assert "core.heartbeat" in later
        assert "core.prune_job_runs" not in later
        assert DBTaskResult.objects.filter(task_path=heartbeat.module_path).count() == 2
        assert DBTaskResult.objects.filter(task_path=prune_job_runs.module_path).count() == 1


def test_a_slot_claimed_by_another_scheduler_is_not_enqueued_again() -> None:
    job = next(job for job in registered_jobs() if job.name == "core.heartbeat")
    RecurringJobRun.objects.create(job=job.name, slot=job.slot(MIDNIGHT))
    with override_settings(TASKS=DATABASE_TASKS):
        assert "core.heartbeat" not in enqueue_due_jobs(now=MIDNIGHT)
        assert not DBTaskResult.objects.filter(task_path=heartbeat.module_path).exists()


@task()
def record_kwargs(label: str) -> str:
    return label


def _broken_kwargs() -> dict[str, str]:
    raise RuntimeError("cannot build the arguments")


def test_one_failing_job_does_not_stop_the_others(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(
        jobs._registry, "a.broken", RecurringJob(name="a.broken", every=timedelta(minutes=1), task=record_kwargs, kwargs=_broken_kwargs)
    )
    with override_settings(TASKS=DATABASE_TASKS):
        enqueued = enqueue_due_jobs(now=MIDNIGHT)
    assert "a.broken" not in enqueued
    assert "core.heartbeat" in enqueued
    # The failed job's slot is not used up: the next tick tries it again.
    assert not RecurringJobRun.objects.filter(job="a.broken").exists()


def test_recurring_registers_a_task_with_its_arguments(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jobs, "_registry", dict(jobs._registry))
    recurring(every=timedelta(hours=1), name="test.labelled", kwargs=lambda: {"label": "每小时"})(record_kwargs)
    with override_settings(TASKS=DATABASE_TASKS):
        assert "test.labelled" in enqueue_due_jobs(now=MIDNIGHT)
    row = DBTaskResult.objects.get(task_path=record_kwargs.module_path)
    assert row.args_kwargs == {"args": [], "kwargs": {"label": "每小时"}}


def test_an_interval_must_be_positive() -> None:
    job = RecurringJob(name="bad", every=timedelta(0), task=record_kwargs)
    with pytest.raises(ValueError, match="positive"):
        job.slot(MIDNIGHT)


def test_heartbeat_task_writes_a_row() -> None:
    before = timezone.now()
    result = heartbeat.enqueue()  # the test settings run tasks immediately
    assert result.return_value == f"{socket.gethostname()}:{os.getpid()}"[:64]
    beat = WorkerHeartbeat.objects.get()
    assert beat.worker_id == result.return_value
    assert before <= beat.beat_at <= timezone.now()
    heartbeat.enqueue()
    assert WorkerHeartbeat.objects.count() == 1  # one row per worker, updated in place


def test_prune_removes_old_slot_rows_heartbeats_and_task_results() -> None:
    now = timezone.now()
    old = now - timedelta(days=8)
    stale_run = RecurringJobRun.objects.create(job="core.heartbeat", slot=1)
    RecurringJobRun.objects.filter(pk=stale_run.pk).update(enqueued_at=old)
    RecurringJobRun.objects.create(job="core.heartbeat", slot=2)
    WorkerHeartbeat.objects.create(worker_id="gone:1", beat_at=old)
    WorkerHeartbeat.objects.create(worker_id="alive:2", beat_at=now)
    with override_settings(TASKS=DATABASE_TASKS):
        results = {
            label: heartbeat.enqueue().id
            for label in ("old success", "new success", "old failure", "ancient failure", "old but waiting")
        }
    finished = {
        "old success": ("SUCCESSFUL", old), "new success": ("SUCCESSFUL", now),
        "old failure": ("FAILED", old), "ancient failure": ("FAILED", now - timedelta(days=31)),
    }
    for label, (status, at) in finished.items():
        DBTaskResult.objects.filter(pk=results[label]).update(status=status, finished_at=at)

    assert prune_job_runs.call() == {"job_runs": 1, "heartbeats": 1, "task_results": 2}
    assert list(RecurringJobRun.objects.values_list("slot", flat=True)) == [2]
    assert list(WorkerHeartbeat.objects.values_list("worker_id", flat=True)) == ["alive:2"]
    kept = {label for label, pk in results.items() if DBTaskResult.objects.filter(pk=pk).exists()}
    assert kept == {"new success", "old failure", "old but waiting"}
