"""HTML pages of the requests app (the staff workbench and the resident side)."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse


def detail(request: HttpRequest, pk: int) -> HttpResponse:
    raise Http404


def mine_detail(request: HttpRequest, pk: int) -> HttpResponse:
    raise Http404
