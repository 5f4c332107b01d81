"""Every statistic against the independent ``plspm`` package, over a grid of settings:
two data sets × three inner schemes × standardised or raw indicators × Mode A, Mode B
and mixed blocks.

An LV's sign is a convention. ``plspm`` 0.5.7 decides it by counting the signs of the
correlations of *all* items with the LV, R's plspm and linli those of the block's own
items; the two can only disagree where the block's own vote is tied (russa's IND block,
one positive and one negative indicator). The comparison therefore aligns each LV's
sign and checks that a disagreement happens nowhere else.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from linli.insights.pls import SCHEMES, Mode, PathModel, PlsResult, Table, fit
from tests.insights.pls.conftest import russa_model, satisfaction_model
from tests.insights.pls.reference import run_plspm

TOL = 1e-8

MODE_SETS: dict[str, list[Mode] | None] = {"A": None, "B": None, "mixed": None}


def _model(dataset: str, scheme: str, scaled: bool, modes: str) -> PathModel:
    build = satisfaction_model if dataset == "satisfaction" else russa_model
    model = build("B" if modes == "B" else "A", scheme=scheme, scaled=scaled, tol=1e-7)
    if modes == "mixed":  # every other block formative
        blocks = tuple(block.__class__(name=block.name, items=block.items, mode="B" if k % 2 else "A")
                       for k, block in enumerate(model.blocks))
        model = PathModel(blocks=blocks, paths=model.paths, scheme=model.scheme, scaled=model.scaled, tol=model.tol)
    return model


def _signs(ours: PlsResult, ref: Any) -> dict[str, float]:
    outer = ref.outer_model()
    signs = {}
    for block in ours.model.blocks:
        agreement = sum(ours.loadings[i] * outer.loc[i, "loading"] for i in block.items)
        signs[block.name] = 1.0 if agreement > 0 else -1.0
        if signs[block.name] < 0:
            vote = sum(np.sign(ours.loadings[i]) for i in block.items)
            assert vote == 0, f"{block.name}: signs disagree although the block's vote is not tied"
    return signs


GRID = [(dataset, scheme, scaled, modes)
        for dataset in ("satisfaction", "russa") for scheme in SCHEMES
        for scaled in (True, False) for modes in MODE_SETS]


@pytest.mark.parametrize(("dataset", "scheme", "scaled", "modes"), GRID)
def test_against_plspm(request: pytest.FixtureRequest, dataset: str, scheme: str, scaled: bool, modes: str) -> None:
    table: Table = request.getfixturevalue(dataset)
    model = _model(dataset, scheme, scaled, modes)
    ours = fit(model, table)
    ref = run_plspm(model, table)
    sign = _signs(ours, ref)
    block_of = {item: block.name for block in model.blocks for item in block.items}

    outer = ref.outer_model()
    cross = ref.crossloadings()
    for item in model.items:
        s = sign[block_of[item]]
        assert ours.weights[item] == pytest.approx(outer.loc[item, "weight"], abs=TOL)
        assert ours.loadings[item] == pytest.approx(s * outer.loc[item, "loading"], abs=TOL)
        assert ours.communality[item] == pytest.approx(outer.loc[item, "communality"], abs=TOL)
        assert ours.redundancy[item] == pytest.approx(outer.loc[item, "redundancy"], abs=TOL)
        for lv in model.lv_names:
            assert ours.crossloadings[item][lv] == pytest.approx(sign[lv] * cross.loc[item, lv], abs=TOL)

    scores = ref.scores()
    for k, lv in enumerate(model.lv_names):
        np.testing.assert_allclose(ours.scores[:, k], sign[lv] * scores[lv].to_numpy(), atol=1e-7)

    coefficients = ref.path_coefficients()
    for (source, target), value in ours.paths.items():
        expected = sign[source] * sign[target] * coefficients.loc[target, source]
        assert value == pytest.approx(expected, abs=TOL)

    summary = ref.inner_summary()
    for lv in model.lv_names:
        if lv in ours.r2:
            assert ours.r2[lv] == pytest.approx(summary.loc[lv, "r_squared"], abs=TOL)
            assert ours.r2_adjusted[lv] == pytest.approx(summary.loc[lv, "r_squared_adj"], abs=TOL)
        else:
            assert summary.loc[lv, "r_squared"] == 0
        rel = ours.reliability[lv]
        assert rel.block_communality == pytest.approx(summary.loc[lv, "block_communality"], abs=TOL)
        assert rel.mean_redundancy == pytest.approx(summary.loc[lv, "mean_redundancy"], abs=TOL)
        if rel.ave is None:
            assert math.isnan(summary.loc[lv, "ave"])
        else:
            assert rel.ave == pytest.approx(summary.loc[lv, "ave"], abs=TOL)

    effects = ref.effects()
    listed = {(row["from"], row["to"]) for _label, row in effects.iterrows()}
    assert listed == set(ours.effects)
    for _label, row in effects.iterrows():
        effect = ours.effects[(row["from"], row["to"])]
        s = sign[row["from"]] * sign[row["to"]]
        assert effect.direct == pytest.approx(s * row["direct"], abs=TOL)
        assert effect.indirect == pytest.approx(s * row["indirect"], abs=TOL)
        assert effect.total == pytest.approx(s * row["total"], abs=TOL)

    assert ours.gof == pytest.approx(ref.goodness_of_fit(), abs=TOL)

    unidim = ref.unidimensionality()
    for lv in model.lv_names:
        rel = ours.reliability[lv]
        assert rel.eig_1st == pytest.approx(unidim.loc[lv, "eig_1st"], abs=TOL)
        assert rel.eig_2nd == pytest.approx(unidim.loc[lv, "eig_2nd"], abs=TOL)
        if model.block(lv).mode == "A":
            assert rel.alpha == pytest.approx(unidim.loc[lv, "cronbach_alpha"], abs=TOL)
            assert rel.rho == pytest.approx(unidim.loc[lv, "dillon_goldstein_rho"], abs=TOL)
        else:
            assert rel.alpha is None and rel.rho is None
            assert math.isnan(unidim.loc[lv, "cronbach_alpha"])


def test_sign_convention_with_reversed_items(satisfaction: Table) -> None:
    """Three of IMAG's five items reversed: the LV follows the majority of its own items,
    and its weights turn with it, so weights and loadings never contradict each other."""
    values = satisfaction.values.copy()
    for item in ("imag1", "imag2", "imag3"):
        column = satisfaction.columns.index(item)
        values[:, column] = 10 - values[:, column]
    table = Table(columns=satisfaction.columns, values=values)
    model = satisfaction_model()
    ours = fit(model, table)
    ref = run_plspm(model, table)
    outer = ref.outer_model()
    imag = model.block("IMAG").items
    assert sum(np.sign(ours.loadings[i]) for i in imag) > 0
    for block in model.blocks:
        for item in block.items:
            assert np.sign(ours.weights[item]) == np.sign(ours.loadings[item])
            assert abs(ours.loadings[item]) == pytest.approx(abs(outer.loc[item, "loading"]), abs=TOL)
            assert abs(ours.weights[item]) == pytest.approx(abs(outer.loc[item, "weight"]), abs=TOL)
    assert abs(ours.paths[("IMAG", "EXPE")]) == pytest.approx(abs(ref.path_coefficients().loc["EXPE", "IMAG"]), abs=TOL)
    assert ours.r2 == pytest.approx(dict(ref.inner_summary()["r_squared"][list(ours.r2)]), abs=TOL)
