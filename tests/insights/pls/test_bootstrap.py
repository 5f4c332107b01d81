"""The bootstrap: each resample's estimates against ``plspm`` refitted on the same rows,
the summaries against R's plspm bootstrap of the same model, and the seeding."""

from __future__ import annotations

import numpy as np
import pytest

from linli.insights.pls import (
    PlsError,
    Table,
    fit,
    model_matrix,
    replicate_statistics,
    resample_counts,
)
from tests.insights.pls.conftest import satisfaction_model
from tests.insights.pls.reference import read_r, run_plspm


@pytest.mark.parametrize("scaled", [True, False])
def test_each_resample_matches_a_refit(satisfaction: Table, scaled: bool) -> None:
    """The batched moment-matrix estimates equal a full refit on the resampled rows."""
    model = satisfaction_model(scaled=scaled, scale=(0, 10))
    data = model_matrix(model, satisfaction)
    counts = resample_counts(np.random.default_rng(11), 3, data.shape[0])
    reps = replicate_statistics(model, data, counts)
    assert reps.ok.all()
    for b in range(counts.shape[0]):
        rows = np.repeat(np.arange(data.shape[0]), counts[b])
        resample = Table(columns=model.items, values=data[rows])
        ref = run_plspm(model, resample)
        outer = ref.outer_model()
        for i, item in enumerate(model.items):
            assert reps.weights[b, i] == pytest.approx(outer.loc[item, "weight"], abs=1e-8)
            assert reps.loadings[b, i] == pytest.approx(outer.loc[item, "loading"], abs=1e-8)
        coefficients = ref.path_coefficients()
        for m, (source, target) in enumerate(model.paths):
            assert reps.paths[b, m] == pytest.approx(coefficients.loc[target, source], abs=1e-8)
        names = model.lv_names
        for _label, row in ref.effects().iterrows():
            total = reps.total[b, names.index(row["to"]), names.index(row["from"])]
            assert total == pytest.approx(row["total"], abs=1e-8)
        r2 = ref.inner_summary()["r_squared"]
        for k, name in enumerate(names):
            assert reps.r2[b, k] == pytest.approx(r2[name], abs=1e-8)
        # The index from plspm's weights, put on the item scale by hand.
        sd = data[rows].std(axis=0)
        means = data[rows].mean(axis=0)
        for k, block in enumerate(model.blocks):
            idx = [model.items.index(item) for item in block.items]
            raw = np.array([outer.loc[item, "weight"] for item in block.items])
            if scaled:
                raw = raw / sd[idx]
            expected = 100 * np.sum(raw / raw.sum() * (means[idx] - 0) / 10)
            assert reps.index[b, k] == pytest.approx(expected, abs=1e-8)


def test_summaries_agree_with_r_bootstrap(satisfaction: Table) -> None:
    """R's resamples cannot be reproduced, so its summaries are a statistical reference:
    standard errors within 30 %, means and percentile limits within two of R's
    standard errors (R's own run used few resamples, so its figures carry noise too)."""
    result = fit(satisfaction_model(scaled=False), satisfaction, bootstrap=1000, seed=20260501)
    boot = result.bootstrap
    assert boot is not None and boot.resamples == 1000
    groups = [
        ("satisfaction_boot_paths.csv", {k.replace("->", " -> "): v for k, v in boot.paths.items()}),
        ("satisfaction_boot_total_effects.csv", {k.replace("->", " -> "): v for k, v in boot.total_effects.items()}),
        ("satisfaction_boot_rsquared.csv", boot.r2),
        ("satisfaction_boot_weights.csv", boot.weights),
        ("satisfaction_boot_loadings.csv", boot.loadings),
    ]
    for name, ours in groups:
        reference = read_r(name)
        assert set(reference) == set(ours), name
        for key, row in reference.items():
            mine = ours[key]
            se = float(row["std.error"])
            assert mine.original == pytest.approx(float(row["original"]), abs=1e-8), (name, key)
            assert mine.std_error == pytest.approx(se, rel=0.3), (name, key)
            assert mine.mean == pytest.approx(float(row["mean"]), abs=2 * se), (name, key)
            assert mine.lower == pytest.approx(float(row["perc.025"]), abs=2 * se), (name, key)
            assert mine.upper == pytest.approx(float(row["perc.975"]), abs=2 * se), (name, key)


def test_intervals_are_consistent(satisfaction: Table) -> None:
    result = fit(satisfaction_model(scale=(0, 10)), satisfaction, bootstrap=200, seed=5)
    boot = result.bootstrap
    assert boot is not None
    assert set(boot.index) == set(result.index)
    for interval in [*boot.paths.values(), *boot.r2.values(), *boot.index.values(), *boot.weights.values()]:
        assert interval.lower <= interval.mean <= interval.upper
        assert interval.std_error > 0
        assert interval.resamples == 200
    for name, value in result.index.items():
        assert boot.index[name].original == value
        assert 0 <= boot.index[name].lower <= value <= boot.index[name].upper <= 100


def test_seed_makes_the_bootstrap_reproducible(satisfaction: Table) -> None:
    model = satisfaction_model(scale=(0, 10))
    first = fit(model, satisfaction, bootstrap=50, seed=42).bootstrap
    again = fit(model, satisfaction, bootstrap=50, seed=42).bootstrap
    other = fit(model, satisfaction, bootstrap=50, seed=43).bootstrap
    assert first == again
    assert other is not None and first is not None
    assert other.paths != first.paths


def test_unseeded_bootstrap_reports_its_seed(satisfaction: Table) -> None:
    model = satisfaction_model()
    boot = fit(model, satisfaction, bootstrap=20).bootstrap
    assert boot is not None
    again = fit(model, satisfaction, bootstrap=20, seed=boot.seed).bootstrap
    assert again == boot


@pytest.mark.parametrize("resamples", [5, 100_001])
def test_resample_count_is_bounded(satisfaction: Table, resamples: int) -> None:
    with pytest.raises(PlsError) as info:
        fit(satisfaction_model(), satisfaction, bootstrap=resamples, seed=1)
    assert info.value.code == "bad_bootstrap"


def test_resamples_that_cannot_be_estimated_are_redrawn() -> None:
    """A rare answer makes some resamples constant in that column; they are replaced."""
    rng = np.random.default_rng(3)
    n = 40
    signal = rng.normal(size=(n, 2))
    columns = ("a1", "a2", "b1", "b2")
    values = np.column_stack([signal[:, 0] + rng.normal(scale=0.5, size=n),
                              signal[:, 0] + rng.normal(scale=0.5, size=n),
                              signal[:, 1] + signal[:, 0], np.zeros(n)])
    values[0, 3] = 1.0  # b2 varies in one row only
    from linli.insights.pls import model_from_mapping

    model = model_from_mapping({"A": (["a1", "a2"], "A"), "B": (["b1", "b2"], "A")}, [("A", "B")])
    result = fit(model, Table(columns=columns, values=values), bootstrap=100, seed=9)
    assert result.bootstrap is not None
    assert result.bootstrap.redrawn > 0
    assert all(interval.resamples == 100 for interval in result.bootstrap.paths.values())


def test_chunked_moments_give_the_same_resamples(satisfaction: Table, monkeypatch: pytest.MonkeyPatch) -> None:
    """Large data are summed a few rows at a time; the result must not depend on the chunk."""
    from linli.insights import pls

    model = satisfaction_model(scale=(0, 10))
    data = model_matrix(model, satisfaction)
    counts = resample_counts(np.random.default_rng(4), 20, data.shape[0])
    whole = replicate_statistics(model, data, counts)
    monkeypatch.setattr(pls, "_CHUNK_ELEMENTS", 7 * 27 * 27)  # seven rows per chunk
    chunked = replicate_statistics(model, data, counts)
    for name in ("weights", "loadings", "paths", "total", "r2", "index"):
        np.testing.assert_allclose(getattr(chunked, name), getattr(whole, name), atol=1e-12)


def test_negative_seed_is_refused(satisfaction: Table) -> None:
    with pytest.raises(PlsError) as info:
        fit(satisfaction_model(), satisfaction, bootstrap=10, seed=-1)
    assert info.value.code == "bad_seed"
