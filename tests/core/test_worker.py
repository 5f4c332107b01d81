"""`linli worker` end to end: a real worker process on a real SQLite file.

The test migrates a fresh database, starts the worker, waits for the heartbeat
that its scheduler enqueues and it then runs, enqueues a task from outside, and
waits for that task to run — all within a bounded time.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.test import override_settings
from django_tasks_db.models import DBTaskResult

from linli.core.management.commands.worker import Command

PROJECT_DIR = Path(__file__).resolve().parents[2]
WAIT_SECONDS = 30


def linli_command() -> list[str]:
    script = Path(sys.executable).with_name("linli")
    return [str(script)] if script.exists() else [sys.executable, "-m", "linli.cli"]


def worker_env(tmp_path: Path, database: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LINLI_", "DJANGO_"))}
    env.update(
        LINLI_SECRET_KEY="worker-test-secret-" + "w" * 50,
        LINLI_FIELD_KEY="dGVzdC1maWVsZC1rZXktMzItYnl0ZXMtbG9uZy0hISE",
        LINLI_DATABASE_URL=f"sqlite:///{database}",
        LINLI_TASK_BACKEND="database",
        LINLI_WORKER_HEARTBEAT="1",
        LINLI_VAR_DIR=str(tmp_path),
        # The worker imports the test task by its dotted path.
        PYTHONPATH=str(PROJECT_DIR),
    )
    return env


def query(database: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    connection = sqlite3.connect(database, timeout=10)
    try:
        return connection.execute(sql, params).fetchall()
    finally:
        connection.close()


def wait_until(check: Callable[[], bool], what: str, log: Path) -> None:
    """Poll ``check`` for at most WAIT_SECONDS."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"worker did not {what} within {WAIT_SECONDS} s; its output:\n{log.read_text()}")


def test_worker_runs_the_heartbeat_and_a_queued_task(tmp_path: Path) -> None:
    database = tmp_path / "worker.sqlite3"
    env = worker_env(tmp_path, database)
    migrate = subprocess.run(
        [*linli_command(), "migrate", "--noinput", "--verbosity", "0"], env=env, cwd=PROJECT_DIR,
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert migrate.returncode == 0, migrate.stderr

    log = tmp_path / "worker.log"
    with log.open("w") as output:
        worker = subprocess.Popen(
            [*linli_command(), "worker", "--tick", "0.5", "--interval", "0.2", "--no-startup-delay"],
            env=env, cwd=PROJECT_DIR, stdout=output, stderr=subprocess.STDOUT,
        )
    try:
        wait_until(lambda: bool(query(database, "SELECT 1 FROM core_workerheartbeat")), "beat", log)
        [(worker_id,)] = query(database, "SELECT worker_id FROM core_workerheartbeat")
        assert worker_id.endswith(f":{worker.pid}")  # written by the worker process itself

        mark = tmp_path / "mark.txt"
        enqueue = subprocess.run(
            [*linli_command(), "shell", "-c",
             f"from tests.core.worker_tasks import leave_mark; leave_mark.enqueue({str(mark)!r}, '邻里')"],
            env=env, cwd=PROJECT_DIR, capture_output=True, text=True, timeout=60, check=False,
        )
        assert enqueue.returncode == 0, enqueue.stderr

        def task_finished() -> bool:
            rows = query(
                database, f"SELECT status FROM {DBTaskResult._meta.db_table} WHERE task_path = ?",  # noqa: S608
                ("tests.core.worker_tasks.leave_mark",),
            )
            return rows == [("SUCCESSFUL",)]

        wait_until(task_finished, "run the queued task", log)
        assert mark.read_text(encoding="utf-8") == "邻里"
        assert worker.poll() is None, log.read_text()
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    assert worker.returncode == 0, log.read_text()
    [jobs_line] = [line for line in log.read_text().splitlines() if line.startswith("linli worker: recurring jobs:")]
    assert {"core.heartbeat", "core.prune_job_runs"} <= set(jobs_line.split(": ", 2)[2].split(", "))


@override_settings(
    DEBUG=True, TASKS={"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
)
def test_worker_does_not_reload_by_default_even_in_debug() -> None:
    parser = Command().create_parser("linli", "worker")
    options = vars(parser.parse_args([]))
    assert options["reload"] is False
    assert options["tick"] == 5.0
    assert vars(parser.parse_args(["--reload"]))["reload"] is True
