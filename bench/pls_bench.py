"""Time the satisfaction model: a PLS path model fit and its 1,000-resample bootstrap.

    python -m bench.pls_bench                 # prints the timings, writes bench/results/pls-<time>.json
    python -m bench.pls_bench --runs 5 --resamples 1000

The target (issue 5) is a 1,000-resample bootstrap of a 6-block model on 250
respondents in at most 10 s on 2 cores. The data are synthetic, drawn from the ECSI
mobile-phone model's shape (6 blocks, 27 items on a 0–10 scale, 10 paths) and from
the community model of SATISFACTION-MODEL.md (12 blocks, 1,000 respondents). No
database is needed; ``run()`` can also be called from ``python -m bench``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

RESULTS_DIR = Path(__file__).resolve().parent / "results"

ECSI_BLOCKS = {"IMAG": 5, "EXPE": 5, "QUAL": 5, "VAL": 4, "SAT": 4, "LOY": 4}
ECSI_PATHS = [("IMAG", "EXPE"), ("IMAG", "SAT"), ("IMAG", "LOY"), ("EXPE", "QUAL"), ("EXPE", "VAL"),
              ("EXPE", "SAT"), ("QUAL", "VAL"), ("QUAL", "SAT"), ("VAL", "SAT"), ("SAT", "LOY")]
COMMUNITY_DRIVERS = ["COMM", "RESP", "DEMO", "SERV", "ENV", "ACT", "CARE", "STAFF", "OPEN"]
COMMUNITY_PATHS = [(d, "SAT") for d in COMMUNITY_DRIVERS] + [("SAT", "TRUST"), ("SAT", "PART"), ("TRUST", "PART")]


def _ensure_django() -> None:
    """pls.py translates its messages; outside ``python -m bench`` settings may be unset."""
    from django.conf import settings

    if not settings.configured:
        settings.configure(USE_I18N=False)


def _simulate(blocks: dict[str, int], paths: list[tuple[str, str]], n: int, seed: int) -> tuple[Any, Any]:
    """Answers on a 0–10 scale drawn from a recursive path model with loadings ≈ 0.8."""
    from linli.insights.pls import Table, model_from_mapping

    rng = np.random.default_rng(seed)
    latent: dict[str, np.ndarray] = {}
    for name in blocks:  # blocks are listed in causal order
        causes = [source for source, target in paths if target == name]
        signal = sum((0.5 / len(causes)) ** 0.5 * latent[c] for c in causes) if causes else 0.0
        latent[name] = signal + rng.normal(scale=0.8, size=n)
        latent[name] /= latent[name].std()
    columns, values = [], []
    for name, count in blocks.items():
        for j in range(count):
            answer = 7 + 1.5 * (0.8 * latent[name] + 0.6 * rng.normal(size=n))
            columns.append(f"{name.lower()}{j + 1}")
            values.append(np.clip(np.round(answer), 0, 10))
    table = Table(columns=tuple(columns), values=np.column_stack(values))
    model = model_from_mapping({name: ([f"{name.lower()}{j + 1}" for j in range(count)], "A")
                                for name, count in blocks.items()}, paths, scale=(0, 10))
    return model, table


def _timed(label: str, model: Any, table: Any, resamples: int, runs: int, seed: int) -> dict[str, Any]:
    from linli.insights.pls import fit

    seconds = []
    result = None
    for run in range(runs):
        started = time.perf_counter()
        result = fit(model, table, bootstrap=resamples, seed=seed + run)
        seconds.append(time.perf_counter() - started)
    assert result is not None
    return {
        "p50_ms": round(statistics.median(seconds) * 1000, 1),
        "p95_ms": round(max(seconds) * 1000, 1),
        "runs": runs,
        "resamples": resamples,
        "rows": table.values.shape[0],
        "blocks": len(model.blocks),
        "items": len(model.items),
        "redrawn": result.bootstrap.redrawn if result.bootstrap else 0,
        "within_target": resamples == 0 or max(seconds) <= 10.0 * resamples / 1000,
        "label": label,
    }


def run(runs: int = 3, resamples: int = 1000, seed: int = 2026) -> dict[str, dict[str, Any]]:
    """The PLS timings, keyed like the other benchmarks (p50/p95 in ms)."""
    _ensure_django()
    ecsi = _simulate(ECSI_BLOCKS, ECSI_PATHS, 250, seed)
    community_blocks = {name: 3 for name in COMMUNITY_DRIVERS} | {"SAT": 3, "TRUST": 2, "PART": 2}
    community = _simulate(community_blocks, COMMUNITY_PATHS, 1000, seed)
    return {
        "pls_fit_ecsi_6_blocks_250_rows": _timed("fit", *ecsi, 0, max(runs, 5), seed),
        f"pls_bootstrap_{resamples}_ecsi_6_blocks_250_rows": _timed("bootstrap", *ecsi, resamples, runs, seed),
        f"pls_bootstrap_{resamples}_community_12_blocks_1000_rows":
            _timed("bootstrap", *community, resamples, runs, seed),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pls_bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="timed bootstrap runs per model (default 3)")
    parser.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples (default 1000)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--output-dir", type=Path, default=RESULTS_DIR, help="where the JSON report goes")
    args = parser.parse_args(argv)
    results = run(runs=args.runs, resamples=args.resamples, seed=args.seed)
    created = datetime.now(UTC)
    report = {
        "name": "pls", "created_at": created.isoformat(timespec="seconds"), "seed": args.seed,
        "environment": {"python": platform.python_version(), "numpy": np.__version__,
                        "platform": platform.platform(terse=True), "cpus": os.cpu_count()},
        "results": results,
    }
    args.output_dir.mkdir(parents=True, exist_ok=True)
    path = args.output_dir / f"pls-{created:%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    for name, result in results.items():
        verdict = "" if result["resamples"] == 0 else ("  (target ≤ 10 s: met)" if result["within_target"]
                                                        else "  (target ≤ 10 s: MISSED)")
        print(f"  {name:<52} p50 {result['p50_ms']:>9.1f} ms   max {result['p95_ms']:>9.1f} ms{verdict}")
    print(f"bench: report written to {path.name} in {args.output_dir.name}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
