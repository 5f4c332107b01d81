"""Reading a PLS model (MODEL.json) and its data, and writing the results as JSON.

Every problem becomes a ``PlsError`` with a one-line message in the user's language
that names the problem (the column, the row, the value, the block …); the command
line and the web share these readers.

MODEL.json::

    {"blocks": {"LV": {"mode": "A", "items": ["col", ...], "scale": [1, 10]}, ...},
     "paths": [["FROM", "TO"], ...],
     "scheme": "centroid", "scaled": true, "tol": 1e-6, "max_iter": 100, "scale": [1, 10]}

Only ``blocks`` and ``paths`` are required; a block's ``mode`` defaults to "A" and its
``scale`` to the model's.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from django.utils.translation import gettext as _

from linli.core.uploads import Row, UploadError, read_table
from linli.insights.pls import (
    SCHEMES,
    Block,
    Interval,
    PathModel,
    PlsError,
    PlsResult,
    Table,
    path_label,
)

MODEL_MAX_BYTES = 1024 * 1024
DATA_MAX_ROWS = 200_000
MISSING = frozenset({"", "na", "n/a", "nan", "null", "none"})
_MODEL_KEYS = frozenset({"blocks", "paths", "scheme", "scaled", "tol", "max_iter", "scale"})
_BLOCK_KEYS = frozenset({"mode", "items", "scale"})


# --------------------------------------------------------------------------- model


def _bad_model(message: str) -> PlsError:
    return PlsError("bad_model", _("模型文件有误：%(problem)s") % {"problem": message})


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _scale(value: object, where: str) -> tuple[float, float] | None:
    if value is None:
        return None
    if not (isinstance(value, list) and len(value) == 2 and all(_is_number(v) for v in value)):
        raise _bad_model(_("%(where)s的 scale 必须是 [最小值, 最大值] 两个数。") % {"where": where})
    low, high = float(value[0]), float(value[1])
    if low >= high:
        raise _bad_model(_("%(where)s的 scale 最小值必须小于最大值。") % {"where": where})
    return low, high


def parse_model(text: str | bytes) -> PathModel:
    """MODEL.json text to a checked ``PathModel``."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise _bad_model(_("不是 UTF-8 编码的文本。")) from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _bad_model(_("JSON 格式错误（第 %(line)d 行第 %(column)d 列）：%(error)s")
                         % {"line": exc.lineno, "column": exc.colno, "error": exc.msg}) from None
    if not isinstance(raw, dict):
        raise _bad_model(_("顶层必须是一个 JSON 对象。"))
    unknown = sorted(set(raw) - _MODEL_KEYS)
    if unknown:
        raise _bad_model(_("未知的键：%(keys)s。") % {"keys": "、".join(unknown)})
    blocks_raw = raw.get("blocks")
    if not isinstance(blocks_raw, dict) or not blocks_raw:
        raise _bad_model(_("缺少 blocks，或 blocks 不是非空对象。"))
    blocks: list[Block] = []
    for name, spec in blocks_raw.items():
        blocks.append(_parse_block(name, spec))
    paths_raw = raw.get("paths")
    if not isinstance(paths_raw, list):
        raise _bad_model(_("缺少 paths，或 paths 不是列表。"))
    paths: list[tuple[str, str]] = []
    for number, pair in enumerate(paths_raw, start=1):
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(v, str) and v for v in pair)):
            raise _bad_model(_("paths 第 %(n)d 项必须是 [\"起点\", \"终点\"] 两个潜变量名。") % {"n": number})
        paths.append((pair[0], pair[1]))
    scheme = raw.get("scheme", "centroid")
    if scheme not in SCHEMES:
        raise _bad_model(_("scheme 必须是 centroid、factorial 或 path。"))
    scaled = raw.get("scaled", True)
    if not isinstance(scaled, bool):
        raise _bad_model(_("scaled 必须是 true 或 false。"))
    tol = raw.get("tol", 1e-6)
    if not _is_number(tol) or not 0 < tol < 1:
        raise _bad_model(_("tol 必须是 0 到 1 之间的正数。"))
    max_iter = raw.get("max_iter", 100)
    if isinstance(max_iter, bool) or not isinstance(max_iter, int) or not 1 <= max_iter <= 100_000:
        raise _bad_model(_("max_iter 必须是 1 到 100000 之间的整数。"))
    return PathModel(blocks=tuple(blocks), paths=tuple(paths), scheme=scheme, scaled=scaled,
                     tol=float(tol), max_iter=max_iter, scale=_scale(raw.get("scale"), _("模型")))


def _parse_block(name: str, spec: object) -> Block:
    if not name.strip():
        raise _bad_model(_("潜变量的名称不能为空。"))
    if not isinstance(spec, dict):
        raise _bad_model(_("潜变量 %(lv)s 的定义必须是对象，例如 {\"mode\": \"A\", \"items\": [...]}。") % {"lv": name})
    unknown = sorted(set(spec) - _BLOCK_KEYS)
    if unknown:
        raise _bad_model(_("潜变量 %(lv)s 有未知的键：%(keys)s。") % {"lv": name, "keys": "、".join(unknown)})
    mode = spec.get("mode", "A")
    if mode not in ("A", "B"):
        raise _bad_model(_("潜变量 %(lv)s 的 mode 必须是 \"A\" 或 \"B\"。") % {"lv": name})
    items = spec.get("items")
    if items is None or items == []:
        raise PlsError("empty_block", _("潜变量 %(lv)s 没有任何测量题目（items 为空）。") % {"lv": name})
    if not (isinstance(items, list) and all(isinstance(item, str) and item for item in items)):
        raise _bad_model(_("潜变量 %(lv)s 的 items 必须是列名（字符串）的列表。") % {"lv": name})
    return Block(name=name, items=tuple(items), mode=mode,
                 scale=_scale(spec.get("scale"), _("潜变量 %(lv)s ") % {"lv": name}))


def load_model(path: Path) -> PathModel:
    try:
        with path.open("rb") as stream:
            data = stream.read(MODEL_MAX_BYTES + 1)
    except OSError as exc:
        raise PlsError("unreadable", _("无法读取模型文件 %(path)s：%(error)s")
                       % {"path": path, "error": exc.strerror or exc}) from None
    if len(data) > MODEL_MAX_BYTES:
        raise _bad_model(_("文件过大。"))
    return parse_model(data)


# ---------------------------------------------------------------------------- data


def _cell_number(value: object) -> float | None:
    """A cell as a float; None when missing; raises ValueError when not a number."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int | float):
        if isinstance(value, float) and math.isnan(value):
            return None
        if not math.isfinite(value):
            raise ValueError(value)
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in MISSING:
            return None
        number = float(text)  # raises ValueError
        if not math.isfinite(number):
            raise ValueError(value)
        return number
    raise ValueError(value)


def table_from_rows(rows: Sequence[Row], columns: Sequence[str]) -> Table:
    """The named columns of a sheet (first row: header) as numbers.

    Other columns are ignored, so a file may carry ids, names or free text."""
    rows = [(number, cells) for number, cells in rows
            if any(cell is not None and str(cell).strip() for cell in cells)]
    if not rows:
        raise PlsError("empty_data", _("数据文件是空的。"))
    header_number, header_cells = rows[0]
    header = [str(cell).strip() if cell is not None else "" for cell in header_cells]
    positions: dict[str, int] = {}
    for name in columns:
        found = [i for i, title in enumerate(header) if title == name]
        if len(found) > 1:
            raise PlsError("duplicate_column", _("表头中列 %(column)s 出现了 %(n)d 次。")
                           % {"column": name, "n": len(found)})
        if found:
            positions[name] = found[0]
    missing = [name for name in columns if name not in positions]
    if missing:
        raise PlsError("unknown_column", _("数据中没有模型所需的列：%(columns)s。")
                       % {"columns": "、".join(missing)})
    body = rows[1:]
    values = np.full((len(body), len(columns)), np.nan)
    for r, (number, cells) in enumerate(body):
        for c, name in enumerate(columns):
            position = positions[name]
            cell = cells[position] if position < len(cells) else None
            try:
                parsed = _cell_number(cell)
            except ValueError:
                raise PlsError("not_numeric", _("第 %(row)d 行 %(column)s 列的值“%(value)s”不是数字。")
                               % {"row": number, "column": name, "value": _short(cell)}) from None
            if parsed is not None:
                values[r, c] = parsed
    return Table(columns=tuple(columns), values=values, row_numbers=tuple(number for number, _cells in body))


def _short(value: object, limit: int = 40) -> str:
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "…"


def load_table(path: Path, columns: Sequence[str]) -> Table:
    """A .csv (UTF-8 or GB18030) or .xlsx file; only ``columns`` are read as numbers."""
    try:
        with path.open("rb") as stream:
            _kind, rows = read_table(name=path.name, stream=stream, size=path.stat().st_size,
                                     max_rows=DATA_MAX_ROWS)
    except OSError as exc:
        raise PlsError("unreadable", _("无法读取数据文件 %(path)s：%(error)s")
                       % {"path": path, "error": exc.strerror or exc}) from None
    except UploadError as exc:
        raise PlsError("bad_file", exc.message) from None
    return table_from_rows(rows, columns)


# ------------------------------------------------------------------------- output


def _num(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _interval(interval: Interval) -> dict[str, Any]:
    return {"original": _num(interval.original), "mean": _num(interval.mean),
            "std_error": _num(interval.std_error), "lower": _num(interval.lower),
            "upper": _num(interval.upper), "resamples": interval.resamples}


def result_to_dict(result: PlsResult) -> dict[str, Any]:
    """The JSON document of ``linli pls`` (docs/satisfaction-model.md describes each key)."""
    model = result.model
    block_of = {item: block.name for block in model.blocks for item in block.items}
    out: dict[str, Any] = {
        "paths": {path_label(s, t): _num(v) for (s, t), v in result.paths.items()},
        "r2": {name: _num(v) for name, v in result.r2.items()},
        "outer": {item: {"block": block_of[item], "weight": _num(result.weights[item]),
                         "loading": _num(result.loadings[item]),
                         "communality": _num(result.communality[item]),
                         "redundancy": _num(result.redundancy[item])}
                  for item in model.items},
        "index": {name: _num(v) for name, v in result.index.items()},
        "gof": _num(result.gof),
        "bootstrap": None,
        "total_effects": {path_label(s, t): {"direct": _num(e.direct), "indirect": _num(e.indirect),
                                             "total": _num(e.total)}
                          for (s, t), e in result.effects.items()},
        "r2_adjusted": {name: _num(v) for name, v in result.r2_adjusted.items()},
        "reliability": {name: {"mode": r.mode, "items": r.items, "alpha": _num(r.alpha), "rho": _num(r.rho),
                               "ave": _num(r.ave), "eig_1st": _num(r.eig_1st), "eig_2nd": _num(r.eig_2nd),
                               "block_communality": _num(r.block_communality),
                               "mean_redundancy": _num(r.mean_redundancy)}
                        for name, r in result.reliability.items()},
        "model": {"scheme": model.scheme, "scaled": model.scaled, "tol": model.tol, "max_iter": model.max_iter,
                  "scale": list(model.scale) if model.scale else None, "iterations": result.iterations,
                  "rows": result.n},
        "warnings": list(result.warnings),
    }
    boot = result.bootstrap
    if boot is not None:
        out["bootstrap"] = {
            "resamples": boot.resamples, "seed": boot.seed, "level": boot.level, "redrawn": boot.redrawn,
            "paths": {k: _interval(v) for k, v in boot.paths.items()},
            "total_effects": {k: _interval(v) for k, v in boot.total_effects.items()},
            "r2": {k: _interval(v) for k, v in boot.r2.items()},
            "outer": {item: {"weight": _interval(boot.weights[item]), "loading": _interval(boot.loadings[item])}
                      for item in model.items},
            "index": {k: _interval(v) for k, v in boot.index.items()},
        }
    return out


def result_to_json(result: PlsResult) -> str:
    return json.dumps(result_to_dict(result), ensure_ascii=False, indent=2, allow_nan=False)


def model_to_dict(model: PathModel) -> dict[str, Any]:
    """The MODEL.json form of a model (what ``parse_model`` reads)."""
    blocks: dict[str, Mapping[str, Any]] = {}
    for block in model.blocks:
        spec: dict[str, Any] = {"mode": block.mode, "items": list(block.items)}
        if block.scale is not None:
            spec["scale"] = list(block.scale)
        blocks[block.name] = spec
    return {"blocks": blocks, "paths": [list(pair) for pair in model.paths], "scheme": model.scheme,
            "scaled": model.scaled, "tol": model.tol, "max_iter": model.max_iter,
            "scale": list(model.scale) if model.scale else None}
