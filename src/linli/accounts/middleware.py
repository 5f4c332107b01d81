from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequiredMiddleware
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

SESSION_2FA = "linli_2fa"
# What a signed-in user who still owes a second factor may reach.
_OPEN_PREFIXES = ("/accounts/2fa/", "/accounts/logout/", "/static/", "/healthz", "/prefs/")


def second_factor_pending(request: HttpRequest) -> bool:
    user = request.user
    if not user.is_authenticated or request.session.get(SESSION_2FA):
        return False
    return user.needs_second_factor()


class TwoFactorMiddleware:
    """Staff roles sign in with a password and a one-time code: until the code is
    given, a session can reach nothing but the two-factor pages."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(_OPEN_PREFIXES) and second_factor_pending(request):
            if request.path.startswith(LoginRequiredMiddleware.machine_prefixes):
                return JsonResponse(
                    {"error": {"code": "second_factor_required", "message": _("请先完成两步验证。"), "fields": {}}},
                    status=401,
                )
            # Encoded, so a next address with its own query string survives intact.
            return redirect(reverse("accounts:two_factor") + "?" + urlencode({"next": request.get_full_path()}))
        return self.get_response(request)


class LoginRequiredMiddleware(DjangoLoginRequiredMiddleware):
    """Django's login-by-default, except for the machine APIs, which authenticate
    each call themselves (session or API key) and answer 401 in their own shape."""

    machine_prefixes = ("/api/", "/open311/")

    def process_view(
        self, request: HttpRequest, view_func: Callable[..., HttpResponseBase], view_args: Any, view_kwargs: Any
    ) -> HttpResponseBase | None:
        if request.path.startswith(self.machine_prefixes):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)
