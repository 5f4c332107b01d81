"""The ACSI-style 0–100 index (DOMAIN §7)."""

from __future__ import annotations

import numpy as np
import pytest

from linli.insights.pls import Block, PathModel, PlsError, Table, fit, model_from_mapping
from tests.insights.pls.conftest import russa_model, satisfaction_model
from tests.insights.pls.reference import run_plspm


@pytest.mark.parametrize("scaled", [True, False])
def test_index_from_plspm_weights(satisfaction: Table, scaled: bool) -> None:
    """Σ w̃ (x̄ − min)/(max − min) × 100 with w̃ = standardised weight / item sd, normalised."""
    model = satisfaction_model(scaled=scaled, scale=(0, 10))
    result = fit(model, satisfaction)
    outer = run_plspm(model, satisfaction).outer_model()
    for block in model.blocks:
        columns = [satisfaction.columns.index(item) for item in block.items]
        data = satisfaction.values[:, columns]
        weights = np.array([outer.loc[item, "weight"] for item in block.items])
        if scaled:  # standardised weights → weights for the items on their own scale
            weights = weights / data.std(axis=0, ddof=1)
        weights = weights / weights.sum()
        expected = 100 * float(np.sum(weights * (data.mean(axis=0) - 0) / (10 - 0)))
        assert result.index[block.name] == pytest.approx(expected, abs=1e-9)


def _shifted_blocks(means: dict[str, float], n: int = 300) -> Table:
    """Three correlated blocks whose every item has exactly the given mean."""
    rng = np.random.default_rng(17)
    driver = rng.normal(size=n)
    core = {"D": driver, "S": 0.6 * driver + 0.8 * rng.normal(size=n)}
    core["O"] = 0.5 * core["S"] + 0.86 * rng.normal(size=n)
    columns, values = [], []
    for lv, signal in core.items():
        for j in range(3):
            item = signal + rng.normal(scale=0.6 + 0.2 * j, size=n)
            item = item - item.mean() + means[lv]
            columns.append(f"{lv.lower()}{j}")
            values.append(item)
    return Table(columns=tuple(columns), values=np.column_stack(values))


def test_index_of_items_with_known_means() -> None:
    """Whatever the positive weights, items that all average m give 100 (m − min)/(max − min)."""
    means = {"D": 3.0, "S": 5.5, "O": 8.2}
    table = _shifted_blocks(means)
    model = model_from_mapping({lv: ([f"{lv.lower()}{j}" for j in range(3)], "A") for lv in means},
                               [("D", "S"), ("S", "O")], scale=(-10.0, 20.0))
    for scheme in ("centroid", "factorial", "path"):
        result = fit(PathModel(blocks=model.blocks, paths=model.paths, scheme=scheme, scale=model.scale), table)
        for lv, mean in means.items():
            assert result.index[lv] == pytest.approx(100 * (mean + 10) / 30, abs=1e-9)


def test_block_scale_overrides_the_model_scale() -> None:
    means = {"D": 3.0, "S": 5.5, "O": 8.2}
    table = _shifted_blocks(means)
    blocks = tuple(Block(name=lv, items=tuple(f"{lv.lower()}{j}" for j in range(3)),
                         scale=(-20.0, 20.0) if lv == "O" else None) for lv in means)
    result = fit(PathModel(blocks=blocks, paths=(("D", "S"), ("S", "O")), scale=(-10.0, 20.0)), table)
    assert result.index["O"] == pytest.approx(100 * (8.2 + 20) / 40, abs=1e-9)
    assert result.index["D"] == pytest.approx(100 * (3.0 + 10) / 30, abs=1e-9)


def test_negative_weight_gives_no_index_and_names_the_block(russa: Table) -> None:
    """russa's IND block has a negative weight (gnpr): its index is refused, the rest stand."""
    result = fit(russa_model(scale=(0, 100)), russa)
    assert result.weights["gnpr"] < 0
    assert result.index["IND"] is None
    assert result.index["AGRI"] is not None and 0 < result.index["AGRI"] < 100
    assert any("IND" in warning and "gnpr" in warning for warning in result.warnings)


def test_without_a_scale_there_is_no_index(satisfaction: Table) -> None:
    result = fit(satisfaction_model(), satisfaction)
    assert set(result.index.values()) == {None}
    assert result.warnings


def test_values_outside_the_scale_are_refused(satisfaction: Table) -> None:
    with pytest.raises(PlsError) as info:
        fit(satisfaction_model(scale=(1, 10)), satisfaction)  # the data contain zeros
    assert info.value.code == "outside_scale"
    assert "imag1" in info.value.message
