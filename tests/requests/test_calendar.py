"""Deadlines on the working calendar: holidays, adjusted working weekends (调休), working
windows, pauses, and an administrator's corrections."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError

from linli.requests.calendar import (
    TIME_ZONE,
    WorkCalendar,
    calendar_for,
    library_schedule,
    parse_windows,
)
from linli.requests.models import CalendarDay, DayKind, TimeUnit, WorkingHours
from tests.conftest import Tree


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=TIME_ZONE)  # type: ignore[misc]


@pytest.fixture
def cal(db: None) -> WorkCalendar:
    return calendar_for(None)


def test_seven_working_days_across_national_day_2025(cal: WorkCalendar) -> None:
    # Accepted Tuesday 30 Sept 2025 at 15:00. 1–8 Oct are holidays; Saturday 11 Oct is
    # an adjusted working day. Working days: 9, 10, 11 (Sat), 13, 14, 15, 16 Oct.
    assert cal.due(at(2025, 9, 30, 15, 0), 7, TimeUnit.WORKING_DAYS) == at(2025, 10, 16, 15, 0)


def test_seven_working_days_across_national_day_2026(cal: WorkCalendar) -> None:
    # 2026: 1–7 Oct off; Saturday 10 Oct is worked. From Wed 30 Sept 10:00:
    # 8 (Thu), 9 (Fri), 10 (Sat, 调休), 12, 13, 14, 15 Oct.
    assert cal.due(at(2026, 9, 30, 10, 0), 7, TimeUnit.WORKING_DAYS) == at(2026, 10, 15, 10, 0)


def test_the_adjusted_sunday_before_national_day_is_a_working_day(cal: WorkCalendar) -> None:
    # Sunday 20 Sept 2026 is worked (调休); Saturday 19 Sept is not.
    assert cal.due(at(2026, 9, 19, 10, 0), 2, TimeUnit.WORKING_HOURS) == at(2026, 9, 20, 11, 0)


def test_working_hours_skip_lunch_and_evening(cal: WorkCalendar) -> None:
    # 11:00 + 2 working hours: 11–12, then 13:30–14:30.
    assert cal.due(at(2026, 11, 25, 11, 0), 2, TimeUnit.WORKING_HOURS) == at(2026, 11, 25, 14, 30)
    # Submitted Friday evening: counted from Monday's opening.
    assert cal.due(at(2026, 11, 27, 20, 0), 2, TimeUnit.WORKING_HOURS) == at(2026, 11, 30, 11, 0)


def test_wall_clock_hours_ignore_the_calendar(cal: WorkCalendar) -> None:
    assert cal.due(at(2026, 10, 1, 23, 0), 2, TimeUnit.HOURS) == at(2026, 10, 2, 1, 0)


def test_a_request_accepted_in_the_evening_is_due_at_the_close_of_the_nth_day(cal: WorkCalendar) -> None:
    assert cal.due(at(2026, 11, 24, 19, 0), 1, TimeUnit.WORKING_DAYS) == at(2026, 11, 25, 17, 30)


def test_a_pause_moves_the_deadline_by_the_working_time_it_took(cal: WorkCalendar) -> None:
    deadline = at(2026, 11, 30, 15, 0)
    # Paused Friday 16:00 → resumed Monday 10:00: 1.5 h Friday + 1 h Monday of working time.
    moved = cal.shift(deadline, TimeUnit.WORKING_DAYS, at(2026, 11, 27, 16, 0), at(2026, 11, 30, 10, 0))
    assert moved == at(2026, 11, 30, 17, 30)
    assert cal.working_between(at(2026, 11, 27, 16, 0), at(2026, 11, 30, 10, 0)) == timedelta(hours=2, minutes=30)


def test_an_administrator_correction_overrides_the_library(db: None) -> None:
    # Suppose the State Council adds Monday 30 Nov 2026 as a holiday.
    CalendarDay.objects.create(date=date(2026, 11, 30), kind=DayKind.HOLIDAY, name="示例")
    cal = calendar_for(None)
    assert cal.due(at(2026, 11, 27, 17, 0), 1, TimeUnit.WORKING_HOURS) == at(2026, 12, 1, 9, 30)


def test_a_community_calendar_overrides_the_national_one(tree: Tree) -> None:
    WorkingHours.objects.create(place=tree.community, windows={"5": [["09:00", "12:00"]]})
    CalendarDay.objects.create(place=tree.community, date=date(2026, 12, 5), kind=DayKind.HOLIDAY)
    community = calendar_for(tree.community.pk)
    # Only Saturdays are worked there; Saturday 5 Dec is off, so 12 Dec.
    assert community.due(at(2026, 12, 1, 9, 0), 1, TimeUnit.WORKING_HOURS) == at(2026, 12, 12, 10, 0)
    # Other communities keep the national calendar.
    assert calendar_for(tree.other_community.pk).due(at(2026, 12, 1, 9, 0), 1, TimeUnit.WORKING_HOURS) == at(
        2026, 12, 1, 10, 0
    )


def test_a_year_the_library_does_not_know_falls_back_to_weekdays(cal: WorkCalendar) -> None:
    # 2030 has no published schedule yet: 1 Jan 2030 (Tuesday) counts as a working day
    # until an administrator loads the year.
    assert cal.is_workday(date(2030, 1, 1))
    assert not cal.is_workday(date(2030, 1, 5))


def test_library_schedule_lists_holidays_and_adjusted_days() -> None:
    rows = {day: kind for day, kind, _name in library_schedule(2026)}
    assert rows[date(2026, 10, 1)] == DayKind.HOLIDAY
    assert rows[date(2026, 10, 10)] == DayKind.WORKDAY
    assert date(2026, 10, 17) not in rows  # an ordinary Saturday


@pytest.mark.parametrize("raw", [
    [], {"7": []}, {"x": []}, {"0": [["12:00", "09:00"]]}, {"0": [["09:00", "12:00"], ["11:00", "13:00"]]},
    {"0": [["9h", "10h"]]},
])
def test_bad_windows_are_refused_with_a_message(raw: object) -> None:
    with pytest.raises(ValidationError):
        parse_windows(raw)


def test_a_calendar_without_working_time_is_an_error_not_a_hang() -> None:
    empty = WorkCalendar(windows={day: [] for day in range(7)})
    with pytest.raises(ValidationError):
        empty.due(at(2026, 1, 5, 9, 0), 1, TimeUnit.WORKING_DAYS)
