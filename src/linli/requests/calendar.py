"""The working calendar that deadlines are counted on (DOMAIN §1).

Time zone Asia/Shanghai; weekly working windows; the national holidays *and* the
weekends made working days (调休). Which dates are holidays comes, in this order,
from a community's own ``CalendarDay`` rows, the national rows an administrator loaded
or corrected (``linli calendar load`` / ``sync``), and the maintained
``chinese_calendar`` library; a year none of them knows falls back to Monday–Friday.

A target is counted in one of three units:
- ``hours``: wall-clock time, for emergencies (24 × 7);
- ``working_hours``: time inside the working windows;
- ``working_days``: that many standard working days of working time, so a request
  accepted at 15:00 is due at 15:00 on the Nth working day after, and one accepted in
  the evening is due at the close of the Nth working day.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import chinese_calendar  # type: ignore[import-untyped]
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext as _

from linli.requests.models import CalendarDay, DayKind, TimeUnit, WorkingHours

TIME_ZONE = ZoneInfo("Asia/Shanghai")
# 09:00–12:00 and 13:30–17:30 on Monday to Friday: a common committee office day.
DEFAULT_WINDOWS: dict[str, list[list[str]]] = {
    **{str(day): [["09:00", "12:00"], ["13:30", "17:30"]] for day in range(5)},
    "5": [],
    "6": [],
}
# Counting never looks further ahead than this: a calendar with no working time at all
# is a configuration error, not an endless loop.
MAX_SCAN_DAYS = 3660


def parse_windows(raw: object) -> dict[int, list[tuple[time, time]]]:
    """Validate ``{"0": [["09:00", "12:00"], ...], ...}`` into sorted, non-overlapping windows."""
    if not isinstance(raw, dict):
        raise ValidationError(_("工作时段格式有误：应为按星期（0=周一）列出的时段。"))
    windows: dict[int, list[tuple[time, time]]] = {day: [] for day in range(7)}
    for key, spans in raw.items():
        try:
            day = int(key)
        except (TypeError, ValueError):
            raise ValidationError(_("工作时段格式有误：星期应为 0–6。")) from None
        if day not in windows or not isinstance(spans, list):
            raise ValidationError(_("工作时段格式有误：星期应为 0–6。"))
        parsed = []
        for span in spans:
            try:
                start, end = (time.fromisoformat(str(part)) for part in span)
            except (TypeError, ValueError):
                raise ValidationError(_("工作时段格式有误：时间应写作 HH:MM。")) from None
            if start >= end:
                raise ValidationError(_("工作时段有误：结束时间须晚于开始时间。"))
            parsed.append((start, end))
        parsed.sort()
        for (_s1, e1), (s2, _e2) in zip(parsed, parsed[1:], strict=False):
            if s2 < e1:
                raise ValidationError(_("工作时段有误：同一天的时段不能重叠。"))
        windows[day] = parsed
    return windows


@lru_cache(maxsize=4096)
def library_kind(day: date) -> str | None:
    """What the maintained library says is special about ``day``: a public holiday, an
    adjusted working day (a weekend worked, 调休), or None (an ordinary day, or a year
    the library does not know): then the weekly windows decide."""
    try:
        on_holiday, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        return None
    if on_holiday and name:
        return DayKind.HOLIDAY
    if not on_holiday and day.weekday() >= 5:
        return DayKind.WORKDAY
    return None


@dataclass
class WorkCalendar:
    windows: dict[int, list[tuple[time, time]]]
    overrides: dict[date, str] = field(default_factory=dict)
    template_weekday: int = 0
    tz: ZoneInfo = TIME_ZONE

    def is_workday(self, day: date) -> bool:
        kind = self.overrides.get(day) or library_kind(day)
        if kind is not None:
            return kind == DayKind.WORKDAY
        return bool(self.windows.get(day.weekday()))

    def windows_on(self, day: date) -> list[tuple[datetime, datetime]]:
        if not self.is_workday(day):
            return []
        spans = self.windows.get(day.weekday()) or self.windows.get(self.template_weekday, [])
        return [(datetime.combine(day, s, self.tz), datetime.combine(day, e, self.tz)) for s, e in spans]

    def standard_day(self) -> timedelta:
        spans = self.windows.get(self.template_weekday) or next((w for w in self.windows.values() if w), [])
        total = sum(((datetime.combine(date.min, e) - datetime.combine(date.min, s)) for s, e in spans),
                    timedelta())
        if total <= timedelta():
            raise ValidationError(_("工作日历没有任何工作时段，无法计算时限。"))
        return total

    def _spans_from(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        local = start.astimezone(self.tz)
        day = local.date()
        for _i in range(MAX_SCAN_DAYS):
            for span_start, span_end in self.windows_on(day):
                if span_end <= local:
                    continue
                yield max(span_start, local), span_end
            day += timedelta(days=1)
        raise ValidationError(_("工作日历在十年内没有工作时段，无法计算时限。"))

    def add_working(self, start: datetime, amount: timedelta) -> datetime:
        """The moment ``amount`` of working time after ``start``."""
        remaining = amount
        if remaining <= timedelta():
            return start
        for span_start, span_end in self._spans_from(start):
            length = span_end - span_start
            if remaining <= length:
                return (span_start + remaining).astimezone(start.tzinfo)
            remaining -= length
        raise AssertionError("unreachable")  # pragma: no cover - _spans_from raises first

    def working_between(self, start: datetime, end: datetime) -> timedelta:
        """Working time inside [start, end)."""
        total = timedelta()
        if end <= start:
            return total
        for span_start, span_end in self._spans_from(start):
            if span_start >= end:
                break
            total += min(span_end, end) - span_start
        return total

    def due(self, start: datetime, amount: int, unit: str) -> datetime:
        """The deadline ``amount`` ``unit`` after ``start``."""
        if unit == TimeUnit.HOURS:
            return start + timedelta(hours=amount)
        if unit == TimeUnit.WORKING_HOURS:
            return self.add_working(start, timedelta(hours=amount))
        if unit == TimeUnit.WORKING_DAYS:
            return self.add_working(start, self.standard_day() * amount)
        raise ValidationError(_("未知的时限单位：%(unit)s") % {"unit": unit})

    def shift(self, deadline: datetime, unit: str, paused_from: datetime, paused_to: datetime) -> datetime:
        """Move ``deadline`` by the time a pause took, counted as its unit counts time."""
        if unit == TimeUnit.HOURS:
            return deadline + (paused_to - paused_from)
        return self.add_working(deadline, self.working_between(paused_from, paused_to))


def calendar_for(community_id: int | None) -> WorkCalendar:
    """The calendar of a community: its own windows and days over the national ones."""
    hours = {
        wh.place_id: wh
        for wh in WorkingHours.objects.filter(Q(place__isnull=True) | Q(place_id=community_id))
    }
    chosen = hours.get(community_id) or hours.get(None)
    windows = parse_windows(chosen.windows if chosen else DEFAULT_WINDOWS)
    template = chosen.workday_template if chosen else 0
    overrides: dict[date, str] = {}
    # National rows first, so a community's own rows overwrite them.
    rows = CalendarDay.objects.filter(Q(place__isnull=True) | Q(place_id=community_id)).values_list(
        "place_id", "date", "kind"
    )
    for _place_id, day, kind in sorted(rows, key=lambda row: row[0] is not None):
        overrides[day] = kind
    return WorkCalendar(windows=windows, overrides=overrides, template_weekday=template)


def library_schedule(year: int) -> list[tuple[date, str, str]]:
    """The library's holidays and adjusted working days of ``year`` as
    ``(date, kind, name)``; empty when the library does not know the year."""
    rows = []
    day = date(year, 1, 1)
    while day.year == year:
        try:
            _on_holiday, name = chinese_calendar.get_holiday_detail(day)
        except NotImplementedError:
            return []
        kind = library_kind(day)
        if kind is not None:
            rows.append((day, str(kind), str(name or "")))
        day += timedelta(days=1)
    return rows
