"""Run linli's benchmarks and write a JSON report.

    python -m bench                      # street scale on a temporary SQLite file
    python -m bench --scale district     # larger
    LINLI_DATABASE_URL=postgres://postgres@127.0.0.1:5432/linli_bench python -m bench

Results go to bench/results/<name>-<timestamp>.json (git-ignored). See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.generate import (
    SCALE_CHOICES,
    database_label,
    require_empty_database,
    run_generation,
    setup_django,
)
from bench.requests_data import DEFAULT_REQUESTS, generate_requests
from bench.requests_load import run_load

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=SCALE_CHOICES, default="street",
                        help="data to generate first (default: street; city is 5,000 communities and takes long)")
    parser.add_argument("--database-url", help="an EMPTY database to use (default: LINLI_DATABASE_URL, "
                                               "else a temporary SQLite file removed afterwards)")
    parser.add_argument("--runs", type=int, default=50, help="timed runs per query benchmark (default 50)")
    parser.add_argument("--page-runs", type=int, default=20, help="timed runs per page/API benchmark (default 20)")
    parser.add_argument("--audit-events", type=int, default=2000, help="events appended for the audit benchmark")
    parser.add_argument("--vote-owners", type=int, default=100_000,
                        help="owners on the roll of the tally benchmark (default 100,000)")
    parser.add_argument("--vote-plans", default=None,
                        help="casting runs as mode:workers, comma-separated (default: threads:1,threads:4,"
                             "processes:2,processes:4)")
    parser.add_argument("--import-rows", type=int, default=10_000, help="rows in the import benchmark's workbook")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--batch-size", type=int, default=1000, help="rows per INSERT batch when generating")
    parser.add_argument("--requests", type=int, default=None,
                        help="residents' requests to generate after the people benchmarks (default: 1,000,000 at "
                             "street scale and above, none below; 0 skips them and the load tests)")
    parser.add_argument("--request-days", type=int, default=365, help="the requests span this many days before today")
    parser.add_argument("--load-seconds", type=int, default=20,
                        help="measured seconds per load test on the production server (default 20; 0 skips them)")
    parser.add_argument("--profile-load", action="store_true", help="sample a server worker with py-spy per load test")
    parser.add_argument("--name", help="report name (default: the scale)")
    parser.add_argument("--output-dir", type=Path, default=RESULTS_DIR, help="where the JSON report goes")
    return parser


def _line(name: str, result: dict[str, Any]) -> str:
    if "requests_per_second" in result and "connections" in result:
        verdict = "" if "met" not in result else ("  target met" if result["met"] else "  TARGET MISSED")
        return (f"  {name:<48} {result['requests_per_second']:>9,.0f} req/s  p95 {result['p95_ms']:.1f} ms  "
                f"errors {sum(result['errors'].values())}{verdict}")
    if "p50_ms" in result and "p95_ms" in result:
        extra = f"  status {result['status']}, {result['queries']} queries" if "status" in result else ""
        return f"  {name:<48} p50 {result['p50_ms']:>9.2f} ms   p95 {result['p95_ms']:>9.2f} ms{extra}"
    if "requests_per_second" in result and "rollups" in result:
        return (f"  {name:<48} {result['requests']:>12,} requests ({result['requests_per_second']:,.0f}/s, "
                f"{result['rows_per_second']:,.0f} rows/s, {result['seconds']:.1f} s)")
    if "events_per_second" in result:
        return f"  {name:<48} {result['events_per_second']:>12,.0f} events/s"
    if "residents_per_second" in result:
        return (f"  {name:<48} {result['residents_per_second']:>12,.0f} residents/s "
                f"({result['rows_per_second']:,.0f} rows/s, {result['seconds']:.1f} s)")
    return f"  {name:<48} {result}"


def run(args: argparse.Namespace) -> dict[str, Any]:
    from bench import benchmarks

    require_empty_database()
    results: dict[str, Any] = {}
    generated, results["generation"] = run_generation(
        scale_name=args.scale, seed=args.seed, batch_size=args.batch_size, echo=print
    )
    print("bench: place tree, phone search, pages, audit …")
    results.update(benchmarks.place_descendants(generated, args.runs))
    results.update(benchmarks.phone_search(generated, args.runs))
    results.update(benchmarks.people_pages(generated, args.page_runs))
    results.update(benchmarks.audit_rates(args.audit_events))
    print(f"bench: importing a {args.import_rows:,}-row workbook …")
    results.update(benchmarks.people_import(generated, args.import_rows))
    print("bench: the satisfaction model (PLS fit and a 1,000-resample bootstrap) …")
    from bench import pls_bench

    results.update(pls_bench.run(runs=3))
    print(f"bench: votes — a tally of {args.vote_owners:,} owners, and casting …")
    from bench.votes_bench import DEFAULT_PLANS, parse_plans, run_votes

    results.update(run_votes(owners=args.vote_owners, runs=3, seed=args.seed,
                             plans=parse_plans(args.vote_plans or DEFAULT_PLANS)))
    count = args.requests
    if count is None:
        count = DEFAULT_REQUESTS if args.scale in ("street", "district", "city") else 0
    if count > 0:
        results["requests_generation"] = generate_requests(generated, count=count, seed=args.seed,
                                                           days=args.request_days, echo=print)
        if args.load_seconds > 0:
            print("bench: load tests on the production server …")
            results.update(run_load(seconds=args.load_seconds, profile=args.profile_load,
                                    output_dir=args.output_dir, echo=print))
    return results


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    tmpdir = setup_django(args.database_url)
    try:
        import django

        started = time.perf_counter()
        results = run(args)
        created = datetime.now(UTC)
        report = {
            "name": args.name or args.scale,
            "created_at": created.isoformat(timespec="seconds"),
            "scale": args.scale,
            "seed": args.seed,
            "seconds": round(time.perf_counter() - started, 3),
            "database": database_label(),
            "environment": {
                "python": platform.python_version(), "django": django.get_version(),
                "platform": platform.platform(terse=True), "cpus": os.cpu_count(),
            },
            "results": results,
        }
        args.output_dir.mkdir(parents=True, exist_ok=True)
        path = args.output_dir / f"{report['name']}-{created:%Y%m%dT%H%M%SZ}.json"
        path.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        print(f"bench: {report['name']} on {report['database']['vendor']} in {report['seconds']:.1f} s")
        for name, result in results.items():
            print(_line(name, result))
        print(f"bench: report written to {path.name} in {args.output_dir.name}/")
    finally:
        if tmpdir:
            shutil.rmtree(tmpdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
