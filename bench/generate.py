"""Synthetic but realistic data at community, street, district or city scale.

    python -m bench.generate --scale district [--database-url postgres://…/linli_bench]

It reuses the demo's generator (``linli.demo.generator``), which writes one
community per transaction and keeps only that community in memory, so the city
scale (5,000 communities, about five million households) streams in bounded memory.
Without a database URL (flag or ``LINLI_DATABASE_URL``) it writes to a temporary
SQLite file that is removed afterwards, which measures generation alone.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

SCALE_CHOICES = ["tiny", "community", "street", "district", "city"]
# Keys for a benchmark database only; real deployments set their own.
_BENCH_SECRET_KEY = "linli-bench-secret-key-not-for-production-" + "0" * 24
_BENCH_FIELD_KEY = "bGlubGktYmVuY2gtZmllbGQta2V5LTMyLWJ5dGVzISE"

Echo = Callable[[str], None]


def setup_django(database_url: str | None) -> str | None:
    """Point Django at the benchmark database, migrate it, and return the temporary
    directory made for it (``None`` when the caller chose the database, or when Django
    is already set up, as inside the test suite)."""
    from django.apps import apps

    if apps.ready:
        return None
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linli.settings")
    os.environ.setdefault("LINLI_SECRET_KEY", _BENCH_SECRET_KEY)
    os.environ.setdefault("LINLI_FIELD_KEY", _BENCH_FIELD_KEY)
    os.environ.setdefault("LINLI_TASK_BACKEND", "immediate")
    os.environ.setdefault("LINLI_LOG_LEVEL", "WARNING")
    tmpdir = None
    if database_url:
        os.environ["LINLI_DATABASE_URL"] = database_url
    elif not os.environ.get("LINLI_DATABASE_URL"):
        tmpdir = tempfile.mkdtemp(prefix="linli-bench-")
        os.environ["LINLI_DATABASE_URL"] = f"sqlite:///{os.path.join(tmpdir, 'bench.sqlite3')}"
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    call_command("createcachetable", verbosity=0)
    return tmpdir


def require_empty_database() -> None:
    from linli.places.models import Place

    if Place.objects.exists():
        raise SystemExit(
            "bench: this database already holds places; the benchmarks write synthetic data, "
            "so point --database-url (or LINLI_DATABASE_URL) at an empty database."
        )


def database_label() -> dict[str, Any]:
    import sqlite3

    from django.db import connection

    connection.ensure_connection()
    if connection.vendor == "postgresql":
        version = str(getattr(connection, "pg_version", ""))
    elif connection.vendor == "sqlite":
        version = sqlite3.sqlite_version
    else:
        version = ""
    return {"vendor": connection.vendor, "version": version}


def run_generation(*, scale_name: str, seed: int, batch_size: int, echo: Echo) -> tuple[Any, dict[str, Any]]:
    """Generate ``scale_name`` worth of data; return the result and its throughput."""
    from django.db import connection

    from linli.demo.generator import SCALES, generate

    scale = SCALES[scale_name]
    echo(f"bench: generating the {scale.name} scale: {scale.communities:,} communities, "
         f"{scale.households:,} households (about {round(scale.households * 2.34):,} residents)")
    started = time.perf_counter()
    last = [started]

    def progress(done: int, total: int, counts: Counter[str]) -> None:
        now = time.perf_counter()
        if now - last[0] >= 5 or done == total:
            last[0] = now
            rate = counts["residents"] / max(now - started, 1e-9)
            echo(f"  {done:,}/{total:,} communities, {counts['residents']:,} residents ({rate:,.0f} residents/s)")

    generated = generate(scale=scale, seed=seed, prefix="bench", batch_size=batch_size, progress=progress)
    seconds = generated.seconds
    # Fresh planner statistics, as autovacuum (PostgreSQL) or an operator (SQLite) would give a loaded database.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    rows = sum(generated.counts.values())
    return generated, {
        "scale": scale.name,
        "seconds": round(seconds, 3),
        "counts": dict(sorted(generated.counts.items())),
        "rows_per_second": round(rows / seconds, 1),
        "households_per_second": round(generated.counts["households"] / seconds, 1),
        "residents_per_second": round(generated.counts["residents"] / seconds, 1),
    }


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.generate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=SCALE_CHOICES, default="street", help="how much to generate (default: street)")
    parser.add_argument("--database-url", help="target database (default: LINLI_DATABASE_URL, else a temporary SQLite file)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--batch-size", type=int, default=1000, help="rows per INSERT batch")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    tmpdir = setup_django(args.database_url)
    try:
        require_empty_database()
        _, stats = run_generation(scale_name=args.scale, seed=args.seed, batch_size=args.batch_size, echo=print)
        print(f"bench: {stats['counts'].get('residents', 0):,} residents in {stats['seconds']:.1f} s "
              f"({stats['rows_per_second']:,.0f} rows/s)")
    finally:
        if tmpdir:
            shutil.rmtree(tmpdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
