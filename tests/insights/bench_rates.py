"""Timing the rates pages on a street-sized year of rollups (not a test; run by hand).

    LINLI_TEST_DATABASE_URL=sqlite:////tmp/rates.sqlite3 .venv/bin/python -m tests.insights.bench_rates
    LINLI_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/linli_rates .venv/bin/python -m tests.insights.bench_rates

The first run writes ~1,000,000 ``RequestRollup`` rows (a street of 10 communities with
5 grids each, 10 handlers and 2 partners per community, every category, the 365 days
up to yesterday: what a million requests a year leave behind), then signs in a street
supervisor and times each page through Django's test client (middleware included),
with the production cache (in the database, or Redis when ``LINLI_REDIS_URL`` is set):
``cold`` with an empty cache, ``warm`` as the page is read again and again. It prints
p50/p95 in milliseconds and the queries each page runs.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
from datetime import date, timedelta

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402
from django.conf import settings  # noqa: E402

django.setup()
# The production default (linli.settings): the cache lives in the database. With
# LINLI_REDIS_URL set, Redis instead.
settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "linli_cache"}}
if os.environ.get("LINLI_REDIS_URL"):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": os.environ["LINLI_REDIS_URL"]}}

from django.core.cache import cache  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from linli.accounts.models import Role  # noqa: E402
from linli.accounts.services import role_grant, user_create  # noqa: E402
from linli.insights.forms import local_today  # noqa: E402
from linli.places.models import Place, PlaceKind  # noqa: E402
from linli.places.services import place_create  # noqa: E402
from linli.requests.models import ROLLUP_COUNTERS, Category, RequestRollup  # noqa: E402
from tests.conftest import PASSWORD, login  # noqa: E402

REQUESTS_PER_YEAR = 1_000_000
COMMUNITIES, GRIDS, HANDLERS, PARTNERS = 10, 5, 10, 2
RATINGS = ["very_satisfied", "satisfied", "satisfied", "basically_satisfied", "dissatisfied", "very_dissatisfied"]


def generate(today: date) -> Place:
    district = place_create(parent=None, kind=PlaceKind.DISTRICT, name="基准区", code="bench-d")
    street = place_create(parent=district, kind=PlaceKind.STREET, name="基准街道", code="bench-s")
    categories = list(Category.objects.values_list("pk", flat=True))
    rng = random.Random(1)
    per_day = REQUESTS_PER_YEAR // 365 // COMMUNITIES
    first = today - timedelta(days=365)
    written = 0
    for ci in range(COMMUNITIES):
        community = place_create(parent=street, kind=PlaceKind.COMMUNITY, name=f"第{ci + 1}社区", code=f"bench-c{ci}")
        grids = [place_create(parent=community, kind=PlaceKind.GRID, name=f"{ci + 1}-{g + 1}网格",
                              code=f"bench-g{ci}-{g}").pk for g in range(GRIDS)]
        handlers = [900_000 + ci * 100 + h for h in range(HANDLERS)]
        partners = [900_000 + ci * 100 + 50 + p for p in range(PARTNERS)]
        rows: list[RequestRollup] = []
        for offset in range(365):
            day = first + timedelta(days=offset)
            submitted: dict[tuple[int, int], int] = {}
            closed: dict[tuple[int, int, int, int], dict[str, int]] = {}
            for _ in range(per_day):
                grid, category = rng.choice(grids), rng.choice(categories)
                submitted[grid, category] = submitted.get((grid, category), 0) + 1
                key = ((grid, category, rng.choice(handlers), 0) if rng.random() < 0.8
                       else (grid, category, 0, rng.choice(partners)))
                counts = closed.setdefault(key, dict.fromkeys(ROLLUP_COUNTERS, 0))
                if rng.random() < 0.07:
                    counts["not_dispatched"] += 1
                    continue
                counts["valid"] += 1
                counts["responded_in_time"] += rng.random() < 0.9
                late = rng.random() < 0.12
                counts["resolved_in_time"] += not late
                counts["breached"] += late
                counts["solved"] += rng.random() < 0.8
                if rng.random() < 0.7:
                    counts["rated"] += 1
                    counts[rng.choice(RATINGS)] += 1
                counts["reopened"] += rng.random() < 0.02
            rows += [RequestRollup(community_id=community.pk, community_path=community.path, grid_id=g,
                                   category_id=c, day=day, submitted=n) for (g, c), n in submitted.items()]
            rows += [RequestRollup(community_id=community.pk, community_path=community.path, grid_id=g,
                                   category_id=c, handler_id=h, organisation_id=o, day=day, **counts)
                     for (g, c, h, o), counts in closed.items()]
            if len(rows) > 20_000:
                with transaction.atomic():
                    RequestRollup.objects.bulk_create(rows, batch_size=2000)
                written += len(rows)
                rows = []
        with transaction.atomic():
            RequestRollup.objects.bulk_create(rows, batch_size=2000)
        written += len(rows)
        print(f"community {ci + 1}/{COMMUNITIES}: {written:,} rollup rows", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return street


def timed(client: Client, url: str, params: dict[str, str], runs: int, *,
          cold: bool) -> tuple[list[float], list[float], int]:
    """Wall-clock and CPU milliseconds of each run (on a shared machine the CPU time of
    this process says more than the wall clock), and the queries of the last run."""
    times, cpu = [], []
    queries = 0
    for _ in range(runs):
        if cold:
            cache.clear()
        with CaptureQueriesContext(connection) as ctx:
            started, started_cpu = time.perf_counter(), time.process_time()
            response = client.get(url, params)
            times.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
        assert response.status_code == 200, response.status_code
        queries = len(ctx.captured_queries)
    return times, cpu, queries


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 2 else values[0]


def main() -> None:
    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    today = local_today()
    # An existing street can be timed instead: LINLI_BENCH_STREET=<its code>.
    street = Place.objects.filter(code=os.environ.get("LINLI_BENCH_STREET", "bench-s")).first() or generate(today)
    print(f"{RequestRollup.objects.filter(community_path__startswith=street.path).count():,} rollup rows in "
          f"{street.name}", flush=True)
    user = user_create(username=f"bench-{time.time_ns()}", password=PASSWORD)
    role_grant(user=user, role=Role.STREET_SUPERVISOR, place=street)
    client = login(Client(), user)
    this_month, this_year = today.strftime("%Y-%m"), str(today.year)
    pages = [
        ("dashboard, this month (trend: 12 months)", "/insights/rates/", {"period": this_month}),
        ("dashboard, this year", "/insights/rates/", {"period": this_year}),
        ("dashboard, a community, this month", "/insights/rates/",
         {"period": this_month, "place": str(Place.objects.filter(parent=street).order_by("path")[0].pk)}),
        ("ranking, this month", "/insights/ranking/", {"period": this_month}),
        ("API rates, this month", "/api/v1/insights/rates", {"period": this_month}),
    ]
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    print(f"{'page':42} {'cold p50':>9} {'cold p95':>9} {'warm p50':>9} {'warm p95':>9} {'warm cpu p95':>12} "
          f"{'queries':>8}")
    for label, url, params in pages:
        cold, _cpu, queries_cold = timed(client, url, params, 3, cold=True)
        warm, warm_cpu, queries_warm = timed(client, url, params, runs, cold=False)
        print(f"{label:42} {statistics.median(cold):9.0f} {p95(cold):9.0f} {statistics.median(warm):9.1f} "
              f"{p95(warm):9.1f} {p95(warm_cpu):12.1f} {queries_cold:>4}/{queries_warm:<3}", flush=True)


if __name__ == "__main__":
    main()
