from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from linli.audit.models import AuditEvent


def log(request: HttpRequest) -> HttpResponse:
    events = AuditEvent.objects.order_by("-seq")[:50]
    return render(request, "audit/log.html", {"events": events})
