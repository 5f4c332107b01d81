from __future__ import annotations

import csv
import io
import zipfile
from datetime import date
from typing import Any

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError
from django.test import Client, override_settings
from django.urls import reverse

from linli.audit.models import AuditEvent
from linli.core.crypto import lookup_hash
from linli.people.importer import ImportFileError, ImportReport, import_file
from linli.people.models import Household, Resident, SpecialGroup, SpecialGroupTag
from linli.people.services import household_create, resident_create
from linli.places.models import Place, PlaceKind
from tests.conftest import Personas, Tree, login
from tests.people.conftest import make_id

pytestmark = pytest.mark.django_db

HEADER = ["户编号", "楼栋", "单元", "房号", "姓名", "性别", "出生日期", "与户主关系", "身份证号", "手机号", "特殊群体"]
ID_A = make_id(date(1950, 3, 4), 1)
ID_B = make_id(date(1952, 6, 7), 2, male=False)
ID_C = make_id(date(1990, 1, 1), 3)
GOOD = [
    ["A-1", "3", "2", "502", "张卫国", "男", "1950-03-04", "户主", ID_A, "13800001111", "独居老人、低保"],
    ["A-1", "3", "2", "502", "刘桂兰", "女", "", "配偶", ID_B, "", ""],
    ["A-2", "9号楼", "", "101", "陈晨", "", "", "户主", ID_C, "13800002222", ""],
    ["A-2", "9号楼", "", "101", "陈小小", "", "2015-05-05", "子女", "", "", "留守人员"],
]


def xlsx_bytes(rows: list[list[Any]], header: list[str] = HEADER) -> bytes:
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("居民")
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def csv_bytes(rows: list[list[Any]], encoding: str, header: list[str] = HEADER) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


def run(tree: Tree, rows: list[list[Any]], *, name: str = "居民.xlsx", header: list[str] = HEADER) -> ImportReport:
    content = xlsx_bytes(rows, header) if name.endswith(".xlsx") else csv_bytes(rows, "utf-8", header)
    return import_file(community=tree.community, upload=upload(name, content), by=None)


def snapshot() -> tuple[int, ...]:
    return (Resident.objects.count(), Household.objects.count(), Place.objects.count(), SpecialGroupTag.objects.count())


def test_good_rows_are_imported(tree: Tree) -> None:
    report = run(tree, GOOD)
    assert (report.rows, report.created, report.updated, report.unchanged, report.errors) == (4, 4, 0, 0, [])
    # "3"/"2"/"502" are the existing 3号楼 2单元 502室 node; 9号楼 is new, under the community.
    a1 = Household.objects.get(ref="A-1")
    assert a1.place_id == tree.household.pk and a1.community_id == tree.community.pk
    a2 = Household.objects.get(ref="A-2")
    assert a2.place.address.endswith("樱花园社区9号楼101室")
    building = a2.place.parent
    assert building is not None and (building.kind, building.code, building.parent_id) == (
        PlaceKind.BUILDING, "c1-b-9号楼", tree.community.pk
    )
    zhang = Resident.objects.get(id_number_hash=lookup_hash(ID_A))
    assert (zhang.name, zhang.gender, zhang.household_role, zhang.phone) == ("张卫国", "M", "head", "13800001111")
    assert sorted(zhang.tags.values_list("group", flat=True)) == [SpecialGroup.DIBAO, SpecialGroup.ELDERLY_ALONE]
    liu = Resident.objects.get(name="刘桂兰")
    assert liu.birth_date == date(1952, 6, 7) and liu.gender == "F"  # from the ID number
    child = Resident.objects.get(name="陈小小")
    assert child.id_number_hash is None and child.household_id == a2.pk
    events = AuditEvent.objects.filter(action="people.import")
    assert events.count() == 1
    assert events.get().after["created"] == 4 and "13800001111" not in str(events.get().after)
    assert not AuditEvent.objects.filter(action__in=["resident.create", "household.create"]).exists()


def test_bad_rows_are_reported_with_reasons_and_skipped(tree: Tree) -> None:
    rows = [
        *GOOD,
        ["B-1", "3", "2", "503", "钱一", "", "", "", "110105195003040011", "", ""],  # row 6: checksum
        ["B-2", "3", "2", "504", "孙二", "", "", "", "", "1380000", ""],  # row 7: phone
        ["B-3", "3", "2", "505", "", "", "", "", "", "", ""],  # row 8: no name
        ["B-4", "3", "2", "506", "李四", "", "", "", "", "", "外星人"],  # row 9: group
        ["B-5", "3", "2", "507", "周五", "", "", "", ID_A, "", ""],  # row 10: ID used on row 2
        ["A-1", "3", "2", "601", "吴六", "", "", "", "", "", ""],  # row 11: A-1 is 502, not 601
        ["B-7", "3", "2", "508", "郑七", "女", "", "", ID_C.replace("1990", "1991")[:17] + "0", "", ""],  # row 12
        ["B-8", "3", "2", "509", "王八", "", "1960-01-01", "", make_id(date(1961, 1, 1), 4), "", ""],  # row 13
        ["B-9", "", "", "", "冯九", "", "", "邻居", "", "", ""],  # row 14: no building/room, unknown relation
        ["B-10", "3", "2", "502", "陈十", "", "", "", "", "", ""],  # row 15: 502 is household A-1
    ]
    report = run(tree, rows)
    reasons = {error.row: error.reason for error in report.errors}
    assert sorted(reasons) == [6, 7, 8, 9, 10, 11, 12, 13, 14, 15]
    assert "校验位" in reasons[6]
    assert "11 位手机号" in reasons[7]
    assert "姓名不能为空" in reasons[8]
    assert "外星人" in reasons[9]
    assert "第 2 行" in reasons[10]
    assert "A-1" in reasons[11] and "住址不同" in reasons[11]
    assert "身份证号" in reasons[12]
    assert "出生日期与身份证号不一致" in reasons[13]
    assert "楼栋不能为空" in reasons[14] and "房号不能为空" in reasons[14] and "邻居" in reasons[14]
    assert "A-1" in reasons[15]
    assert report.created == 4 and Resident.objects.count() == 4


def test_reimport_changes_nothing(tree: Tree) -> None:
    rows = [*GOOD, ["B-1", "3", "2", "503", "钱一", "", "", "", "110105195003040011", "", ""]]
    first = run(tree, rows)
    before = snapshot()
    events = AuditEvent.objects.count()
    second = run(tree, rows)
    assert (second.created, second.updated, second.unchanged) == (0, 0, 4)
    assert second.errors == first.errors
    assert snapshot() == before
    assert AuditEvent.objects.count() == events + 1  # just the run's own event
    # The same file as .csv is the same data.
    third = run(tree, rows, name="居民.csv")
    assert (third.created, third.updated, third.unchanged) == (0, 0, 4) and snapshot() == before


def test_reimport_updates_changed_rows_and_keeps_recorded_values(tree: Tree) -> None:
    run(tree, GOOD)
    changed = [row[:] for row in GOOD]
    changed[0][9] = "13900009999"  # new phone for 张卫国 (matched by ID number)
    changed[3][10] = "留守人员、其他:重点关注"  # 陈小小 (no ID: matched by household and name)
    changed[2][9] = ""  # a blank cell never clears a recorded phone
    report = run(tree, changed)
    assert (report.created, report.updated, report.unchanged) == (0, 2, 2)
    zhang = Resident.objects.get(name="张卫国")
    assert zhang.phone == "13900009999" and zhang.phone_hash == lookup_hash("13900009999")
    assert Resident.objects.get(name="陈晨").phone == "13800002222"
    assert set(Resident.objects.get(name="陈小小").tags.values_list("label", flat=True)) == {"", "重点关注"}


def test_an_id_number_registered_in_another_community_is_a_bad_row(tree: Tree) -> None:
    far = household_create(ref="F-1", place=tree.far_household, by=None)
    resident_create(household=far, name="张卫国", id_number=ID_A, by=None)
    report = run(tree, GOOD)
    assert [e.row for e in report.errors] == [2] and "其他社区" in report.errors[0].reason
    assert report.created == 3


def test_existing_residents_are_matched_by_household_and_name(tree: Tree) -> None:
    household = household_create(ref="A-1", place=tree.household, by=None)
    existing = resident_create(household=household, name="张卫国", phone="13800001111", by=None)
    report = run(tree, GOOD[:1])
    assert (report.created, report.updated) == (0, 1)
    existing.refresh_from_db()
    assert existing.id_number == ID_A and existing.id_number_hash == lookup_hash(ID_A)


def test_nothing_is_half_imported(tree: Tree, monkeypatch: pytest.MonkeyPatch) -> None:
    before = snapshot()

    def fail(*args: Any, **kwargs: Any) -> None:
        raise IntegrityError("simulated clash")

    monkeypatch.setattr(SpecialGroupTag.objects, "bulk_create", fail)
    with pytest.raises(ImportFileError):
        run(tree, GOOD)
    assert snapshot() == before
    assert not AuditEvent.objects.filter(action__in=["people.import", "place.import"]).exists()


def test_ten_thousand_rows_with_fifty_bad(tree: Tree) -> None:
    rows: list[list[Any]] = []
    bad_rows: set[int] = set()
    for i in range(10_000):
        born = date(1930 + i % 80, 1 + i % 12, 1 + i % 28)
        household = i // 3
        row = [
            f"H{household:05d}", str(1 + household % 40), str(1 + household % 4), str(101 + household),
            f"居民{i:05d}", "", "", "户主" if i % 3 == 0 else "子女", make_id(born, i % 500, male=i % 2 == 0),
            f"13{i:09d}", "独居老人" if i % 97 == 0 else "",
        ]
        if i % 200 == 7:  # 50 bad rows, each with a different fault
            kind = len(bad_rows) % 3
            if kind == 0:
                row[8] = row[8][:17] + ("0" if row[8][17] != "0" else "1")
            elif kind == 1:
                row[9] = "12345"
            else:
                row[4] = ""
            bad_rows.add(i + 2)  # spreadsheet row: header is row 1
        rows.append(row)
    content = xlsx_bytes(rows)
    report = import_file(community=tree.community, upload=upload("大表.xlsx", content), by=None)
    assert len(bad_rows) == 50
    assert {error.row for error in report.errors} == bad_rows and len(report.errors) == 50
    assert report.created == 9_950 and report.rows == 10_000
    assert Resident.objects.count() == 9_950
    assert Household.objects.count() == len({row[0] for i, row in enumerate(rows) if i + 2 not in bad_rows})
    assert AuditEvent.objects.filter(action="people.import").count() == 1


@pytest.mark.parametrize("encoding", ["gb18030", "utf-8-sig", "utf-8"])
def test_csv_in_chinese_encodings(tree: Tree, encoding: str) -> None:
    content = csv_bytes(GOOD, encoding)
    report = import_file(community=tree.community, upload=upload("居民.csv", content), by=None)
    assert report.created == 4 and report.errors == []
    assert Resident.objects.filter(name="刘桂兰").exists()


def test_english_headers_are_accepted(tree: Tree) -> None:
    header = ["household_ref", "building", "unit", "room", "name", "gender", "birth_date", "relation", "id_number",
              "phone", "groups"]
    assert run(tree, GOOD, header=header).created == 4


def test_missing_columns_are_a_file_error(tree: Tree) -> None:
    with pytest.raises(ImportFileError, match="户编号"):
        run(tree, [["3", "502", "张三"]], header=["楼栋", "房号", "姓名"])


@override_settings(UPLOAD_MAX_BYTES=2048)
def test_oversized_upload_is_refused(tree: Tree) -> None:
    with pytest.raises(ImportFileError, match="文件过大"):
        import_file(community=tree.community, upload=upload("big.csv", b"a," * 2000), by=None)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("居民.txt", b"a,b\n", "只接受"),
        ("居民.xls", b"\xd0\xcf\x11\xe0", "只接受"),
        ("居民.xlsx", "户编号,楼栋\n".encode(), "不是有效的 .xlsx"),
        ("居民.xlsx", b"PK\x03\x04not really a zip", "不是有效的 .xlsx"),
        ("居民.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "文本"),
        ("居民.csv", b"\xff\xfe\xfa\xfb\x80\x81", "编码"),
        ("居民.csv", b"", "空"),
    ],
)
def test_wrong_types_are_refused(tree: Tree, name: str, content: bytes, message: str) -> None:
    with pytest.raises(ImportFileError, match=message):
        import_file(community=tree.community, upload=upload(name, content), by=None)


def test_a_zip_that_is_not_a_workbook_is_refused(tree: Tree) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("word/document.xml", "<w/>")
        archive.writestr("[Content_Types].xml", "<Types/>")
    with pytest.raises(ImportFileError, match="不是有效的 .xlsx"):
        import_file(community=tree.community, upload=upload("居民.xlsx", out.getvalue()), by=None)


# The page -------------------------------------------------------------------------------

def test_import_page(client: Client, personas: Personas, tree: Tree) -> None:
    login(client, personas.staff)
    url = reverse("people:import")
    assert client.get(url).status_code == 200
    rows = [*GOOD, ["B-1", "3", "2", "503", "钱一", "", "", "", "110105195003040011", "", ""]]
    response = client.post(url, {"community": tree.community.pk, "file": upload("居民.xlsx", xlsx_bytes(rows))})
    body = response.content.decode()
    assert response.status_code == 200
    assert "导入结果" in body and "校验位" in body and "<td>6</td>" in body
    assert ID_A not in body and "13800001111" not in body
    assert Resident.objects.count() == 4


def test_import_page_file_errors(client: Client, personas: Personas, tree: Tree) -> None:
    login(client, personas.lead)
    url = reverse("people:import")
    response = client.post(url, {"community": tree.community.pk, "file": upload("居民.pdf", b"%PDF-1.7")})
    assert response.status_code == 400 and "只接受" in response.content.decode()
    with override_settings(UPLOAD_MAX_BYTES=2048):
        response = client.post(url, {"community": tree.community.pk, "file": upload("big.csv", b"a," * 2000)})
    assert response.status_code == 400 and "文件过大" in response.content.decode()
    response = client.post(url, {"community": tree.community.pk})
    assert response.status_code == 400
    assert Resident.objects.count() == 0


def test_import_page_access(client: Client, personas: Personas, tree: Tree) -> None:
    url = reverse("people:import")
    for who in ("grid_worker", "auditor", "street_supervisor", "partner", "resident", "outsider"):
        login(client, getattr(personas, who))
        assert client.get(url).status_code == 403, who
    # Staff of another community cannot pick this one.
    login(client, personas.outside_staff)
    response = client.post(url, {"community": tree.community.pk, "file": upload("居民.xlsx", xlsx_bytes(GOOD))})
    assert response.status_code == 400
    assert Resident.objects.count() == 0


def test_row_reasons_come_in_the_users_language(client: Client, personas: Personas, tree: Tree) -> None:
    login(client, personas.staff)
    client.post(reverse("web:set_language"), {"language": "en", "next": "/"})
    rows = [["B-1", "3", "2", "503", "钱一", "", "", "", "110105195003040011", "", ""]]
    response = client.post(
        reverse("people:import"), {"community": tree.community.pk, "file": upload("居民.xlsx", xlsx_bytes(rows))}
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "check digit" in body and "校验位" not in body


def test_a_title_above_the_header_and_text_marked_numbers(tree: Tree) -> None:
    rows = [["樱花园社区居民花名册"], HEADER, [*GOOD[0][:8], "'" + ID_A, "'13800001111", ""]]
    content = csv_bytes(rows, "utf-8", header=["2024年"])
    report = import_file(community=tree.community, upload=upload("居民.csv", content), by=None)
    assert (report.created, report.errors) == (1, [])
    assert Resident.objects.get().id_number == ID_A


def test_an_import_that_waited_for_another_plans_against_what_it_wrote(
    tree: Tree, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two imports of one file into one community: the second, waiting on the community's
    lock while the first commits, must see the first's residents (not add them again)."""
    from linli.people import importer

    real_lock = importer._lock_community
    calls: list[bool] = []

    def lock_after_a_concurrent_import(community: Place) -> None:
        if not calls:
            calls.append(True)
            # The other import held the lock and committed while this one waited.
            import_file(community=community, upload=upload("居民.xlsx", xlsx_bytes(GOOD)), by=None)
        real_lock(community)

    monkeypatch.setattr(importer, "_lock_community", lock_after_a_concurrent_import)
    report = run(tree, GOOD)
    assert (report.created, report.updated, report.unchanged, report.errors) == (0, 0, 4, [])
    assert Resident.objects.count() == 4 and Resident.objects.filter(name="陈小小").count() == 1
    assert Household.objects.count() == 2


def test_the_import_event_is_written_after_the_residents(tree: Tree, monkeypatch: pytest.MonkeyPatch) -> None:
    from linli.people import importer

    seen: list[int] = []
    real_record = importer.audit_record

    def record(**kwargs: Any) -> Any:
        seen.append(Resident.objects.count())
        return real_record(**kwargs)

    monkeypatch.setattr(importer, "audit_record", record)
    run(tree, GOOD)
    assert seen == [4]


def test_one_audit_event_per_import_even_when_places_are_created(tree: Tree) -> None:
    report = run(tree, GOOD)
    assert report.created == 4 and report.places_created > 0
    assert AuditEvent.objects.filter(action="people.import").count() == 1
    assert not AuditEvent.objects.filter(action="place.import").exists()
