"""The owners' roll from the property register, counted per the SPC interpretation."""

from __future__ import annotations

import io

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile

from linli.audit.models import AuditEvent
from linli.core.uploads import UploadError
from linli.deliberation import rules, services
from linli.deliberation.models import DEVELOPER_KEY, Owner, OwnerRoll, OwnerUnit
from tests.conftest import Personas, Tree
from tests.deliberation.conftest import csv_upload, import_roll
from tests.people.conftest import make_id

HEADER = ["房屋", "业主", "建筑面积"]


def owners_by_name(roll: OwnerRoll) -> dict[str, Owner]:
    return {owner.name: owner for owner in Owner.objects.filter(roll=roll)}


def test_one_buyer_with_three_units_counts_as_one_owner_with_the_areas_summed(tree: Tree, personas: Personas) -> None:
    roll = import_roll(tree, personas, [
        HEADER,
        ["1-101", "张三", "89.37"],
        ["1-102", "张三", "120.5"],
        ["2-301", "张三", "60"],
        ["2-302", "李四", "75.25"],
    ])
    owners = owners_by_name(roll)
    assert set(owners) == {"张三", "李四"}
    assert owners["张三"].units_count == 3
    assert owners["张三"].area == rules.parse_area("269.87")
    assert roll.units_count == 4 and roll.owners_count == 2
    assert roll.total_area == rules.parse_area("345.12")
    assert OwnerUnit.objects.filter(roll=roll, owner=owners["张三"]).count() == 3


def test_one_unit_is_one_owner_and_co_owners_of_a_unit_are_one_owner(tree: Tree, personas: Personas) -> None:
    roll = import_roll(tree, personas, [
        HEADER,
        ["1-101", "张三、李四", "90"],
        ["1-102", "李四，张三", "80"],  # the same two co-owners, written the other way round
        ["1-103", "李四", "70"],
    ])
    assert roll.owners_count == 2
    co_owned = Owner.objects.get(roll=roll, units_count=2)
    assert co_owned.area == rules.parse_area("170")


def test_unsold_developer_units_together_count_as_one_owner(tree: Tree, personas: Personas) -> None:
    roll = import_roll(tree, personas, [
        ["房屋", "业主", "建筑面积", "未售"],
        ["1-101", "张三", "90", ""],
        ["1-201", "", "95", "是"],  # unsold: no owner name, flagged
        ["1-202", "", "95", "是"],
        ["1-301", "安居置业有限公司", "100", ""],  # registered under the developer's name
        ["1-302", "安居置业有限公司", "100", "否"],
    ], developer_name="安居置业有限公司")
    developer = Owner.objects.get(roll=roll, is_developer=True)
    assert developer.key == DEVELOPER_KEY
    assert developer.units_count == 4
    assert developer.area == rules.parse_area("390")
    assert developer.name == "安居置业有限公司"
    assert roll.owners_count == 2  # 张三 and the developer


def test_developer_flag_without_a_name_given(tree: Tree, personas: Personas) -> None:
    roll = import_roll(tree, personas, [
        ["unit", "owner", "area", "developer"], ["A1", "Wang", "50", ""], ["A2", "", "60", "Y"], ["A3", "", "70", "1"],
    ])
    assert roll.owners_count == 2
    assert Owner.objects.get(roll=roll, is_developer=True).units_count == 2


def test_id_number_groups_buyers_and_links_a_registered_resident(tree: Tree, personas: Personas) -> None:
    from linli.people.services import household_create, resident_create

    household = household_create(ref="H-502", place=tree.household, by=None)
    id_number = make_id(__import__("datetime").date(1970, 1, 1), 5)
    resident = resident_create(household=household, name="王秀英", id_number=id_number, user=personas.resident, by=None)
    roll = import_roll(tree, personas, [
        ["房号", "权利人", "产权面积", "证件号码"],
        ["1-101", "王秀英", "80", id_number],
        ["1-102", "王 秀英", "70", id_number],  # the same buyer, the name typed differently
        ["1-103", "王秀英", "60", make_id(__import__("datetime").date(1971, 1, 1), 5)],  # another 王秀英
    ])
    assert roll.owners_count == 2
    linked = Owner.objects.get(roll=roll, resident=resident)
    assert linked.units_count == 2 and linked.user == personas.resident
    # The ID number is kept nowhere in clear.
    assert not OwnerUnit.objects.filter(owner_name__contains=id_number[:6]).exists()
    assert id_number not in str(list(Owner.objects.values_list("key", flat=True)))


def test_bad_rows_stop_the_whole_import_and_are_all_reported(tree: Tree, personas: Personas) -> None:
    report = services.owner_roll_import(place=tree.community, by=personas.staff, upload=csv_upload([
        HEADER,
        ["1-101", "张三", "89.37"],
        ["1-102", "", "80"],  # no owner, not flagged unsold
        ["1-101", "李四", "70"],  # duplicate unit
        ["1-103", "王五", "七十"],  # not a number
        ["1-104", "赵六", "70.123456"],  # more than four decimals
        ["1-105", "钱七", "0"],
    ]))
    assert report.roll is None
    assert [e.row for e in report.errors] == [3, 4, 5, 6, 7]
    assert "重复" in report.errors[1].reason
    assert not OwnerRoll.objects.exists()


def test_xlsx_register_with_float_areas_is_read_exactly(tree: Tree, personas: Personas) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["物业管理区域业主名册"])  # a title row above the header
    sheet.append(["房屋坐落", "业主姓名", "专有部分面积"])
    sheet.append(["3-1-502", "王秀英", 89.37])
    sheet.append(["3-1-601", "李建国", 120])
    sheet.append(["3-1-602", "李建国", 60.05])
    out = io.BytesIO()
    book.save(out)
    upload = SimpleUploadedFile("register.xlsx", out.getvalue())
    report = services.owner_roll_import(place=tree.community, by=personas.staff, upload=upload)
    assert report.errors == [] and report.roll is not None
    owners = owners_by_name(report.roll)
    assert owners["王秀英"].area == 893700  # not 89.36999999…
    assert owners["李建国"].area == 1800500
    assert report.roll.total_area == rules.parse_area("269.42")


def test_missing_columns_and_wrong_files_are_refused(tree: Tree, personas: Personas) -> None:
    with pytest.raises(UploadError, match="表头"):
        services.owner_roll_import(place=tree.community, by=personas.staff,
                                   upload=csv_upload([["房屋", "电话"], ["1-101", "138"]]))
    with pytest.raises(UploadError):
        services.owner_roll_import(place=tree.community, by=personas.staff,
                                   upload=SimpleUploadedFile("register.xls", b"\xd0\xcf\x11\xe0"))


def test_only_community_managers_import_and_the_import_is_audited(tree: Tree, personas: Personas) -> None:
    for user in (personas.resident, personas.auditor, personas.outside_staff, personas.grid_worker):
        with pytest.raises(PermissionDenied):
            services.owner_roll_import(place=tree.community, by=user, upload=csv_upload([HEADER, ["1", "a", "1"]]))
    roll = import_roll(tree, personas, [HEADER, ["1-101", "张三", "89.37"]])
    event = AuditEvent.objects.get(action="deliberation.owner_roll_import")
    assert event.object_id == str(roll.pk) and event.after["owners"] == 1 and event.after["area"] == "89.37"
