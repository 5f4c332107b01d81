from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.cache import patch_vary_headers

SESSION_LANGUAGE = "linli_language"
SUPPORTED = frozenset(code for code, _name in settings.LANGUAGES)


def chosen_language(request: HttpRequest) -> str:
    """The language a person chose (session, then cookie), else the site default.

    Deliberately not Accept-Language: linli speaks Chinese first, whatever the
    browser was set up with, until someone switches."""
    session = getattr(request, "session", None)
    candidates = (session.get(SESSION_LANGUAGE) if session is not None else None,
                  request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME))
    for value in candidates:
        if value in SUPPORTED:
            return value
    return settings.LANGUAGE_CODE


class LanguageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = chosen_language(request)
        translation.activate(language)
        request.LANGUAGE_CODE = language
        try:
            response = self.get_response(request)
        finally:
            translation.deactivate()
        response.headers.setdefault("Content-Language", language)
        patch_vary_headers(response, ("Cookie",))
        return response
