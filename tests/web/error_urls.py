"""linli's URLs plus views that fail on purpose, to see the error pages."""

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.http import HttpRequest, HttpResponse
from django.urls import path

from linli.urls import urlpatterns as linli_urlpatterns


@login_not_required
def forbidden(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied


@login_not_required
def bad(request: HttpRequest) -> HttpResponse:
    raise SuspiciousOperation("test")


@login_not_required
def broken(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("boom")


urlpatterns = [
    *linli_urlpatterns,
    path("test-errors/403/", forbidden),
    path("test-errors/400/", bad),
    path("test-errors/500/", broken),
]
