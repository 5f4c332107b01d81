"""The rate arithmetic and the periods, as pure functions (no database)."""

from __future__ import annotations

from datetime import date

import pytest

from linli.insights.periods import (
    PeriodError,
    custom_period,
    month_period,
    parse_period,
    period_choices,
    quarter_period,
    trend_months,
    year_period,
)
from linli.insights.selectors import (
    DEFAULT_WEIGHTS,
    Rates,
    Weights,
    _pieces,
    _rank,
    composite_score,
    ratio,
    resolution_rate,
    response_rate,
    satisfaction_rate,
    timeliness_rate,
)
from linli.insights.templatetags.rates_format import pct, rank_change, score
from linli.requests.models import ROLLUP_COUNTERS

TODAY = date(2026, 12, 20)


def counts(**values: int) -> dict[str, int]:
    return {name: values.get(name, 0) for name in ROLLUP_COUNTERS}


def test_rates_over_summed_counters() -> None:
    c = counts(valid=4, responded_in_time=3, solved=2, resolved_in_time=1, rated=4, very_satisfied=1,
               satisfied=1, basically_satisfied=1, dissatisfied=1)
    assert response_rate(c) == 0.75
    assert resolution_rate(c) == 0.5
    assert timeliness_rate(c) == 0.25
    assert satisfaction_rate(c) == pytest.approx(2.9 / 4)
    assert satisfaction_rate(c, 0.5) == pytest.approx(2.5 / 4)
    assert satisfaction_rate(c, 1) == pytest.approx(3 / 4)
    assert composite_score(0.75, 0.5, 0.725) == pytest.approx(0.615)
    assert composite_score(0.75, 0.5, 0.725, Weights(0.3, 0.35, 0.35)) == pytest.approx(
        0.3 * 0.75 + 0.35 * 0.5 + 0.35 * 0.725)


def test_zero_denominators() -> None:
    assert ratio(0, 0) is None and ratio(3, 0) is None and ratio(0, 5) == 0.0
    empty = Rates.of(counts())
    assert (empty.response, empty.resolution, empty.satisfaction, empty.timeliness, empty.composite) == (None,) * 5
    # Valid cases but no rating counted (all unrated, or all of excluded categories).
    unrated = Rates.of(counts(valid=2, responded_in_time=2, solved=1, rated_excluded=2))
    assert unrated.response == 1.0 and unrated.resolution == 0.5
    assert unrated.satisfaction is None and unrated.composite is None
    assert composite_score(None, 1, 1) is None and composite_score(1, 1, None) is None


def test_rates_of_a_counters_tuple_and_a_dict_agree() -> None:
    c = counts(valid=5, responded_in_time=4, solved=5, rated=5, satisfied=5, submitted=9)
    as_tuple = Rates.of(tuple(c[name] for name in ROLLUP_COUNTERS))
    assert as_tuple == Rates.of(c)
    assert as_tuple.composite == pytest.approx(0.1 * 0.8 + 0.5 + 0.4)
    assert as_tuple.satisfied == 5 and as_tuple.handled == 5
    assert Weights(0.1, 0.5, 0.4, 0.9) == DEFAULT_WEIGHTS


def test_display_of_rates() -> None:
    assert pct(0.75) == "75.0%" and pct(None) == "—" and pct(0.0) == "0.0%" and pct(2.9 / 4) == "72.5%"
    assert score(0.615) == "61.5" and score(None) == "—"
    assert rank_change(2) == "上升 2 位" and rank_change(-1) == "下降 1 位" and rank_change(0) == "持平"
    assert rank_change(None) == "—"


def test_competition_ranking() -> None:
    assert _rank([("a", 0.9), ("b", 0.7), ("c", 0.9), ("d", None), ("e", 0.5)]) == {"a": 1, "c": 1, "b": 3, "e": 4}
    assert _rank([]) == {}


@pytest.mark.parametrize(("key", "start", "end", "label"), [
    ("2026-11", date(2026, 11, 1), date(2026, 11, 30), "2026年11月"),
    ("2024-2", date(2024, 2, 1), date(2024, 2, 29), "2024年2月"),
    ("2026-Q1", date(2026, 1, 1), date(2026, 3, 31), "2026年第1季度"),
    ("2026q4", date(2026, 10, 1), date(2026, 12, 31), "2026年第4季度"),
    ("2026", date(2026, 1, 1), date(2026, 12, 31), "2026年"),
    ("2026-11-05~2026-12-03", date(2026, 11, 5), date(2026, 12, 3), "2026-11-05 至 2026-12-03"),
])
def test_parse_period(key: str, start: date, end: date, label: str) -> None:
    period = parse_period(key, today=TODAY)
    assert (period.start, period.end, period.label) == (start, end, label)
    assert parse_period(period.key, today=TODAY) == period


@pytest.mark.parametrize("key", ["2026-13", "2026-00", "1999", "2031", "2026-Q5", "x", "2026-02-30~2026-03-01",
                                 "2026-12-01~2026-11-01", "2020-01-01~2026-01-01", ""])
def test_bad_periods(key: str) -> None:
    with pytest.raises(PeriodError):
        parse_period(key, today=TODAY)


def test_previous_periods() -> None:
    assert month_period(2026, 1).previous() == month_period(2025, 12)
    assert quarter_period(2026, 1).previous() == quarter_period(2025, 4)
    assert year_period(2026).previous() == year_period(2025)
    custom = custom_period(date(2026, 11, 11), date(2026, 11, 20), today=TODAY)
    assert (custom.previous().start, custom.previous().end) == (date(2026, 11, 1), date(2026, 11, 10))


def test_trend_months_and_pieces() -> None:
    assert trend_months(month_period(2026, 3)) == [(2025, m) for m in range(4, 13)] + [(2026, m) for m in (1, 2, 3)]
    long = custom_period(date(2024, 6, 15), date(2026, 2, 1), today=TODAY)
    assert trend_months(long)[0] == (2024, 6) and len(trend_months(long)) == 21
    period = custom_period(date(2026, 11, 10), date(2026, 11, 20), today=TODAY)
    november = [(inside, p.start.day, p.end.day) for month, inside, p in _pieces([(2026, 11)], period)
                if month == "2026-11"]
    assert november == [(False, 1, 9), (True, 10, 20), (False, 21, 30)]


def test_period_choices_hold_the_chosen_one() -> None:
    keys = [key for key, _label in period_choices(TODAY)]
    assert keys[0] == "2026-12" and "2026-Q4" in keys and "2024" in keys and len(keys) == 23
    old = month_period(2023, 5)
    assert old.key in [key for key, _label in period_choices(TODAY, current=old)]
