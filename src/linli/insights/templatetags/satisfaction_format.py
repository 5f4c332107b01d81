"""Showing satisfaction numbers: an index with one decimal, an interval, a change with
its sign, a coefficient with three decimals; anything missing is "—", never 0."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()
DASH = "—"


def _number(value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


@register.filter
def idx(value: Any) -> str:
    """72.345 → "72.3"."""
    number = _number(value)
    return DASH if number is None else f"{number:.1f}"


@register.filter
def coef(value: Any) -> str:
    """0.31234 → "0.312"."""
    number = _number(value)
    return DASH if number is None else f"{number:.3f}"


@register.filter
def signed(value: Any) -> str:
    """A change: +1.2, −0.5 (a real minus sign), 0.0."""
    number = _number(value)
    if number is None:
        return DASH
    if round(number, 1) == 0:
        return "0.0"
    return f"+{number:.1f}" if number > 0 else f"−{-number:.1f}"


@register.simple_tag
def interval(lower: Any, upper: Any, digits: int = 1) -> str:
    """"70.1–74.6", or "—" when either end is missing."""
    low, high = _number(lower), _number(upper)
    if low is None or high is None:
        return DASH
    return f"{low:.{digits}f}–{high:.{digits}f}"


@register.filter
def percent(value: Any) -> str:
    """A share already in percent: 31.234 → "31.2%"."""
    number = _number(value)
    return DASH if number is None else f"{number:.1f}%"


@register.filter
def ratio_percent(value: Any) -> str:
    """A fraction: 0.753 → "75.3%"."""
    number = _number(value)
    return DASH if number is None else f"{100 * number:.1f}%"
