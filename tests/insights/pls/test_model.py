"""The model's structure checks, MODEL.json, and recovery of a model with a known answer."""

from __future__ import annotations

import numpy as np
import pytest

from linli.insights.pls import (
    Block,
    PathModel,
    PlsError,
    Table,
    fit,
    model_from_mapping,
    model_matrix,
)
from linli.insights.pls_io import model_to_dict, parse_model, result_to_json, table_from_rows
from tests.insights.pls.conftest import satisfaction_model

ISSUE_EXAMPLE = """{"blocks": {"RESP": {"mode": "A", "items": ["r1", "r2", "r3"]},
                               "SAT": {"mode": "A", "items": ["s1", "s2", "s3"]}},
                    "paths": [["RESP", "SAT"]], "scheme": "centroid", "scaled": true,
                    "tol": 1e-6, "max_iter": 100, "scale": [1, 10]}"""


def _blocks(*names: str) -> tuple[Block, ...]:
    return tuple(Block(name=name, items=(f"{name}1", f"{name}2")) for name in names)


@pytest.mark.parametrize(("blocks", "paths", "code"), [
    ((), (), "no_blocks"),
    (_blocks("A", "B"), (), "no_paths"),
    (_blocks("A", "A"), (("A", "A"),), "duplicate_block"),
    ((Block(name="A", items=()), *_blocks("B")), (("A", "B"),), "empty_block"),
    ((Block(name="A", items=("x",), mode="B"), *_blocks("B")), (("A", "B"),), "single_item_mode_b"),
    ((Block(name="A", items=("x", "y")), Block(name="B", items=("y", "z"))), (("A", "B"),), "duplicate_item"),
    (_blocks("A", "B"), (("A", "C"),), "unknown_lv"),
    (_blocks("A", "B"), (("A", "A"),), "path_cycle"),
    (_blocks("A", "B"), (("A", "B"), ("A", "B")), "duplicate_path"),
    (_blocks("A", "B", "C"), (("A", "B"),), "isolated_lv"),
    (_blocks("A", "B", "C"), (("A", "B"), ("B", "C"), ("C", "A")), "path_cycle"),
])
def test_structure_is_checked(blocks: tuple[Block, ...], paths: tuple[tuple[str, str], ...], code: str) -> None:
    with pytest.raises(PlsError) as info:
        PathModel(blocks=blocks, paths=paths)
    assert info.value.code == code


def test_cycle_is_named_in_order() -> None:
    with pytest.raises(PlsError) as info:
        PathModel(blocks=_blocks("A", "B", "C", "D"), paths=(("D", "A"), ("A", "B"), ("B", "C"), ("C", "A")))
    assert "A → B → C → A" in info.value.message


@pytest.mark.parametrize(("setting", "code"), [
    ({"scheme": "mode"}, "bad_scheme"), ({"tol": 0.0}, "bad_tol"), ({"max_iter": 0}, "bad_max_iter"),
    ({"scale": (5.0, 5.0)}, "bad_scale"),
])
def test_settings_are_checked(setting: dict[str, object], code: str) -> None:
    with pytest.raises(PlsError) as info:
        PathModel(blocks=_blocks("A", "B"), paths=(("A", "B"),), **setting)  # type: ignore[arg-type]
    assert info.value.code == code


def test_issue_example_parses_and_round_trips() -> None:
    model = parse_model(ISSUE_EXAMPLE)
    assert model.lv_names == ("RESP", "SAT")
    assert model.block("SAT").items == ("s1", "s2", "s3")
    assert (model.scheme, model.scaled, model.tol, model.max_iter, model.scale) == ("centroid", True, 1e-6, 100, (1, 10))
    assert parse_model(__import__("json").dumps(model_to_dict(model))) == model


def test_defaults() -> None:
    model = parse_model('{"blocks": {"A": {"items": ["a"]}, "B": {"items": ["b1", "b2"]}}, "paths": [["A", "B"]]}')
    assert model.block("A").mode == "A"
    assert (model.scheme, model.scaled, model.tol, model.max_iter, model.scale) == ("centroid", True, 1e-6, 100, None)


def test_table_rows_keep_file_line_numbers_for_messages() -> None:
    rows = [(1, ["id", "a1", "a2"]), (2, ["x", "1", "2"]), (3, [None, None, None]), (4, ["y", "3", ""])]
    table = table_from_rows(rows, ["a1", "a2"])
    assert table.row_numbers == (2, 4)
    model = model_from_mapping({"A": (["a1"], "A"), "B": (["a2"], "A")}, [("A", "B")])
    with pytest.raises(PlsError) as info:
        model_matrix(model, table)
    assert info.value.code == "missing_values" and "a2" in info.value.message and "4" in info.value.message


def test_long_lists_of_missing_rows_are_shortened() -> None:
    values = np.ones((30, 2))
    values[:, 1] = np.arange(30)
    values[5:25, 0] = np.nan
    model = model_from_mapping({"A": (["a"], "A"), "B": (["b"], "A")}, [("A", "B")])
    with pytest.raises(PlsError) as info:
        model_matrix(model, Table(columns=("a", "b"), values=values))
    assert "20" in info.value.message and "6, 7" in info.value.message and "25" not in info.value.message


def test_single_item_blocks_work(satisfaction: Table) -> None:
    model = model_from_mapping({"IMAG": (["imag1"], "A"), "SAT": (["sat1", "sat2"], "A")}, [("IMAG", "SAT")])
    result = fit(model, satisfaction)
    assert result.loadings["imag1"] == pytest.approx(1.0)
    assert result.reliability["IMAG"].alpha is None
    assert result.paths[("IMAG", "SAT")] == pytest.approx(
        np.corrcoef(satisfaction.values[:, satisfaction.columns.index("imag1")],
                    result.scores[:, 1])[0, 1])


def test_json_output_has_no_nan(satisfaction: Table) -> None:
    model = model_from_mapping({"IMAG": (["imag1"], "A"), "SAT": (["sat1", "sat2"], "A")}, [("IMAG", "SAT")])
    text = result_to_json(fit(model, satisfaction, bootstrap=10, seed=1))
    assert "NaN" not in text and '"alpha": null' in text


def test_recovers_a_model_with_known_paths() -> None:
    """Data drawn from SATISFACTION-MODEL.md's shape with chosen paths and reliable items:
    the estimates land within sampling error of the truth (n = 4,000, se ≈ 0.015)."""
    rng = np.random.default_rng(2026)
    n = 4000
    comm, resp, env = rng.multivariate_normal([0, 0, 0], [[1, .3, .2], [.3, 1, .25], [.2, .25, 1]], size=n).T
    beta = {"COMM": 0.2, "RESP": 0.45, "ENV": 0.15}
    explained = beta["COMM"] * comm + beta["RESP"] * resp + beta["ENV"] * env
    sat = explained + rng.normal(scale=np.sqrt(1 - explained.var()), size=n)
    trust = 0.6 * sat + rng.normal(scale=0.8, size=n)
    latent = {"COMM": comm, "RESP": resp, "ENV": env, "SAT": sat, "TRUST": trust}
    columns, values = [], []
    for name, signal in latent.items():
        signal = signal / signal.std()
        for j in range(4):
            columns.append(f"{name.lower()}{j}")
            values.append(5.5 + 1.5 * (0.97 * signal + np.sqrt(1 - 0.97**2) * rng.normal(size=n)))
    table = Table(columns=tuple(columns), values=np.column_stack(values))
    model = model_from_mapping({name: ([f"{name.lower()}{j}" for j in range(4)], "A") for name in latent},
                               [("COMM", "SAT"), ("RESP", "SAT"), ("ENV", "SAT"), ("SAT", "TRUST")], scale=(-5, 16))
    result = fit(model, table)
    true_sd = sat.std()
    for name, coefficient in beta.items():  # standardised true coefficient
        assert result.paths[(name, "SAT")] == pytest.approx(coefficient / true_sd, abs=0.05)
    assert result.paths[("SAT", "TRUST")] == pytest.approx(np.corrcoef(sat, trust)[0, 1], abs=0.05)
    for item, loading in result.loadings.items():
        assert loading == pytest.approx(0.97, abs=0.02), item
    assert result.index["SAT"] == pytest.approx(100 * (5.5 + 5) / 21, abs=1.0)


def test_model_fixture_is_the_published_satisfaction_model() -> None:
    model = satisfaction_model()
    assert len(model.items) == 27 and len(model.paths) == 10
