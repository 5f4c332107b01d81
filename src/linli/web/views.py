from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from linli.accounts.access import grants_for
from linli.accounts.services import user_set_preferences
from linli.web.context_processors import ELDER_COOKIE, ELDER_OFFERED_COOKIE
from linli.web.middleware import SUPPORTED

YEAR = 365 * 24 * 3600


def _back(request: HttpRequest) -> HttpResponseRedirect:
    target = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        target = "/"
    return HttpResponseRedirect(target)


@login_not_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    grants = grants_for(request.user) if request.user.is_authenticated else []
    return render(request, "web/home.html", {"grants": grants})


@login_not_required
@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    language = request.POST.get("language", "")
    response = _back(request)
    if language in SUPPORTED:
        request.session["linli_language"] = language
        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, max_age=YEAR, samesite="Lax", secure=settings.HTTPS)
        if request.user.is_authenticated:
            user_set_preferences(user=request.user, language=language)  # type: ignore[arg-type]
    return response


@login_not_required
@require_POST
def set_elder_mode(request: HttpRequest) -> HttpResponse:
    """Turned on once, kept: in a cookie for this browser and on the account."""
    on = request.POST.get("elder") == "1"
    response = _back(request)
    response.set_cookie(ELDER_COOKIE, "1" if on else "0", max_age=YEAR, samesite="Lax", secure=settings.HTTPS)
    response.set_cookie(ELDER_OFFERED_COOKIE, "1", max_age=YEAR, samesite="Lax", secure=settings.HTTPS)
    if request.user.is_authenticated:
        user_set_preferences(user=request.user, elder_mode=on)  # type: ignore[arg-type]
    return response
