from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class WorkerHeartbeat(models.Model):
    """Written by a recurring task that the worker itself runs: fresh means tasks run."""

    worker_id = models.CharField(max_length=64, unique=True)
    beat_at = models.DateTimeField()

    class Meta:
        verbose_name = _("任务进程心跳")
        verbose_name_plural = _("任务进程心跳")

    def __str__(self) -> str:
        return f"{self.worker_id} @ {self.beat_at:%Y-%m-%d %H:%M:%S}"


class RecurringJobRun(models.Model):
    """One row per (job, time slot): the unique constraint keeps several workers
    from enqueueing the same recurring job twice."""

    job = models.CharField(max_length=200)
    slot = models.BigIntegerField(help_text="seconds since the epoch // the job's interval")
    enqueued_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("定时任务记录")
        verbose_name_plural = _("定时任务记录")
        constraints = [models.UniqueConstraint(fields=["job", "slot"], name="recurring_job_once_per_slot")]

    def __str__(self) -> str:
        return f"{self.job} #{self.slot}"
