from __future__ import annotations

import io
from pathlib import Path

import openpyxl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from linli.audit.models import AuditEvent
from linli.places.importer import UploadError, import_file
from linli.places.models import Place
from tests.conftest import Tree

pytestmark = pytest.mark.django_db

HEADER = "编码,上级编码,类型,名称,规划户数\n"


def _csv(body: str, *, header: str = HEADER, encoding: str = "utf-8") -> io.BytesIO:
    return io.BytesIO((header + body).encode(encoding))


def _run(data: io.BytesIO, under: Place | None, name: str = "places.csv", **kwargs: object):  # type: ignore[no-untyped-def]
    return import_file(name, data, size=len(data.getvalue()), under=under, **kwargs)  # type: ignore[arg-type]


def _xlsx(rows: list[list[object]]) -> io.BytesIO:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    out.seek(0)
    return out


# Children come before their parents on purpose.
GOOD = (
    "c3-g1-b1-u1-h1,c3-g1-b1-u1,户,101,\n"
    "c3-g1-b1-u1,c3-g1-b1,单元,1,\n"
    "c3,,社区,光明社区,1200\n"
    "c3-g1-b1,c3-g1,楼栋,5,\n"
    "c3-g1,c3,网格,光明一网格,400\n"
    "c3-b2,c3,楼栋,综合楼,\n"
)


def test_good_rows_in_any_order(tree: Tree) -> None:
    report = _run(_csv(GOOD), tree.street)
    assert report.errors == []
    assert (report.total, report.created, report.updated, report.unchanged) == (6, 6, 0, 0)
    home = Place.objects.get(code="c3-g1-b1-u1-h1")
    assert home.address == "朝阳区和平街道光明社区5号楼1单元101室"
    assert home.depth == 6
    community = Place.objects.get(code="c3")
    assert community.parent_id == tree.street.pk
    assert community.households_count == 1200
    assert home.community_id == community.pk
    assert home.path.startswith(community.path)
    assert Place.objects.get(code="c3-b2").parent_id == community.pk
    events = AuditEvent.objects.filter(action="place.import")
    assert events.count() == 1
    assert sorted(events.get().after["created"]) == sorted(
        ["c3", "c3-g1", "c3-b2", "c3-g1-b1", "c3-g1-b1-u1", "c3-g1-b1-u1-h1"]
    )


def test_reimport_changes_nothing(tree: Tree) -> None:
    _run(_csv(GOOD), tree.street)
    places_before = list(Place.objects.values_list("pk", "path", "address", "name", "households_count"))
    events_before = AuditEvent.objects.count()
    report = _run(_csv(GOOD), tree.street)
    assert (report.created, report.updated, report.unchanged, report.errors) == (0, 0, 6, [])
    assert list(Place.objects.values_list("pk", "path", "address", "name", "households_count")) == places_before
    assert AuditEvent.objects.count() == events_before


def test_reimport_with_a_new_name_renames_and_rebuilds_addresses(tree: Tree) -> None:
    _run(_csv(GOOD), tree.street)
    report = _run(_csv(GOOD.replace("光明社区,1200", "光明里社区,1300")), tree.street)
    assert (report.created, report.updated, report.unchanged) == (0, 1, 5)
    assert Place.objects.get(code="c3").households_count == 1300
    assert Place.objects.get(code="c3-g1-b1-u1-h1").address == "朝阳区和平街道光明里社区5号楼1单元101室"


def test_bad_rows_are_reported_and_good_rows_imported(tree: Tree) -> None:
    body = (
        "c3,,社区,光明社区,\n"  # 2 good
        "c3-g1,c3,网格,一网格,\n"  # 3 good
        "x1,nowhere,楼栋,1号楼,\n"  # 4 unknown parent
        "x2,c3,户,101,\n"  # 5 a household cannot sit in a community
        "c3-g1,c3,网格,重复,\n"  # 6 duplicate code
        "x3,c3,网格,,\n"  # 7 empty name
        "x4,c3,小区,某小区,\n"  # 8 unknown kind
        "x5,c3,网格,五网格,很多\n"  # 9 households not a number
        "x6,x1,单元,1单元,\n"  # 10 parent row is bad
        "x7,x8,楼栋,7,\n"  # 11 cycle
        "x8,x7,楼栋,8,\n"  # 12 cycle
        "x9,h3,户,102,\n"  # 13 parent outside the import root? no: h3 is in the tree but a household
        ",c3,网格,无编码,\n"  # 14 empty code
        "c3-g1-b1,c3-g1,楼栋,5,\n"  # 15 good
    )
    report = _run(_csv(body), tree.street)
    reasons = {issue.row: issue.message for issue in report.errors}
    assert sorted(reasons) == [4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]
    assert "nowhere" in reasons[4] and "不存在" in reasons[4]
    assert reasons[5] == "户不能直接设在社区之下。"
    assert "重复" in reasons[6] and "第 3 行" in reasons[6]
    assert reasons[7] == "名称不能为空。"
    assert "小区" in reasons[8]
    assert "规划户数" in reasons[9]
    assert "第 4 行" in reasons[10]
    assert "循环" in reasons[11] or "循环" in reasons[12]
    assert reasons[13] == "户不能直接设在户之下。"
    assert reasons[14] == "编码不能为空。"
    assert report.created == 3
    assert set(Place.objects.filter(code__startswith="c3").values_list("code", flat=True)) == {"c3", "c3-g1", "c3-g1-b1"}
    assert Place.objects.get(code="c3-g1").name == "一网格"
    assert not Place.objects.filter(code__startswith="x").exists()


def test_codes_taken_outside_or_elsewhere(tree: Tree) -> None:
    body = (
        "h3,c1,楼栋,冒用,\n"  # 2: h3 is a household of another community
        "b1,g2,楼栋,3号楼,\n"  # 3: b1 exists under g1; an import does not move it
        "g1,c1,网格,第一网格,\n"  # 4: unchanged
        "u8,b1,单元,8,\n"  # 5: hangs below the bad row 3
        "u9,b2,单元,9,\n"  # 6: new unit under an existing building
    )
    report = _run(_csv(body), tree.community)
    reasons = {issue.row: issue.message for issue in report.errors}
    assert sorted(reasons) == [2, 3, 5]
    assert "以外" in reasons[2]
    assert "不会移动" in reasons[3]
    assert "第 3 行" in reasons[5]
    assert (report.created, report.unchanged) == (1, 1)
    assert Place.objects.get(code="u9").address == "朝阳区和平街道樱花园社区7号楼9单元"


def test_parent_outside_the_import_root(tree: Tree) -> None:
    report = _run(_csv("n1,g3,楼栋,9号楼,\n"), tree.community)
    assert len(report.errors) == 1
    assert "不在" in report.errors[0].message
    assert not Place.objects.filter(code="n1").exists()


def test_roots_without_under(db: None) -> None:
    header = "编码,上级编码,类型,名称,所在省市\n"
    body = "d9,,区,海淀区,北京市\ns9,d9,街道,学院路街道,\nc9,,社区,孤儿社区,\n"
    report = _run(_csv(body, header=header), None)
    assert [issue.row for issue in report.errors] == [4]
    assert report.errors[0].message == "没有上级编码时，类型只能是区或街道。"
    assert Place.objects.get(code="s9").address == "北京市海淀区学院路街道"


def test_dry_run_writes_nothing(tree: Tree) -> None:
    before = Place.objects.count()
    report = _run(_csv(GOOD), tree.street, dry_run=True)
    assert report.dry_run and report.created == 6
    assert Place.objects.count() == before


def test_gb18030_and_bom_csv(tree: Tree) -> None:
    report = _run(_csv("c3,,社区,光明社区,\n", encoding="gb18030"), tree.street)
    assert report.created == 1 and Place.objects.get(code="c3").name == "光明社区"
    report = _run(_csv("c4,,社区,朝霞社区,\n", encoding="utf-8-sig"), tree.street)
    assert report.created == 1 and Place.objects.get(code="c4").name == "朝霞社区"


def test_xlsx_with_english_headers_and_numeric_cells(tree: Tree) -> None:
    data = _xlsx([
        ["code", "parent_code", "kind", "name", "households"],
        [110105001, None, "community", "Sunrise", 800.0],
        [110105002, 110105001, "grid", "Grid 1", 400],
        [None, None, None, None, None],
        [110105003, 110105002, "Building", 7, None],
    ])
    report = import_file("places.xlsx", data, size=len(data.getvalue()), under=tree.street)
    assert report.errors == [] and report.created == 3
    assert Place.objects.get(code="110105001").households_count == 800
    assert Place.objects.get(code="110105003").address == "朝阳区和平街道Sunrise7号楼"


def test_mixed_headers(tree: Tree) -> None:
    data = _csv("c3,,社区,光明社区,\n", header="编码 code,上级编码 parent_code,类型 kind,名称 name,规划户数 households\n")
    assert _run(data, tree.street).created == 1


@pytest.mark.parametrize(
    ("name", "content", "fragment"),
    [
        ("places.txt", b"a,b\n", ".xlsx"),
        ("places.xlsx", b"not a zip at all", ".xlsx"),
        ("places.xlsx", b"PK\x03\x04broken", ".xlsx"),
        ("places.csv", b"\x00\x01\x02", "CSV"),
        ("places.csv", "名称,类型\n一,区\n".encode(), "编码"),
        ("places.csv", b"   ", "空"),
        ("places.csv", HEADER.encode(), "没有数据行"),
    ],
)
def test_unusable_files(tree: Tree, name: str, content: bytes, fragment: str) -> None:
    with pytest.raises(UploadError) as exc:
        import_file(name, io.BytesIO(content), size=len(content), under=tree.street)
    assert fragment in exc.value.message


def test_zip_that_is_not_a_workbook(tree: Tree) -> None:
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(UploadError):
        import_file("places.xlsx", io.BytesIO(out.getvalue()), size=len(out.getvalue()), under=tree.street)


@override_settings(UPLOAD_MAX_BYTES=1024)
def test_oversized_file(tree: Tree) -> None:
    body = "".join(f"c{n},,社区,社区{n},\n" for n in range(200))
    data = _csv(body)
    with pytest.raises(UploadError) as exc:
        _run(data, tree.street)
    assert "过大" in exc.value.message
    # A stream that lies about its size is still cut off at the limit.
    with pytest.raises(UploadError):
        import_file("places.csv", _csv(body), size=None, under=tree.street)


def test_big_import_in_few_queries(tree: Tree, django_assert_max_num_queries: object) -> None:
    lines = ["c3,,社区,光明社区,"]
    for b in range(10):
        lines.append(f"c3-b{b},c3,楼栋,{b + 1},")
        for h in range(30):
            lines.append(f"c3-b{b}-h{h},c3-b{b},户,{h + 101},")
    data = _csv("\n".join(lines) + "\n")
    with django_assert_max_num_queries(25):  # type: ignore[operator]
        report = _run(data, tree.street)
    assert report.created == 311 and report.errors == []
    assert Place.objects.get(code="c3-b9-h29").address == "朝阳区和平街道光明社区10号楼130室"


def test_command(tree: Tree, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "places.csv"
    path.write_bytes(_csv(GOOD).getvalue())
    call_command("places", "import", str(path), "--under", "s1")
    out = capsys.readouterr().out
    assert "新增 6" in out
    call_command("places", "import", str(path), "--under", "s1")
    assert "未变 6" in capsys.readouterr().out

    bad = tmp_path / "bad.csv"
    bad.write_bytes(_csv("y1,nowhere,楼栋,1,\n").getvalue())
    with pytest.raises(CommandError):
        call_command("places", "import", str(bad), "--under", "s1")
    assert "第 2 行" in capsys.readouterr().err

    with pytest.raises(CommandError):
        call_command("places", "import", str(path), "--under", "no-such-code")
    wrong = tmp_path / "places.pdf"
    wrong.write_bytes(b"%PDF")
    with pytest.raises(CommandError):
        call_command("places", "import", str(wrong), "--under", "s1")


def test_reasons_in_the_users_language(tree: Tree) -> None:
    from django.utils import translation

    body = "x1,nowhere,楼栋,1号楼,\nx2,,户,101,\nx3,,网格,,\n"
    with translation.override("en"):
        report = _run(_csv(body), tree.community)
    reasons = [issue.message for issue in report.errors]
    assert "Parent code nowhere does not exist" in reasons[0]
    assert "cannot be placed directly under" in reasons[1]
    assert reasons[2] == "The name cannot be empty."


@pytest.mark.parametrize("households", ["3000000000", "1e20", "-1", "2.5"])
def test_household_counts_out_of_range_are_row_errors(tree: Tree, households: str) -> None:
    data = _csv(f"c9,s1,社区,九号社区,{households}\n")
    report = _run(data, tree.street)
    assert [error.row for error in report.errors] == [2]
    assert "规划户数" in report.errors[0].message
