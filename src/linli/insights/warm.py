"""Filling the rates cache ahead of the first visitor.

The dashboards cache the sums of each piece of time (``rollup_cache``); a piece that
nobody has asked for since the cache was cleared (a rebuild, a restart of the cache, a
new day for the "today" pieces) is summed on the next page view. The worker runs
``rates_cache_warm`` every half hour (``requests.tasks``), so the default page of every
street and community — and each street's ranking — is summed before anyone opens it.
"""

from __future__ import annotations

import time
from datetime import date

from linli.insights.forms import local_today
from linli.insights.periods import default_period
from linli.insights.selectors import (
    RANKING_KINDS,
    RATES_KINDS,
    Filters,
    RatesScope,
    dashboard,
    ranking,
)
from linli.places.models import Place, PlaceKind
from linli.requests.models import Category

WARMED_KINDS = (PlaceKind.DISTRICT, PlaceKind.STREET, PlaceKind.COMMUNITY)


def rates_cache_warm(*, today: date | None = None) -> dict[str, float]:
    """Sum the default dashboard of every active district, street and community (and
    the ranking of every district and street) into the cache."""
    started = time.perf_counter()
    today = today or local_today()
    nodes = list(Place.objects.filter(kind__in=RATES_KINDS)
                 .only("id", "parent_id", "kind", "name", "path", "depth", "is_active", "created_at").order_by("path"))
    categories = list(Category.objects.order_by("order", "code"))
    period = default_period(today)
    dashboards = rankings = 0
    for node in nodes:
        if node.kind not in WARMED_KINDS or not node.is_active:
            continue
        scope = RatesScope(node=node, nodes=nodes)
        dashboard(scope, Filters(period=period), today=today, categories=categories)
        dashboards += 1
        if node.kind in RANKING_KINDS:
            ranking(scope, period, today=today, categories=categories)
            rankings += 1
    return {"dashboards": dashboards, "rankings": rankings, "seconds": round(time.perf_counter() - started, 3)}
