"""Residents' requests at street scale for the benchmarks: a million and more.

    python -m bench.requests_data --requests 1000000 [--database-url postgres://…/linli_bench_req]

On top of the street the place generator writes, the demo's staff and partners are
made, and then ``--requests`` requests are lived by the demo's request model
(``linli.demo.requests``: every channel, category and handler, deadlines on the working
calendar, ratings that follow the handling) and written in batches straight to the
driver (``COPY`` on PostgreSQL, ``executemany`` on SQLite; ``linli.demo.request_rows``),
one transaction per batch. A million requests over a year at street scale is a busy
street (about 2,700 a day). The rollups are then rebuilt from them
(``linli.requests.rollup_rebuild``) and the planner's statistics refreshed.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

Echo = Callable[[str], None]
DEFAULT_REQUESTS = 1_000_000


def _rate(count: float, seconds: float) -> float:
    return round(count / max(seconds, 1e-9), 1)


def generate_requests(generated: Any, *, count: int, seed: int, days: int = 365, batch: int = 20_000,
                      echo: Echo = print) -> dict[str, Any]:
    """Write ``count`` requests over the ``days`` before now on ``generated``'s communities."""
    from django.db import connection, transaction
    from django.utils import timezone

    from linli.demo.generator import Identities, seeded_rng
    from linli.demo.request_rows import RowSink, next_id, sequences_reset
    from linli.demo.requests import everyone_for, partners_create, requests_plan
    from linli.demo.staff import create_accounts, plan_residents, plan_staff
    from linli.requests.models import Request, RequestEvent
    from linli.requests.rollup_rebuild import rollups_rebuild

    started = time.perf_counter()
    now = int(timezone.now().timestamp())
    with transaction.atomic():
        plans = plan_staff(generated=generated, ids=Identities(seed), rng=seeded_rng(seed, "staff"))
        plans += plan_residents(generated=generated)
        users, _skipped = create_accounts(plans=plans, seed=seed)
        partners = partners_create(community_ids=generated.community_ids, seed=seed)
    everyone = everyone_for(generated.community_ids, seed=seed, now=now, days=days)
    cast_seconds = time.perf_counter() - started
    echo(f"bench: {len(users)} staff and resident accounts, {len(partners)} property managers; "
         f"living {count:,} requests over {days} days …")

    sink = RowSink(reuse_sealed=True)
    written_at = time.perf_counter()
    last_echo = written_at
    batches = requests_plan(everyone, count, seed=seed, now=now, days=days, first_id=next_id(Request), batch=batch)
    with indexes_deferred([Request, RequestEvent], echo=echo):
        for lived in batches:
            with transaction.atomic():
                sink(lived)
            if time.perf_counter() - last_echo >= 10:
                last_echo = time.perf_counter()
                elapsed = last_echo - written_at
                echo(f"  {sink.counts['requests']:,} requests, {sink.counts['events']:,} events "
                     f"({_rate(sink.counts['requests'], elapsed):,.0f} requests/s)")
    sequences_reset()
    write_seconds = time.perf_counter() - written_at
    counts = dict(sink.counts)
    rows = counts["requests"] + counts["events"] + counts["followers"]
    echo(f"bench: {counts['requests']:,} requests and {counts['events']:,} events in {write_seconds:.1f} s; "
         "rebuilding the rollups …")

    rebuilt = rollups_rebuild()
    analyzed_at = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    analyze_seconds = time.perf_counter() - analyzed_at
    return {
        "requests": counts["requests"],
        "events": counts["events"],
        "followers": counts["followers"],
        "open": counts["open"],
        "days": days,
        "accounts": len(users),
        "organisations": len(partners),
        "seconds": round(time.perf_counter() - started, 3),
        "setup_seconds": round(cast_seconds, 3),
        "live_and_write_seconds": round(write_seconds, 3),
        "write_only_seconds": round(sink.seconds, 3),
        "requests_per_second": _rate(counts["requests"], write_seconds),
        "rows_per_second": _rate(rows, write_seconds),
        "rollups": {"rows": rebuilt.rows, "levels": rebuilt.levels, "replayed": rebuilt.replayed, "seconds": round(rebuilt.seconds, 3),
                    "requests_per_second": _rate(rebuilt.requests, rebuilt.seconds)},
        "analyze_seconds": round(analyze_seconds, 3),
        "table_bytes": table_bytes(),
    }


@contextmanager
def indexes_deferred(models: Sequence[Any], echo: Echo = print) -> Iterator[None]:
    """Drop the secondary indexes of ``models``' tables while they load and build them
    again afterwards: building an index from the finished table (a sort) costs a
    fraction of keeping it current row by row. Primary keys, unique and foreign-key
    constraints stay, so the data is checked as it goes in."""
    from django.db import connection

    saved: list[tuple[str, str]] = []
    with connection.cursor() as cursor:
        for model in models:
            table = model._meta.db_table
            if connection.vendor == "postgresql":
                cursor.execute(
                    "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
                    "WHERE x.indrelid = %s::regclass AND NOT x.indisprimary "
                    "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)", [table])
            else:
                cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s "
                               "AND sql IS NOT NULL", [table])
            saved += [(str(name), str(sql)) for name, sql in cursor.fetchall()]
        for name, _sql in saved:
            cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
    try:
        yield
    finally:
        started = time.perf_counter()
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # Check the deferred foreign keys now (inside a caller's transaction they
                # would still be pending, and PostgreSQL builds no index over pending checks).
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute("SET maintenance_work_mem = '512MB'")
            for _name, sql in saved:
                cursor.execute(sql)
        echo(f"bench: {len(saved)} indexes built again in {time.perf_counter() - started:.1f} s")


def table_bytes() -> dict[str, int]:
    """On-disk size of the requests tables and their indexes (PostgreSQL: relation sizes;
    SQLite: the whole file, as the ``dbstat`` table is not always compiled in)."""
    from django.db import connection

    from linli.requests.models import ROLLUP_LEVELS, Request, RequestEvent

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            out = {}
            for model in (Request, RequestEvent, *ROLLUP_LEVELS):
                cursor.execute("SELECT pg_total_relation_size(%s)", [model._meta.db_table])
                out[model._meta.db_table] = int(cursor.fetchone()[0])
            return out
        cursor.execute("PRAGMA page_count")
        pages = int(cursor.fetchone()[0])
        cursor.execute("PRAGMA page_size")
        return {"database_file": pages * int(cursor.fetchone()[0])}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.requests_data", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", default="street", help="places and people first (default: street)")
    parser.add_argument("--requests", type=int, default=DEFAULT_REQUESTS, help="how many (default 1,000,000)")
    parser.add_argument("--days", type=int, default=365, help="spread over this many days before today")
    parser.add_argument("--database-url", help="an EMPTY database (default: LINLI_DATABASE_URL, else a temporary "
                                               "SQLite file removed afterwards)")
    parser.add_argument("--seed", type=int, default=2026)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    import shutil

    from bench.generate import require_empty_database, run_generation, setup_django

    args = build_parser().parse_args(argv)
    tmpdir = setup_django(args.database_url)
    try:
        require_empty_database()
        generated, _stats = run_generation(scale_name=args.scale, seed=args.seed, batch_size=1000, echo=print)
        result = generate_requests(generated, count=args.requests, seed=args.seed, days=args.days)
        print(f"bench: {result['requests']:,} requests in {result['seconds']:.1f} s "
              f"({result['requests_per_second']:,.0f} requests/s, {result['rows_per_second']:,.0f} rows/s); "
              f"rollups {result['rollups']['rows']:,} rows in {result['rollups']['seconds']:.1f} s")
    finally:
        if tmpdir:
            shutil.rmtree(tmpdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
