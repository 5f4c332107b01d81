"""``unread_count``: a context processor for the unread badge in the page header.

The count is a callable, so the query runs only on pages whose template shows it, and
at most once per page (``{% with n=unread_notifications %}``)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from django.http import HttpRequest

from linli.notifications import selectors


def unread_count(request: HttpRequest) -> dict[str, Callable[[], int] | int]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"unread_notifications": 0}

    @cache
    def count() -> int:
        return selectors.unread_count(user)

    return {"unread_notifications": count}
