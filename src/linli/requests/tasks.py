"""The worker's recurring jobs for requests: the SLA sweep and closing unrated requests."""

from __future__ import annotations

from datetime import timedelta

from django.tasks import task

from linli.core.jobs import recurring
from linli.requests.deadlines import request_autoclose_unrated, sla_sweep


@recurring(every=timedelta(minutes=5), name="requests.sla_sweep")
@task()
def sweep_deadlines() -> dict[str, int]:
    return sla_sweep()


@recurring(every=timedelta(hours=1), name="requests.autoclose_unrated")
@task()
def close_unrated() -> int:
    return request_autoclose_unrated()
