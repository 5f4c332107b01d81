from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import translation
from django.utils.functional import Promise
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from linli.accounts.access import Grant, grants_for
from linli.accounts.models import Role
from linli.accounts.services import user_set_preferences
from linli.places.models import Place
from linli.web.context_processors import ELDER_COOKIE, elder_mode
from linli.web.forms import ElderModeForm, LanguageForm
from linli.web.middleware import SESSION_LANGUAGE, chosen_language

YEAR = 365 * 24 * 3600


@dataclass(frozen=True)
class Scope:
    """A grant as a person reads it: the role's label and the place's name."""

    role: str | Promise
    place: str
    address: str


def scopes_of(grants: list[Grant]) -> list[Scope]:
    """Label each grant, looking every place up in one query."""
    if not grants:
        return []
    places = {
        pk: (name, address)
        for pk, name, address in Place.objects.filter(pk__in={g.place_id for g in grants}).values_list(
            "pk", "name", "address"
        )
    }
    labels = dict(Role.choices)
    scopes = []
    for grant in grants:
        name, address = places.get(grant.place_id, ("", ""))
        scopes.append(Scope(labels.get(grant.role, grant.role), name, address if address != name else ""))
    return scopes


def _next_url(request: HttpRequest) -> str:
    """Where to go back to: a path on this site only (never an open redirect)."""
    target = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return "/"
    return target


def _set_cookie(response: HttpResponse, name: str, value: str) -> None:
    response.set_cookie(name, value, max_age=YEAR, samesite="Lax", secure=settings.HTTPS, httponly=True)


@login_not_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    grants = grants_for(request.user) if request.user.is_authenticated else []
    return render(request, "web/home.html", {"scopes": scopes_of(grants)})


def _settings_page(
    request: HttpRequest, *, language_form: LanguageForm | None = None, elder_form: ElderModeForm | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        "language_form": language_form or LanguageForm(initial={"language": chosen_language(request)}),
        "elder_form": elder_form or ElderModeForm(initial={"elder": "1" if elder_mode(request) else "0"}),
        "next": _next_url(request) if request.method == "POST" else request.get_full_path(),
    }
    return render(request, "web/settings.html", context, status=status)


@login_not_required
@require_GET
def settings_view(request: HttpRequest) -> HttpResponse:
    """Language and elder mode, for everyone (also before signing in)."""
    return _settings_page(request)


@login_not_required
@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    form = LanguageForm(request.POST)
    if not form.is_valid():
        return _settings_page(request, language_form=form, status=400)
    language = form.cleaned_data["language"]
    request.session[SESSION_LANGUAGE] = language
    if request.user.is_authenticated:
        user_set_preferences(user=request.user, language=language)
    with translation.override(language):
        messages.success(request, _("已切换为简体中文。") if language == "zh-hans" else _("已切换为英文。"))
    response = HttpResponseRedirect(_next_url(request))
    _set_cookie(response, settings.LANGUAGE_COOKIE_NAME, language)
    return response


@login_not_required
@require_POST
def set_elder_mode(request: HttpRequest) -> HttpResponse:
    """Turned on once, kept: in a cookie for this browser and on the account."""
    form = ElderModeForm(request.POST)
    if not form.is_valid():
        return _settings_page(request, elder_form=form, status=400)
    on: bool = form.cleaned_data["elder"]
    if request.user.is_authenticated:
        user_set_preferences(user=request.user, elder_mode=on)
    messages.success(
        request, _("已切换到长辈版。可随时在“设置”中换回标准版。") if on else _("已切换到标准版。可随时在“设置”中换成长辈版。")
    )
    response = HttpResponseRedirect(_next_url(request))
    _set_cookie(response, ELDER_COOKIE, "1" if on else "0")
    return response
