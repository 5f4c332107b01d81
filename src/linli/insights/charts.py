"""What the ECharts scripts draw, as plain data for ``json_script`` (no inline script:
the page's CSP forbids it). Rates are percentages with one decimal; a rate without
cases is ``null``, which ECharts leaves as a gap instead of drawing a zero."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from linli.insights.selectors import Dashboard, Ranking


def percent(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 1)


def _series_names() -> dict[str, str]:
    return {
        "response": _("响应率"), "resolution": _("解决率"), "satisfaction": _("满意率"),
        "composite": _("综合得分"), "valid": _("有效件数"), "previous": _("上期综合得分"),
    }


def dashboard_chart_data(board: Dashboard) -> dict[str, Any]:
    trend = board.trend
    rows = board.by_category
    return {
        "names": _series_names(),
        "empty": _("暂无数据"),
        "trend": {
            "months": [p.label for p in trend],
            "response": [percent(p.rates.response) for p in trend],
            "resolution": [percent(p.rates.resolution) for p in trend],
            "satisfaction": [percent(p.rates.satisfaction) for p in trend],
            "valid": [p.rates.counts["valid"] for p in trend],
        },
        "categories": {
            "names": [r.label for r in rows],
            "response": [percent(r.rates.response) for r in rows],
            "resolution": [percent(r.rates.resolution) for r in rows],
            "satisfaction": [percent(r.rates.satisfaction) for r in rows],
            "selected": [r.selected for r in rows],
        },
    }


def ranking_chart_data(board: Ranking) -> dict[str, Any]:
    rows = board.rows
    return {
        "names": _series_names(),
        "empty": _("暂无数据"),
        "ranking": {
            "places": [r.place.name for r in rows],
            "composite": [percent(r.rates.composite) for r in rows],
            "previous": [percent(r.previous.composite) for r in rows],
        },
    }
