"""The requests benchmarks' harness: generation at a small size, the inputs of the load
tests (their POST bodies are valid Open311 submissions), and the reading of wrk's and
py-spy's output. The load itself (a server and wrk) is not run in the test suite."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from bench.generate import run_generation
from bench.requests_data import generate_requests
from bench.requests_load import lua_get, lua_post, prepare_clients, server_env, summarise_profile
from django.db import connection
from django.test import Client

from linli.requests.models import ROLLUP_LEVELS, Request, RequestEvent, RequestRollup
from linli.requests.rollup_rebuild import rollups_compute, rollups_snapshot

ROOT = Path(__file__).resolve().parents[2]


def _indexes(table: str) -> set[str]:
    with connection.cursor() as cursor:
        return {name for name, info in connection.introspection.get_constraints(cursor, table).items()
                if info["index"] and not info["primary_key"]}


@pytest.fixture
def generated(db: None) -> object:
    result, _stats = run_generation(scale_name="tiny", seed=3, batch_size=500, echo=lambda _line: None)
    return result


def test_generation_writes_requests_and_keeps_the_indexes(generated: object) -> None:
    before = {table: _indexes(table) for table in ("requests_request", "requests_requestevent")}
    assert all(before.values())
    lines: list[str] = []
    result = generate_requests(generated, count=600, seed=3, batch=250, echo=lines.append)
    assert result["requests"] == Request.objects.count()
    assert result["requests"] == 600
    assert result["events"] == RequestEvent.objects.count() > 5 * result["requests"]
    assert result["rollups"]["rows"] == RequestRollup.objects.count() > 0
    assert result["rollups"]["levels"] == {level.__name__: level._default_manager.count() for level in ROLLUP_LEVELS}
    assert rollups_snapshot() == rollups_compute()
    assert result["requests_per_second"] > 0 and result["table_bytes"]
    assert {table: _indexes(table) for table in before} == before
    assert any("indexes built again" in line for line in lines)


def test_the_load_inputs_are_accepted_by_the_server_code(generated: object) -> None:
    generate_requests(generated, count=50, seed=3, echo=lambda _line: None)
    clients = prepare_clients(bodies=12)
    assert clients.api_key and clients.cookie.count("=") == 1
    before = Request.objects.count()
    web = Client()
    for body in clients.bodies:
        response = web.generic("POST", "/open311/v2/requests.json", body,
                               content_type="application/x-www-form-urlencoded")
        assert response.status_code == 200, response.content
    assert Request.objects.count() == before + len(clients.bodies)
    page = web.get(f"/open311/v2/requests.json?page_size=100&api_key={clients.api_key}")
    assert page.status_code == 200 and len(clients.bodies) <= len(page.json()) <= 100  # the last 90 days
    name, value = clients.cookie.split("=")
    web.cookies[name] = value
    assert web.get("/insights/rates/").status_code == 200


def test_the_queued_posts_are_filed_and_timed(generated: object) -> None:
    from bench.requests_load import file_queue
    from django.test.utils import override_settings

    generate_requests(generated, count=20, seed=3, echo=lambda _line: None)
    clients = prepare_clients(bodies=8)
    before = Request.objects.count()
    web = Client()
    with override_settings(OPEN311_QUEUE=True):
        for body in clients.bodies:
            response = web.generic("POST", "/open311/v2/requests.json", body,
                                   content_type="application/x-www-form-urlencoded")
            assert response.status_code == 200 and "token" in response.json()[0], response.content
    assert Request.objects.count() == before
    lines: list[str] = []
    result = file_queue(lines.append)
    assert result["queued"] == result["filed"] == len(clients.bodies) and result["refused"] == 0
    assert result["filed_per_second"] > 0 and "queued submissions" in lines[0]
    assert Request.objects.count() == before + len(clients.bodies)
    assert file_queue(lines.append) == {"queued": 0}


def test_lua_scripts_quote_their_values() -> None:
    script = lua_post("/open311/v2/requests.json", ['a="b"&c=\\d', "x=1"])
    assert '"a=\\"b\\"&c=\\\\d"' in script and "wrk.format(\"POST\"" in script and "BENCHJSON" in script
    assert 'wrk.headers["Cookie"] = "sessionid=abc"' in lua_get("/insights/rates/", "sessionid=abc")
    assert "Cookie" not in lua_get("/open311/v2/requests.json?page_size=100")


def test_profiles_are_summarised_by_function(tmp_path: Path) -> None:
    collapsed = tmp_path / "p.collapsed"
    collapsed.write_text(
        "main (app.py:1);handle (views.py:10);query (db.py:5) 6\n"
        "main (app.py:1);handle (views.py:12);render (tpl.py:3) 4\n", encoding="utf-8")
    summary = summarise_profile(collapsed)
    assert summary["samples"] == 10
    assert dict(summary["inclusive"])["handle (views.py)"] == 100.0
    assert dict(summary["own"]) == {"query (db.py)": 60.0, "render (tpl.py)": 40.0}
    assert summarise_profile(tmp_path / "missing") == {}


def test_the_server_gets_the_bench_settings_and_no_test_ones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINLI_DATABASE_URL", "sqlite:////tmp/x.sqlite3")
    monkeypatch.setenv("LINLI_EMAIL", "locmem")
    env = server_env(tmp_path)
    assert env["LINLI_DATABASE_URL"] == "sqlite:////tmp/x.sqlite3"
    assert env["DJANGO_SETTINGS_MODULE"] == "linli.settings" and env["LINLI_TASK_BACKEND"] == "database"
    assert "LINLI_EMAIL" not in env and env["LINLI_VAR_DIR"] == str(tmp_path)


def test_command_lines_answer_help() -> None:
    for module in ("bench.requests_data", "bench.requests_load"):
        done = subprocess.run([sys.executable, "-m", module, "--help"], cwd=ROOT, capture_output=True, text=True,
                              check=False, timeout=60)
        assert done.returncode == 0, done.stderr
        assert "--database-url" in done.stdout
