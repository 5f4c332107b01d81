"""Key drivers: Johnson's relative weights and the Shapley (LMG) decomposition of R², and
the importance–performance matrix."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from linli.insights.drivers import (
    drivers,
    importance_performance,
    ipa_from_result,
    lv_drivers,
    quadrant_label,
)
from linli.insights.pls import PlsError, Table, fit
from tests.insights.pls.conftest import satisfaction_model
from tests.insights.pls.reference import read_table


def _r2(x: np.ndarray, y: np.ndarray, columns: tuple[int, ...]) -> float:
    if not columns:
        return 0.0
    design = np.column_stack([np.ones(len(y)), x[:, list(columns)]])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    residual = y - design @ coef
    return float(1 - residual @ residual / ((y - y.mean()) @ (y - y.mean())))


def _lmg_by_orderings(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """R² gained by each predictor when it enters, averaged over every order (Lindeman et al.)."""
    p = x.shape[1]
    shares = np.zeros(p)
    orders = list(itertools.permutations(range(p)))
    for order in orders:
        for position, j in enumerate(order):
            shares[j] += _r2(x, y, order[: position + 1]) - _r2(x, y, order[:position])
    return shares / len(orders)


@pytest.fixture(scope="module")
def mtcars() -> Table:
    return read_table("mtcars.csv")


def test_relative_weights_match_the_published_mtcars_example(mtcars: Table) -> None:
    """The rwa package's README (Tonidandel & LeBreton's method): mpg on cyl, disp, hp, gear."""
    names = ["cyl", "disp", "hp", "gear"]
    x = mtcars.values[:, [mtcars.columns.index(c) for c in names]]
    y = mtcars.values[:, mtcars.columns.index("mpg")]
    analysis = drivers(x, y, names, target_name="mpg")
    assert analysis.r2 == pytest.approx(0.7791896, abs=1e-7)
    published = {"cyl": 0.2284797, "disp": 0.2221469, "hp": 0.2321744, "gear": 0.0963886}
    got = {d.name: d.importance for d in analysis.drivers}
    assert got == pytest.approx(published, abs=1e-7)
    rescaled = {"cyl": 29.32274, "disp": 28.50999, "hp": 29.79691, "gear": 12.37037}
    assert {d.name: 100 * d.share for d in analysis.drivers} == pytest.approx(rescaled, abs=1e-5)
    assert [d.name for d in analysis.drivers] == ["hp", "cyl", "disp", "gear"]


def test_shapley_matches_all_orderings(mtcars: Table) -> None:
    names = ["cyl", "disp", "hp", "wt", "gear"]
    x = mtcars.values[:, [mtcars.columns.index(c) for c in names]]
    y = mtcars.values[:, mtcars.columns.index("mpg")]
    analysis = drivers(x, y, names, method="shapley")
    expected = dict(zip(names, _lmg_by_orderings(x, y), strict=True))
    assert {d.name: d.importance for d in analysis.drivers} == pytest.approx(expected, abs=1e-10)
    assert sum(d.importance for d in analysis.drivers) == pytest.approx(_r2(x, y, tuple(range(5))), abs=1e-10)


@pytest.mark.parametrize("method", ["relative_weights", "shapley"])
def test_lv_drivers_share_out_the_r2_of_satisfaction(satisfaction: Table, method: str) -> None:
    result = fit(satisfaction_model(), satisfaction)
    analysis = lv_drivers(result, "SAT", method=method)  # type: ignore[arg-type]
    assert {d.name for d in analysis.drivers} == {"IMAG", "EXPE", "QUAL", "VAL"}
    assert analysis.r2 == pytest.approx(result.r2["SAT"], abs=1e-10)
    assert sum(d.importance for d in analysis.drivers) == pytest.approx(result.r2["SAT"], abs=1e-10)
    assert sum(d.share for d in analysis.drivers) == pytest.approx(1.0, abs=1e-10)
    assert all(d.importance > 0 for d in analysis.drivers)
    if method == "shapley":
        names = [d.name for d in analysis.drivers]
        x = result.scores[:, [result.model.lv_names.index(n) for n in names]]
        y = result.scores[:, result.model.lv_names.index("SAT")]
        expected = dict(zip(names, _lmg_by_orderings(x, y), strict=True))
        assert {d.name: d.importance for d in analysis.drivers} == pytest.approx(expected, abs=1e-10)


def test_drivers_refuse_collinear_predictors() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(50, 2))
    x = np.column_stack([x, x.sum(axis=1)])
    y = x[:, 0] + rng.normal(size=50)
    for method in ("relative_weights", "shapley"):
        with pytest.raises(PlsError) as info:
            drivers(x, y, ["a", "b", "a+b"], method=method)  # type: ignore[arg-type]
        assert info.value.code == "collinear_drivers"


def test_lv_drivers_need_predecessors(satisfaction: Table) -> None:
    result = fit(satisfaction_model(), satisfaction)
    with pytest.raises(PlsError) as info:
        lv_drivers(result, "IMAG")
    assert info.value.code == "no_drivers"


def test_importance_performance_quadrants() -> None:
    importance = {"COMM": 0.40, "RESP": 0.30, "ENV": 0.10, "ACT": 0.20}
    performance = {"COMM": 60.0, "RESP": 80.0, "ENV": 55.0, "ACT": 90.0}
    matrix = importance_performance(importance, performance, target="SAT")
    assert matrix.importance_split == pytest.approx(0.25)
    assert matrix.performance_split == pytest.approx(71.25)
    quadrants = {p.name: p.quadrant for p in matrix.points}
    assert quadrants == {"COMM": "concentrate_here", "RESP": "keep_up", "ENV": "low_priority",
                         "ACT": "possible_overkill"}
    assert [p.name for p in matrix.concentrate_here()] == ["COMM"]
    assert matrix.points[0].name == "COMM"
    assert quadrant_label("concentrate_here")


def test_unknown_performance_has_no_quadrant() -> None:
    matrix = importance_performance({"A": 0.5, "B": 0.1}, {"A": 50.0, "B": None})
    assert {p.name: p.quadrant for p in matrix.points} == {"A": "keep_up", "B": None}


def test_ipa_from_a_fitted_model(satisfaction: Table) -> None:
    result = fit(satisfaction_model(scale=(0, 10)), satisfaction)
    matrix = ipa_from_result(result, "LOY")
    assert {p.name for p in matrix.points} == {"IMAG", "EXPE", "QUAL", "VAL", "SAT"}
    for point in matrix.points:
        assert point.importance == pytest.approx(result.effects[(point.name, "LOY")].total)
        assert point.performance == result.index[point.name]
    high = [p for p in matrix.points if p.importance >= matrix.importance_split]
    low_perf_high_imp = [p.name for p in high if p.performance is not None
                         and p.performance < (matrix.performance_split or 0)]
    assert [p.name for p in matrix.concentrate_here()] == low_perf_high_imp
