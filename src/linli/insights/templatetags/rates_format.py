"""Showing rates: a rate without cases is "—", never 0 %."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

register = template.Library()
DASH = "—"


@register.filter
def pct(value: float | None) -> str:
    """0.75 → "75.0%"; None → "—"."""
    if value is None:
        return DASH
    return f"{value * 100:.1f}%"


@register.filter
def score(value: float | None) -> str:
    """A composite score on a 100-point scale: 0.8234 → "82.3"."""
    if value is None:
        return DASH
    return f"{value * 100:.1f}"


@register.filter
def weight(value: float) -> str:
    return f"{value:g}"


@register.filter
def rank_change(value: int | None) -> str:
    if value is None:
        return DASH
    if value > 0:
        return _("上升 %(n)s 位") % {"n": value}
    if value < 0:
        return _("下降 %(n)s 位") % {"n": -value}
    return _("持平")


@register.filter
def rank_arrow(value: int | None) -> str:
    if not value:
        return ""
    return "▲" if value > 0 else "▼"


@register.simple_tag
def rate_cells(rates: Any) -> SafeString:
    """The cells of one row of a rates table (a street lists a hundred handlers: built
    here in one go rather than cell by cell in the template)."""
    c = rates.counts
    cells = [
        ("num", c["valid"]), ("num", pct(rates.response)), ("num", pct(rates.resolution)),
        ("num", pct(rates.satisfaction)), ("num strong", score(rates.composite)), ("num", pct(rates.timeliness)),
        ("num", c["breached"]), ("num", c["not_dispatched"]), ("num", c["reopened"]),
    ]
    # Every value is a number, a percentage or "—": nothing to escape.
    return mark_safe("".join(f'<td class="{css}">{value}</td>' for css, value in cells))  # noqa: S308
