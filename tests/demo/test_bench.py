"""The benchmark harness runs (its numbers are not checked: benchmarks are not tests)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from bench.__main__ import main as bench_main

ROOT = Path(__file__).resolve().parents[2]


def test_help_lists_the_scales() -> None:
    done = subprocess.run([sys.executable, "-m", "bench", "--help"], cwd=ROOT, capture_output=True, text=True,
                          check=False, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "--scale" in done.stdout and "city" in done.stdout and "--database-url" in done.stdout
    done = subprocess.run([sys.executable, "-m", "bench.generate", "--help"], cwd=ROOT, capture_output=True,
                          text=True, check=False, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "district" in done.stdout


@pytest.mark.django_db
def test_a_tiny_run_writes_a_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_main(["--scale", "tiny", "--runs", "2", "--page-runs", "1", "--audit-events", "5", "--import-rows", "40",
                       "--vote-owners", "200",
                       # Casting in the test's own thread: other connections would not see
                       # the test's uncommitted rows (on PostgreSQL they would wait on its locks).
                       "--vote-plans", "inline:1", "--name", "smoke", "--output-dir", str(tmp_path)]) == 0
    [report_file] = tmp_path.glob("smoke-*.json")
    report = json.loads(report_file.read_text(encoding="utf-8"))
    assert report["scale"] == "tiny"
    results = report["results"]
    assert results["generation"]["counts"]["households"] == 64
    for name in ("place_descendants_count_community", "place_descendants_count_street",
                 "place_descendants_households_street", "resident_search_by_phone"):
        assert {"p50_ms", "p95_ms"} <= set(results[name]), name
    assert results["resident_search_by_phone"]["misses"] == 0
    assert results["people_import"]["rows"] == 40
    assert results["people_import"]["reported_errors"] == results["people_import"]["bad_rows"] == 0
    assert results["people_import"]["created"] == 40
    for name in ("people_list_page_staff", "api_people_residents_staff", "people_list_page_street",
                 "api_people_residents_street"):
        assert results[name]["status"] == 200, name
        assert results[name]["queries"] > 0
    assert results["audit_append"]["events"] == 5
    assert results["audit_verify"]["problems"] == 0
    assert results["audit_verify"]["events"] == results["audit_verify"]["chain_length"]
    cast = results["vote_cast_secret_inline_1"]
    assert cast["refused"] == 0 and cast["ballots"] == cast["stored"] > 0
    assert results["vote_cast_named_inline_1"]["ballots"] == cast["ballots"]
    assert results["vote_tally_owners"]["owners"] == 200 and results["pls_fit_ecsi_6_blocks_250_rows"]["p50_ms"] > 0
    assert "report written" in capsys.readouterr().out


def test_a_database_with_places_is_refused(tmp_path: Path, db: None) -> None:
    from linli.places.models import PlaceKind
    from linli.places.services import place_create

    place_create(parent=None, kind=PlaceKind.DISTRICT, name="朝阳区", code="real")
    with pytest.raises(SystemExit, match="empty database"):
        bench_main(["--scale", "tiny", "--output-dir", str(tmp_path)])
    assert not list(tmp_path.iterdir())
