"""The rates dashboard and the street ranking (HTML), and their Excel exports.

Access: ``require_rates`` (403 for roles without the rates), a place outside the
caller's scope is 404. Every number comes from ``RequestRollup`` through
``insights.selectors``; an HTMX request for new filters gets only the results block.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from linli.insights import export
from linli.insights.charts import dashboard_chart_data, ranking_chart_data
from linli.insights.forms import RatesQuery, read_query
from linli.insights.selectors import Dashboard, Ranking, dashboard, ranking


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _link(request: HttpRequest, path: str = "", **changes: Any) -> str:
    """This page's query with ``changes`` (None drops a parameter)."""
    query = request.GET.copy()
    for name, value in changes.items():
        query.pop(name, None)
        if value is not None:
            query[name] = str(value)
    return f"{path}?{query.urlencode()}"


def _link_rows(request: HttpRequest, board: Dashboard) -> None:
    for row in board.by_place:
        if row.place is not None:
            row.url = _link(request, place=row.key, handler=None, partner=None)
    for row in board.by_category:
        row.url = _link(request, category=row.code)
    for row in board.by_handler:
        row.url = _link(request, handler=row.key) if row.key else ""
    for row in board.by_partner:
        row.url = _link(request, partner=row.key) if row.key else ""


def _dashboard(query: RatesQuery) -> Dashboard | None:
    if query.filters is None:
        return None
    board = dashboard(query.scope, query.filters, today=query.today, categories=query.categories)
    query.form.set_people_choices("handler", board.by_handler, _("全部承办人"))
    query.form.set_people_choices("partner", board.by_partner, _("全部合作单位"))
    return board


def _ranking(query: RatesQuery) -> Ranking | None:
    if query.filters is None:
        return None
    return ranking(query.scope, query.filters.period, today=query.today, categories=query.categories,
                   category=query.filters.category)


def _status(query: RatesQuery) -> int:
    return 400 if query.form.errors else 200


@require_GET
def rates(request: HttpRequest) -> HttpResponse:
    query = read_query(request.user, request.GET)
    board = _dashboard(query)
    if board is not None:
        _link_rows(request, board)
    context: dict[str, Any] = {
        "query": query, "form": query.form, "board": board,
        "chart_data": dashboard_chart_data(board) if board else None,
        "export_query": request.GET.urlencode(),
    }
    template = "insights/rates.html#results" if _is_htmx(request) else "insights/rates.html"
    return render(request, template, context, status=_status(query))


@require_GET
def rates_export(request: HttpRequest) -> HttpResponse:
    query = read_query(request.user, request.GET)
    board = _dashboard(query)
    if board is None:
        return render(request, "insights/rates.html", {"query": query, "form": query.form, "board": None},
                      status=400)
    return export.dashboard_response(board)


@require_GET
def street_ranking(request: HttpRequest) -> HttpResponse:
    query = read_query(request.user, request.GET, ranking=True)
    board = _ranking(query)
    if board is not None:
        rates_url = reverse("insights:rates")
        for row in board.rows:
            row.url = _link(request, rates_url, place=row.place.pk)
    context: dict[str, Any] = {
        "query": query, "form": query.form, "board": board,
        "chart_data": ranking_chart_data(board) if board else None,
        "export_query": request.GET.urlencode(),
    }
    template = "insights/ranking.html#results" if _is_htmx(request) else "insights/ranking.html"
    return render(request, template, context, status=_status(query))


@require_GET
def ranking_export(request: HttpRequest) -> HttpResponse:
    query = read_query(request.user, request.GET, ranking=True)
    board = _ranking(query)
    if board is None:
        return render(request, "insights/ranking.html", {"query": query, "form": query.form, "board": None},
                      status=400)
    return export.ranking_response(board)
