"""Reporting periods of the rates: a month, a quarter, a year, or a custom range of days.

Rollups count by local day (Asia/Shanghai), so a period is a pair of local dates, both
inclusive. Each period has a key that travels in URLs (``2026-11``, ``2026-Q4``,
``2026``, or ``2026-01-05~2026-02-10``) and the period just before it of the same
length, for the ranking's "change since last period".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from django.utils.translation import gettext as _

# A custom range longer than this is refused (its trend would be unreadable).
MAX_CUSTOM_DAYS = 3 * 366
# The monthly trend covers at least this many months, ending with the period's last month.
TREND_MONTHS = 12
# The oldest year a period may name.
FIRST_YEAR = 2000

_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_QUARTER = re.compile(r"^(\d{4})-?[Qq]([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")
_CUSTOM = re.compile(r"^(\d{4}-\d{2}-\d{2})~(\d{4}-\d{2}-\d{2})$")


class PeriodError(ValueError):
    """A period that cannot be read; its message is for the person who typed it."""


@dataclass(frozen=True)
class Period:
    kind: str  # "month", "quarter", "year" or "custom"
    start: date
    end: date  # inclusive

    @property
    def key(self) -> str:
        if self.kind == "month":
            return f"{self.start.year}-{self.start.month:02d}"
        if self.kind == "quarter":
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        if self.kind == "year":
            return str(self.start.year)
        return f"{self.start.isoformat()}~{self.end.isoformat()}"

    @property
    def label(self) -> str:
        if self.kind == "month":
            return _("%(y)s年%(m)s月") % {"y": self.start.year, "m": self.start.month}
        if self.kind == "quarter":
            return _("%(y)s年第%(q)s季度") % {"y": self.start.year, "q": (self.start.month - 1) // 3 + 1}
        if self.kind == "year":
            return _("%(y)s年") % {"y": self.start.year}
        return _("%(start)s 至 %(end)s") % {"start": self.start.isoformat(), "end": self.end.isoformat()}

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        """The period of the same kind just before this one."""
        if self.kind == "month":
            return month_period(*add_months(self.start.year, self.start.month, -1))
        if self.kind == "quarter":
            year, month = add_months(self.start.year, self.start.month, -3)
            return quarter_period(year, (month - 1) // 3 + 1)
        if self.kind == "year":
            return year_period(self.start.year - 1)
        end = self.start - timedelta(days=1)
        return Period("custom", end - timedelta(days=self.days - 1), end)

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end


def add_months(year: int, month: int, delta: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + delta
    return index // 12, index % 12 + 1


def month_end(year: int, month: int) -> date:
    next_year, next_month = add_months(year, month, 1)
    return date(next_year, next_month, 1) - timedelta(days=1)


def month_period(year: int, month: int) -> Period:
    return Period("month", date(year, month, 1), month_end(year, month))


def quarter_period(year: int, quarter: int) -> Period:
    first = (quarter - 1) * 3 + 1
    return Period("quarter", date(year, first, 1), month_end(year, first + 2))


def year_period(year: int) -> Period:
    return Period("year", date(year, 1, 1), date(year, 12, 31))


def _year_ok(year: int, today: date) -> None:
    if not FIRST_YEAR <= year <= today.year + 1:
        raise PeriodError(_("年份须在 %(a)s 至 %(b)s 之间。") % {"a": FIRST_YEAR, "b": today.year + 1})


def custom_period(start: date, end: date, *, today: date) -> Period:
    if end < start:
        raise PeriodError(_("结束日期不能早于开始日期。"))
    _year_ok(start.year, today)
    _year_ok(end.year, today)
    if (end - start).days + 1 > MAX_CUSTOM_DAYS:
        raise PeriodError(_("自定义时段最长 3 年。"))
    return Period("custom", start, end)


def parse_period(value: str, *, today: date) -> Period:
    """Read a period key; raise ``PeriodError`` with a message for a person."""
    text = (value or "").strip()
    try:
        if match := _MONTH.match(text):
            year, month = int(match[1]), int(match[2])
            _year_ok(year, today)
            if not 1 <= month <= 12:
                raise PeriodError(_("月份须在 1 至 12 之间。"))
            return month_period(year, month)
        if match := _QUARTER.match(text):
            _year_ok(int(match[1]), today)
            return quarter_period(int(match[1]), int(match[2]))
        if match := _YEAR.match(text):
            _year_ok(int(match[1]), today)
            return year_period(int(match[1]))
        if match := _CUSTOM.match(text):
            return custom_period(date.fromisoformat(match[1]), date.fromisoformat(match[2]), today=today)
    except ValueError as exc:
        if isinstance(exc, PeriodError):
            raise
        raise PeriodError(_("日期无效。")) from None
    raise PeriodError(_("统计期格式应为 2026-11（月）、2026-Q4（季度）或 2026（年）。"))


def default_period(today: date) -> Period:
    return month_period(today.year, today.month)


def period_choices(today: date, *, current: Period | None = None) -> list[tuple[str, str]]:
    """The periods offered in the filter: the last 12 months, 8 quarters and 3 years (and
    the chosen one, if it is older or custom)."""
    choices: list[Period] = []
    for back in range(12):
        choices.append(month_period(*add_months(today.year, today.month, -back)))
    quarter = (today.month - 1) // 3 + 1
    for back in range(8):
        year, month = add_months(today.year, (quarter - 1) * 3 + 1, -3 * back)
        choices.append(quarter_period(year, (month - 1) // 3 + 1))
    for back in range(3):
        choices.append(year_period(today.year - back))
    if current is not None and current.kind != "custom" and current not in choices:
        choices.append(current)
    return [(p.key, p.label) for p in choices]


def trend_months(period: Period) -> list[tuple[int, int]]:
    """(year, month) of the monthly trend: at least ``TREND_MONTHS`` months, ending with
    the month of the period's last day, and every month the period touches."""
    end = (period.end.year, period.end.month)
    first = add_months(*end, -(TREND_MONTHS - 1))
    first = min(first, (period.start.year, period.start.month))
    months = []
    year, month = first
    while (year, month) <= end:
        months.append((year, month))
        year, month = add_months(year, month, 1)
    return months


def month_key(year: int, month: int) -> str:
    return f"{year}-{month:02d}"
