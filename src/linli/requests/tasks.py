"""The worker's recurring jobs for requests: the SLA sweep, closing unrated requests, and
filling the rates dashboards' cache ahead of their visitors (``insights.warm``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.tasks import task

from linli.core.health import health_part
from linli.core.jobs import poller, recurring
from linli.requests.deadlines import request_autoclose_unrated, sla_sweep


@recurring(every=timedelta(minutes=5), name="requests.sla_sweep")
@task()
def sweep_deadlines() -> dict[str, int]:
    return sla_sweep()


@recurring(every=timedelta(hours=1), name="requests.autoclose_unrated")
@task()
def close_unrated() -> int:
    return request_autoclose_unrated()


@recurring(every=timedelta(minutes=30), name="insights.warm_rates")
@task()
def warm_rates() -> dict[str, float]:
    from linli.insights.warm import rates_cache_warm

    return rates_cache_warm()


@poller(every=0.5, name="requests.open311_queue")
def file_open311_queue() -> dict[str, int] | None:
    from linli.requests.queue import queue_poll

    return queue_poll()


@health_part("open311_queue")
def open311_queue_health(now: datetime) -> dict[str, Any]:
    from linli.requests.queue import queue_report

    return queue_report(now)
