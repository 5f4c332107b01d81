from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client, override_settings
from django.utils import timezone

from linli.accounts.services import user_create
from linli.core.health import STALE_AFTER_BEATS, health_report
from linli.core.models import WorkerHeartbeat

pytestmark = pytest.mark.django_db


def beat(age_seconds: float, worker_id: str = "host:1") -> WorkerHeartbeat:
    return WorkerHeartbeat.objects.create(worker_id=worker_id, beat_at=timezone.now() - timedelta(seconds=age_seconds))


def test_fresh_heartbeat_is_healthy(client: Client) -> None:
    beat(2)
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == {"status": "ok", "vendor": connection.vendor}
    assert body["worker"]["status"] == "ok"
    assert body["worker"]["age_seconds"] >= 2
    assert response["Cache-Control"].startswith("max-age=0")


def test_no_heartbeat_is_unhealthy(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["database"]["status"] == "ok"
    assert body["worker"] == {"status": "missing", "last_heartbeat": None}


@override_settings(WORKER_HEARTBEAT_SECONDS=10)
def test_stale_heartbeat_is_unhealthy(client: Client) -> None:
    beat(STALE_AFTER_BEATS * 10 + 5)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["worker"]["status"] == "stale"


@override_settings(WORKER_HEARTBEAT_SECONDS=10)
def test_the_newest_of_several_workers_counts(client: Client) -> None:
    beat(3600, "old-host:1")
    beat(1, "new-host:2")
    assert client.get("/healthz").status_code == 200


@override_settings(WORKER_HEARTBEAT_SECONDS=10)
def test_stale_limit_is_three_missed_beats() -> None:
    now = timezone.now()
    WorkerHeartbeat.objects.create(worker_id="w", beat_at=now - timedelta(seconds=30))
    assert health_report(now=now)[0] is True
    assert health_report(now=now + timedelta(seconds=1))[0] is False


def test_reachable_without_signing_in_and_before_the_second_factor(client: Client) -> None:
    beat(1)
    assert client.get("/healthz").status_code == 200
    admin = user_create(username="root", password=None, is_superuser=True)
    client.force_login(admin)  # signed in, second factor still owed
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_head_works_and_writes_are_refused(client: Client) -> None:
    beat(1)
    assert client.head("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405


def test_report_shows_nothing_personal(client: Client) -> None:
    beat(1, "host-with-a-name:99")
    body = client.get("/healthz").json()
    assert set(body) == {"status", "database", "worker", "open311_queue"}
    assert set(body["worker"]) == {"status", "last_heartbeat", "age_seconds"}
    assert set(body["open311_queue"]) == {"status", "queued", "oldest_seconds"}  # counts, no content
