from __future__ import annotations

from django.http import HttpRequest, HttpResponse


def my_data(request: HttpRequest) -> HttpResponse:
    return HttpResponse("my data")


def resident_list(request: HttpRequest) -> HttpResponse:
    return HttpResponse("residents")


def import_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse("import")
