from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.utils.translation import gettext as _


def _has_nul(request: HttpRequest) -> bool:
    if "\x00" in request.path or "%00" in request.META.get("QUERY_STRING", ""):
        return True
    if request.method in ("POST", "PUT", "PATCH"):
        content_type = request.content_type or ""
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            return any("\x00" in value for values in request.POST.lists() for value in values[1])
        if content_type.startswith("application/json"):
            return b"\\u0000" in request.body or b"\x00" in request.body
    return False


class RejectNulMiddleware:
    """No person types a NUL character; PostgreSQL cannot store one in text and would
    answer with a server error. Refuse such input up front with a plain 400."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _has_nul(request):
            message = _("输入中含有不允许的控制字符。")
            if request.path.startswith("/api/"):
                return JsonResponse({"error": {"code": "bad_request", "message": message, "fields": {}}}, status=400)
            if request.path.startswith("/open311/"):
                # Open311 clients expect the GeoReport error shape, in the format they asked for.
                from linli.requests.open311.render import errors

                return errors("json" if request.path.endswith(".json") else "xml", 400, [(400, str(message))])
            return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
