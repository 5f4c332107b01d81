"""Administering the working calendar: `linli calendar show|sync|load` and the services
behind it (calendar_admin), each audited and each clearing the calendar cache."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from io import StringIO
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from linli.audit.models import AuditEvent
from linli.requests import sla
from linli.requests.calendar import TIME_ZONE, library_schedule
from linli.requests.calendar_admin import (
    DayRow,
    calendar_csv_parse,
    calendar_day_delete,
    calendar_day_set,
    calendar_year_load,
    effective_days,
    working_hours_set,
)
from linli.requests.models import CalendarDay, DayKind, TimeUnit, WorkingHours
from tests.conftest import Personas, Tree

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_calendars() -> Iterator[None]:
    """The process keeps calendars for a minute; a test's rolled-back days must not leak."""
    sla.forget_calendars()
    yield
    sla.forget_calendars()


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=TIME_ZONE)  # type: ignore[misc]


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("calendar", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def write(tmp_path: Path, text: str, *, encoding: str = "utf-8") -> str:
    path = tmp_path / "days.csv"
    path.write_bytes(text.encode(encoding))
    return str(path)


# sync ----------------------------------------------------------------------------------

def test_sync_copies_the_library_year_once() -> None:
    expected = library_schedule(2026)
    out, _err = run("sync", "2026")
    assert f"新增 {len(expected)} 条" in out
    rows = {(r.date, r.kind) for r in CalendarDay.objects.filter(place__isnull=True)}
    assert rows == {(day, kind) for day, kind, _name in expected}
    assert CalendarDay.objects.get(date=date(2026, 10, 1)).name == "国庆节"
    assert AuditEvent.objects.filter(action="requests.calendar_sync", object_id="2026").count() == 1
    out, _err = run("sync", "2026")  # idempotent
    assert "新增 0 条" in out and f"已有且一致 {len(expected)} 条" in out
    assert CalendarDay.objects.count() == len(expected)
    assert AuditEvent.objects.filter(action="requests.calendar_sync").count() == 1


def test_sync_keeps_an_administrators_correction() -> None:
    # Sunday 20 Sept 2026 is an adjusted working day in the library; say it was corrected.
    calendar_day_set(day=date(2026, 9, 20), kind=DayKind.HOLIDAY, name="更正")
    out, _err = run("sync", "2026")
    assert "保留管理员的更正：2026-09-20" in out
    assert CalendarDay.objects.get(date=date(2026, 9, 20)).kind == DayKind.HOLIDAY


def test_sync_of_a_year_the_library_does_not_know_says_so() -> None:
    with pytest.raises(CommandError, match="节假日库中没有 2099 年"):
        run("sync", "2099")
    assert not CalendarDay.objects.exists()
    with pytest.raises(CommandError, match="年份"):
        run("sync", "next")


# load ----------------------------------------------------------------------------------

CSV_2027 = """date,kind,name
2027-01-01,holiday,元旦
2027-02-06,放假,春节
2027-02-07,holiday,春节
2027-02-20,上班,春节调休
"""


def test_load_a_year_before_the_library_knows_it(tmp_path: Path) -> None:
    sla.calendar(None)  # a cached calendar the load must forget
    out, _err = run("load", write(tmp_path, CSV_2027), "--replace-year", "2027")
    assert "新增 4" in out
    assert CalendarDay.objects.filter(place__isnull=True, date__year=2027).count() == 4
    assert CalendarDay.objects.get(date=date(2027, 2, 20)).kind == DayKind.WORKDAY
    cal = sla.calendar(None)
    # Friday 5 Feb 2027 at 17:00 + 1 working hour: the 6th and 7th are off (the 7th is a
    # Sunday anyway), so it runs into Monday the 8th.
    assert cal.due(at(2027, 2, 5, 17, 0), 1, TimeUnit.WORKING_HOURS) == at(2027, 2, 8, 9, 30)
    event = AuditEvent.objects.get(action="requests.calendar_load")
    assert event.after["added"] == 4 and event.after["replace_year"] == 2027


def test_load_with_replace_year_removes_days_the_file_no_longer_has(tmp_path: Path) -> None:
    run("load", write(tmp_path, CSV_2027))
    calendar_day_set(day=date(2028, 1, 1), kind=DayKind.HOLIDAY)  # another year: untouched
    out, _err = run("load", write(tmp_path, "2027-01-01,holiday,元旦\n2027-02-06,holiday,春节（更正）\n"),
                    "--replace-year", "2027")
    assert "更新 1" in out and "删除 2" in out and "未变 1" in out
    assert sorted(CalendarDay.objects.filter(date__year=2027).values_list("date", flat=True)) == [
        date(2027, 1, 1), date(2027, 2, 6)]
    assert CalendarDay.objects.filter(date=date(2028, 1, 1)).exists()


def test_every_bad_row_is_reported_and_nothing_is_written(tmp_path: Path) -> None:
    text = ("日期,类型,名称\n"
            "2027-01-01,holiday,元旦\n"
            "2027-13-01,holiday,坏日期\n"
            "2027-02-06,vacation,春节\n"
            "\n"
            "2027-01-01,workday,重复\n"
            "2026-12-31,holiday,跨年\n"
            "2027-03-01\n")
    with pytest.raises(CommandError, match="5 行有错误"):
        call_command("calendar", "load", write(tmp_path, text), "--replace-year", "2027",
                     stdout=StringIO(), stderr=(err := StringIO()))
    lines = err.getvalue().splitlines()
    assert [line.split("：")[0] for line in lines] == ["第 3 行", "第 4 行", "第 6 行", "第 7 行", "第 8 行"]
    assert "与第 2 行重复" in lines[2] and "不在 2027 年内" in lines[3]
    assert not CalendarDay.objects.exists()
    assert not AuditEvent.objects.filter(action="requests.calendar_load").exists()


def test_load_reads_gbk_files_from_excel_and_a_community(tmp_path: Path, tree: Tree) -> None:
    path = write(tmp_path, "2027/1/4,放假,社区活动日\n", encoding="gb18030")
    out, _err = run("load", path, "--community", "c1")
    assert "樱花园社区" in out
    row = CalendarDay.objects.get()
    assert row.place_id == tree.community.pk and row.name == "社区活动日"
    with pytest.raises(CommandError, match="不是社区"):
        run("load", path, "--community", "g1")
    with pytest.raises(CommandError, match="找不到"):
        run("load", path, "--community", "nowhere")
    with pytest.raises(CommandError, match="无法读取"):
        run("load", str(tmp_path / "missing.csv"))


def test_an_empty_or_unreadable_file_is_refused(tmp_path: Path) -> None:
    assert calendar_csv_parse(b"date,kind,name\n")[1][0].message == "文件中没有任何日期。"
    assert calendar_csv_parse(b"\xff\xfe\x00\x00\x81")[1]  # not text in any encoding we read
    with pytest.raises(CommandError):
        run("load", write(tmp_path, ""))


# show ----------------------------------------------------------------------------------

def test_show_names_where_each_day_comes_from(tree: Tree) -> None:
    calendar_day_set(day=date(2026, 10, 1), kind=DayKind.HOLIDAY, name="国庆节")  # national row
    calendar_day_set(day=date(2026, 12, 7), kind=DayKind.HOLIDAY, name="社区休息日", place=tree.community)
    working_hours_set(windows={"0": [["08:30", "12:00"]], "5": [["09:00", "11:00"]]}, place=tree.community)
    out, _err = run("show", "2026", "--community", "c1")
    lines = out.splitlines()
    assert any(line.startswith("  2026-01-01 周四") and line.endswith("节假日库") for line in lines)
    assert any(line.startswith("  2026-10-01") and line.endswith("全国（管理员维护）") for line in lines)
    assert any(line.startswith("  2026-12-07 周一") and "社区休息日" in line and line.endswith("本社区")
               for line in lines)
    assert "每周工作时段（本社区）：" in out and "周一 08:30–12:00" in out and "周六 09:00–11:00" in out
    national, _err = run("show", "2026")
    assert "2026-12-07" not in national and "每周工作时段（内置默认）：" in national


def test_show_a_year_nobody_knows_explains_the_fallback() -> None:
    out, _err = run("show", "2099")
    assert "没有任何记录" in out and "linli calendar load" in out


def test_effective_days_prefer_community_over_national_over_library(tree: Tree) -> None:
    calendar_day_set(day=date(2026, 10, 7), kind=DayKind.WORKDAY, name="")  # a national correction
    calendar_day_set(day=date(2026, 10, 7), kind=DayKind.HOLIDAY, place=tree.community)
    days = {row[0]: row for row in effective_days(2026, community=tree.community)}
    assert days[date(2026, 10, 7)][1:] == (DayKind.HOLIDAY, "国庆节", "community")
    national = {row[0]: row for row in effective_days(2026)}
    assert national[date(2026, 10, 7)][1:] == (DayKind.WORKDAY, "国庆节", "national")
    assert national[date(2026, 10, 6)][1:] == (DayKind.HOLIDAY, "国庆节", "library")
    assert date(2026, 10, 8) not in national


# services --------------------------------------------------------------------------------

def test_calendar_day_set_upserts_audits_and_clears_the_cache(personas: Personas) -> None:
    before = sla.calendar(None)
    assert before.is_workday(date(2026, 11, 30))
    row = calendar_day_set(day=date(2026, 11, 30), kind="放假", name="示例", by=personas.lead)
    assert not sla.calendar(None).is_workday(date(2026, 11, 30))
    again = calendar_day_set(day=date(2026, 11, 30), kind=DayKind.WORKDAY, name="", by=personas.lead)
    assert again.pk == row.pk and CalendarDay.objects.count() == 1
    events = list(AuditEvent.objects.filter(action="requests.calendar_day_set").order_by("seq"))
    assert len(events) == 2 and events[1].before["kind"] == "holiday" and events[1].actor_id == personas.lead.pk
    calendar_day_delete(row=again, by=personas.lead)
    assert not CalendarDay.objects.exists()
    assert AuditEvent.objects.filter(action="requests.calendar_day_delete").count() == 1


def test_calendar_day_set_refuses_bad_input(tree: Tree) -> None:
    with pytest.raises(ValidationError) as info:
        calendar_day_set(day=date(2026, 1, 1), kind="weekend")
    assert "kind" in info.value.message_dict
    with pytest.raises(ValidationError) as info:
        calendar_day_set(day=date(2026, 1, 1), kind="holiday", name="长" * 41)
    assert "name" in info.value.message_dict
    with pytest.raises(ValidationError) as info:
        calendar_day_set(day=date(2026, 1, 1), kind="holiday", place=tree.grid)
    assert "place" in info.value.message_dict
    row = calendar_day_set(day=date(2026, 1, 2), kind="holiday")
    calendar_day_set(day=date(2026, 1, 3), kind="holiday")
    with pytest.raises(ValidationError) as info:
        calendar_day_set(day=date(2026, 1, 3), kind="holiday", row=row)  # moving onto another row's date
    assert "date" in info.value.message_dict
    assert not CalendarDay.objects.filter(date=date(2026, 1, 1)).exists()


def test_year_load_checks_every_row_before_writing() -> None:
    with pytest.raises(ValidationError) as info:
        calendar_year_load(rows=[DayRow(date(2027, 1, 1), "holiday"), DayRow(date(2027, 1, 2), "nope"),
                                 DayRow(date(2026, 1, 2), "holiday")], replace_year=2027)
    assert len(info.value.messages) == 2
    assert not CalendarDay.objects.exists()


def test_working_hours_set_validates_and_normalises(tree: Tree, personas: Personas) -> None:
    row = working_hours_set(windows={"1": [["13:30", "17:30"], ["09:00", "12:00"]]}, workday_template=1,
                            place=tree.community, by=personas.lead)
    assert row.windows["1"] == [["09:00", "12:00"], ["13:30", "17:30"]] and row.windows["0"] == []
    assert AuditEvent.objects.filter(action="requests.working_hours_set", object_id=str(row.pk)).exists()
    assert sla.calendar(tree.community.pk).windows[1]
    for bad, field in (({"0": [["12:00", "09:00"]]}, None), ({"7": []}, None), ("09:00-17:00", None),
                       ({"0": [["9", "x"]]}, None), ({"0": []}, None),
                       ({"0": [["09:00", "12:00"]]}, "workday_template")):
        with pytest.raises(ValidationError) as info:
            working_hours_set(windows=bad, workday_template=1 if field else 0, place=tree.community)
        if field:
            assert field in info.value.message_dict
    assert WorkingHours.objects.get().windows == row.windows
