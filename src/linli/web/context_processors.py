from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from linli.web.nav import nav_for

# "1" elder mode (长辈版), "0" standard; absent: never chosen in this browser.
ELDER_COOKIE = "linli_elder"


def elder_choice(request: HttpRequest) -> bool | None:
    """The choice made in this browser, if any."""
    value = request.COOKIES.get(ELDER_COOKIE)
    if value in ("0", "1"):
        return value == "1"
    return None


def elder_mode(request: HttpRequest) -> bool:
    """This browser's choice wins; a browser that never chose follows the account."""
    choice = elder_choice(request)
    if choice is not None:
        return choice
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated and user.elder_mode)


def shell(request: HttpRequest) -> dict[str, object]:
    elder = elder_mode(request)
    return {
        "elder_mode": elder,
        # Offered once, on the home page, until this browser has chosen either way.
        "elder_offer": not elder and elder_choice(request) is None,
        "nav_items": nav_for(request),
        "languages": settings.LANGUAGES,
    }
