"""What the satisfaction pages compute from answers (``satisfaction_analysis.analyse``),
against references computed independently: R's plspm output for its ``satisfaction``
data (tests/insights/pls/data), and numpy directly for means, indices, relative weights
(Johnson's method from the SVD of the data) and Shapley values (every order of entry)."""

from __future__ import annotations

import csv
import itertools
import math

import numpy as np
import pytest

from linli.insights import pls
from linli.insights.satisfaction_analysis import (
    SUBGROUP_MIN,
    BlockInfo,
    Subgroup,
    analyse,
    min_rows,
    target_of,
)
from tests.insights.pls.reference import (
    DATA,
    R_PLSPM,
    SATISFACTION_BLOCKS,
    SATISFACTION_PATHS,
    read_r,
    read_table,
)
from tests.surveys.synthetic import BLOCKS, DRIVERS, draw_answers

EXACT = 1e-8
DRIVERS_OF_SAT = ("IMAG", "EXPE", "QUAL", "VAL")


def _r_model() -> pls.PathModel:
    """R's run: six Mode A blocks, centroid scheme, raw (unscaled) items on 0–10."""
    return pls.model_from_mapping({name: (items, "A") for name, items in SATISFACTION_BLOCKS.items()},
                                  SATISFACTION_PATHS, scaled=False, scale=(0.0, 10.0))


@pytest.fixture(scope="module")
def r_data() -> tuple[pls.PathModel, np.ndarray, list[str]]:
    table = read_table("satisfaction.csv")
    model = _r_model()
    values = table.values[:, [table.columns.index(item) for item in model.items]]
    with (DATA / "satisfaction.csv").open(newline="") as stream:
        gender = [row["gender"] for row in csv.DictReader(stream)]
    return model, values, gender


def _r_weights() -> dict[str, float]:
    return {item: float(row["weight"]) for item, row in read_r("satisfaction.outer-model.csv").items()}


def _r_effects() -> dict[tuple[str, str], float]:
    with (R_PLSPM / "satisfaction.effects.csv").open(newline="") as stream:
        return {(row["from"], row["to"]): float(row["total"]) for row in csv.DictReader(stream)}


def _r_scores(model: pls.PathModel, values: np.ndarray) -> dict[str, np.ndarray]:
    """LV scores from R's outer weights: the centred items of each block times its weights."""
    weights = _r_weights()
    out = {}
    for block in model.blocks:
        columns = [model.items.index(item) for item in block.items]
        centred = values[:, columns] - values[:, columns].mean(axis=0)
        out[block.name] = centred @ np.array([weights[item] for item in block.items])
    return out


def _r_index(model: pls.PathModel, values: np.ndarray, rows: np.ndarray | None = None) -> dict[str, float]:
    """DOMAIN §7 with R's weights (raw items: the weights apply as they are), normalised."""
    weights = _r_weights()
    chosen = values if rows is None else values[rows]
    out = {}
    for block in model.blocks:
        w = np.array([weights[item] for item in block.items])
        w = w / w.sum()
        means = chosen[:, [model.items.index(item) for item in block.items]].mean(axis=0)
        out[block.name] = float(100 * np.sum(w * means / 10))
    return out


def _johnson(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Johnson (2000) from the data: Z, the orthonormal counterpart of the standardised
    predictors (X = P Δ Q' → Z = P Q'); regress y on Z, X on Z; ε_j = Σ_k λ_kj² β_k²."""
    xs = (x - x.mean(axis=0)) / x.std(axis=0)
    ys = (y - y.mean()) / y.std()
    p_, _delta, q_t = np.linalg.svd(xs, full_matrices=False)
    z = p_ @ q_t * math.sqrt(len(y))  # columns of unit variance, uncorrelated
    beta = np.linalg.lstsq(z, ys, rcond=None)[0]
    lam = np.linalg.lstsq(z, xs, rcond=None)[0]  # lam[k, j]: X_j on Z_k
    result: np.ndarray = (lam**2).T @ beta**2
    return result


def _r2(x: np.ndarray, y: np.ndarray, columns: tuple[int, ...]) -> float:
    if not columns:
        return 0.0
    design = np.column_stack([np.ones(len(y)), x[:, list(columns)]])
    residual = y - design @ np.linalg.lstsq(design, y, rcond=None)[0]
    return float(1 - residual @ residual / ((y - y.mean()) @ (y - y.mean())))


def _shapley(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    p = x.shape[1]
    orders = list(itertools.permutations(range(p)))
    shares = np.zeros(p)
    for order in orders:
        for position, j in enumerate(order):
            shares[j] += _r2(x, y, order[: position + 1]) - _r2(x, y, order[:position])
    return shares / len(orders)


# The rule for enough rows ------------------------------------------------------------------

def test_rows_needed_follow_the_ten_times_rule() -> None:
    community = pls.PathModel(
        blocks=tuple(pls.Block(name=b, items=(f"{b}1", f"{b}2", f"{b}3")) for b in BLOCKS),
        paths=tuple((d, "SAT") for d in DRIVERS) + (("SAT", "TRUST"), ("SAT", "PART"), ("TRUST", "PART")))
    assert min_rows(community) == 10 * len(DRIVERS)
    assert min_rows(_r_model()) == 10 * 4  # IMAG, EXPE, QUAL and VAL point at SAT
    wide = pls.model_from_mapping({"F": ([f"f{i}" for i in range(12)], "B"), "S": (["s1", "s2"], "A")}, [("F", "S")])
    assert min_rows(wide) == 120  # a formative block's items are arrows into it
    tiny = pls.model_from_mapping({"A": ([f"a{i}" for i in range(5)], "A"), "B": ([f"b{i}" for i in range(5)], "A")},
                                  [("A", "B")])
    assert min_rows(tiny) == 11  # more rows than items


def test_the_target_is_sat_or_the_busiest_block() -> None:
    assert target_of(_r_model()) == "SAT"
    model = pls.model_from_mapping({"X": (["x1"], "A"), "Y": (["y1"], "A"), "Z": (["z1"], "A")},
                                   [("X", "Z"), ("Y", "Z")])
    assert target_of(model) == "Z"


# A fitted model against R ---------------------------------------------------------------------

def test_index_importance_and_quadrants_against_r(r_data: tuple[pls.PathModel, np.ndarray, list[str]]) -> None:
    model, values, _gender = r_data
    outcome = analyse(model, values, {}, bootstrap=200, seed=11)
    analysis = outcome.analysis
    assert analysis["fitted"] and analysis["n"] == 250 and analysis["target"] == "SAT"
    effects = _r_effects()
    index = _r_index(model, values)
    blocks = {b["name"]: b for b in analysis["blocks"]}
    for name in DRIVERS_OF_SAT:
        assert blocks[name]["role"] == "driver"
        assert blocks[name]["importance"]["value"] == pytest.approx(effects[(name, "SAT")], abs=EXACT)
        assert blocks[name]["index"]["value"] == pytest.approx(index[name], abs=EXACT)
        low, high = blocks[name]["importance"]["lower"], blocks[name]["importance"]["upper"]
        assert low < effects[(name, "SAT")] < high
    assert blocks["SAT"]["role"] == "target" and blocks["LOY"]["role"] == "outcome"
    assert blocks["SAT"]["index"]["value"] == pytest.approx(index["SAT"], abs=EXACT)
    # The matrix splits at the means of importance and performance.
    imp_split = np.mean([effects[(n, "SAT")] for n in DRIVERS_OF_SAT])
    perf_split = np.mean([index[n] for n in DRIVERS_OF_SAT])
    ipa = analysis["ipa"]
    assert ipa["importance_split"] == pytest.approx(imp_split, abs=EXACT)
    assert ipa["performance_split"] == pytest.approx(perf_split, abs=EXACT)
    expected = {}
    for name in DRIVERS_OF_SAT:
        high_imp, high_perf = effects[(name, "SAT")] >= imp_split, index[name] >= perf_split
        expected[name] = ("keep_up" if high_perf else "concentrate_here") if high_imp else \
            ("possible_overkill" if high_perf else "low_priority")
        assert blocks[name]["quadrant"] == expected[name]
    # What to improve: the "concentrate here" drivers, most important first.
    concentrate = sorted((n for n in DRIVERS_OF_SAT if expected[n] == "concentrate_here"),
                         key=lambda n: -effects[(n, "SAT")])
    if concentrate:
        assert [item["name"] for item in analysis["improve"]] == concentrate
        assert not analysis["improve"][0]["fallback"]
    assert outcome.summary["index"]["SAT"][0] == pytest.approx(index["SAT"], abs=EXACT)
    # The stored result is the engine's document, R's numbers in it.
    assert outcome.result is not None
    assert outcome.result["total_effects"]["IMAG->SAT"]["total"] == pytest.approx(effects[("IMAG", "SAT")], abs=EXACT)


def test_key_drivers_against_numpy(r_data: tuple[pls.PathModel, np.ndarray, list[str]]) -> None:
    model, values, _gender = r_data
    analysis = analyse(model, values, {}, bootstrap=0, seed=3).analysis
    scores = _r_scores(model, values)
    x = np.column_stack([scores[name] for name in DRIVERS_OF_SAT])
    y = scores["SAT"]
    r_squared = float(read_r("satisfaction.inner-summary.csv")["SAT"]["r_squared"])
    assert _r2(x, y, (0, 1, 2, 3)) == pytest.approx(r_squared, abs=1e-9)  # the reference scores are R's
    shares = analysis["drivers"]
    assert shares["r2"] == pytest.approx(r_squared, abs=1e-8)
    johnson = dict(zip(DRIVERS_OF_SAT, _johnson(x, y), strict=True))
    shapley = dict(zip(DRIVERS_OF_SAT, _shapley(x, y), strict=True))
    assert {d["name"]: d["value"] for d in shares["relative_weights"]} == pytest.approx(johnson, abs=1e-8)
    assert {d["name"]: d["value"] for d in shares["shapley"]} == pytest.approx(shapley, abs=1e-8)
    for method, reference in (("relative_weights", johnson), ("shapley", shapley)):
        assert [d["name"] for d in shares[method]] == sorted(reference, key=lambda n: -reference[n])
        assert sum(d["share"] for d in shares[method]) == pytest.approx(1.0, abs=1e-9)


def test_breakdown_applies_the_fitted_weights_to_each_group(
        r_data: tuple[pls.PathModel, np.ndarray, list[str]]) -> None:
    model, values, gender = r_data
    groups = [Subgroup(kind="group", key=g, label=g, rows=np.array([x == g for x in gender])) for g in ("female", "male")]
    few = np.zeros(len(gender), dtype=bool)
    few[: SUBGROUP_MIN - 1] = True
    groups.append(Subgroup(kind="grid", key="1", label="第一网格", rows=few))
    analysis = analyse(model, values, {}, subgroups=groups, bootstrap=200, seed=5).analysis
    rows = {row["key"]: row for row in analysis["breakdowns"]["group"]}
    for g in ("female", "male"):
        mask = np.array([x == g for x in gender])
        expected = _r_index(model, values, mask)
        assert rows[g]["n"] == int(mask.sum()) and rows[g]["enough"]
        assert rows[g]["target"]["value"] == pytest.approx(expected["SAT"], abs=1e-8)
        assert rows[g]["blocks"] == pytest.approx(expected, abs=1e-8)
        assert rows[g]["target"]["lower"] < expected["SAT"] < rows[g]["target"]["upper"]
    grid = analysis["breakdowns"]["grid"][0]
    assert grid["n"] == SUBGROUP_MIN - 1 and not grid["enough"] and grid["target"] is None


# Too few rows for the model -----------------------------------------------------------------------

def _community_model() -> pls.PathModel:
    return pls.PathModel(
        blocks=tuple(pls.Block(name=b, items=(f"{b}1", f"{b}2", f"{b}3"), scale=(1.0, 10.0)) for b in BLOCKS),
        paths=tuple((d, "SAT") for d in DRIVERS) + (("SAT", "TRUST"), ("SAT", "PART"), ("TRUST", "PART")))


def test_too_few_rows_give_the_mean_scores_only() -> None:
    model = _community_model()
    values = np.array([[6.0] * 36, [8.0] * 36, [4.0] * 36])
    values[0, model.items.index("RESP2")] = 1.0
    infos = {"RESP": BlockInfo(label="诉求办理", mechanism="requests", items={"RESP2": "问题得到了解决"})}
    outcome = analyse(model, values, infos, bootstrap=200, seed=1)
    analysis = outcome.analysis
    assert outcome.result is None and not analysis["fitted"] and analysis["index_kind"] == "mean"
    assert analysis["min_rows"] == 90 and analysis["n"] == 3
    assert analysis["ipa"] is None and analysis["drivers"] is None and analysis["improve"] == []
    blocks = {b["name"]: b for b in analysis["blocks"]}
    for name in BLOCKS:
        columns = [model.items.index(f"{name}{i}") for i in (1, 2, 3)]
        expected = float(((values[:, columns] - 1) / 9 * 100).mean())
        assert blocks[name]["mean_index"]["value"] == pytest.approx(expected, abs=1e-9)
        assert blocks[name]["index"] is None and blocks[name]["importance"] is None
        assert outcome.summary["index"][name][0] == pytest.approx(expected, abs=1e-9)
    resp = blocks["RESP"]
    assert resp["label"] == "诉求办理"
    weakest = min(resp["items"], key=lambda item: item["score"])
    assert weakest["code"] == "RESP2" and weakest["text"] == "问题得到了解决"
    assert weakest["mean"] == pytest.approx((1 + 8 + 4) / 3)
    # Three answers still give an interval, and a wide one.
    low, high = resp["mean_index"]["lower"], resp["mean_index"]["upper"]
    assert low < resp["mean_index"]["value"] < high and high - low > 20


def test_one_row_has_no_interval_and_no_rows_no_score() -> None:
    model = _community_model()
    one = analyse(model, np.full((1, 36), 7.0), {}, bootstrap=200, seed=1).analysis
    block = one["blocks"][0]
    assert block["mean_index"]["value"] == pytest.approx(600 / 9)
    assert block["mean_index"]["lower"] is None and block["mean_index"]["upper"] is None
    none = analyse(model, np.empty((0, 36)), {}, bootstrap=200, seed=1)
    assert none.analysis["n"] == 0 and none.summary["index"] == {}


def test_mean_intervals_have_the_width_sampling_theory_gives() -> None:
    """For a mean the 95 % interval is about ±1.96 s/√n: the bootstrap must agree."""
    model = _community_model()
    rng = np.random.default_rng(8)
    values = np.clip(np.rint(rng.normal(6, 2, size=(60, 36))), 1, 10)
    block = analyse(model, values, {}, bootstrap=2000, seed=2).analysis["blocks"][0]
    scores = ((values[:, :3] - 1) / 9 * 100).mean(axis=1)
    half = 1.96 * scores.std(ddof=1) / math.sqrt(len(scores))
    width = block["mean_index"]["upper"] - block["mean_index"]["lower"]
    assert width == pytest.approx(2 * half, rel=0.15)


def test_the_same_seed_gives_the_same_intervals() -> None:
    model = _community_model()
    sample = draw_answers(120, 4)
    first = analyse(model, sample.values, {}, bootstrap=200, seed=99)
    again = analyse(model, sample.values, {}, bootstrap=200, seed=99)
    assert first.summary == again.summary and first.seed == 99
    other = analyse(model, sample.values, {}, bootstrap=200, seed=100)
    assert other.summary["index"]["SAT"][0] == first.summary["index"]["SAT"][0]
    assert other.summary["index"]["SAT"][1:] != first.summary["index"]["SAT"][1:]
    assert analyse(model, sample.values, {}, bootstrap=200).seed != analyse(model, sample.values, {}, bootstrap=200).seed


def test_recovered_importance_ranks_the_true_drivers_first() -> None:
    """Answers drawn with known paths (RESP 0.30 and ENV 0.25 the strongest): the total
    effects put them on top; a block whose answers are all lower lands in "concentrate here"."""
    sample = draw_answers(400, 20260315)
    values = sample.values.copy()
    resp = [sample.items.index(f"RESP{i}") for i in (1, 2, 3)]
    values[:, resp] = np.clip(values[:, resp] - 2, 1, 10)
    analysis = analyse(_community_model(), values, {}, bootstrap=200, seed=7).analysis
    drivers = sorted((b for b in analysis["blocks"] if b["role"] == "driver"), key=lambda b: -b["importance"]["value"])
    assert {drivers[0]["name"], drivers[1]["name"]} == {"RESP", "ENV"}
    assert analysis["improve"][0]["name"] == "RESP"
    assert analysis["improve"][0]["importance_rank"] in (1, 2)
