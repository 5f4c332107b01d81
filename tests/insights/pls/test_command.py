"""`linli pls`: the JSON it prints, and a one-line error with exit status 2 for bad input."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from linli.insights import pls
from linli.insights.pls_io import model_to_dict
from tests.insights.pls.conftest import satisfaction_model
from tests.insights.pls.reference import DATA

SATISFACTION = DATA / "satisfaction.csv"


def _model_file(tmp_path: Path, spec: dict[str, Any] | str, name: str = "model.json") -> Path:
    path = tmp_path / name
    path.write_text(spec if isinstance(spec, str) else json.dumps(spec), encoding="utf-8")
    return path


def _spec(**changes: Any) -> dict[str, Any]:
    spec = model_to_dict(satisfaction_model(scale=(0, 10)))
    spec.update(changes)
    return spec


def _run(*args: str) -> dict[str, Any]:
    out, err = io.StringIO(), io.StringIO()
    call_command("pls", *args, stdout=out, stderr=err)
    return json.loads(out.getvalue())


def _fails(*args: str) -> str:
    with pytest.raises(CommandError) as info:
        call_command("pls", *args, stdout=io.StringIO(), stderr=io.StringIO())
    assert info.value.returncode == 2
    message = str(info.value)
    assert "\n" not in message
    return message


def _rows() -> list[list[str]]:
    with SATISFACTION.open(newline="") as stream:
        return list(csv.reader(stream))


def _data_file(tmp_path: Path, edit: Callable[[list[list[str]]], list[list[str]]] | None = None) -> Path:
    rows = _rows()
    if edit:
        rows = edit(rows)
    path = tmp_path / "data.csv"
    with path.open("w", newline="", encoding="utf-8") as stream:
        csv.writer(stream).writerows(rows)
    return path


def _set(rows: list[list[str]], line: int, column: str, value: str) -> list[list[str]]:
    """Set the cell of a file line (1 = header) in a named column."""
    rows[line - 1][rows[0].index(column)] = value
    return rows


# ------------------------------------------------------------------------ output


def test_prints_the_issue_json_shape(tmp_path: Path, satisfaction: pls.Table) -> None:
    out = _run("--data", str(SATISFACTION), "--model", str(_model_file(tmp_path, _spec())), "--format", "json")
    expected = pls.fit(satisfaction_model(scale=(0, 10)), satisfaction)
    assert out["paths"] == pytest.approx({f"{s}->{t}": v for (s, t), v in expected.paths.items()})
    assert out["r2"] == pytest.approx(expected.r2)
    assert set(out["outer"]) == set(expected.model.items)
    assert out["outer"]["sat1"]["weight"] == pytest.approx(expected.weights["sat1"])
    assert out["outer"]["sat1"]["loading"] == pytest.approx(expected.loadings["sat1"])
    assert out["index"] == pytest.approx(expected.index)
    assert all(0 < v < 100 for v in out["index"].values())
    assert out["gof"] == pytest.approx(expected.gof)
    assert out["bootstrap"] is None
    assert out["total_effects"]["IMAG->LOY"]["total"] == pytest.approx(expected.effects[("IMAG", "LOY")].total)
    assert out["reliability"]["SAT"]["alpha"] == pytest.approx(expected.reliability["SAT"].alpha)
    assert out["model"]["rows"] == 250


def test_bootstrap_output_is_seeded(tmp_path: Path) -> None:
    model = str(_model_file(tmp_path, _spec()))
    args = ("--data", str(SATISFACTION), "--model", model, "--bootstrap", "30")
    first = _run(*args, "--seed", "7")
    assert first == _run(*args, "--seed", "7")
    assert first["bootstrap"]["paths"] != _run(*args, "--seed", "8")["bootstrap"]["paths"]
    boot = first["bootstrap"]
    assert boot["resamples"] == 30 and boot["seed"] == 7
    interval = boot["paths"]["VAL->SAT"]
    assert interval["lower"] <= interval["original"] <= interval["upper"]
    assert set(boot["outer"]["sat1"]) == {"weight", "loading"}
    assert set(boot["index"]) == {"IMAG", "EXPE", "QUAL", "VAL", "SAT", "LOY"}
    assert set(boot["r2"]) == set(first["r2"])


def test_reads_xlsx_and_gb18030(tmp_path: Path) -> None:
    rows = _rows()
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append([float(c) if c.isdigit() else c for c in row])
    book.save(tmp_path / "data.xlsx")
    gb = tmp_path / "gb.csv"
    gb.write_bytes("\n".join(",".join(row) for row in [[*rows[0], "备注"], *[[*r, "很好"] for r in rows[1:]]])
                  .encode("gb18030"))
    model = str(_model_file(tmp_path, _spec()))
    reference = _run("--data", str(SATISFACTION), "--model", model)
    assert _run("--data", str(tmp_path / "data.xlsx"), "--model", model)["paths"] == pytest.approx(reference["paths"])
    assert _run("--data", str(gb), "--model", model)["paths"] == pytest.approx(reference["paths"])


def test_missing_cells_may_say_na_only_in_unused_columns(tmp_path: Path) -> None:
    """Columns the model does not use are never parsed (here: gender, and a text column)."""
    data = _data_file(tmp_path, lambda rows: _set(rows, 5, "gender", "NA"))
    assert _run("--data", str(data), "--model", str(_model_file(tmp_path, _spec())))["gof"]


# ------------------------------------------------------------------------ errors


def test_missing_values_name_column_and_rows(tmp_path: Path) -> None:
    data = _data_file(tmp_path, lambda rows: _set(_set(rows, 6, "expe3", ""), 9, "expe3", "NA"))
    message = _fails("--data", str(data), "--model", str(_model_file(tmp_path, _spec())))
    assert "expe3" in message and "6" in message and "9" in message


def test_constant_column(tmp_path: Path) -> None:
    def constant(rows: list[list[str]]) -> list[list[str]]:
        for line in range(2, len(rows) + 1):
            _set(rows, line, "qual2", "7")
        return rows

    message = _fails("--data", str(_data_file(tmp_path, constant)), "--model", str(_model_file(tmp_path, _spec())))
    assert "qual2" in message and "7" in message


def test_non_numeric_cell_names_row_column_and_value(tmp_path: Path) -> None:
    data = _data_file(tmp_path, lambda rows: _set(rows, 4, "val2", "很满意"))
    message = _fails("--data", str(data), "--model", str(_model_file(tmp_path, _spec())))
    assert "4" in message and "val2" in message and "很满意" in message


@pytest.mark.parametrize("value", ["inf", "nan?", "1,5", "TRUE"])
def test_other_non_numbers(tmp_path: Path, value: str) -> None:
    data = _data_file(tmp_path, lambda rows: _set(rows, 3, "loy1", value))
    assert value in _fails("--data", str(data), "--model", str(_model_file(tmp_path, _spec())))


def test_fewer_rows_than_items(tmp_path: Path) -> None:
    data = _data_file(tmp_path, lambda rows: rows[:21])  # 20 answers for 27 items
    message = _fails("--data", str(data), "--model", str(_model_file(tmp_path, _spec())))
    assert "20" in message and "27" in message


def test_path_cycle_is_named(tmp_path: Path) -> None:
    spec = _spec(paths=[["IMAG", "EXPE"], ["EXPE", "QUAL"], ["QUAL", "VAL"], ["VAL", "SAT"],
                        ["SAT", "LOY"], ["QUAL", "IMAG"]])
    message = _fails("--data", str(SATISFACTION), "--model", str(_model_file(tmp_path, spec)))
    assert "IMAG → EXPE → QUAL → IMAG" in message


def test_unknown_columns_are_listed(tmp_path: Path) -> None:
    spec = _spec()
    spec["blocks"]["SAT"]["items"] = ["sat1", "sat2", "overall", "sat9"]
    message = _fails("--data", str(SATISFACTION), "--model", str(_model_file(tmp_path, spec)))
    assert "overall" in message and "sat9" in message


def test_lv_without_items(tmp_path: Path) -> None:
    spec = _spec()
    spec["blocks"]["VAL"]["items"] = []
    assert "VAL" in _fails("--data", str(SATISFACTION), "--model", str(_model_file(tmp_path, spec)))


@pytest.mark.parametrize(("text", "hint"), [
    ('{"blocks": {"A": {"items": ["x"]}', "JSON"),
    ("[1, 2]", "JSON"),
    ('{"blocks": {"A": {"items": ["x"]}}, "paths": [["A"]]}', "paths"),
    ('{"blocks": {"A": ["x"]}, "paths": []}', "A"),
    ('{"blocks": {"A": {"items": ["x"], "mode": "C"}}, "paths": []}', "mode"),
    ('{"blocks": {"A": {"items": ["x"]}}, "paths": [], "schema": "path"}', "schema"),
    ('{"blocks": {"A": {"items": ["x"]}}, "paths": [], "scaled": "yes"}', "scaled"),
    ('{"blocks": {"A": {"items": ["x"]}}, "paths": [], "tol": 0}', "tol"),
    ('{"blocks": {"A": {"items": ["x"]}}, "paths": [], "max_iter": 2.5}', "max_iter"),
    ('{"blocks": {"A": {"items": ["x"]}}, "paths": [], "scale": [10, 1]}', "scale"),
])
def test_malformed_model(tmp_path: Path, text: str, hint: str) -> None:
    assert hint in _fails("--data", str(SATISFACTION), "--model", str(_model_file(tmp_path, text)))


def test_single_item_block_in_mode_b(tmp_path: Path) -> None:
    spec = _spec()
    spec["blocks"]["IMAG"] = {"mode": "B", "items": ["imag1"]}
    assert "IMAG" in _fails("--data", str(SATISFACTION), "--model", str(_model_file(tmp_path, spec)))


def test_non_convergence(tmp_path: Path) -> None:
    message = _fails("--data", str(SATISFACTION), "--model", str(_model_file(tmp_path, _spec(max_iter=2))))
    assert "2" in message


def test_collinear_mode_b_block(tmp_path: Path) -> None:
    def duplicate(rows: list[list[str]]) -> list[list[str]]:
        for row in rows[1:]:
            row[rows[0].index("val4")] = row[rows[0].index("val1")]
        return rows

    spec = _spec()
    spec["blocks"]["VAL"]["mode"] = "B"
    message = _fails("--data", str(_data_file(tmp_path, duplicate)), "--model", str(_model_file(tmp_path, spec)))
    assert "VAL" in message


def test_unreadable_files(tmp_path: Path) -> None:
    model = str(_model_file(tmp_path, _spec()))
    assert "nothing.csv" in _fails("--data", str(tmp_path / "nothing.csv"), "--model", model)
    assert "nothing.json" in _fails("--data", str(SATISFACTION), "--model", str(tmp_path / "nothing.json"))
    (tmp_path / "data.txt").write_text("a,b\n1,2\n")
    assert ".csv" in _fails("--data", str(tmp_path / "data.txt"), "--model", model)


def test_bootstrap_count_out_of_range(tmp_path: Path) -> None:
    message = _fails("--data", str(SATISFACTION), "--model", str(_model_file(tmp_path, _spec())), "--bootstrap", "3")
    assert str(pls.BOOTSTRAP_MIN) in message


def test_the_console_script_exits_2_without_a_traceback(tmp_path: Path) -> None:
    data = _data_file(tmp_path, lambda rows: _set(rows, 4, "val2", "x"))
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings",
           "PYTHONPATH": str(Path(__file__).resolve().parents[3])}
    done = subprocess.run(
        [sys.executable, "-m", "linli.cli", "pls", "--data", str(data), "--model", str(_model_file(tmp_path, _spec()))],
        capture_output=True, text=True, env=env, timeout=120, check=False)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert "val2" in done.stderr and done.stdout == ""
