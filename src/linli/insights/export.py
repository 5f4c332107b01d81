"""Excel (openpyxl) of exactly what the rates page or the ranking shows: the same
filters, the same numbers. Rates are stored as fractions with a percent format, so a
spreadsheet can compute with them; a rate without cases is an empty cell marked "—"."""

from __future__ import annotations

from io import BytesIO
from typing import Any
from urllib.parse import quote

from django.http import HttpResponse
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from linli.insights.selectors import Dashboard, Ranking, Rates, Row, Weights

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PERCENT = "0.0%"
DASH = "—"
# Excel refuses sheet names over 31 characters and these: []:*?/\
_BAD_SHEET_CHARS = str.maketrans({c: " " for c in "[]:*?/\\"})


def _rate(value: float | None) -> Any:
    return DASH if value is None else value


def _score(value: float | None) -> Any:
    return DASH if value is None else round(value * 100, 2)


def rate_headers() -> list[str]:
    return [_("有效件"), _("响应率"), _("解决率"), _("满意率"), _("综合得分"), _("按时办结率"), _("超时办结"),
            _("未派单关闭"), _("重新办理"), _("按时联系"), _("已解决"), _("评价件"), _("非常满意"), _("满意"),
            _("基本满意"), _("不满意"), _("非常不满意"), _("调解类评价（不计入满意率）")]


def rate_cells(rates: Rates) -> list[Any]:
    c = rates.counts
    return [c["valid"], _rate(rates.response), _rate(rates.resolution), _rate(rates.satisfaction),
            _score(rates.composite), _rate(rates.timeliness), c["breached"], c["not_dispatched"], c["reopened"],
            c["responded_in_time"], c["solved"], c["rated"], c["very_satisfied"], c["satisfied"],
            c["basically_satisfied"], c["dissatisfied"], c["very_dissatisfied"], c["rated_excluded"]]


PERCENT_COLUMNS = {1, 2, 3, 5}  # offsets within rate_cells


def _sheet(book: Workbook, title: str) -> Worksheet:
    return book.create_sheet(title.translate(_BAD_SHEET_CHARS)[:31])


def _table(sheet: Worksheet, first: list[str], rows: list[tuple[list[Any], Rates]], *, freeze: bool = True) -> None:
    """A header row, then one row per entry: its leading cells and its rates."""
    headers = first + rate_headers()
    sheet.append(headers)
    header_row = sheet.max_row
    for header_cell in sheet[header_row]:
        header_cell.font = Font(bold=True)
    offset = len(first)
    for lead, rates in rows:
        sheet.append(lead + rate_cells(rates))
        for column in PERCENT_COLUMNS:
            cell = sheet.cell(row=sheet.max_row, column=offset + column + 1)
            if cell.value != DASH:
                cell.number_format = PERCENT
    for index, header in enumerate(headers, start=1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = max(sheet.column_dimensions[letter].width or 0,
                                                    10, min(30, len(header) * 2 + 2))
    if freeze:
        sheet.freeze_panes = f"{get_column_letter(offset + 1)}{header_row + 1}"


def _weights_lines(weights: Weights) -> list[list[Any]]:
    return [
        [_("响应率权重"), weights.response], [_("解决率权重"), weights.resolution],
        [_("满意率权重"), weights.satisfaction], [_("“基本满意”计入系数"), weights.basic],
    ]


def _rows(rows: list[Row]) -> list[tuple[list[Any], Rates]]:
    return [([row.label], row.rates) for row in rows]


def dashboard_workbook(board: Dashboard) -> Workbook:
    book = Workbook()
    summary = book.create_sheet(_("概览"))
    book.remove(book.worksheets[0])
    f = board.filters
    info: list[list[Any]] = [
        [_("诉求办理三率")],
        [_("地点"), board.node.name],
        [_("统计期"), board.period.label],
        [_("起止日期"), f"{board.period.start.isoformat()} ~ {board.period.end.isoformat()}"],
        [_("类别"), f.category.name if f.category else _("全部类别")],
        [_("承办人"), next((r.label for r in board.by_handler if r.selected), f"#{f.handler}") if f.handler
         else _("全部承办人")],
        [_("合作单位"), next((r.label for r in board.by_partner if r.selected), f"#{f.partner}") if f.partner
         else _("全部合作单位")],
        [_("受理量（按提交日）"), board.totals.counts["submitted"] if board.intake_counted else DASH],
        *_weights_lines(board.weights),
        [],
    ]
    for line in info:
        summary.append(line)
    summary["A1"].font = Font(bold=True, size=14)
    _table(summary, [""], [([_("合计")], board.totals)], freeze=False)
    summary.column_dimensions["A"].width = 20
    summary.column_dimensions["B"].width = 24

    trend = _sheet(book, _("月度趋势"))
    _table(trend, [_("月份")], [([p.label], p.rates) for p in board.trend])
    categories = _sheet(book, _("按类别"))
    _table(categories, [_("类别")], _rows(board.by_category))
    if board.by_place:
        places = _sheet(book, _("按%(kind)s") % {"kind": board.child_label})
        _table(places, [board.child_label], _rows(board.by_place))
    handlers = _sheet(book, _("按承办人"))
    _table(handlers, [_("承办人")], _rows(board.by_handler))
    partners = _sheet(book, _("按合作单位"))
    _table(partners, [_("合作单位")], _rows(board.by_partner))
    return book


def ranking_workbook(board: Ranking) -> Workbook:
    book = Workbook()
    sheet = book.create_sheet(_("社区排名"))
    book.remove(book.worksheets[0])
    rows = [([row.rank if row.rank is not None else DASH, row.place.name,
              row.previous_rank if row.previous_rank is not None else DASH, _score(row.previous.composite)],
             row.rates) for row in board.rows]
    _table(sheet, [_("名次"), _("社区"), _("上期名次"), _("上期得分")], rows)
    about = _sheet(book, _("说明"))
    for line in [[_("地点"), board.node.name], [_("统计期"), board.period.label],
                 [_("上一期"), board.previous.label],
                 [_("类别"), board.category.name if board.category else _("全部类别")],
                 *_weights_lines(board.weights)]:
        about.append(line)
    about.column_dimensions["A"].width = 20
    about.column_dimensions["B"].width = 24
    return book


def _response(book: Workbook, filename: str) -> HttpResponse:
    buffer = BytesIO()
    book.save(buffer)
    response = HttpResponse(buffer.getvalue(), content_type=XLSX)
    ascii_name = filename.encode("ascii", "ignore").decode() or "rates.xlsx"
    response["Content-Disposition"] = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    response["Cache-Control"] = "private, no-store"
    return response


def _safe(text: str) -> str:
    return "".join(ch for ch in text if ch.isalnum() or ch in "-_")


def dashboard_response(board: Dashboard) -> HttpResponse:
    name = f"rates-{_safe(board.node.name)}-{_safe(board.period.key)}.xlsx"
    return _response(dashboard_workbook(board), name)


def ranking_response(board: Ranking) -> HttpResponse:
    name = f"ranking-{_safe(board.node.name)}-{_safe(board.period.key)}.xlsx"
    return _response(ranking_workbook(board), name)
