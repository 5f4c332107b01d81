"""Administering the working calendar (DOMAIN §1): the national holidays and adjusted
working days (调休), a community's own days, and the weekly working windows.

The maintained library (``chinese_calendar``) knows the years the State Council has
published; ``calendar_year_sync`` copies a year into national ``CalendarDay`` rows so an
administrator can see and correct it, and ``calendar_year_load`` loads a year from a
CSV file before the library has caught up. Every write here is audited and clears the
process cache of calendars (``sla.forget_calendars``), so the next deadline counted in
this process uses the new days; other processes catch up within a minute.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, time
from typing import Any

import chinese_calendar  # type: ignore[import-untyped]
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from linli.audit.services import audit_record
from linli.places.models import Place, PlaceKind
from linli.requests import sla
from linli.requests.calendar import library_schedule, parse_windows
from linli.requests.models import CalendarDay, DayKind, WorkingHours

NAME_MAX = 40  # CalendarDay.name
# A year has at most 366 days; a file far longer than that is not a calendar.
MAX_ROWS = 1000
# How the kind may be written in a file: the codes, and the words of the State
# Council's notices (放假 / 上班, also the one-character 休 / 班 of printed calendars).
KIND_WORDS = {
    "holiday": DayKind.HOLIDAY, "放假": DayKind.HOLIDAY, "休": DayKind.HOLIDAY, "假": DayKind.HOLIDAY,
    "workday": DayKind.WORKDAY, "上班": DayKind.WORKDAY, "班": DayKind.WORKDAY, "调休上班": DayKind.WORKDAY,
}
_DATE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")
_HEADER_WORDS = {"date", "日期"}


def _changed() -> None:
    """Clear the calendars this process keeps, now and again once the change commits
    (a reader in between could otherwise cache the old days for a minute)."""
    sla.forget_calendars()
    transaction.on_commit(sla.forget_calendars)


def library_name(name: str) -> str:
    """The Chinese name of a library holiday ("National Day" → 国庆节)."""
    try:
        return str(chinese_calendar.Holiday(name).chinese)
    except ValueError:
        return name


def _library_days(year: int) -> list[tuple[date, str, str]]:
    return [(day, kind, library_name(name)) for day, kind, name in library_schedule(year)]


def _community(place: Place | None) -> Place | None:
    if place is not None and place.kind != PlaceKind.COMMUNITY:
        raise ValidationError({"place": [_("只能为社区单独设置（留空则为全国/默认）。")]})
    return place


def _kind(value: str) -> str:
    kind = KIND_WORDS.get(str(value).strip().lower())
    if kind is None:
        raise ValidationError({"kind": [_("类型应为 holiday/放假 或 workday/上班。")]})
    return str(kind)


def _name(value: str | None) -> str:
    name = (value or "").strip()
    if len(name) > NAME_MAX:
        raise ValidationError({"name": [_("名称最多 %(n)s 个字。") % {"n": NAME_MAX}]})
    return name


def _place_label(place: Place | None) -> str:
    return place.code if place is not None else ""


def _rows_of(place: Place | None) -> QuerySet[CalendarDay]:
    if place is None:
        return CalendarDay.objects.filter(place__isnull=True)
    return CalendarDay.objects.filter(place=place)


# One day ----------------------------------------------------------------------------------

def calendar_day_set(*, day: date, kind: str, name: str = "", place: Place | None = None, by: Any = None,
                     row: CalendarDay | None = None) -> CalendarDay:
    """Make ``day`` a holiday or an adjusted working day, nationally (no place) or for one
    community. With ``row``, that row is changed (its date or place may move); without,
    the row for (place, day) is created or updated."""
    kind = _kind(kind)
    name = _name(name)
    place = _community(place)
    with transaction.atomic():
        clash = _rows_of(place).filter(date=day)
        if row is not None:
            clash = clash.exclude(pk=row.pk)
            target = CalendarDay.objects.select_for_update().filter(pk=row.pk).first()
            if target is None:
                raise ValidationError(_("该记录已被删除，请刷新后重试。"))
            if clash.exists():
                raise ValidationError({"date": [_("该日期已有记录，请直接修改那一条。")]})
        else:
            target = clash.select_for_update().first()
        before = None if target is None else {"date": target.date, "kind": target.kind, "name": target.name,
                                              "place": target.place_id}
        if target is None:
            try:
                with transaction.atomic():
                    target = CalendarDay.objects.create(place=place, date=day, kind=kind, name=name)
            except IntegrityError:
                raise ValidationError({"date": [_("该日期刚被他人添加，请刷新后重试。")]}) from None
        else:
            target.place = place
            target.date = day
            target.kind = kind
            target.name = name
            target.save()
        after = {"date": day, "kind": kind, "name": name, "place": place.pk if place else None}
        if before != after:
            audit_record(actor=by, action="requests.calendar_day_set", obj=target, before=before, after=after,
                         community_id=place.pk if place else None)
        _changed()
    return target


def calendar_day_delete(*, row: CalendarDay, by: Any = None) -> None:
    """Remove one day: the date falls back to the national rows, then to the library."""
    with transaction.atomic():
        before = {"date": row.date, "kind": row.kind, "name": row.name, "place": row.place_id}
        pk = row.pk
        deleted, _detail = CalendarDay.objects.filter(pk=pk).delete()
        if deleted:
            audit_record(actor=by, action="requests.calendar_day_delete", object_type="requests.calendarday",
                         object_id=str(pk), before=before, community_id=row.place_id)
        _changed()


# A whole year --------------------------------------------------------------------------

@dataclass(frozen=True)
class DayRow:
    day: date
    kind: str
    name: str = ""
    line: int = 0


@dataclass(frozen=True)
class RowError:
    line: int
    message: str

    def __str__(self) -> str:
        if self.line:
            return _("第 %(line)d 行：%(message)s") % {"line": self.line, "message": self.message}
        return self.message


@dataclass
class LoadResult:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    years: list[int] = field(default_factory=list)


def _decode(content: bytes | str) -> str:
    if isinstance(content, str):
        return content
    # Excel on a Chinese Windows saves CSV in GB18030 (GBK); elsewhere UTF-8, often with a BOM.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValidationError(_("无法识别文件编码，请另存为 UTF-8 编码的 CSV。"))


def _parse_date(text: str) -> date | None:
    match = _DATE.match(text.strip())
    if match is None:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def calendar_csv_parse(content: bytes | str, *, year: int | None = None) -> tuple[list[DayRow], list[RowError]]:
    """Read ``date,kind,name`` rows (a header row and blank or ``#`` lines are skipped).
    Every bad row is reported with its line number; with ``year``, every date must fall
    in it."""
    try:
        text = _decode(content)
    except ValidationError as exc:
        return [], [RowError(0, exc.messages[0])]
    rows: list[DayRow] = []
    errors: list[RowError] = []
    seen: dict[date, int] = {}
    reader = csv.reader(io.StringIO(text))
    first = True
    try:
        for cells in reader:
            line = reader.line_num
            cells = [cell.strip() for cell in cells]
            if not any(cells) or cells[0].startswith("#"):
                continue
            if first and cells[0].lower() in _HEADER_WORDS:
                first = False
                continue
            first = False
            if len(rows) + len(errors) >= MAX_ROWS:
                errors.append(RowError(line, _("行数过多：一个文件最多 %(n)d 行。") % {"n": MAX_ROWS}))
                break
            while len(cells) > 3 and not cells[-1]:
                cells.pop()
            if len(cells) < 2 or len(cells) > 3:
                errors.append(RowError(line, _("应有 2–3 列：日期,类型,名称。")))
                continue
            day = _parse_date(cells[0])
            if day is None:
                errors.append(RowError(line, _("日期“%(value)s”无效，应写作 2027-01-01。") % {"value": cells[0][:20]}))
                continue
            try:
                kind = _kind(cells[1])
                name = _name(cells[2] if len(cells) == 3 else "")
            except ValidationError as exc:
                errors.append(RowError(line, exc.messages[0]))
                continue
            if year is not None and day.year != year:
                errors.append(RowError(line, _("日期 %(day)s 不在 %(year)d 年内。") % {"day": day, "year": year}))
                continue
            if day in seen:
                errors.append(RowError(line, _("日期 %(day)s 与第 %(other)d 行重复。") % {"day": day,
                                                                                         "other": seen[day]}))
                continue
            seen[day] = line
            rows.append(DayRow(day, kind, name, line))
    except csv.Error as exc:
        errors.append(RowError(reader.line_num, _("CSV 格式有误：%(error)s") % {"error": exc}))
    if not rows and not errors:
        errors.append(RowError(0, _("文件中没有任何日期。")))
    return rows, errors


def calendar_year_load(*, rows: Sequence[DayRow | tuple[date, str, str]], place: Place | None = None,
                       replace_year: int | None = None, by: Any = None, source: str = "") -> LoadResult:
    """Load many days at once (a year the State Council published), nationally or for one
    community. Nothing is written unless every row is good. With ``replace_year``, every
    row must fall in that year and the year's other rows (of the same place) are removed,
    so the file becomes the whole schedule of that year."""
    place = _community(place)
    days: list[DayRow] = []
    errors: list[RowError] = []
    seen: set[date] = set()
    for number, raw in enumerate(rows, start=1):
        row = raw if isinstance(raw, DayRow) else DayRow(raw[0], raw[1], raw[2] if len(raw) > 2 else "", number)
        line = row.line or number
        try:
            kind, name = _kind(row.kind), _name(row.name)
        except ValidationError as exc:
            errors.append(RowError(line, exc.messages[0]))
            continue
        if replace_year is not None and row.day.year != replace_year:
            errors.append(RowError(line, _("日期 %(day)s 不在 %(year)d 年内。") % {"day": row.day, "year": replace_year}))
            continue
        if row.day in seen:
            errors.append(RowError(line, _("日期 %(day)s 重复。") % {"day": row.day}))
            continue
        seen.add(row.day)
        days.append(DayRow(row.day, kind, name, line))
    if errors:
        raise ValidationError([str(error) for error in errors])
    if not days and replace_year is None:
        raise ValidationError(_("没有要导入的日期。"))
    years = sorted({row.day.year for row in days} | ({replace_year} if replace_year is not None else set()))
    result = LoadResult(years=years)
    with transaction.atomic():
        existing = {row.date: row for row in _rows_of(place).filter(date__year__in=years).select_for_update()}
        incoming = {row.day: row for row in days}
        for day, row in sorted(incoming.items()):
            current = existing.get(day)
            if current is None:
                CalendarDay.objects.create(place=place, date=day, kind=row.kind, name=row.name)
                result.added += 1
            elif (current.kind, current.name) != (row.kind, row.name):
                current.kind, current.name = row.kind, row.name
                current.save(update_fields=["kind", "name"])
                result.updated += 1
            else:
                result.unchanged += 1
        if replace_year is not None:
            stale = [row.pk for day, row in existing.items() if day.year == replace_year and day not in incoming]
            result.removed = CalendarDay.objects.filter(pk__in=stale).delete()[0]
        audit_record(
            actor=by, action="requests.calendar_load", object_type="requests.calendarday",
            object_id=",".join(map(str, years)), community_id=place.pk if place else None,
            after={"place": _place_label(place), "replace_year": replace_year, "source": source[:200],
                   "added": result.added, "updated": result.updated, "removed": result.removed},
        )
        _changed()
    return result


@dataclass
class SyncResult:
    year: int
    added: int = 0
    same: int = 0
    # National rows that say something else than the library: an administrator's
    # correction, which the sync never overwrites.
    kept: list[CalendarDay] = field(default_factory=list)


def calendar_year_sync(*, year: int, by: Any = None) -> SyncResult:
    """Copy the library's holidays and adjusted working days of ``year`` into national
    rows. Idempotent: rows that exist are left alone (corrections stay)."""
    schedule = _library_days(year)
    if not schedule:
        raise ValidationError(
            _("节假日库中没有 %(year)d 年的安排（国务院可能尚未公布，或需要升级 chinesecalendar）。"
              "请用 linli calendar load 导入该年的安排。") % {"year": year}
        )
    result = SyncResult(year=year)
    with transaction.atomic():
        existing = {row.date: row for row in CalendarDay.objects.filter(place__isnull=True, date__year=year)
                    .select_for_update()}
        new = []
        for day, kind, name in schedule:
            current = existing.get(day)
            if current is None:
                new.append(CalendarDay(place=None, date=day, kind=kind, name=_name(name)))
            elif current.kind == kind:
                result.same += 1
            else:
                result.kept.append(current)
        try:
            with transaction.atomic():
                CalendarDay.objects.bulk_create(new)
        except IntegrityError:
            raise ValidationError(_("有人正在同时同步或修改这一年，请稍后重试。")) from None
        result.added = len(new)
        if new:
            audit_record(actor=by, action="requests.calendar_sync", object_type="requests.calendarday",
                         object_id=str(year), after={"year": year, "added": result.added, "kept": len(result.kept)})
        _changed()
    return result


# Working hours --------------------------------------------------------------------------

def _time_text(value: time) -> str:
    return value.isoformat("minutes") if not value.second else value.isoformat("seconds")


def windows_normalise(raw: object, *, workday_template: int = 0) -> dict[str, list[list[str]]]:
    """Validate weekly windows (``parse_windows``) and write them back in one canonical
    shape, every weekday present; refuse a week with no working time at all."""
    parsed = parse_windows(raw)
    if not any(parsed.values()):
        raise ValidationError(_("一周至少要有一个工作时段，否则无法计算时限。"))
    if workday_template not in range(7):
        raise ValidationError({"workday_template": [_("星期应为 0–6（0=周一）。")]})
    if not parsed[workday_template]:
        raise ValidationError({"workday_template": [_("调休上班日参照的这一天没有工作时段。")]})
    return {str(day): [[_time_text(start), _time_text(end)] for start, end in spans]
            for day, spans in sorted(parsed.items())}


def working_hours_set(*, windows: object, workday_template: int = 0, place: Place | None = None,
                      by: Any = None, row: WorkingHours | None = None) -> WorkingHours:
    """Set the weekly working windows of a community (or, with no place, the default)."""
    place = _community(place)
    normalised = windows_normalise(windows, workday_template=workday_template)
    with transaction.atomic():
        same_place = WorkingHours.objects.filter(place=place) if place else WorkingHours.objects.filter(
            place__isnull=True)
        if row is not None:
            target = WorkingHours.objects.select_for_update().filter(pk=row.pk).first()
            if target is None:
                raise ValidationError(_("该记录已被删除，请刷新后重试。"))
            if same_place.exclude(pk=row.pk).exists():
                raise ValidationError({"place": [_("该社区已有工作时间设置，请直接修改那一条。")]})
        else:
            target = same_place.select_for_update().first()
        before = None if target is None else {"place": target.place_id, "windows": target.windows,
                                              "workday_template": target.workday_template}
        if target is None:
            try:
                with transaction.atomic():
                    target = WorkingHours.objects.create(place=place, windows=normalised,
                                                         workday_template=workday_template)
            except IntegrityError:
                raise ValidationError({"place": [_("该社区的工作时间刚被他人设置，请刷新后重试。")]}) from None
        else:
            target.place = place
            target.windows = normalised
            target.workday_template = workday_template
            target.save()
        after = {"place": place.pk if place else None, "windows": normalised, "workday_template": workday_template}
        if before != after:
            audit_record(actor=by, action="requests.working_hours_set", obj=target, before=before, after=after,
                         community_id=place.pk if place else None)
        _changed()
    return target


def working_hours_delete(*, row: WorkingHours, by: Any = None) -> None:
    """Remove a community's own windows (it falls back to the default), or the default
    itself (which falls back to the built-in office day)."""
    with transaction.atomic():
        before = {"place": row.place_id, "windows": row.windows, "workday_template": row.workday_template}
        pk = row.pk
        if WorkingHours.objects.filter(pk=pk).delete()[0]:
            audit_record(actor=by, action="requests.working_hours_delete", object_type="requests.workinghours",
                         object_id=str(pk), before=before, community_id=row.place_id)
        _changed()


def effective_days(year: int, *, community: Place | None = None) -> list[tuple[date, str, str, str]]:
    """The special days of ``year`` in effect for ``community`` (or nationally), as
    ``(date, kind, name, source)`` with source ``library``, ``national`` or ``community``:
    the community's rows over the national rows over the library (as ``calendar_for``)."""
    merged: dict[date, tuple[str, str, str]] = {
        day: (kind, name, "library") for day, kind, name in _library_days(year)
    }
    for row in CalendarDay.objects.filter(place__isnull=True, date__year=year):
        merged[row.date] = (row.kind, row.name or merged.get(row.date, ("", "", ""))[1], "national")
    if community is not None:
        for row in CalendarDay.objects.filter(place=community, date__year=year):
            merged[row.date] = (row.kind, row.name or merged.get(row.date, ("", "", ""))[1], "community")
    return [(day, *merged[day]) for day in sorted(merged)]


def library_knows(year: int) -> bool:
    return bool(library_schedule(year))



def library_years() -> list[int]:
    """The years the installed library knows (it raises for any other)."""
    years = []
    for year in range(2000, 2101):
        try:
            chinese_calendar.get_holiday_detail(date(year, 1, 1))
        except NotImplementedError:
            continue
        years.append(year)
    return years
