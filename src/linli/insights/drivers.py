"""Key drivers and the importance–performance matrix (DOMAIN §7).

Drivers are correlated, so raw regression coefficients mislead about what matters.
Two decompositions of R² share it out fairly, each summing exactly to R²:

* Johnson's relative weights (Johnson 2000, "A heuristic method for estimating the
  relative weight of predictor variables in multiple regression"): regress the target
  on the orthogonal counterparts of the predictors and map the squared weights back.
* Shapley value / LMG (Lindeman, Merenda & Gold 1980; Grömping 2006): each
  predictor's increase in R² when it joins, averaged over all orders of joining.

Both work on correlations, so they serve LV scores (a target LV on its predecessors)
and raw items alike. The importance–performance matrix (Martilla & James 1977) puts
importance (total effect on the target) against performance (the 0–100 index) and
splits both at their means; high importance with low performance is "concentrate here".
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from django.utils.translation import gettext as _
from numpy.typing import NDArray

from linli.insights.pls import PlsError, PlsResult

Array = NDArray[np.float64]
Method = Literal["relative_weights", "shapley"]
# 2^p subsets are enumerated for the Shapley decomposition.
SHAPLEY_MAX_PREDICTORS = 15


@dataclass(frozen=True)
class Driver:
    name: str
    importance: float  # this predictor's share of R² (the shares sum to R²)
    share: float  # importance / R², in [0, 1] up to rounding


@dataclass(frozen=True)
class DriverAnalysis:
    target: str
    method: Method
    r2: float
    drivers: tuple[Driver, ...]  # most important first


def _correlations(predictors: Array, target: Array) -> tuple[Array, Array]:
    x = np.asarray(predictors, dtype=np.float64)
    y = np.asarray(target, dtype=np.float64).reshape(-1)
    if x.ndim != 2 or x.shape[0] != y.shape[0]:
        raise PlsError("bad_drivers", _("驱动因素分析的数据行数不一致。"))
    if x.shape[0] <= x.shape[1] + 1:
        raise PlsError("too_few_rows", _("驱动因素分析的行数必须多于因素数加一。"))
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise PlsError("missing_values", _("驱动因素分析的数据有缺失值。"))
    sd = np.concatenate([x.std(axis=0), [y.std()]])
    if (sd == 0).any():
        raise PlsError("constant_column", _("驱动因素分析中有取值全相同的变量。"))
    corr = np.corrcoef(np.column_stack([x, y]), rowvar=False)
    return corr[:-1, :-1], corr[:-1, -1]


def _check_rank(rxx: Array) -> None:
    eigen = np.linalg.eigvalsh(rxx)
    if eigen[0] <= 1e-10 * eigen[-1]:
        raise PlsError("collinear_drivers", _("驱动因素之间完全共线（某个因素可由其他因素算出），无法分解。"))


def relative_weights_from_correlations(rxx: Array, rxy: Array) -> Array:
    """Johnson's raw relative weights (epsilons); they sum to R²."""
    _check_rank(rxx)
    eigen, vectors = np.linalg.eigh(rxx)
    # Correlations between the predictors and their orthogonal counterparts Z.
    lam = vectors @ np.diag(np.sqrt(eigen)) @ vectors.T
    beta = np.linalg.solve(lam, rxy)  # regression of the target on Z
    result: Array = (lam**2) @ (beta**2)
    return result


def shapley_from_correlations(rxx: Array, rxy: Array) -> Array:
    """LMG / Shapley shares of R², by enumerating every subset of predictors."""
    p = rxx.shape[0]
    if p > SHAPLEY_MAX_PREDICTORS:
        raise PlsError("too_many_drivers", _("Shapley 分解最多支持 %(n)d 个因素。") % {"n": SHAPLEY_MAX_PREDICTORS})
    _check_rank(rxx)
    subsets = 1 << p
    r2 = np.zeros(subsets)
    for mask in range(1, subsets):
        members = [j for j in range(p) if mask >> j & 1]
        sub = rxy[members]
        r2[mask] = sub @ np.linalg.solve(rxx[np.ix_(members, members)], sub)
    # Weight of a coalition of size s joined by one more predictor: s!(p−s−1)!/p!.
    weight = [math.factorial(s) * math.factorial(p - s - 1) / math.factorial(p) for s in range(p)]
    sizes = np.array([bin(mask).count("1") for mask in range(subsets)])
    shares = np.zeros(p)
    for j in range(p):
        bit = 1 << j
        without = np.array([mask for mask in range(subsets) if not mask & bit])
        gains = r2[without | bit] - r2[without]
        shares[j] = float(np.dot([weight[s] for s in sizes[without]], gains))
    return shares


def drivers(predictors: Array, target: Array, names: Sequence[str], *, target_name: str = "",
            method: Method = "relative_weights") -> DriverAnalysis:
    """Share the R² of ``target`` regressed on the ``predictors`` columns among them."""
    rxx, rxy = _correlations(predictors, target)
    if len(names) != rxx.shape[0]:
        raise PlsError("bad_drivers", _("因素名称的个数与数据列数不一致。"))
    if method == "relative_weights":
        values = relative_weights_from_correlations(rxx, rxy)
    elif method == "shapley":
        values = shapley_from_correlations(rxx, rxy)
    else:
        raise PlsError("bad_drivers", _("未知的分解方法。"))
    r2 = float(rxy @ np.linalg.solve(rxx, rxy))
    order = np.argsort(-values, kind="stable")
    return DriverAnalysis(
        target=target_name, method=method, r2=r2,
        drivers=tuple(Driver(name=names[j], importance=float(values[j]),
                             share=float(values[j] / r2) if r2 > 0 else 0.0) for j in order),
    )


def lv_drivers(result: PlsResult, target: str, *, predictors: Sequence[str] | None = None,
               method: Method = "relative_weights") -> DriverAnalysis:
    """Drivers of a latent variable among other LVs (default: its direct predecessors)."""
    names = result.model.lv_names
    if target not in names:
        raise PlsError("unknown_lv", _("潜变量 %(lv)s 不在模型中。") % {"lv": target})
    chosen = list(predictors) if predictors is not None else list(result.model.predecessors(target))
    if not chosen:
        raise PlsError("no_drivers", _("潜变量 %(lv)s 没有前因变量，无法做驱动因素分析。") % {"lv": target})
    for name in chosen:
        if name not in names or name == target:
            raise PlsError("unknown_lv", _("潜变量 %(lv)s 不能作为驱动因素。") % {"lv": name})
    scores = result.scores
    columns = [names.index(name) for name in chosen]
    return drivers(scores[:, columns], scores[:, names.index(target)], chosen, target_name=target, method=method)


# ------------------------------------------------------------- importance–performance

Quadrant = Literal["concentrate_here", "keep_up", "low_priority", "possible_overkill"]
QUADRANTS: tuple[Quadrant, ...] = ("concentrate_here", "keep_up", "low_priority", "possible_overkill")


def quadrant_label(quadrant: Quadrant) -> str:
    return {
        "concentrate_here": _("重点改进"),
        "keep_up": _("继续保持"),
        "low_priority": _("次要改进"),
        "possible_overkill": _("适度投入"),
    }[quadrant]


@dataclass(frozen=True)
class IpaPoint:
    name: str
    importance: float
    performance: float | None
    quadrant: Quadrant | None  # None when the performance is unknown


@dataclass(frozen=True)
class IpaMatrix:
    target: str
    importance_split: float  # the mean importance
    performance_split: float | None  # the mean performance
    points: tuple[IpaPoint, ...]  # "concentrate here" first, then by importance

    def concentrate_here(self) -> tuple[IpaPoint, ...]:
        return tuple(point for point in self.points if point.quadrant == "concentrate_here")


def importance_performance(importance: Mapping[str, float], performance: Mapping[str, float | None], *,
                           target: str = "") -> IpaMatrix:
    """Quadrants split at the means; a value equal to the mean counts as high."""
    if not importance:
        raise PlsError("no_drivers", _("没有可用于重要性—表现分析的因素。"))
    known = [v for name in importance if (v := performance.get(name)) is not None]
    imp_split = float(np.mean(list(importance.values())))
    perf_split = float(np.mean(known)) if known else None
    points = []
    for name, imp in importance.items():
        perf = performance.get(name)
        quadrant: Quadrant | None = None
        if perf is not None and perf_split is not None:
            high_imp, high_perf = imp >= imp_split, perf >= perf_split
            if high_imp:
                quadrant = "keep_up" if high_perf else "concentrate_here"
            else:
                quadrant = "possible_overkill" if high_perf else "low_priority"
        points.append(IpaPoint(name=name, importance=float(imp), performance=perf, quadrant=quadrant))
    rank = {q: i for i, q in enumerate(QUADRANTS)}
    points.sort(key=lambda p: (rank.get(p.quadrant, len(rank)) if p.quadrant else len(rank), -p.importance))
    return IpaMatrix(target=target, importance_split=imp_split, performance_split=perf_split, points=tuple(points))


def ipa_from_result(result: PlsResult, target: str, *, drivers_of: Sequence[str] | None = None) -> IpaMatrix:
    """Importance = total effect on ``target``; performance = each driver's 0–100 index.

    Drivers default to every LV with a route of paths to the target."""
    names = result.model.lv_names
    if target not in names:
        raise PlsError("unknown_lv", _("潜变量 %(lv)s 不在模型中。") % {"lv": target})
    chosen = list(drivers_of) if drivers_of is not None else [
        source for (source, dest) in result.effects if dest == target]
    importance = {name: result.total_effect(name, target) for name in chosen}
    return importance_performance(importance, {name: result.index.get(name) for name in chosen}, target=target)
