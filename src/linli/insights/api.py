"""The three rates and the community ranking over JSON: the same numbers as the pages.

Rates are fractions (0.75 is 75 %); a rate with no cases behind it is ``null``. The
composite score is a fraction too (multiply by 100 for the score the pages show).
Errors use the project's shape (``linli.api``): 403 without the rates, 404 for a
place outside the caller's scope, 422 for a bad filter.
"""

from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from linli.core.api_schemas import Error
from linli.insights.forms import RatesQuery, read_query
from linli.insights.periods import Period
from linli.insights.selectors import Filters, Rates, RatesScope, Row, Weights, dashboard, ranking
from linli.places.models import Place

router = Router(tags=["insights"])


class RatesFilter(Schema):
    place: int | None = Field(None, ge=1, description="A district, street, community or grid id in scope "
                                                     "(default: the caller's topmost node)")
    period: str = Field("", max_length=30, description="2026-11 (month), 2026-Q4 (quarter), 2026 (year) or "
                                                       "'custom' with start and end; default: this month")
    start: date | None = Field(None, description="First day of a custom period")
    end: date | None = Field(None, description="Last day of a custom period (inclusive)")
    category: str = Field("", max_length=40, description="A category code")
    handler: int | None = Field(None, ge=1, description="A handler's user id")
    partner: int | None = Field(None, ge=1, description="A partner organisation's id")


class RankingFilter(Schema):
    place: int | None = Field(None, ge=1, description="A street or district id in scope")
    period: str = Field("", max_length=30, description="As for /rates")
    start: date | None = None
    end: date | None = None
    category: str = Field("", max_length=40, description="A category code")


class RatesOut(Schema):
    counts: dict[str, int] = Field(description="The summed rollup counters behind the rates")
    response: float | None = Field(description="响应率: responded_in_time ÷ valid")
    resolution: float | None = Field(description="解决率: solved ÷ valid")
    satisfaction: float | None = Field(
        description="满意率: (very_satisfied + satisfied + basic weight × basically_satisfied) ÷ rated")
    timeliness: float | None = Field(description="按时办结率: resolved_in_time ÷ valid")
    composite: float | None = Field(description="w₁·response + w₂·resolution + w₃·satisfaction")


class PlaceOut(Schema):
    id: int
    name: str
    kind: str


class PeriodOut(Schema):
    key: str
    label: str
    start: date
    end: date


class WeightsOut(Schema):
    response: float
    resolution: float
    satisfaction: float
    basic: float
    source: str | None = Field(description="The place whose settings apply; '' for the global row, "
                                           "null for the built-in defaults")


class RowOut(Schema):
    id: int
    name: str
    code: str = ""
    selected: bool
    rates: RatesOut


class TrendOut(Schema):
    month: str
    rates: RatesOut


class DashboardOut(Schema):
    place: PlaceOut
    period: PeriodOut
    weights: WeightsOut
    category: str | None
    handler: int | None
    partner: int | None
    intake_counted: bool = Field(description="False when a handler or partner filter leaves intake uncounted")
    totals: RatesOut
    trend: list[TrendOut]
    by_category: list[RowOut]
    by_place: list[RowOut]
    by_handler: list[RowOut]
    by_partner: list[RowOut]


class RankRowOut(Schema):
    rank: int | None
    previous_rank: int | None
    change: int | None = Field(description="Places moved up (positive) or down since the previous period")
    place: PlaceOut
    rates: RatesOut
    previous: RatesOut


class RankingOut(Schema):
    place: PlaceOut
    period: PeriodOut
    previous_period: PeriodOut
    weights: WeightsOut
    category: str | None
    rows: list[RankRowOut]


def _query(request: HttpRequest, filters: Schema, *, ranking: bool = False) -> tuple[RatesQuery, Filters]:
    data = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in filters.dict().items()
            if v not in (None, "")}
    query = read_query(request.auth, data, ranking=ranking)  # type: ignore[attr-defined]
    if query.filters is None:
        raise ValidationError({k: [str(m) for m in v] for k, v in query.form.errors.items()})
    return query, query.filters


def _rates(rates: Rates) -> dict[str, Any]:
    return {"counts": rates.counts, "response": rates.response, "resolution": rates.resolution,
            "satisfaction": rates.satisfaction, "timeliness": rates.timeliness, "composite": rates.composite}


def _place(place: Place) -> dict[str, Any]:
    return {"id": place.pk, "name": place.name, "kind": place.kind}


def _period(period: Period) -> dict[str, Any]:
    return {"key": period.key, "label": period.label, "start": period.start, "end": period.end}


def _weights(weights: Weights) -> dict[str, Any]:
    return {"response": weights.response, "resolution": weights.resolution, "satisfaction": weights.satisfaction,
            "basic": weights.basic, "source": weights.source}


def _rows(rows: list[Row]) -> list[dict[str, Any]]:
    return [{"id": r.key, "name": r.label, "code": r.code, "selected": r.selected, "rates": _rates(r.rates)}
            for r in rows]


def _node(scope: RatesScope) -> dict[str, Any]:
    return _place(scope.node)


@router.get("/rates", response={200: DashboardOut, 401: Error, 403: Error, 404: Error, 422: Error},
            summary="The three rates and the composite score, with breakdowns")
def rates_summary(request: HttpRequest, filters: Query[RatesFilter]) -> dict[str, Any]:
    query, f = _query(request, filters)
    board = dashboard(query.scope, f, today=query.today, categories=query.categories)
    return {
        "place": _node(query.scope), "period": _period(board.period), "weights": _weights(board.weights),
        "category": f.category.code if f.category else None, "handler": f.handler, "partner": f.partner,
        "intake_counted": board.intake_counted, "totals": _rates(board.totals),
        "trend": [{"month": p.key, "rates": _rates(p.rates)} for p in board.trend],
        "by_category": _rows(board.by_category), "by_place": _rows(board.by_place),
        "by_handler": _rows(board.by_handler), "by_partner": _rows(board.by_partner),
    }


@router.get("/ranking", response={200: RankingOut, 401: Error, 403: Error, 404: Error, 422: Error},
            summary="Communities below a street or district ranked by composite score")
def rates_ranking(request: HttpRequest, filters: Query[RankingFilter]) -> dict[str, Any]:
    query, f = _query(request, filters, ranking=True)
    board = ranking(query.scope, f.period, today=query.today, categories=query.categories, category=f.category)
    return {
        "place": _node(query.scope), "period": _period(board.period), "previous_period": _period(board.previous),
        "weights": _weights(board.weights), "category": board.category.code if board.category else None,
        "rows": [{"rank": r.rank, "previous_rank": r.previous_rank, "change": r.change, "place": _place(r.place),
                  "rates": _rates(r.rates), "previous": _rates(r.previous)} for r in board.rows],
    }
