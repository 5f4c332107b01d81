"""Load tests of the requests endpoints on the production server.

    python -m bench.requests_load --database-url sqlite:////path/bench.sqlite3    # data from bench.requests_data
    python -m bench.requests_load --database-url postgres://postgres@127.0.0.1:5432/linli_bench_req

The server is started as ``make run`` starts it — granian, WSGI, 2 workers, 4 blocking
threads each — on 127.0.0.1 only, against the benchmark database, with the task queue
in the database (as in production; no worker drains it during the run). ``wrk`` drives
it with Lua scripts and reports throughput, latency percentiles and errors:

* ``open311_post``: ``POST /open311/v2/requests.json``, form-encoded with a valid
  ``api_key`` (a street-level key of a staff role) — target ≥ 1,000 requests/s. The
  server queues them (``OPEN311_QUEUE``, on with the database task backend); after the
  load the queue is filed here as the worker would, and that rate is reported too;
* ``open311_get_public`` / ``open311_get_keyed``: ``GET /open311/v2/requests.json?page_size=100``
  without and with a key — target ≥ 500 requests/s;
* ``dashboard_rates`` / ``dashboard_ranking``: the street supervisor's rates dashboard and
  ranking (``insights:rates``, ``insights:ranking``), signed in with a session made here
  (second factor passed) — target p95 ≤ 100 ms, at 2 and at 8 concurrent users.

Each scenario records the server's CPU time per request (all granian processes), so a
missed target shows whether the server ran out of its two cores. ``--profile`` also
samples the workers with py-spy during each scenario (install it in the venv first:
``.venv/bin/pip install py-spy``) and keeps the hottest functions in the report.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

Echo = Callable[[str], None]
ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
WORKERS = 2
BLOCKING_THREADS = 4
BENCH_USER = "street-1"  # the street supervisor made by bench.requests_data (linli.demo.staff)


@dataclass(frozen=True)
class Scenario:
    name: str
    path: str
    script: str  # "post" or "get"
    connections: int
    target_rps: float | None = None
    target_p95_ms: float | None = None
    cookie: bool = False


# Lua ----------------------------------------------------------------------------------

_LUA_DONE = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests":%d,"duration_us":%d,"bytes":%d,"errors":{"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d},"p50_ms":%.3f,"p90_ms":%.3f,"p95_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f,' ..
    '"mean_ms":%.3f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, latency.mean / 1000))
end
"""


def _lua_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def lua_post(path: str, bodies: list[str]) -> str:
    """POST one of ``bodies`` in turn (each wrk thread has its own counter)."""
    items = ",\n  ".join(_lua_string(b) for b in bodies)
    return f"""
local bodies = {{
  {items}
}}
local counter = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
request = function()
  counter = counter + 1
  return wrk.format("POST", {_lua_string(path)}, nil, bodies[(counter % #bodies) + 1])
end
""" + _LUA_DONE


def lua_get(path: str, cookie: str = "") -> str:
    header = f'wrk.headers["Cookie"] = {_lua_string(cookie)}\n' if cookie else ""
    return f"""
wrk.method = "GET"
wrk.path = {_lua_string(path)}
{header}""" + _LUA_DONE


# Data the load needs -------------------------------------------------------------------

@dataclass
class Clients:
    api_key: str
    cookie: str  # the session cookie, "name=value"
    bodies: list[str]


def prepare_clients(*, bodies: int = 300, seed: int = 2026) -> Clients:
    """A street-level API key of a staff role, a signed-in street supervisor's session
    (second factor passed), and form bodies for POST across categories and households."""
    import random

    from django.conf import settings
    from django.test import Client

    from linli.accounts.middleware import SESSION_2FA
    from linli.accounts.models import Role, User
    from linli.accounts.services import apikey_create
    from linli.places.models import Place, PlaceKind
    from linli.requests.models import Category

    street = Place.objects.filter(kind=PlaceKind.STREET).order_by("pk").first()
    if street is None:
        raise SystemExit("bench: no street in this database; generate the data first (python -m bench.requests_data)")
    _key, raw = apikey_create(name="bench load", place=street, role=Role.COMMUNITY_STAFF)
    user = User.objects.filter(username=BENCH_USER).first()
    if user is None:
        raise SystemExit(f"bench: no user {BENCH_USER!r}; generate the data with python -m bench.requests_data")
    host = next((h for h in settings.ALLOWED_HOSTS if h not in ("*", "") and not h.startswith(".")), HOST)
    client = Client(HTTP_HOST=host)
    client.force_login(user)
    session = client.session
    session[SESSION_2FA] = True
    session.save()
    rng = random.Random(seed)  # noqa: S311 - benchmark input, not a secret
    codes = list(Place.objects.filter(kind=PlaceKind.HOUSEHOLD, path__startswith=street.path)
                 .order_by("pk").values_list("code", flat=True)[:2000])
    categories = list(Category.objects.filter(is_active=True).order_by("pk"))
    made = []
    for i in range(bodies):
        category = rng.choice(categories)
        fields = {"api_key": raw, "service_code": category.code, "address_id": rng.choice(codes),
                  "description": f"基准测试诉求 {i}：楼道灯不亮，麻烦尽快处理。", "first_name": "明", "last_name": "王",
                  "phone": f"139{rng.randrange(10**8):08d}", "device_id": f"bench-{i % 50}"}
        if rng.random() < 0.5:
            fields["lat"], fields["long"] = f"{39.92 + rng.uniform(0, .02):.6f}", f"{116.44 + rng.uniform(0, .02):.6f}"
        for attr in category.attributes or []:
            values = [str(v.get("key")) for v in attr.get("values", [])]
            if attr.get("required") and values:
                fields[f"attribute[{attr['code']}]"] = rng.choice(values)
        made.append("&".join(f"{quote_plus(k)}={quote_plus(v)}" for k, v in fields.items()))
    name = settings.SESSION_COOKIE_NAME
    return Clients(raw, f"{name}={client.cookies[name].value}", made)


# The server ---------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def server_env(var_dir: Path) -> dict[str, str]:
    """The benchmark process's settings, as a production server gets them."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LINLI_", "DJANGO_"))}
    for name in ("LINLI_DATABASE_URL", "LINLI_SECRET_KEY", "LINLI_FIELD_KEY", "LINLI_REDIS_URL"):
        if os.environ.get(name):
            env[name] = os.environ[name]
    env.update({"DJANGO_SETTINGS_MODULE": "linli.settings", "LINLI_VAR_DIR": str(var_dir),
                "LINLI_ALLOWED_HOSTS": f"{HOST},localhost", "LINLI_LOG_LEVEL": "WARNING",
                "LINLI_TASK_BACKEND": "database"})
    return env


@contextmanager
def production_server(*, echo: Echo = print) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """granian as ``make run`` starts it, on a free port of 127.0.0.1; yields its base URL."""
    var_dir = Path(tempfile.mkdtemp(prefix="linli-bench-server-"))
    env = server_env(var_dir)
    subprocess.run([str(BIN / "linli"), "collectstatic", "--noinput", "--verbosity", "0"], env=env, check=True,
                   cwd=ROOT)
    port = _free_port()
    granian = shutil.which("granian", path=str(BIN)) or "granian"
    process = subprocess.Popen(  # noqa: S603 - our own executable and arguments
        [granian, "--interface", "wsgi", "--host", HOST, "--port", str(port), "--workers", str(WORKERS),
         "--blocking-threads", str(BLOCKING_THREADS), "linli.wsgi:application"],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )
    base = f"http://{HOST}:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/open311/v2/discovery.json", timeout=5) as response:  # noqa: S310
                    if response.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                err = process.stderr.read().decode(errors="replace") if process.stderr else ""
                raise SystemExit(f"bench: the server did not start:\n{err[-3000:]}")
            time.sleep(0.3)
        echo(f"bench: granian ({WORKERS} workers × {BLOCKING_THREADS} threads) on {base}")
        yield base, process
    finally:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        shutil.rmtree(var_dir, ignore_errors=True)


def _tree(pid: int) -> list[int]:
    """``pid`` and every process below it."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        todo += children.get(current, [])
    return out


def cpu_seconds(pid: int) -> float:
    """User and system CPU of ``pid`` and its children so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in _tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / ticks


# wrk ----------------------------------------------------------------------------------

def ensure_wrk(echo: Echo = print) -> str:
    """wrk from Debian; installed with apt-get when missing and running as root."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        raise SystemExit("bench: the load tests need wrk: sudo apt-get install wrk")
    echo("bench: installing wrk (apt-get)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, env=env, stdout=subprocess.DEVNULL)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("bench: wrk is still missing after apt-get install wrk")
    return found


def run_wrk(wrk: str, url: str, script: Path, *, seconds: int, connections: int, threads: int = 2) -> dict[str, Any]:
    done = subprocess.run(  # noqa: S603 - our own arguments
        [wrk, "-t", str(min(threads, connections)), "-c", str(connections), "-d", f"{seconds}s", "--timeout", "10s",
         "-s", str(script), url],
        capture_output=True, text=True, check=False, timeout=seconds + 60,
    )
    match = re.search(r"^BENCHJSON (.*)$", done.stdout, re.M)
    if done.returncode != 0 or match is None:
        raise SystemExit(f"bench: wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    result: dict[str, Any] = json.loads(match.group(1))
    seconds_run = result.pop("duration_us") / 1e6
    result["seconds"] = round(seconds_run, 3)
    result["requests_per_second"] = round(result["requests"] / max(seconds_run, 1e-9), 1)
    return result


# Profiling ----------------------------------------------------------------------------

def profile_workers(server_pid: int, seconds: int, out_dir: Path, name: str) -> subprocess.Popen[bytes] | None:
    """Start py-spy on every granian worker for ``seconds``; None when py-spy is missing."""
    py_spy = shutil.which("py-spy", path=str(BIN)) or shutil.which("py-spy")
    if not py_spy:
        return None
    workers = [p for p in _tree(server_pid) if p != server_pid]
    if not workers:
        return None
    out_dir.mkdir(parents=True, exist_ok=True)
    # One recorder per worker would double the sampling cost; the busiest worker is representative.
    return subprocess.Popen(  # noqa: S603 - our own arguments
        [py_spy, "record", "--pid", str(workers[0]), "--duration", str(seconds), "--rate", "50", "--format", "raw",
         "--nonblocking", "--output", str(out_dir / f"{name}.collapsed")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def summarise_profile(path: Path, top: int = 25) -> dict[str, Any]:
    """Inclusive share of samples per function (``file:function``) from py-spy's collapsed stacks."""
    if not path.exists():
        return {}
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = [re.sub(r" \(([^)]*?)(?::\d+)?\)$", r" (\1)", f) for f in stack.split(";")]
        for frame in set(frames):
            inclusive[frame] += count
        if frames:
            own[frames[-1]] += count
    if not total:
        return {}
    return {
        "samples": total,
        "inclusive": [(frame, round(100 * n / total, 1)) for frame, n in inclusive.most_common(top)],
        "own": [(frame, round(100 * n / total, 1)) for frame, n in own.most_common(top)],
    }


# Running ------------------------------------------------------------------------------

def scenarios(clients: Clients) -> list[Scenario]:
    from django.urls import NoReverseMatch, reverse

    page = "/open311/v2/requests.json?page_size=100"
    out = [
        Scenario("open311_post", "/open311/v2/requests.json", "post", 16, target_rps=1000),
        Scenario("open311_get_public", page, "get", 16, target_rps=500),
        Scenario("open311_get_keyed", f"{page}&api_key={clients.api_key}", "get", 16, target_rps=500),
    ]
    for name in ("rates", "ranking"):
        try:
            path = reverse(f"insights:{name}")
        except NoReverseMatch:  # the dashboards may not exist on this branch
            continue
        for connections in (2, 8):
            out.append(Scenario(f"dashboard_{name}_c{connections}", path, "get", connections, target_p95_ms=100,
                                cookie=True))
    return out


def run_load(*, seconds: int = 20, warmup: int = 3, only: Sequence[str] = (), profile: bool = False,
             output_dir: Path | None = None, echo: Echo = print) -> dict[str, Any]:
    """Every scenario against a production server; results keyed ``load_<scenario>``."""
    from django.db import connection

    from linli.requests.models import Request

    wrk = ensure_wrk(echo)
    clients = prepare_clients()
    connection.close()  # the server's processes write now; this one only counts
    results: dict[str, Any] = {}
    work = Path(tempfile.mkdtemp(prefix="linli-bench-wrk-"))
    try:
        with production_server(echo=echo) as (base, process):
            for scenario in scenarios(clients):
                if only and scenario.name not in only:
                    continue
                script = work / f"{scenario.name}.lua"
                cookie = clients.cookie if scenario.cookie else ""
                script.write_text(lua_post(scenario.path, clients.bodies) if scenario.script == "post"
                                  else lua_get(scenario.path, cookie), encoding="utf-8")
                status = _probe(base, scenario, clients, cookie)
                if warmup:
                    run_wrk(wrk, base, script, seconds=warmup, connections=scenario.connections)
                before_rows = Request.objects.count() if scenario.script == "post" else 0
                connection.close()
                cpu_before = cpu_seconds(process.pid)
                spy = profile_workers(process.pid, seconds, output_dir or work, scenario.name) if profile else None
                result = run_wrk(wrk, base, script, seconds=seconds, connections=scenario.connections)
                cpu = cpu_seconds(process.pid) - cpu_before
                if spy is not None:
                    spy.wait(timeout=seconds + 60)
                    result["profile"] = summarise_profile((output_dir or work) / f"{scenario.name}.collapsed")
                result.update(
                    path=scenario.path.replace(clients.api_key, "KEY"), connections=scenario.connections,
                    probe_status=status, server_cpu_seconds=round(cpu, 2),
                    server_cpu_ms_per_request=round(1000 * cpu / max(result["requests"], 1), 3),
                )
                if scenario.script == "post":
                    # Filed by the server during the load (0 when it queues them; file_queue counts those).
                    result["created"] = Request.objects.count() - before_rows
                    result.update(file_queue(echo))
                    connection.close()
                if scenario.target_rps:
                    result["target_rps"] = scenario.target_rps
                    result["met"] = result["requests_per_second"] >= scenario.target_rps and not any(
                        result["errors"].values())
                if scenario.target_p95_ms:
                    result["target_p95_ms"] = scenario.target_p95_ms
                    result["met"] = result["p95_ms"] <= scenario.target_p95_ms and not any(result["errors"].values())
                results[f"load_{scenario.name}"] = result
                echo(f"  {scenario.name:<28} {result['requests_per_second']:>8,.0f} req/s  p50 {result['p50_ms']:.1f} ms"
                     f"  p95 {result['p95_ms']:.1f} ms  p99 {result['p99_ms']:.1f} ms  errors {result['errors']}"
                     f"  server CPU {result['server_cpu_ms_per_request']:.2f} ms/req")
                if result.get("filed"):
                    echo(f"  {'':<28} then filed {result['filed']:,} in {result['filing_seconds']:.1f} s "
                         f"({result['filed_per_second']:,.0f}/s, {result['filing_cpu_ms_each']:.2f} ms CPU each)")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return results


def file_queue(echo: Echo = print) -> dict[str, Any]:
    """File what the POSTs queued (``OPEN311_QUEUE``: the worker's job, done here after the
    load so it does not share the server's cores), timed: the rate the worker keeps up."""
    from linli.requests.models import Submission
    from linli.requests.queue import submissions_file

    queued = Submission.objects.filter(state=Submission.State.QUEUED).count()
    if not queued:
        return {"queued": 0}
    echo(f"  filing the {queued:,} queued submissions as the worker would …")
    started, cpu = time.perf_counter(), time.process_time()
    counts = submissions_file()
    seconds = time.perf_counter() - started
    return {"queued": queued, "filed": counts["filed"], "refused": counts["refused"],
            "filing_seconds": round(seconds, 2), "filed_per_second": round(counts["filed"] / max(seconds, 1e-9), 1),
            "filing_cpu_ms_each": round(1000 * (time.process_time() - cpu) / max(counts["filed"], 1), 3)}


def _probe(base: str, scenario: Scenario, clients: Clients, cookie: str) -> int:
    """One request before the load, so a wrong status shows at once (and is reported)."""
    headers = {"Cookie": cookie} if cookie else {}
    data = clients.bodies[0].encode() if scenario.script == "post" else None
    if data is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    request = urllib.request.Request(base + scenario.path, data=data, headers=headers,  # noqa: S310
                                     method="POST" if data is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.requests_load", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True, help="a database filled by python -m bench.requests_data")
    parser.add_argument("--seconds", type=int, default=20, help="measured seconds per scenario (default 20)")
    parser.add_argument("--warmup", type=int, default=3, help="unmeasured seconds before each (default 3)")
    parser.add_argument("--only", action="append", default=[], help="run only this scenario (repeatable)")
    parser.add_argument("--profile", action="store_true", help="sample a worker with py-spy during each scenario")
    parser.add_argument("--output-dir", type=Path, default=ROOT / "bench" / "results")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from datetime import UTC, datetime

    from bench.generate import database_label, setup_django

    args = build_parser().parse_args(argv)
    setup_django(args.database_url)
    results = run_load(seconds=args.seconds, warmup=args.warmup, only=args.only, profile=args.profile,
                       output_dir=args.output_dir)
    created = datetime.now(UTC)
    from linli.requests.models import Request

    report = {"name": "requests-load", "created_at": created.isoformat(timespec="seconds"),
              "database": database_label(), "requests_in_database": Request.objects.count(),
              "cpus": os.cpu_count(), "results": results}
    args.output_dir.mkdir(parents=True, exist_ok=True)
    path = args.output_dir / f"requests-load-{report['database']['vendor']}-{created:%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"bench: report written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
