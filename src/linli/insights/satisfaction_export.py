"""Excel (openpyxl) of what the satisfaction pages show: one sheet per chart, with the
same numbers, so a chart can be redrawn or checked in a spreadsheet. ``part`` picks one
sheet (the button under each chart); without it every sheet is written."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from io import BytesIO
from typing import Any
from urllib.parse import quote

from django.http import HttpResponse
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from linli.insights.satisfaction_dashboard import RoundPoint, RunView, StreamPoint
from linli.places.models import Place

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DASH = "—"
_BAD_SHEET_CHARS = str.maketrans({c: " " for c in "[]:*?/\\"})


def _cell(value: Any, digits: int = 1) -> Any:
    if value is None:
        return DASH
    if isinstance(value, float):
        return round(value, digits)
    return value


def _sheet(book: Workbook, title: str, headers: list[str], rows: Sequence[Sequence[Any]]) -> Worksheet:
    sheet = book.create_sheet(title.translate(_BAD_SHEET_CHARS)[:31])
    sheet.append(headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(list(row))
    for index, header in enumerate(headers, start=1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = max(10, min(40, len(header) * 2 + 2))
    sheet.freeze_panes = "B2"
    return sheet


def _trend(book: Workbook, rounds: Sequence[RoundPoint]) -> None:
    _sheet(book, _("调查轮次趋势"), [_("调查时间"), _("名称"), _("有效答卷"), _("指数类型"), _("总体满意度指数"),
                                     _("95% 区间下限"), _("95% 区间上限")],
           [[p.label, p.title, p.n, _("模型指数") if p.fitted else _("题目平均分"), _cell(p.value), _cell(p.lower),
             _cell(p.upper)] for p in rounds])


def _stream(book: Workbook, stream: Sequence[StreamPoint]) -> None:
    _sheet(book, _("回访评价逐月"), [_("月份"), _("评价件数"), _("非常满意"), _("满意"), _("基本满意"), _("不满意"),
                                    _("非常不满意"), _("满意率（%）"), _("回访评价指数"), _("95% 区间下限"),
                                    _("95% 区间上限")],
           [[p.label, p.rated, p.counts[5], p.counts[4], p.counts[3], p.counts[2], p.counts[1],
             _cell(100 * p.rate if p.rate is not None else None), _cell(p.index), _cell(p.interval[0]),
             _cell(p.interval[1])] for p in stream])


def _overview(book: Workbook, view: RunView) -> None:
    run = view.run
    target = view.target
    rows: list[list[Any]] = [
        [_("名称"), run.title], [_("范围"), run.place.name], [_("数据来源"), run.get_source_display()],
        [_("调查时间"), run.period_date.isoformat()], [_("有效答卷（完整作答）"), view.n],
        [_("模型所需答卷"), view.min_rows],
        [_("指数类型"), _("模型指数（ACSI 方法）") if view.fitted else _("题目平均分（答卷不足，未拟合模型）")],
        [_("总体满意度指数"), _cell(target.value if target else None)],
        [_("95% 区间"), f"{_cell(target.lower)} – {_cell(target.upper)}" if target else DASH],
        [_("R²（总体满意度）"), _cell(view.r2, 3)], [_("GoF"), _cell(view.gof, 3)],
        [_("自助法重抽样次数"), run.bootstrap], [_("随机种子"), str(run.seed) if run.seed is not None else DASH],
    ]
    _sheet(book, _("概览"), [_("项目"), _("数值")], rows)


def _scores(book: Workbook, view: RunView) -> None:
    _sheet(book, _("各方面得分"), [_("编码"), _("方面"), _("工作机制"), _("角色"), _("指数"), _("95% 区间下限"),
                                  _("95% 区间上限"), _("题目平均分（0–100）"), _("重要性（总效应）"),
                                  _("重要性下限"), _("重要性上限"), _("象限"), _("上一轮"), _("变化")],
           [[b.name, b.label, b.mechanism_label, b.role, _cell(b.value), _cell(b.lower), _cell(b.upper),
             _cell(b.mean), _cell(b.importance, 3), _cell(b.importance_lower, 3), _cell(b.importance_upper, 3),
             b.quadrant_label or DASH, _cell(b.previous), _cell(b.change)] for b in view.blocks])


def _ipa(book: Workbook, view: RunView) -> None:
    split = view.analysis.get("ipa") or {}
    sheet = _sheet(book, _("重要性—表现矩阵"), [_("方面"), _("表现（0–100 指数）"), _("重要性（总效应）"), _("象限")],
                   [[b.label, _cell(b.value), _cell(b.importance, 3), b.quadrant_label or DASH]
                    for b in view.ipa_points])
    sheet.append([])
    sheet.append([_("表现分界（平均）"), _cell(split.get("performance_split"))])
    sheet.append([_("重要性分界（平均）"), _cell(split.get("importance_split"), 3)])


def _drivers(book: Workbook, view: RunView) -> None:
    sheet = _sheet(book, _("关键驱动因素"), [_("方面"), _("相对权重（占 R² 的 %）"), _("Shapley（占 R² 的 %）"),
                                          _("相对权重"), _("Shapley 值")],
                   [[d["label"], _cell(d["relative"]), _cell(d["shapley"]), _cell(d["relative_raw"], 4),
                     _cell(d["shapley_raw"], 4)] for d in view.driver_shares])
    sheet.append([])
    sheet.append([_("R²"), _cell(view.drivers_r2, 4)])


def _improve(book: Workbook, view: RunView) -> None:
    rows = []
    for number, item in enumerate(view.improvements, start=1):
        weakest = item.weakest or {}
        rows.append([number, item.block.label, _cell(item.block.value), _cell(item.performance_split),
                     _cell(item.block.importance, 3), item.rank, weakest.get("text") or DASH,
                     _cell(weakest.get("mean"), 2), item.open_requests, item.low_ratings, item.comments_total])
    _sheet(book, _("改进重点"), [_("序号"), _("方面"), _("得分"), _("各方面平均"), _("重要性"), _("重要性排名"),
                               _("得分最低的题目"), _("该题平均分"), _("相关未办结诉求"), _("近一年不满意评价"),
                               _("相关居民意见")], rows)


def _breakdown(book: Workbook, view: RunView) -> None:
    rows = []
    for _kind, title, table in view.breakdowns:
        for row in table:
            rows.append([title, row.label, row.n, _cell(row.value) if row.enough else _("样本不足"),
                         _cell(row.lower), _cell(row.upper)])
    _sheet(book, _("分组"), [_("分组方式"), _("组"), _("有效答卷"), _("总体满意度指数"), _("95% 区间下限"),
                           _("95% 区间上限")], rows)


def _rates(book: Workbook, view: RunView) -> None:
    rates = view.rates
    rows = [] if rates is None else [
        [r.name, r.invited, r.answered, _cell(100 * r.rate if r.rate is not None else None)]
        for r in [*rates.rows, rates.total]]
    _sheet(book, _("回收率"), [_("网格"), _("发出邀请"), _("已作答"), _("回收率（%）")], rows)


def _items(book: Workbook, view: RunView) -> None:
    weights = {b["name"]: b.get("weights") or {} for b in view.analysis.get("blocks") or []}
    outer = (view.run.result or {}).get("outer") or {}
    rows = []
    for block in view.blocks:
        for item in block.items:
            code = item["code"]
            rows.append([block.label, code, item["text"], _cell(item["mean"], 2), _cell(item["score"]),
                         _cell(weights.get(block.name, {}).get(code), 3),
                         _cell((outer.get(code) or {}).get("loading"), 3)])
    _sheet(book, _("题目"), [_("方面"), _("题目编码"), _("题目"), _("平均分"), _("得分（0–100）"), _("指数权重"),
                           _("载荷")], rows)


def _paths(book: Workbook, view: RunView) -> None:
    _sheet(book, _("路径系数"), [_("从"), _("到"), _("路径系数"), _("95% 区间下限"), _("95% 区间上限")],
           [[p["source"], p["target"], _cell(p["value"], 3), _cell(p["lower"], 3), _cell(p["upper"], 3)]
            for p in view.paths])


def run_workbook(view: RunView, stream: Sequence[StreamPoint], *, part: str = "") -> Workbook:
    parts: dict[str, Callable[[Workbook], None]] = {
        "overview": lambda b: _overview(b, view), "scores": lambda b: _scores(b, view),
        "ipa": lambda b: _ipa(b, view), "drivers": lambda b: _drivers(b, view),
        "improve": lambda b: _improve(b, view), "trend": lambda b: _trend(b, view.rounds),
        "stream": lambda b: _stream(b, stream), "breakdown": lambda b: _breakdown(b, view),
        "rates": lambda b: _rates(b, view), "items": lambda b: _items(b, view), "paths": lambda b: _paths(b, view),
    }
    book = Workbook()
    book.remove(book.worksheets[0])
    for name, write in parts.items():
        if not part or part == name or part not in parts:
            write(book)
    return book


def _response(book: Workbook, filename: str) -> HttpResponse:
    buffer = BytesIO()
    book.save(buffer)
    response = HttpResponse(buffer.getvalue(), content_type=XLSX)
    ascii_name = filename.encode("ascii", "ignore").decode() or "satisfaction.xlsx"
    response["Content-Disposition"] = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    response["Cache-Control"] = "private, no-store"
    return response


def run_response(view: RunView, stream: Sequence[StreamPoint], *, part: str = "") -> HttpResponse:
    suffix = f"-{part}" if part and part.isalnum() else ""
    return _response(run_workbook(view, stream, part=part), f"satisfaction-{view.run.pk}{suffix}.xlsx")


def overview_response(node: Place, rounds: Sequence[RoundPoint], stream: Sequence[StreamPoint], *,
                      part: str = "") -> HttpResponse:
    book = Workbook()
    book.remove(book.worksheets[0])
    if part in ("", "trend") or part not in ("trend", "stream"):
        _trend(book, rounds)
    if part in ("", "stream") or part not in ("trend", "stream"):
        _stream(book, stream)
    return _response(book, f"satisfaction-place-{node.pk}.xlsx")
