"""PLS path modelling (PLS-PM), the estimator behind the satisfaction index.

The method is Wold's PLS algorithm in Lohmöller's formulation, as described by
Tenenhaus, Esposito Vinzi, Chatelin and Lauro, "PLS path modeling" (Computational
Statistics & Data Analysis 48, 2005) and Sanchez, "PLS Path Modeling with R" (2013).
The numbers follow the conventions of R's ``plspm`` so that results can be checked
against it (docs/satisfaction-model.md lists every convention and the tests that
hold them):

* indicators are centred, and when ``scaled`` divided by their population standard
  deviation (divisor n); latent variable (LV) scores have population variance 1;
* outer estimation: Mode A weights are covariances of the indicators with the inner
  estimate, Mode B weights its least-squares regression on the block;
* inner schemes: centroid (signs of the LV correlations), factorial (the
  correlations), path (regression on predecessors, correlation with successors);
* iterations stop when the sum of squared changes of the absolute outer weights
  falls below ``tol``;
* signs: an LV whose indicators mostly correlate negatively with it is turned
  round; its weights turn with it, so weights, loadings and scores always agree;
* path coefficients by least squares on the scores, total effects by summing all
  routes, GoF = sqrt(mean communality × mean R²) over blocks with several items;
* Cronbach's alpha and Dillon-Goldstein's rho from the block's correlation matrix
  (rho from its first principal component), AVE as the mean communality.

Everything is computed from moment matrices (X'X / n), which makes the bootstrap a
batched computation over thousands of small matrices instead of thousands of refits.

The 0–100 index of an LV is ACSI's: Σ w̃ᵢ (x̄ᵢ − min)/(max − min) × 100 with w̃ᵢ the
outer weights for the items on their own scale, normalised to sum to 1 (DOMAIN §7).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from django.utils.translation import gettext as _
from numpy.typing import NDArray

Mode = Literal["A", "B"]
Scheme = Literal["centroid", "factorial", "path"]
MODES: tuple[Mode, ...] = ("A", "B")
SCHEMES: tuple[Scheme, ...] = ("centroid", "factorial", "path")

Array = NDArray[np.float64]

# A symmetric positive semi-definite matrix whose smallest eigenvalue is below this
# share of its largest is treated as singular (perfectly collinear columns).
_SINGULAR = 1e-10
BOOTSTRAP_MIN = 10
BOOTSTRAP_MAX = 100_000
_BATCH = 500  # resamples estimated together
_CHUNK_ELEMENTS = 4_000_000  # bounds the temporary arrays of the bootstrap (32 MB each)


class PlsError(ValueError):
    """The model or the data cannot be estimated; ``message`` is for the user.

    ``code`` is stable for programs (the web layer maps it to form fields)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# --------------------------------------------------------------------------- model


@dataclass(frozen=True)
class Block:
    """A latent variable and the items (columns) that measure it."""

    name: str
    items: tuple[str, ...]
    mode: Mode = "A"
    # The answer scale [min, max] of the items, for the index; None: the model's.
    scale: tuple[float, float] | None = None


@dataclass(frozen=True)
class PathModel:
    """Blocks, paths between them, and the algorithm's settings.

    ``paths`` are (from, to) pairs of block names. Construction checks the structure
    and raises ``PlsError`` naming what is wrong (an LV without items, a cycle …)."""

    blocks: tuple[Block, ...]
    paths: tuple[tuple[str, str], ...]
    scheme: Scheme = "centroid"
    scaled: bool = True
    tol: float = 1e-6
    max_iter: int = 100
    scale: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        _check_model(self)

    @property
    def lv_names(self) -> tuple[str, ...]:
        return tuple(block.name for block in self.blocks)

    @property
    def items(self) -> tuple[str, ...]:
        return tuple(item for block in self.blocks for item in block.items)

    def block(self, name: str) -> Block:
        for block in self.blocks:
            if block.name == name:
                return block
        raise KeyError(name)

    def predecessors(self, name: str) -> tuple[str, ...]:
        return tuple(source for source, target in self.paths if target == name)

    @property
    def endogenous(self) -> tuple[str, ...]:
        targets = {target for _source, target in self.paths}
        return tuple(name for name in self.lv_names if name in targets)

    def block_scale(self, block: Block) -> tuple[float, float] | None:
        return block.scale if block.scale is not None else self.scale


def _check_scale(scale: tuple[float, float] | None, where: str) -> None:
    if scale is None:
        return
    low, high = scale
    if not (math.isfinite(low) and math.isfinite(high)) or low >= high:
        raise PlsError("bad_scale", _("%(where)s的量表范围必须是 [最小值, 最大值]，且最小值小于最大值。")
                       % {"where": where})


def _check_model(model: PathModel) -> None:
    if not model.blocks:
        raise PlsError("no_blocks", _("模型没有任何潜变量（blocks 为空）。"))
    names: set[str] = set()
    seen_items: dict[str, str] = {}
    for block in model.blocks:
        if not block.name:
            raise PlsError("bad_block", _("潜变量的名称不能为空。"))
        if block.name in names:
            raise PlsError("duplicate_block", _("潜变量 %(lv)s 重复定义。") % {"lv": block.name})
        names.add(block.name)
        if not block.items:
            raise PlsError("empty_block", _("潜变量 %(lv)s 没有任何测量题目（items 为空）。") % {"lv": block.name})
        if block.mode not in MODES:
            raise PlsError("bad_mode", _("潜变量 %(lv)s 的模式必须是 A 或 B。") % {"lv": block.name})
        if block.mode == "B" and len(block.items) < 2:
            raise PlsError("single_item_mode_b",
                           _("潜变量 %(lv)s 只有一个题目，不能使用模式 B（形成型）；请改为模式 A。")
                           % {"lv": block.name})
        for item in block.items:
            if item in seen_items:
                raise PlsError("duplicate_item", _("题目 %(item)s 同时出现在 %(a)s 和 %(b)s 中。")
                               % {"item": item, "a": seen_items[item], "b": block.name})
            seen_items[item] = block.name
        _check_scale(block.scale, _("潜变量 %(lv)s ") % {"lv": block.name})
    _check_scale(model.scale, _("模型"))
    if model.scheme not in SCHEMES:
        raise PlsError("bad_scheme", _("内部权重方案必须是 centroid、factorial 或 path。"))
    if not (isinstance(model.tol, float | int) and math.isfinite(model.tol) and 0 < model.tol < 1):
        raise PlsError("bad_tol", _("收敛容差 tol 必须是 0 到 1 之间的正数。"))
    if isinstance(model.max_iter, bool) or not isinstance(model.max_iter, int) or not 1 <= model.max_iter <= 100_000:
        raise PlsError("bad_max_iter", _("最大迭代次数 max_iter 必须是 1 到 100000 之间的整数。"))
    if not model.paths:
        raise PlsError("no_paths", _("模型没有任何路径（paths 为空）。"))
    seen_paths: set[tuple[str, str]] = set()
    for source, target in model.paths:
        for name in (source, target):
            if name not in names:
                raise PlsError("unknown_lv", _("路径 %(from)s → %(to)s 中的潜变量 %(lv)s 未在 blocks 中定义。")
                               % {"from": source, "to": target, "lv": name})
        if source == target:
            raise PlsError("path_cycle", _("路径中有循环：%(cycle)s。") % {"cycle": f"{source} → {source}"})
        if (source, target) in seen_paths:
            raise PlsError("duplicate_path", _("路径 %(from)s → %(to)s 重复。") % {"from": source, "to": target})
        seen_paths.add((source, target))
    cycle = _find_cycle(model.lv_names, model.paths)
    if cycle:
        raise PlsError("path_cycle", _("路径中有循环：%(cycle)s。") % {"cycle": " → ".join(cycle)})
    connected = {name for path in model.paths for name in path}
    for name in model.lv_names:
        if name not in connected:
            raise PlsError("isolated_lv", _("潜变量 %(lv)s 没有与任何其他潜变量相连的路径。") % {"lv": name})


def _find_cycle(names: Sequence[str], paths: Iterable[tuple[str, str]]) -> list[str]:
    """A cycle as [a, b, …, a], or [] when the paths form a DAG."""
    successors: dict[str, list[str]] = {name: [] for name in names}
    for source, target in paths:
        successors[source].append(target)
    state: dict[str, int] = {}  # 1 on the current route, 2 done
    route: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        route.append(node)
        for nxt in successors[node]:
            if state.get(nxt) == 1:
                return [*route[route.index(nxt):], nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        route.pop()
        state[node] = 2
        return []

    for name in names:
        if name not in state:
            found = visit(name)
            if found:
                return found
    return []


# ---------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Table:
    """Numeric data by column; NaN marks a missing answer.

    ``row_numbers`` are the rows as the source shows them (file line or sheet row),
    used in messages; by default 1, 2, 3 …"""

    columns: tuple[str, ...]
    values: Array
    row_numbers: tuple[int, ...] | None = None

    def rows(self) -> tuple[int, ...]:
        if self.row_numbers is not None:
            return self.row_numbers
        return tuple(range(1, self.values.shape[0] + 1))


def _list_rows(rows: Sequence[int], limit: int = 10) -> str:
    shown = ", ".join(str(row) for row in rows[:limit])
    if len(rows) > limit:
        shown += _(" 等共 %(n)d 行") % {"n": len(rows)}
    return shown


def model_matrix(model: PathModel, table: Table) -> Array:
    """The model's items in model order, checked: present, complete, varying, enough rows."""
    index = {name: position for position, name in enumerate(table.columns)}
    missing_columns = [item for item in model.items if item not in index]
    if missing_columns:
        raise PlsError("unknown_column", _("数据中没有模型所需的列：%(columns)s。")
                       % {"columns": "、".join(missing_columns)})
    values = np.asarray(table.values, dtype=np.float64)
    if values.ndim != 2 or values.shape[1] != len(table.columns):
        raise PlsError("bad_table", _("数据表的形状与列名不一致。"))
    data = values[:, [index[item] for item in model.items]]
    rows = table.rows()
    for position, item in enumerate(model.items):
        bad = np.flatnonzero(~np.isfinite(data[:, position]))
        if bad.size:
            raise PlsError("missing_values", _("列 %(column)s 有缺失值（第 %(rows)s 行）；请补全或删除这些行。")
                           % {"column": item, "rows": _list_rows([rows[i] for i in bad])})
    n, p = data.shape
    if n < p or n < 3:
        raise PlsError("too_few_rows", _("数据只有 %(n)d 行，少于模型的题目数 %(p)d；无法估计。")
                       % {"n": n, "p": p})
    spread = data.max(axis=0) - data.min(axis=0)
    for position in np.flatnonzero(spread == 0).tolist():
        raise PlsError("constant_column", _("列 %(column)s 的所有值都相同（%(value)s），无法用于模型。")
                       % {"column": model.items[position], "value": _number(data[0, position])})
    return data


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


# ------------------------------------------------------------------------ structure


@dataclass(frozen=True)
class _Structure:
    """The model as index arrays, shared by the single fit and the bootstrap."""

    p: int
    lvs: int
    block_of: NDArray[np.intp]  # (p,) block index of each item
    blocks: tuple[NDArray[np.intp], ...]  # item indices per block
    odm: Array  # (p, L) outer design matrix
    inner: Array  # (L, L) P[to, from] = 1 for a path
    adjacency: Array  # (L, L) symmetric
    mode_b: tuple[int, ...]
    scheme: Scheme
    tol: float
    max_iter: int

    @classmethod
    def of(cls, model: PathModel) -> _Structure:
        lvs = len(model.blocks)
        position = {name: k for k, name in enumerate(model.lv_names)}
        block_of: list[int] = []
        blocks: list[NDArray[np.intp]] = []
        start = 0
        for k, block in enumerate(model.blocks):
            block_of.extend([k] * len(block.items))
            blocks.append(np.arange(start, start + len(block.items), dtype=np.intp))
            start += len(block.items)
        p = start
        odm = np.zeros((p, lvs))
        odm[np.arange(p), block_of] = 1.0
        inner = np.zeros((lvs, lvs))
        for source, target in model.paths:
            inner[position[target], position[source]] = 1.0
        return cls(p=p, lvs=lvs, block_of=np.asarray(block_of, dtype=np.intp), blocks=tuple(blocks),
                   odm=odm, inner=inner, adjacency=inner + inner.T,
                   mode_b=tuple(k for k, block in enumerate(model.blocks) if block.mode == "B"),
                   scheme=model.scheme, tol=float(model.tol), max_iter=int(model.max_iter))


def _solve_spd(matrix: Array, rhs: Array) -> tuple[Array, NDArray[np.bool_]]:
    """Solve batched symmetric PSD systems; flag (and neutralise) the singular ones."""
    eigen = np.linalg.eigvalsh(matrix)
    ok = eigen[..., 0] > _SINGULAR * np.maximum(eigen[..., -1], _SINGULAR)
    if not ok.all():
        matrix = matrix.copy()
        matrix[~ok] = np.eye(matrix.shape[-1])
    return np.linalg.solve(matrix, rhs), ok


@dataclass
class _Estimates:
    """Batched estimates for B data sets (B = 1 for a single fit)."""

    weights: Array  # (B, p, L) outer weights, LV scores of unit variance, signs fixed
    cross: Array  # (B, p, L) correlations of items with LVs
    lv_corr: Array  # (B, L, L)
    paths: Array  # (B, L, L) P[to, from]
    r2: Array  # (B, L)
    ok: NDArray[np.bool_]  # (B,) converged and non-singular
    converged: NDArray[np.bool_]
    iterations: NDArray[np.intp]
    singular_block: NDArray[np.bool_]  # (B,) a Mode B block was collinear
    singular_inner: NDArray[np.bool_]  # (B,) LV scores were collinear


def _lv_variance(moments: Array, weights: Array) -> Array:
    return (weights * (moments @ weights)).sum(axis=1)


def _estimate(moments: Array, st: _Structure) -> _Estimates:
    """Lohmöller's iteration on moment matrices S = X'X/n of the treated data, (B, p, p)."""
    batch = moments.shape[0]
    odm = st.odm
    weights = np.broadcast_to(odm, (batch, st.p, st.lvs)).copy()
    weights /= np.sqrt(_lv_variance(moments, weights))[:, None, :]
    w_old = weights.sum(axis=2)
    singular_block = np.zeros(batch, dtype=bool)
    singular_inner = np.zeros(batch, dtype=bool)
    mode_b_blocks = [(k, st.blocks[k]) for k in st.mode_b]
    block_moments = [moments[:, idx[:, None], idx[None, :]] for _k, idx in mode_b_blocks]
    active = np.ones(batch, dtype=bool)
    converged = np.zeros(batch, dtype=bool)
    iterations = np.full(batch, st.max_iter, dtype=np.intp)
    for iteration in range(1, st.max_iter + 1):
        rows = np.flatnonzero(active)
        w = weights[rows]
        sw = moments[rows] @ w
        sd = np.sqrt((w * sw).sum(axis=1))[:, None, :]
        normed = w / sd
        cov_xy = sw / sd  # (b, p, L) = X'Y/n for LV scores Y of unit variance
        corr = np.swapaxes(normed, 1, 2) @ cov_xy  # (b, L, L) = cor(Y)
        if st.scheme == "centroid":
            inner_w = np.sign(corr) * st.adjacency
        elif st.scheme == "factorial":
            inner_w = corr * st.adjacency
        else:
            inner_w, bad = _path_scheme(corr, st)
            singular_inner[rows[bad]] = True
        new = (cov_xy @ inner_w) * odm  # Mode A: X'Z/n within each block
        for (k, idx), sbb in zip(mode_b_blocks, block_moments, strict=True):
            solved, good = _solve_spd(sbb[rows], new[:, idx, k][..., None])
            new[:, idx, k] = solved[..., 0]
            singular_block[rows[~good]] = True
        w_new = new.sum(axis=2)
        diff = ((np.abs(w_old[rows]) - np.abs(w_new)) ** 2).sum(axis=1)
        weights[rows] = new
        w_old[rows] = w_new
        done = diff < st.tol
        converged[rows[done]] = True
        iterations[rows[done]] = iteration
        active[rows[done]] = False
        if not active.any():
            break
    weights /= np.sqrt(_lv_variance(moments, weights))[:, None, :]
    cross = _cross(moments, weights)
    # Sign indeterminacy: turn an LV whose items mostly correlate negatively with it.
    votes = (np.sign(cross) * odm).sum(axis=1)  # (B, L)
    flip = np.where(votes < 0, -1.0, 1.0)
    weights *= flip[:, None, :]
    cross *= flip[:, None, :]
    lv_corr = np.swapaxes(weights, 1, 2) @ moments @ weights
    paths, r2, bad_inner = _inner_model(lv_corr, st)
    singular_inner |= bad_inner
    finite = np.isfinite(weights).all(axis=(1, 2)) & np.isfinite(paths).all(axis=(1, 2))
    ok = converged & ~singular_block & ~singular_inner & finite
    return _Estimates(weights=weights, cross=cross, lv_corr=lv_corr, paths=paths, r2=r2, ok=ok,
                      converged=converged, iterations=iterations,
                      singular_block=singular_block, singular_inner=singular_inner)


def _cross(moments: Array, weights: Array) -> Array:
    item_sd = np.sqrt(np.einsum("bii->bi", moments))
    return (moments @ weights) / item_sd[:, :, None]


def _path_scheme(corr: Array, st: _Structure) -> tuple[Array, NDArray[np.bool_]]:
    """Path weighting: predecessors by multiple regression, successors by correlation."""
    batch = corr.shape[0]
    inner_w = np.zeros_like(corr)
    bad = np.zeros(batch, dtype=bool)
    for k in range(st.lvs):
        preds = np.flatnonzero(st.inner[k])
        succs = np.flatnonzero(st.inner[:, k])
        if preds.size:
            coef, good = _solve_spd(corr[:, preds[:, None], preds[None, :]], corr[:, preds, k][..., None])
            inner_w[:, preds, k] = coef[..., 0]
            bad |= ~good
        if succs.size:
            inner_w[:, succs, k] = corr[:, k, succs]
    return inner_w, bad


def _inner_model(lv_corr: Array, st: _Structure) -> tuple[Array, Array, NDArray[np.bool_]]:
    batch = lv_corr.shape[0]
    paths = np.zeros((batch, st.lvs, st.lvs))
    r2 = np.zeros((batch, st.lvs))
    bad = np.zeros(batch, dtype=bool)
    for k in range(st.lvs):
        preds = np.flatnonzero(st.inner[k])
        if not preds.size:
            continue
        rhs = lv_corr[:, preds, k][..., None]
        coef, good = _solve_spd(lv_corr[:, preds[:, None], preds[None, :]], rhs)
        paths[:, k, preds] = coef[..., 0]
        r2[:, k] = (coef * rhs).sum(axis=(1, 2))
        bad |= ~good
    return paths, r2, bad


def _total_effects(paths: Array) -> Array:
    """Sum over all routes: (I − P)⁻¹ − I, with P nilpotent because the paths form a DAG."""
    lvs = paths.shape[-1]
    eye = np.eye(lvs)
    return np.linalg.inv(eye - paths) - eye


def _treat(data: Array, scaled: bool) -> tuple[Array, Array]:
    """Centred (and scaled) data and the moment matrix X'X/n."""
    centred = data - data.mean(axis=0)
    if scaled:
        centred = centred / centred.std(axis=0)
    return centred, (centred.T @ centred) / data.shape[0]


# ------------------------------------------------------------------------ results


@dataclass(frozen=True)
class Effect:
    direct: float
    indirect: float
    total: float


@dataclass(frozen=True)
class Reliability:
    """Block diagnostics; alpha and rho only for reflective (Mode A) multi-item blocks."""

    mode: Mode
    items: int
    alpha: float | None
    rho: float | None
    ave: float | None
    eig_1st: float | None
    eig_2nd: float | None
    block_communality: float
    mean_redundancy: float


@dataclass(frozen=True)
class Interval:
    """A bootstrap summary: the estimate on the data, then over the resamples."""

    original: float
    mean: float
    std_error: float
    lower: float
    upper: float
    resamples: int


@dataclass(frozen=True)
class Bootstrap:
    resamples: int
    seed: int
    level: float
    redrawn: int  # resamples replaced because they could not be estimated
    paths: dict[str, Interval]
    total_effects: dict[str, Interval]
    r2: dict[str, Interval]
    weights: dict[str, Interval]
    loadings: dict[str, Interval]
    index: dict[str, Interval]


@dataclass
class PlsResult:
    model: PathModel
    n: int
    iterations: int
    weights: dict[str, float]
    loadings: dict[str, float]
    communality: dict[str, float]
    redundancy: dict[str, float]
    crossloadings: dict[str, dict[str, float]]
    paths: dict[tuple[str, str], float]
    r2: dict[str, float]
    r2_adjusted: dict[str, float]
    effects: dict[tuple[str, str], Effect]
    reliability: dict[str, Reliability]
    gof: float | None
    index: dict[str, float | None]
    scores: Array
    warnings: list[str] = field(default_factory=list)
    bootstrap: Bootstrap | None = None

    def total_effect(self, source: str, target: str) -> float:
        effect = self.effects.get((source, target))
        return effect.total if effect else 0.0


def path_label(source: str, target: str) -> str:
    return f"{source}->{target}"


def _reliability(data: Array, model: PathModel, communality: Array, redundancy: Array,
                 st: _Structure) -> dict[str, Reliability]:
    result: dict[str, Reliability] = {}
    for k, block in enumerate(model.blocks):
        idx = st.blocks[k]
        comm = communality[idx]
        alpha = rho = eig1 = eig2 = None
        q = idx.size
        if q > 1:
            corr = np.corrcoef(data[:, idx], rowvar=False)
            eigen, vectors = np.linalg.eigh(corr)
            eig1, eig2 = float(eigen[-1]), float(eigen[-2])
            if block.mode == "A":
                off = corr.sum() - q
                alpha = max(0.0, float((off / corr.sum()) * q / (q - 1)))
                # Correlations of the items with the first principal component.
                pc = vectors[:, -1] * math.sqrt(max(eigen[-1], 0.0))
                numerator = pc.sum() ** 2
                rho = float(numerator / (numerator + q - (pc**2).sum()))
        result[block.name] = Reliability(
            mode=block.mode, items=q, alpha=alpha, rho=rho,
            ave=float(comm.mean()) if block.mode == "A" else None,
            eig_1st=eig1, eig_2nd=eig2,
            block_communality=float(comm.mean()), mean_redundancy=float(redundancy[idx].mean()),
        )
    return result


def _gof(model: PathModel, communality: Array, r2: Array, st: _Structure) -> float | None:
    multi = [idx for idx in st.blocks if idx.size > 1]
    endogenous = st.inner.sum(axis=1) > 0
    if not multi or not endogenous.any():
        return None
    mean_comm = float(np.concatenate([communality[idx] for idx in multi]).mean())
    return math.sqrt(mean_comm * float(r2[endogenous].mean()))


def _raw_weights(weights: Array, item_sd: Array, scaled: bool) -> Array:
    """Outer weights (B, p) for the items on their own scale."""
    return weights / item_sd if scaled else weights


def _index_values(model: PathModel, st: _Structure, raw: Array, means: Array) -> Array:
    """(B, L) ACSI indices; NaN where a weight is not positive or no scale is known."""
    batch = raw.shape[0]
    out = np.full((batch, st.lvs), np.nan)
    for k, block in enumerate(model.blocks):
        scale = model.block_scale(block)
        if scale is None:
            continue
        low, high = scale
        idx = st.blocks[k]
        w = raw[:, idx]
        positive = (w > 0).all(axis=1)
        norm = w / w.sum(axis=1, keepdims=True)
        value = 100.0 * (norm * (means[:, idx] - low) / (high - low)).sum(axis=1)
        out[:, k] = np.where(positive, value, np.nan)
    return out


def fit(model: PathModel, table: Table, *, bootstrap: int = 0, seed: int | None = None) -> PlsResult:
    """Estimate the model on the table; with ``bootstrap`` > 0 also seeded intervals.

    Raises ``PlsError`` for data or settings that cannot be estimated."""
    if bootstrap:
        _check_bootstrap(bootstrap, seed)
    data = model_matrix(model, table)
    st = _Structure.of(model)
    n = data.shape[0]
    for k, block in enumerate(model.blocks):
        scale = model.block_scale(block)
        if scale is None:
            continue
        low, high = scale
        outside = [model.items[i] for i in st.blocks[k] if data[:, i].min() < low or data[:, i].max() > high]
        if outside:
            raise PlsError("outside_scale", _("列 %(columns)s 有超出量表 [%(low)s, %(high)s] 的值。")
                           % {"columns": "、".join(outside), "low": _number(low), "high": _number(high)})
    for k in st.mode_b:
        if st.blocks[k].size >= n:
            raise PlsError("too_few_rows", _("潜变量 %(lv)s 为模式 B，题目数不能多于或等于行数。")
                           % {"lv": model.blocks[k].name})
    treated, moments = _treat(data, model.scaled)
    for k in st.mode_b:
        idx = st.blocks[k]
        eigen = np.linalg.eigvalsh(np.corrcoef(data[:, idx], rowvar=False))
        if eigen[0] <= _SINGULAR * eigen[-1]:
            raise PlsError("collinear_block", _("模式 B 潜变量 %(lv)s 的题目之间完全共线，无法做回归；"
                                                "请删去重复或可由其他题目算出的题目。")
                           % {"lv": model.blocks[k].name})
    with np.errstate(all="ignore"):
        est = _estimate(moments[None], st)
    _raise_on_failure(model, st, est)
    weights = est.weights[0]
    cross = est.cross[0]
    names = model.lv_names
    items = model.items
    loading = cross[np.arange(st.p), st.block_of]
    communality = loading**2
    r2 = est.r2[0]
    redundancy = communality * r2[st.block_of]
    effects_total = _total_effects(est.paths[:1])[0]
    paths = est.paths[0]
    scores = treated @ weights
    flat_weights = weights[np.arange(st.p), st.block_of]
    item_sd = data.std(axis=0)
    raw = _raw_weights(flat_weights[None], item_sd[None], model.scaled)
    index_row = _index_values(model, st, raw, data.mean(axis=0)[None])[0]
    warnings: list[str] = []
    index: dict[str, float | None] = {}
    for k, block in enumerate(model.blocks):
        if model.block_scale(block) is None:
            index[block.name] = None
            continue
        if math.isnan(index_row[k]):
            index[block.name] = None
            warnings.append(_("潜变量 %(lv)s 的外部权重不全为正（%(items)s），无法计算 0–100 指数；"
                              "请检查题目方向或把该潜变量改为模式 A。")
                            % {"lv": block.name,
                               "items": "、".join(f"{items[i]}={flat_weights[i]:.3f}"
                                                  for i in st.blocks[k] if raw[0, i] <= 0)})
            continue
        index[block.name] = float(index_row[k])
    if any(model.block_scale(block) is None for block in model.blocks):
        warnings.append(_("模型未给出量表范围（scale），没有量表的潜变量不计算 0–100 指数。"))
    endogenous = st.inner.sum(axis=1) > 0
    r2_adjusted = {}
    for k in np.flatnonzero(endogenous).tolist():
        m = int(st.inner[k].sum())
        r2_adjusted[names[k]] = float(1 - (1 - r2[k]) * (n - 1) / (n - m - 1)) if n - m - 1 > 0 else math.nan
    result = PlsResult(
        model=model, n=n, iterations=int(est.iterations[0]),
        weights=dict(zip(items, map(float, flat_weights), strict=True)),
        loadings=dict(zip(items, map(float, loading), strict=True)),
        communality=dict(zip(items, map(float, communality), strict=True)),
        redundancy=dict(zip(items, map(float, redundancy), strict=True)),
        crossloadings={item: dict(zip(names, map(float, cross[i]), strict=True)) for i, item in enumerate(items)},
        paths={(source, target): float(paths[names.index(target), names.index(source)])
               for source, target in model.paths},
        r2={names[k]: float(r2[k]) for k in np.flatnonzero(endogenous)},
        r2_adjusted=r2_adjusted,
        effects=_effects(names, st.inner, paths, effects_total),
        reliability=_reliability(data, model, communality, redundancy, st),
        gof=_gof(model, communality, r2, st),
        index=index, scores=scores, warnings=warnings,
    )
    if bootstrap:
        result.bootstrap = _bootstrap(model, st, data, result, bootstrap, seed)
    return result


def _effects(names: Sequence[str], inner: Array, paths: Array, total: Array) -> dict[tuple[str, str], Effect]:
    """Direct, indirect and total effects for every pair joined by a route of paths."""
    lvs = len(names)
    # Reachability comes from the model's paths, not from the estimates being non-zero.
    reach = np.linalg.matrix_power(np.eye(lvs) + inner, lvs) > 0
    effects: dict[tuple[str, str], Effect] = {}
    for j in range(lvs):
        for i in range(lvs):
            if i != j and reach[i, j]:
                effects[(names[j], names[i])] = Effect(direct=float(paths[i, j]),
                                                       indirect=float(total[i, j] - paths[i, j]),
                                                       total=float(total[i, j]))
    return effects


def _raise_on_failure(model: PathModel, st: _Structure, est: _Estimates) -> None:
    if not est.converged[0]:
        raise PlsError("not_converged", _("算法在 %(max_iter)d 次迭代内未收敛（容差 %(tol)g）；"
                                          "请增大 max_iter 或检查模型。")
                       % {"max_iter": model.max_iter, "tol": model.tol})
    if est.singular_block[0] or est.singular_inner[0] or not est.ok[0]:
        raise PlsError("collinear_lvs", _("潜变量得分之间完全共线，无法估计路径系数；请检查模型的路径和题目。"))


# ----------------------------------------------------------------------- bootstrap


def resample_counts(rng: np.random.Generator, resamples: int, n: int) -> NDArray[np.intp]:
    """How often each row is drawn in each resample (rows drawn with replacement)."""
    draws = rng.integers(0, n, size=(resamples, n))
    flat = (draws + (np.arange(resamples) * n)[:, None]).ravel()
    return np.bincount(flat, minlength=resamples * n).reshape(resamples, n)


@dataclass
class Replicates:
    """Statistics of a batch of resamples, in model order; rows where ``ok`` is False are invalid."""

    ok: NDArray[np.bool_]
    weights: Array  # (B, p)
    loadings: Array  # (B, p)
    paths: Array  # (B, number of model paths)
    total: Array  # (B, L, L)
    r2: Array  # (B, L)
    index: Array  # (B, L)


def replicate_statistics(model: PathModel, data: Array, counts: NDArray[np.intp]) -> Replicates:
    """Estimate the model on resamples given as row counts (B, n) of ``data`` (model order)."""
    st = _Structure.of(model)
    n = data.shape[0]
    freq = counts / n
    base = data - data.mean(axis=0)  # centre once to keep the moment differences accurate
    means = freq @ base
    p = base.shape[1]
    # Second moments of every resample at once: row weights times the rows' outer
    # products, a chunk of rows at a time to bound the memory.
    second = np.zeros((counts.shape[0], p * p))
    step = max(1, _CHUNK_ELEMENTS // (p * p))
    for start in range(0, n, step):
        chunk = base[start:start + step]
        second += freq[:, start:start + step] @ (chunk[:, :, None] * chunk[:, None, :]).reshape(-1, p * p)
    second = second.reshape(-1, p, p)
    cov = second - means[:, :, None] * means[:, None, :]
    variance = np.einsum("bii->bi", cov).copy()
    varying = (variance > 1e-12 * np.maximum(base.var(axis=0), 1e-300)).all(axis=1)
    variance[~varying] = 1.0
    sd = np.sqrt(variance)
    moments = cov / (sd[:, :, None] * sd[:, None, :]) if model.scaled else cov
    with np.errstate(all="ignore"):
        est = _estimate(moments, st)
        flat = np.arange(st.p)
        weights = est.weights[:, flat, st.block_of]
        loadings = est.cross[:, flat, st.block_of]
        path_idx = [(model.lv_names.index(t), model.lv_names.index(s)) for s, t in model.paths]
        paths = np.stack([est.paths[:, i, j] for i, j in path_idx], axis=1)
        total = _total_effects(est.paths)
        raw = _raw_weights(weights, sd, model.scaled)
        index = _index_values(model, st, raw, means + data.mean(axis=0))
    ok = est.ok & varying
    return Replicates(ok=ok, weights=weights, loadings=loadings, paths=paths, total=total, r2=est.r2, index=index)


def _interval(original: float, values: Array, level: float) -> Interval:
    values = values[np.isfinite(values)]
    if values.size < 2:
        nan = math.nan
        return Interval(original=original, mean=nan, std_error=nan, lower=nan, upper=nan, resamples=int(values.size))
    tail = (1 - level) / 2 * 100
    lower, upper = np.percentile(values, [tail, 100 - tail])
    return Interval(original=original, mean=float(values.mean()), std_error=float(values.std(ddof=1)),
                    lower=float(lower), upper=float(upper), resamples=int(values.size))


def _check_bootstrap(resamples: int, seed: int | None) -> None:
    if not BOOTSTRAP_MIN <= resamples <= BOOTSTRAP_MAX:
        raise PlsError("bad_bootstrap", _("自助法重抽样次数必须在 %(low)d 到 %(high)d 之间。")
                       % {"low": BOOTSTRAP_MIN, "high": BOOTSTRAP_MAX})
    if seed is not None and not 0 <= seed < 2**63:
        raise PlsError("bad_seed", _("随机种子必须是 0 到 2^63−1 之间的整数。"))


def _bootstrap(model: PathModel, st: _Structure, data: Array, result: PlsResult, resamples: int,
               seed: int | None, level: float = 0.95) -> Bootstrap:
    _check_bootstrap(resamples, seed)
    if seed is None:
        seed = int(np.random.SeedSequence().generate_state(1)[0])
    rng = np.random.default_rng(seed)
    n = data.shape[0]
    batch_size = max(1, min(_BATCH, _CHUNK_ELEMENTS // n))
    kept: list[Replicates] = []
    have = 0
    drawn = 0
    while have < resamples:
        if drawn >= resamples * 10:
            raise PlsError("bootstrap_failed", _("自助法样本中有太多无法估计（不收敛或共线），"
                                                 "请检查数据或增加样本量。"))
        size = min(batch_size, resamples - have)
        counts = resample_counts(rng, size, n)
        drawn += size
        batch = replicate_statistics(model, data, counts)
        keep = np.flatnonzero(batch.ok)
        kept.append(Replicates(ok=batch.ok[keep], weights=batch.weights[keep], loadings=batch.loadings[keep],
                               paths=batch.paths[keep], total=batch.total[keep], r2=batch.r2[keep],
                               index=batch.index[keep]))
        have += keep.size
    reps = Replicates(*(np.concatenate([getattr(r, name) for r in kept])[:resamples]
                        for name in ("ok", "weights", "loadings", "paths", "total", "r2", "index")))
    names = model.lv_names
    items = model.items
    effects_out: dict[str, Interval] = {}
    for (source, target), effect in result.effects.items():
        i, j = names.index(target), names.index(source)
        effects_out[path_label(source, target)] = _interval(effect.total, reps.total[:, i, j], level)
    return Bootstrap(
        resamples=resamples, seed=seed, level=level, redrawn=drawn - resamples,
        paths={path_label(s, t): _interval(result.paths[(s, t)], reps.paths[:, m], level)
               for m, (s, t) in enumerate(model.paths)},
        total_effects=effects_out,
        r2={name: _interval(value, reps.r2[:, names.index(name)], level) for name, value in result.r2.items()},
        weights={item: _interval(result.weights[item], reps.weights[:, i], level) for i, item in enumerate(items)},
        loadings={item: _interval(result.loadings[item], reps.loadings[:, i], level) for i, item in enumerate(items)},
        index={name: _interval(value, reps.index[:, names.index(name)], level)
               for name, value in result.index.items() if value is not None},
    )


def model_from_mapping(blocks: Mapping[str, tuple[Sequence[str], Mode]], paths: Iterable[tuple[str, str]],
                       **settings: object) -> PathModel:
    """A convenience for code and tests: ``{"LV": (items, mode)}`` and (from, to) pairs."""
    return PathModel(blocks=tuple(Block(name=name, items=tuple(items), mode=mode)
                                  for name, (items, mode) in blocks.items()),
                     paths=tuple((str(s), str(t)) for s, t in paths), **settings)  # type: ignore[arg-type]
