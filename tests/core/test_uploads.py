from __future__ import annotations

import io
import re
import zipfile

import openpyxl
import pytest
from django.test import override_settings

from linli.core.uploads import UploadError, read_table


def _workbook_with_forged_dimension(last_row: int) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["户编号", "楼栋"])
    sheet.cell(row=last_row, column=1, value="x")
    plain = io.BytesIO()
    book.save(plain)
    forged = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(plain.getvalue())) as source, zipfile.ZipFile(forged, "w", zipfile.ZIP_DEFLATED) as out:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(rb'<dimension ref="[^"]+"/>', b'<dimension ref="A1:XFD1048576"/>', data)
            out.writestr(item, data)
    return forged.getvalue()


def test_a_forged_sheet_dimension_does_not_pad_rows() -> None:
    data = _workbook_with_forged_dimension(3000)
    fmt, rows = read_table(name="bomb.xlsx", stream=io.BytesIO(data), size=len(data), max_rows=50_000)
    assert fmt == "xlsx"
    assert rows[0][1] == ["户编号", "楼栋"]
    assert max(len(cells) for _, cells in rows) <= 2


def test_row_limit_and_size_limit() -> None:
    text = "a,b\n" + "1,2\n" * 11
    with pytest.raises(UploadError, match="10"):
        read_table(name="x.csv", stream=io.BytesIO(text.encode()), size=None, max_rows=10)
    with override_settings(UPLOAD_MAX_BYTES=8), pytest.raises(UploadError, match="过大"):
        read_table(name="x.csv", stream=io.BytesIO(text.encode()), size=None, max_rows=10)


def test_tab_separated_text_and_gb18030() -> None:
    data = "姓名\t房号\n张三\t101\n".encode("gb18030")
    fmt, rows = read_table(name="x.csv", stream=io.BytesIO(data), size=len(data), max_rows=10)
    assert fmt == "csv" and rows[1][1] == ["张三", "101"]
