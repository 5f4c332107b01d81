from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from linli.web.nav import nav_for

ELDER_COOKIE = "linli_elder"
ELDER_OFFERED_COOKIE = "linli_elder_offered"


def elder_mode(request: HttpRequest) -> bool:
    user = request.user if hasattr(request, "user") else None
    if user is not None and user.is_authenticated and user.elder_mode:  # type: ignore[union-attr]
        return True
    return request.COOKIES.get(ELDER_COOKIE) == "1"


def shell(request: HttpRequest) -> dict[str, object]:
    elder = elder_mode(request)
    return {
        "elder_mode": elder,
        "elder_offer": not elder and ELDER_OFFERED_COOKIE not in request.COOKIES,
        "nav_items": nav_for(request, elder=elder),
        "languages": settings.LANGUAGES,
    }
