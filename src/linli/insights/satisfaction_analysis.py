"""From answers to what the satisfaction pages show: pure computation, no database.

Given a path model and complete answer rows, ``analyse`` returns

* the engine's result (``pls_io.result_to_dict``) when there are enough rows for the
  model (the "ten times" rule of PLS: ten rows per arrow into the busiest latent
  variable, Barclay, Higgins & Thompson 1995), otherwise ``None``;
* the analysis: per block its 0–100 index with a bootstrap interval (the ACSI index of
  the fitted model; without a model, the plain mean of its items on 0–100, marked as
  such), its importance (total effect on the target, SAT) with its interval, the
  importance–performance quadrant, key drivers (relative weights and Shapley shares of
  the target's R²), the list of what to improve, and breakdowns by grid and special
  group (the fitted weights applied to each group's answers; a group needs
  ``SUBGROUP_MIN`` answers);
* a summary of a few numbers for lists and trends.

Every interval is a percentile bootstrap over respondents, seeded, so a run can be
repeated exactly.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.utils.translation import gettext as _
from numpy.typing import NDArray

from linli.insights import drivers, pls, pls_io

Array = NDArray[np.float64]
ANALYSIS_VERSION = 1
# Rows per arrow into the latent variable with the most incoming arrows.
ROWS_PER_ARROW = 10
# A grid or group with fewer complete answers shows its count, not an index.
SUBGROUP_MIN = 30
MEAN_RESAMPLES = 1000
LEVEL = 0.95
ALPHA_LOW = 0.7
AVE_LOW = 0.5


@dataclass(frozen=True)
class BlockInfo:
    """What a block means to people: its name in words, its work mechanism and the
    texts of its items (code → question)."""

    label: str
    mechanism: str = "other"
    items: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Subgroup:
    kind: str  # "grid", "community", "group", "age"
    key: str
    label: str
    rows: NDArray[np.bool_]


@dataclass
class Outcome:
    result: dict[str, Any] | None
    analysis: dict[str, Any]
    summary: dict[str, Any]
    seed: int


def min_rows(model: pls.PathModel) -> int:
    """The rows the model needs: ten per arrow into its busiest block (a formative block's
    items are arrows too), and more rows than items."""
    inbound = max((len(model.predecessors(name)) for name in model.lv_names), default=0)
    formative = max((len(block.items) for block in model.blocks if block.mode == "B"), default=0)
    return max(ROWS_PER_ARROW * max(inbound, formative), len(model.items) + 1)


def target_of(model: pls.PathModel) -> str:
    """SAT when the model has it, otherwise the block with the most incoming paths."""
    if "SAT" in model.lv_names:
        return "SAT"
    return max(model.lv_names, key=lambda name: (len(model.predecessors(name)), -model.lv_names.index(name)))


def _reach(model: pls.PathModel) -> dict[str, set[str]]:
    """Every block reachable from each block along the paths."""
    successors: dict[str, list[str]] = {name: [] for name in model.lv_names}
    for source, target in model.paths:
        successors[source].append(target)
    reach: dict[str, set[str]] = {}
    for name in model.lv_names:
        seen: set[str] = set()
        stack = list(successors[name])
        while stack:
            nxt = stack.pop()
            if nxt not in seen:
                seen.add(nxt)
                stack.extend(successors[nxt])
        reach[name] = seen
    return reach


def block_roles(model: pls.PathModel, target: str) -> dict[str, str]:
    """driver (a route to the target), target, outcome (reached from the target), other."""
    reach = _reach(model)
    roles = {}
    for name in model.lv_names:
        if name == target:
            roles[name] = "target"
        elif target in reach[name]:
            roles[name] = "driver"
        elif name in reach[target]:
            roles[name] = "outcome"
        else:
            roles[name] = "other"
    return roles


def _num(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _interval(values: Array) -> tuple[float | None, float | None]:
    values = values[np.isfinite(values)]
    if values.size < 2:
        return None, None
    tail = (1 - LEVEL) / 2 * 100
    lower, upper = np.percentile(values, [tail, 100 - tail])
    return float(lower), float(upper)


# Resample counts held in memory at once (rows × resamples), so a large upload is
# resampled in batches instead of all at once.
_CHUNK = 2_000_000


def _mean_intervals(columns: Mapping[str, Array], rng: np.random.Generator,
                    resamples: int) -> dict[str, tuple[float | None, float | None]]:
    """Percentile bootstrap intervals of the mean of each column, all from the same
    resamples of the rows (drawn ``_CHUNK`` counts at a time)."""
    names = list(columns)
    if not names:
        return {}
    stacked = np.column_stack([columns[name] for name in names])
    n = stacked.shape[0]
    if n < 2:
        return dict.fromkeys(names, (None, None))
    batch = max(1, _CHUNK // n)
    means: list[Array] = []
    done = 0
    while done < resamples:
        size = min(batch, resamples - done)
        counts = pls.resample_counts(rng, size, n)
        means.append((counts @ stacked) / n)
        done += size
    every = np.vstack(means)
    return {name: _interval(every[:, j]) for j, name in enumerate(names)}


def _mean_entry(scores: Array, interval: tuple[float | None, float | None]) -> dict[str, float | None]:
    if scores.size == 0:
        return {"value": None, "lower": None, "upper": None}
    return {"value": float(scores.mean()), "lower": interval[0], "upper": interval[1]}


@dataclass(frozen=True)
class _Scores:
    """Per-row 0–100 scores of each block, with the item weights that made them."""

    scores: dict[str, Array]
    weights: dict[str, dict[str, float]]


def _row_scores(model: pls.PathModel, values: Array, weights: Mapping[str, Mapping[str, float]]) -> _Scores:
    """Σ w̃ᵢ (xᵢ − min)/(max − min) × 100 for every row, per block with a scale and weights."""
    position = {item: i for i, item in enumerate(model.items)}
    scores: dict[str, Array] = {}
    used: dict[str, dict[str, float]] = {}
    for block in model.blocks:
        scale = model.block_scale(block)
        w = weights.get(block.name)
        if scale is None or not w:
            continue
        low, high = scale
        columns = [position[item] for item in block.items]
        vector = np.array([w[item] for item in block.items])
        scores[block.name] = 100.0 * ((values[:, columns] - low) / (high - low)) @ vector
        used[block.name] = {item: float(w[item]) for item in block.items}
    return _Scores(scores, used)


def equal_weights(model: pls.PathModel) -> dict[str, dict[str, float]]:
    return {block.name: {item: 1.0 / len(block.items) for item in block.items} for block in model.blocks}


def acsi_weights(model: pls.PathModel, result: pls.PlsResult, values: Array) -> dict[str, dict[str, float]]:
    """The outer weights for items on their own scale, normalised to sum to 1 in each
    block (DOMAIN §7); a block with a weight that is not positive has none."""
    sd = values.std(axis=0)
    position = {item: i for i, item in enumerate(model.items)}
    out: dict[str, dict[str, float]] = {}
    for block in model.blocks:
        raw = {item: result.weights[item] / sd[position[item]] if model.scaled else result.weights[item]
               for item in block.items}
        if any(w <= 0 for w in raw.values()):
            continue
        total = sum(raw.values())
        out[block.name] = {item: w / total for item, w in raw.items()}
    return out


def _item_rows(model: pls.PathModel, values: Array, infos: Mapping[str, BlockInfo]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    position = {item: i for i, item in enumerate(model.items)}
    for block in model.blocks:
        scale = model.block_scale(block)
        info = infos.get(block.name)
        rows = []
        for item in block.items:
            column = values[:, position[item]]
            mean = float(column.mean()) if column.size else None
            share = None
            if mean is not None and scale is not None:
                share = 100.0 * (mean - scale[0]) / (scale[1] - scale[0])
            rows.append({"code": item, "text": (info.items.get(item) if info else None) or item,
                         "mean": mean, "score": share})
        out[block.name] = rows
    return out


def _weakest(items: list[dict[str, Any]]) -> dict[str, Any] | None:
    scored = [item for item in items if item["score"] is not None]
    return min(scored, key=lambda item: item["score"]) if scored else None


def analyse(model: pls.PathModel, values: Array, infos: Mapping[str, BlockInfo], *,
            subgroups: Sequence[Subgroup] = (), bootstrap: int = 1000, seed: int | None = None) -> Outcome:
    """Everything the pages show about these answers (rows: complete answers in the
    model's item order). Raises ``pls.PlsError`` when the model cannot be estimated."""
    if seed is None:
        seed = int(np.random.SeedSequence().generate_state(1, dtype=np.uint64)[0]) & (2**62 - 1)
    values = np.asarray(values, dtype=np.float64).reshape(-1, len(model.items))
    n = values.shape[0]
    target = target_of(model)
    roles = block_roles(model, target)
    needed = min_rows(model)
    warnings: list[str] = []
    rng = np.random.default_rng([seed, 1])
    resamples = bootstrap or MEAN_RESAMPLES

    result: pls.PlsResult | None = None
    if n >= needed:
        table = pls.Table(columns=model.items, values=values)
        result = pls.fit(model, table, bootstrap=bootstrap, seed=seed)
        warnings.extend(result.warnings)
    fitted = result is not None

    means = _row_scores(model, values, equal_weights(model))
    mean_ci = _mean_intervals(means.scores, rng, resamples)
    weighted = _row_scores(model, values, acsi_weights(model, result, values)) if result is not None else means
    items = _item_rows(model, values, infos)

    ipa: drivers.IpaMatrix | None = None
    shares: dict[str, Any] | None = None
    if result is not None:
        ipa = drivers.ipa_from_result(result, target)
        shares = _driver_shares(result, target, warnings)

    blocks: list[dict[str, Any]] = []
    quadrants = {point.name: point.quadrant for point in ipa.points} if ipa else {}
    boot = result.bootstrap if result is not None else None
    for block in model.blocks:
        name = block.name
        info = infos.get(name) or BlockInfo(label=name)
        entry: dict[str, Any] = {
            "name": name, "label": info.label, "mechanism": info.mechanism, "role": roles[name],
            "mode": block.mode, "scale": list(model.block_scale(block) or ()) or None,
            "items": items[name],
            "mean_index": _mean_entry(means.scores[name], mean_ci[name]) if name in means.scores else None,
            "index": None, "importance": None, "quadrant": quadrants.get(name),
            "weights": weighted.weights.get(name) if fitted else None,
        }
        if result is not None:
            value = result.index.get(name)
            interval = boot.index.get(name) if boot else None
            entry["index"] = {"value": _num(value), "lower": _num(interval.lower) if interval else None,
                              "upper": _num(interval.upper) if interval else None} if value is not None else None
            if roles[name] == "driver":
                effect = result.total_effect(name, target)
                ci = boot.total_effects.get(pls.path_label(name, target)) if boot else None
                entry["importance"] = {"value": _num(effect), "lower": _num(ci.lower) if ci else None,
                                       "upper": _num(ci.upper) if ci else None}
            reliability = result.reliability[name]
            if reliability.alpha is not None and reliability.alpha < ALPHA_LOW:
                warnings.append(_("“%(block)s”各题的一致性偏低（Cronbach α = %(alpha).2f，一般应不低于 0.7），"
                                  "这几道题可能没有测到同一件事。") % {"block": info.label, "alpha": reliability.alpha})
            elif reliability.ave is not None and reliability.ave < AVE_LOW and len(block.items) > 1:
                warnings.append(_("“%(block)s”的平均提取方差偏低（AVE = %(ave).2f，一般应不低于 0.5）。")
                                % {"block": info.label, "ave": reliability.ave})
        blocks.append(entry)

    by_name = {entry["name"]: entry for entry in blocks}
    breakdowns = _breakdowns(model, values, subgroups, weighted, target, rng, resamples)
    analysis: dict[str, Any] = {
        "version": ANALYSIS_VERSION, "n": n, "min_rows": needed, "fitted": fitted, "target": target,
        "index_kind": "acsi" if fitted else "mean", "seed": seed, "bootstrap": bootstrap,
        "blocks": blocks,
        "ipa": _ipa_dict(ipa) if ipa else None,
        "drivers": shares,
        "improve": _improve(ipa, by_name) if ipa else [],
        "breakdowns": breakdowns,
        "warnings": warnings,
        "r2": _num(result.r2.get(target)) if result is not None else None,
        "gof": _num(result.gof) if result is not None else None,
    }
    return Outcome(result=pls_io.result_to_dict(result) if result is not None else None, analysis=analysis,
                   summary=summary_of(analysis), seed=seed)


def headline(entry: Mapping[str, Any], fitted: bool) -> dict[str, Any] | None:
    """The index a block is shown with: the model's, or without a model the plain mean."""
    found = entry.get("index") if fitted else entry.get("mean_index")
    return found if found and found.get("value") is not None else None


def summary_of(analysis: Mapping[str, Any]) -> dict[str, Any]:
    fitted = bool(analysis["fitted"])
    index = {}
    for entry in analysis["blocks"]:
        shown = headline(entry, fitted)
        if shown is not None:
            index[entry["name"]] = [shown["value"], shown["lower"], shown["upper"]]
    return {"n": analysis["n"], "fitted": fitted, "target": analysis["target"], "index": index,
            "r2": analysis.get("r2")}


def _driver_shares(result: pls.PlsResult, target: str, warnings: list[str]) -> dict[str, Any] | None:
    if not result.model.predecessors(target):
        return None
    out: dict[str, Any] = {}
    methods: tuple[drivers.Method, ...] = ("relative_weights", "shapley")
    for method in methods:
        try:
            found = drivers.lv_drivers(result, target, method=method)
        except pls.PlsError as exc:
            warnings.append(exc.message)
            out[method] = None
            continue
        out["r2"] = found.r2
        out[method] = [{"name": d.name, "value": d.importance, "share": d.share} for d in found.drivers]
    return out


def _ipa_dict(ipa: drivers.IpaMatrix) -> dict[str, Any]:
    return {"importance_split": ipa.importance_split, "performance_split": ipa.performance_split,
            "points": [{"name": p.name, "importance": p.importance, "performance": p.performance,
                        "quadrant": p.quadrant} for p in ipa.points]}


def _improve(ipa: drivers.IpaMatrix, blocks: Mapping[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """High importance, low performance first ("concentrate here"), most important first.
    When no driver is there, the two with the most to gain: importance × room to 100."""
    ranked = sorted((p for p in ipa.points), key=lambda p: -p.importance)
    rank = {p.name: i for i, p in enumerate(ranked, start=1)}
    chosen = list(ipa.concentrate_here())
    fallback = not chosen
    if fallback:
        scored = [p for p in ipa.points if p.performance is not None and p.importance > 0]
        chosen = sorted(scored, key=lambda p: -(p.importance * (100 - (p.performance or 0))))[:2]
    out = []
    for point in chosen:
        block = blocks[point.name]
        out.append({
            "name": point.name, "importance": point.importance, "performance": point.performance,
            "importance_rank": rank[point.name], "drivers": len(ranked),
            "performance_split": ipa.performance_split, "fallback": fallback,
            "weakest": _weakest(block["items"]),
        })
    return out


def _breakdowns(model: pls.PathModel, values: Array, subgroups: Sequence[Subgroup], scores: _Scores,
                target: str, rng: np.random.Generator, resamples: int) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for group in subgroups:
        rows = np.asarray(group.rows, dtype=bool)
        size = int(rows.sum())
        entry: dict[str, Any] = {"key": group.key, "label": group.label, "n": size, "enough": size >= SUBGROUP_MIN,
                                 "target": None, "blocks": {}}
        if size >= SUBGROUP_MIN:
            chosen = {name: column[rows] for name, column in scores.scores.items()}
            intervals = _mean_intervals(chosen, rng, resamples)
            for name, column in chosen.items():
                found = _mean_entry(column, intervals[name])
                if name == target:
                    entry["target"] = found
                entry["blocks"][name] = found["value"]
        out.setdefault(group.kind, []).append(entry)
    return out
