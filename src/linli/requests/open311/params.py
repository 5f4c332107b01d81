"""Reading the arguments of GeoReport calls. Every bad value is an ``Open311Error`` with
status 400 (never a server error): dates that do not parse or overflow, numbers out of
range, unknown statuses, pages too large or too deep."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.http import QueryDict
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
# Deep pages cost the database a walk over every row before them; past this a client
# narrows the dates instead.
MAX_OFFSET = 100_000
MAX_IDS = 500
# GeoReport v2: a date range "may not span more than 90 days", and defaults to the last 90.
MAX_SPAN = timedelta(days=90)
MAX_DB_ID = 2**63 - 1
_YEARS = range(1970, 2200)
TRUE_VALUES = frozenset({"true", "1", "yes"})
FALSE_VALUES = frozenset({"false", "0", "no", ""})


class Open311Error(Exception):
    """An answer in the error shape: HTTP ``status`` with one or more (code, description)."""

    def __init__(self, status: int, *descriptions: str, code: int | None = None) -> None:
        super().__init__(*descriptions)
        self.status = status
        self.items = [(code or status, text) for text in descriptions]


def bad(*descriptions: str) -> Open311Error:
    return Open311Error(400, *descriptions)


def single(query: QueryDict, name: str) -> str:
    """An optional argument: absent and empty mean the same (GeoReport "Optional Arguments")."""
    return (query.get(name) or "").strip()


def many(query: QueryDict, name: str) -> list[str]:
    """An argument that "can be declared multiple times, comma delimited"."""
    out: list[str] = []
    for value in query.getlist(name):
        out.extend(part.strip() for part in value.split(",") if part.strip())
    return out


def flag(query: QueryDict, name: str) -> bool:
    value = single(query, name).lower()
    if value in TRUE_VALUES:
        return True
    if value in FALSE_VALUES:
        return False
    raise bad(_("%(name)s 只能是 true 或 false。") % {"name": name})


def integer(value: str, name: str, *, minimum: int, maximum: int) -> int:
    if not value.isascii() or not value.isdigit() or len(value) > 19:
        raise bad(_("%(name)s 必须是整数。") % {"name": name})
    number = int(value)
    if not minimum <= number <= maximum:
        raise bad(_("%(name)s 必须在 %(min)s 到 %(max)s 之间。") % {"name": name, "min": minimum, "max": maximum})
    return number


def record_id(value: str) -> int | None:
    """A service_request_id from a URL path: None when it cannot name any request."""
    if not value.isascii() or not value.isdigit() or len(value) > 19:
        return None
    number = int(value)
    return number if 0 < number <= MAX_DB_ID else None


def when(value: str, name: str, *, end: bool = False) -> datetime:
    """A W3C date-time (``2010-01-01T00:00:00Z``). A bare date means its whole day; a
    time without offset is read in linli's time zone."""
    try:
        # A bare date first: fromisoformat (inside parse_datetime) would read it as midnight.
        day: date | None = parse_date(value) if len(value) == 10 else None
        parsed = None if day is not None else parse_datetime(value)
    except ValueError:
        parsed, day = None, None
    if parsed is None and day is not None:
        parsed = datetime.combine(day, time.max if end else time.min)
    if parsed is None:
        raise bad(_("%(name)s 不是有效的日期时间（W3C 格式，如 2010-01-01T00:00:00Z）。") % {"name": name})
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, timezone.get_default_timezone())
    if parsed.year not in _YEARS:
        raise bad(_("%(name)s 超出可查询的年份范围。") % {"name": name})
    return parsed


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime | None


def window(query: QueryDict, *, now: datetime | None = None) -> Window:
    """start_date/end_date, with GeoReport's defaults: the most recent 90 days, and a
    range never longer than 90 days."""
    raw_start, raw_end = single(query, "start_date"), single(query, "end_date")
    start = when(raw_start, "start_date") if raw_start else None
    end = when(raw_end, "end_date", end=True) if raw_end else None
    if start is not None and end is not None:
        if end < start:
            raise bad(_("end_date 不能早于 start_date。"))
        if end - start > MAX_SPAN:
            raise bad(_("start_date 与 end_date 之间不能超过 90 天。"))
        return Window(start, end)
    if start is not None:
        return Window(start, start + MAX_SPAN)
    if end is not None:
        return Window(end - MAX_SPAN, end)
    return Window((now or timezone.now()) - MAX_SPAN, None)


@dataclass(frozen=True)
class Page:
    number: int
    size: int

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size


def page(query: QueryDict) -> Page:
    raw_number, raw_size = single(query, "page"), single(query, "page_size")
    number = integer(raw_number, "page", minimum=1, maximum=MAX_OFFSET) if raw_number else 1
    size = integer(raw_size, "page_size", minimum=1, maximum=MAX_PAGE_SIZE) if raw_size else DEFAULT_PAGE_SIZE
    if (number - 1) * size > MAX_OFFSET:
        raise bad(_("页码过大：请用 start_date 和 end_date 缩小范围。"))
    return Page(number, size)


def request_ids(query: QueryDict) -> list[int]:
    values = many(query, "service_request_id")
    if len(values) > MAX_IDS:
        raise bad(_("service_request_id 一次最多 %(n)s 个。") % {"n": MAX_IDS})
    return [integer(value, "service_request_id", minimum=1, maximum=MAX_DB_ID) for value in values]


def statuses(query: QueryDict) -> set[str]:
    values = {value.lower() for value in many(query, "status")}
    unknown = values - {"open", "closed"}
    if unknown:
        raise bad(_("status 只能是 open 或 closed。"))
    return values


def has_nul(query: QueryDict) -> bool:
    return any("\x00" in value for _name, values in query.lists() for value in values) or any(
        "\x00" in name for name in query
    )
