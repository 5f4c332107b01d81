"""Import the place tree from a workbook (.xlsx) or a CSV file.

Columns (Chinese or English headers, in any order): 编码 code, 上级编码 parent_code,
类型 kind, 名称 name, and optionally 规划户数 households and 所在省市 region (roots only).
Rows may come in any order. Every bad row is reported with its reason; the good
rows are written in one transaction; a row whose code already exists with the same
values changes nothing, so importing the same file twice is harmless.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import IO, TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from linli.core.uploads import UploadError, read_table
from linli.places import services
from linli.places.models import ALLOWED_CHILDREN, ROOT_KINDS, Place, PlaceKind
from linli.places.selectors import places_by_code

if TYPE_CHECKING:
    from linli.accounts.models import User

MAX_ROWS = 200_000

COLUMN_ALIASES: dict[str, set[str]] = {
    "code": {"编码", "代码", "code"},
    "parent_code": {"上级编码", "上级代码", "parent_code", "parentcode", "parent"},
    "kind": {"类型", "层级", "kind", "type"},
    "name": {"名称", "name"},
    "households": {"规划户数", "户数", "households", "households_count"},
    "region": {"所在省市", "region"},
}
REQUIRED_COLUMNS = ("code", "parent_code", "kind", "name")
COLUMN_LABELS = {"code": "编码", "parent_code": "上级编码", "kind": "类型", "name": "名称"}

KIND_ALIASES: dict[str, str] = {
    "区": PlaceKind.DISTRICT, "县": PlaceKind.DISTRICT, "区县": PlaceKind.DISTRICT,
    "街道": PlaceKind.STREET, "镇": PlaceKind.STREET, "乡镇": PlaceKind.STREET,
    "社区": PlaceKind.COMMUNITY, "居委会": PlaceKind.COMMUNITY,
    "网格": PlaceKind.GRID,
    "楼栋": PlaceKind.BUILDING, "楼": PlaceKind.BUILDING,
    "单元": PlaceKind.UNIT,
    "户": PlaceKind.HOUSEHOLD, "房屋": PlaceKind.HOUSEHOLD, "住户": PlaceKind.HOUSEHOLD,
    **{kind.value: kind.value for kind in PlaceKind},
}


# Reading the file --------------------------------------------------------------------

def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_upload(name: str, stream: IO[bytes], size: int | None = None) -> Iterator[list[str]]:
    """Check an uploaded file's size and type, then yield its rows as lists of text."""
    _format, rows = read_table(name=name, stream=stream, size=size, max_rows=MAX_ROWS)
    for _number, values in rows:
        yield [_cell(v) for v in values]


# Rows --------------------------------------------------------------------------------

@dataclass
class Row:
    number: int  # as the spreadsheet shows it (the header is row 1)
    code: str
    parent_code: str
    kind_text: str
    name: str
    households_text: str = ""
    region: str = ""
    kind: str = ""
    households: int | None = None


_HEADER_SPLIT = re.compile(r"[\s()（）/|:：,，]+")


def _column_of(header: str) -> str | None:
    text = header.strip().lower().replace("\ufeff", "")
    for column, aliases in COLUMN_ALIASES.items():
        if text in aliases:
            return column
    for token in _HEADER_SPLIT.split(text):
        for column, aliases in COLUMN_ALIASES.items():
            if token in aliases:
                return column
    return None


def parse_rows(table: Iterable[list[str]]) -> list[Row]:
    """Find the header, map the columns, and return the non-empty data rows."""
    rows: list[Row] = []
    columns: dict[str, int] | None = None
    for number, values in enumerate(table, start=1):
        if not any(values):
            continue
        if columns is None:
            columns = {}
            for index, header in enumerate(values):
                column = _column_of(header)
                if column and column not in columns:
                    columns[column] = index
            missing = [COLUMN_LABELS[c] for c in REQUIRED_COLUMNS if c not in columns]
            if missing:
                raise UploadError(
                    _("第一行须是表头，缺少列：%(columns)s。") % {"columns": "、".join(missing)}
                )
            continue
        if len(rows) >= MAX_ROWS:
            raise UploadError(_("行数过多（上限 %(max)d 行），请分批导入。") % {"max": MAX_ROWS})

        cells = {column: values[index].strip() if index < len(values) else "" for column, index in columns.items()}
        rows.append(Row(
            number=number, code=cells.get("code", ""), parent_code=cells.get("parent_code", ""),
            kind_text=cells.get("kind", ""), name=cells.get("name", ""),
            households_text=cells.get("households", ""), region=cells.get("region", ""),
        ))
    if columns is None:
        raise UploadError(_("文件是空的。"))
    return rows


# Planning ----------------------------------------------------------------------------

@dataclass
class RowIssue:
    row: int
    code: str
    messages: list[str]

    @property
    def message(self) -> str:
        return "；".join(self.messages)


@dataclass
class ImportReport:
    total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowIssue] = field(default_factory=list)
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors


def _first_message(exc: ValidationError) -> str:
    return str(exc.messages[0]) if exc.messages else str(exc)


def _kind_label(kind: str) -> str:
    return str(PlaceKind(kind).label)


@dataclass(frozen=True)
class _Parent:
    kind: str | None  # None: the row is a root
    pk: int | None  # the existing parent's id
    depth: int
    new: bool = False  # the parent is created by this import


class _Planner:
    """Checks every row against the file and the database, in whatever order rows come."""

    MAX_DEPTH = 16

    def __init__(self, rows: list[Row], under: Place | None) -> None:
        self.rows = rows
        self.under = under
        self.problems: dict[int, list[str]] = {}
        self.by_code: dict[str, Row] = {}
        self.state: dict[str, str] = {}  # code -> "visiting" | "ok" | "bad"
        self.depth: dict[str, int] = {}
        self.existing: dict[str, Place] = {}

    def bad(self, row: Row, message: str) -> None:
        self.problems.setdefault(row.number, []).append(message)

    def check_cells(self) -> None:
        first_seen: dict[str, int] = {}
        for row in self.rows:
            try:
                row.code = services.validate_code(row.code)
            except ValidationError as exc:
                self.bad(row, _first_message(exc))
            try:
                row.name = services.validate_name(row.name)
            except ValidationError as exc:
                self.bad(row, _first_message(exc))
            kind = KIND_ALIASES.get(row.kind_text.strip().lower()) or KIND_ALIASES.get(row.kind_text.strip())
            if not row.kind_text:
                self.bad(row, _("类型不能为空。"))
            elif kind is None:
                self.bad(row, _("未知的类型“%(kind)s”（可用：区、街道、社区、网格、楼栋、单元、户）。")
                         % {"kind": row.kind_text})
            else:
                row.kind = kind
            if row.households_text:
                try:
                    number = float(row.households_text.replace(",", ""))
                    if not number.is_integer() or not 0 <= number <= services.MAX_HOUSEHOLDS:
                        raise ValueError
                    row.households = int(number)
                except ValueError:
                    self.bad(row, _("规划户数须是 0 到 %(max)d 之间的整数，而不是“%(value)s”。")
                             % {"max": services.MAX_HOUSEHOLDS, "value": row.households_text})
            row.region = services.clean_name(row.region).replace(" ", "")
            if row.code:
                if row.code in first_seen:
                    self.bad(row, _("编码 %(code)s 重复（与第 %(row)d 行相同）。")
                             % {"code": row.code, "row": first_seen[row.code]})
                else:
                    first_seen[row.code] = row.number
                    self.by_code[row.code] = row

    def load_existing(self) -> None:
        codes = set(self.by_code) | {r.parent_code for r in self.rows if r.parent_code}
        self.existing = places_by_code(codes)

    def resolve(self, row: Row, chain: int = 0) -> bool:
        """True when the row can be imported; records why not otherwise."""
        status = self.state.get(row.code)
        if status == "ok":
            return True
        if status == "bad":
            return False
        if status == "visiting":
            self.bad(row, _("上级编码形成了循环。"))
            return False
        if row.number in self.problems:
            self.state[row.code] = "bad"
            return False
        if chain > self.MAX_DEPTH:
            self.bad(row, _("层级过深。"))
            self.state[row.code] = "bad"
            return False
        self.state[row.code] = "visiting"
        ok = self._resolve(row, chain)
        if not ok and row.number not in self.problems:
            self.bad(row, _("无法导入。"))
        self.state[row.code] = "ok" if ok else "bad"
        return ok

    def _parent_of(self, row: Row, chain: int) -> _Parent | None:
        """Where the row hangs; None (with the reason recorded) when it cannot."""
        under = self.under
        if not row.parent_code:
            if under is None:
                return _Parent(kind=None, pk=None, depth=-1)
            return _Parent(kind=under.kind, pk=under.pk, depth=under.depth)
        if row.parent_code == row.code:
            self.bad(row, _("上级编码不能是自己的编码。"))
            return None
        parent_row = self.by_code.get(row.parent_code)
        if parent_row is not None:
            if not self.resolve(parent_row, chain + 1):
                if row.number not in self.problems:
                    self.bad(row, _("上级（第 %(row)d 行）有错误，未能导入。") % {"row": parent_row.number})
                return None
            existing_parent = self.existing.get(parent_row.code)
            return _Parent(kind=parent_row.kind, pk=existing_parent.pk if existing_parent else None,
                           depth=self.depth[parent_row.code], new=existing_parent is None)
        parent = self.existing.get(row.parent_code)
        if parent is None:
            self.bad(row, _("上级编码 %(code)s 不存在（文件中和系统中都没有）。") % {"code": row.parent_code})
            return None
        if under is not None and not parent.is_below(under):
            self.bad(row, _("上级编码 %(code)s 不在“%(under)s”之下。") % {"code": row.parent_code, "under": under})
            return None
        if not parent.is_active:
            self.bad(row, _("上级“%(name)s”已停用。") % {"name": parent.name})
            return None
        return _Parent(kind=parent.kind, pk=parent.pk, depth=parent.depth)

    def _resolve(self, row: Row, chain: int) -> bool:
        existing = self.existing.get(row.code)
        if existing is not None and self.under is not None and existing.pk == self.under.pk:
            # The file describes the node it is imported under: only its name may change.
            if row.kind != existing.kind:
                self.bad(row, _("编码 %(code)s 已用于一个%(kind)s。") % {"code": row.code, "kind": _kind_label(existing.kind)})
                return False
            if row.region and existing.parent_id is not None:
                self.bad(row, _("只有最上级地点需要填写所在省市。"))
                return False
            self.depth[row.code] = existing.depth
            return True
        parent = self._parent_of(row, chain)
        if parent is None:
            return False
        if parent.kind is None and row.kind not in ROOT_KINDS:
            self.bad(row, _("没有上级编码时，类型只能是区或街道。"))
            return False
        if parent.kind is not None and row.kind not in ALLOWED_CHILDREN[parent.kind]:
            self.bad(row, _("%(child)s不能直接设在%(parent)s之下。")
                     % {"child": _kind_label(row.kind), "parent": _kind_label(parent.kind)})
            return False
        if row.region and parent.kind is not None:
            self.bad(row, _("只有最上级地点需要填写所在省市。"))
            return False
        if existing is not None:
            if self.under is not None and not existing.is_below(self.under):
                self.bad(row, _("编码 %(code)s 已被“%(under)s”以外的地点使用。") % {"code": row.code, "under": self.under})
                return False
            if existing.kind != row.kind:
                self.bad(row, _("编码 %(code)s 已用于一个%(kind)s。") % {"code": row.code, "kind": _kind_label(existing.kind)})
                return False
            if parent.new or existing.parent_id != parent.pk:
                self.bad(row, _("编码 %(code)s 已存在，但在另一个上级之下（导入不会移动地点）。") % {"code": row.code})
                return False
        self.depth[row.code] = parent.depth + 1
        return True

    def plan(self) -> tuple[list[services.NewPlace], list[services.PlaceChange], int]:
        self.check_cells()
        self.load_existing()
        for row in self.rows:
            if row.code and self.by_code.get(row.code) is row:
                self.resolve(row)
        creates: list[tuple[int, int, services.NewPlace]] = []
        changes: list[services.PlaceChange] = []
        unchanged = 0
        for row in self.rows:
            if row.number in self.problems or self.state.get(row.code) != "ok":
                continue
            existing = self.existing.get(row.code)
            if existing is None:
                parent_code = row.parent_code or (self.under.code if self.under is not None else "")
                creates.append((self.depth[row.code], row.number, services.NewPlace(
                    code=row.code, parent_code=parent_code, kind=row.kind, name=row.name,
                    households_count=row.households or 0, region=row.region,
                )))
                continue
            change = services.PlaceChange(
                code=row.code,
                name=row.name if row.name != existing.name else None,
                households_count=(row.households if row.households is not None
                                  and row.households != existing.households_count else None),
                region=row.region if row.region and row.region != existing.region else None,
            )
            if change.name is None and change.households_count is None and change.region is None:
                unchanged += 1
            else:
                changes.append(change)
        creates.sort(key=lambda item: (item[0], item[1]))
        return [item[2] for item in creates], changes, unchanged

    def issues(self) -> list[RowIssue]:
        codes = {row.number: row.code for row in self.rows}
        return [RowIssue(row=n, code=codes.get(n, ""), messages=m) for n, m in sorted(self.problems.items())]


def import_rows(
    rows: list[Row], *, under: Place | None, by: User | None = None, dry_run: bool = False, source: str = ""
) -> ImportReport:
    planner = _Planner(rows, under)
    creates, changes, unchanged = planner.plan()
    report = ImportReport(total=len(rows), unchanged=unchanged, errors=planner.issues(), dry_run=dry_run)
    if dry_run:
        report.created, report.updated = len(creates), len(changes)
        return report
    outcome = services.place_import(creates=creates, changes=changes, by=by, source=source)
    report.created, report.updated = len(outcome.created), len(outcome.updated)
    return report


def import_file(
    name: str, stream: IO[bytes], *, size: int | None = None, under: Place | None, by: User | None = None,
    dry_run: bool = False,
) -> ImportReport:
    """Read, check and import one uploaded file. Raises ``UploadError`` when the file
    as a whole is unusable; bad rows are in the report."""
    rows = parse_rows(read_upload(name, stream, size))
    if not rows:
        raise UploadError(_("文件中没有数据行。"))
    return import_rows(rows, under=under, by=by, dry_run=dry_run, source=PurePath(name).name)
