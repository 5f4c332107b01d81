from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation

SUPPORTED = {code for code, _name in settings.LANGUAGES}


def chosen_language(request: HttpRequest) -> str:
    """The language a person chose (session, then cookie), else the site default.

    Deliberately not Accept-Language: linli speaks Chinese first, whatever the
    browser was set up with, until someone switches."""
    for value in (request.session.get("linli_language") if hasattr(request, "session") else None,
                  request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)):
        if value in SUPPORTED:
            return value
    return settings.LANGUAGE_CODE


class LanguageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = chosen_language(request)
        translation.activate(language)
        request.LANGUAGE_CODE = language  # type: ignore[attr-defined]
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        translation.deactivate()
        return response
