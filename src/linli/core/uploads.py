"""Uploaded spreadsheets: one place that checks size and type and reads the rows.

Every importer (places, people, and later the owners' roll) goes through
``read_table``, so the limits and the messages a user sees are the same everywhere:
the size limit (``settings.UPLOAD_MAX_BYTES``), the extension *and* the content
(a real OOXML workbook, or text in UTF-8 / UTF-8 with BOM / GB18030), a guard against
workbooks that unpack to far more than they weigh, and a row limit.
"""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import PurePath
from typing import IO, Any

from django.conf import settings
from django.utils.translation import gettext as _

# An .xlsx is zipped XML; real workbooks unpack to a few times their size.
MAX_UNPACK_FACTOR = 40
# No import has more columns than this; a sheet may claim 16,384 (A1:XFD…).
MAX_COLUMNS = 64

Row = tuple[int, list[Any]]  # (row number as the spreadsheet shows it, cells)


class UploadError(Exception):
    """The file as a whole cannot be used; ``message`` is in the user's language."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}".removesuffix(".0")


def _too_large() -> UploadError:
    return UploadError(_("文件过大：上限为 %(mb)s MB。") % {"mb": _megabytes(settings.UPLOAD_MAX_BYTES)})


def _too_many_rows(limit: int) -> UploadError:
    return UploadError(_("一次最多导入 %(n)d 行，请拆分文件。") % {"n": limit})


def read_table(*, name: str, stream: IO[bytes], size: int | None, max_rows: int) -> tuple[str, list[Row]]:
    """Check the file and return its format ("xlsx" or "csv") and its rows.

    xlsx cells come as openpyxl gives them (str, int, float, date…); csv cells are str.
    Raises ``UploadError`` with a message for the user."""
    limit = settings.UPLOAD_MAX_BYTES
    if size is not None and size > limit:
        raise _too_large()
    suffix = PurePath(name or "").suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise UploadError(_("只接受 .xlsx 或 .csv 文件（旧版 .xls 请先另存为 .xlsx）。"))
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise _too_large()  # the stream was larger than it said
    if not data.strip():
        raise UploadError(_("文件是空的。"))
    if suffix == ".xlsx":
        return "xlsx", _xlsx_rows(data, max_rows)
    return "csv", _csv_rows(data, max_rows)


def _xlsx_rows(data: bytes, max_rows: int) -> list[Row]:
    import openpyxl

    not_xlsx = UploadError(_("文件内容不是有效的 .xlsx 工作簿（旧版 .xls 请先另存为 .xlsx）。"))
    if not data.startswith(b"PK\x03\x04"):
        raise not_xlsx
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError):
        raise not_xlsx from None
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        raise not_xlsx
    if unpacked > max(len(data) * MAX_UNPACK_FACTOR, settings.UPLOAD_MAX_BYTES * 4):
        raise UploadError(_("工作簿解压后过大，请拆分后再导入。"))
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds of error on a damaged workbook
        raise not_xlsx from None
    try:
        sheet = book.worksheets[0]
        # Read-only mode trusts the sheet's own <dimension>; a forged one (A1:XFD1048576)
        # would pad every row to 16,384 cells. Measure the real extent instead.
        sheet.reset_dimensions()
        rows: list[Row] = []
        for number, values in enumerate(sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS), start=1):
            if number > max_rows + 1:
                raise _too_many_rows(max_rows)
            cells = list(values)
            while cells and cells[-1] is None:
                cells.pop()
            rows.append((number, cells))
        return rows
    except (UploadError, MemoryError):
        raise
    except Exception:  # a damaged sheet fails only when it is read
        raise not_xlsx from None
    finally:
        book.close()


def _csv_rows(data: bytes, max_rows: int) -> list[Row]:
    if b"\x00" in data:
        raise UploadError(_("文件内容不是文本格式的 CSV（.csv）文件。"))
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise UploadError(_("无法识别 .csv 文件的编码：请保存为 UTF-8 或 GB18030。"))
    first_line = text.split("\n", 1)[0]
    # Spreadsheets "save as text" with tabs; a comma in the header line means CSV proper.
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    rows: list[Row] = []
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        for values in reader:
            if len(rows) >= max_rows + 1:
                raise _too_many_rows(max_rows)
            rows.append((reader.line_num, values))
    except csv.Error:
        raise UploadError(_("文件内容不是有效的 CSV（.csv）文件。")) from None
    return rows
