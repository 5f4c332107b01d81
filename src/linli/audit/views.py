from __future__ import annotations

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from linli.audit.forms import EventFilterForm
from linli.audit.selectors import can_read_audit, events_filtered, events_visible_to

PAGE_SIZE = 50


def log(request: HttpRequest) -> HttpResponse:
    if not can_read_audit(request.user):
        raise Http404
    form = EventFilterForm(request.GET or None)
    qs = events_visible_to(request.user)
    qs = events_filtered(qs, **form.cleaned_data) if form.is_valid() else qs.order_by("-seq")
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request, "audit/log.html",
        {"form": form, "page": page, "query": query.urlencode()},
        status=400 if form.errors else 200,
    )


def event_detail(request: HttpRequest, seq: int) -> HttpResponse:
    if not can_read_audit(request.user):
        raise Http404
    event = events_visible_to(request.user).filter(seq=seq).first()
    if event is None:
        raise Http404
    return render(request, "audit/event.html", {"event": event})
