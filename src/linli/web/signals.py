from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from linli.accounts.models import User
from linli.accounts.services import user_set_preferences
from linli.web.context_processors import elder_choice


def keep_elder_choice(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    """A choice of elder mode made before signing in goes onto the account, so the
    person keeps it on their other devices too."""
    if request is None:
        return
    choice = elder_choice(request)
    if choice is not None and choice != user.elder_mode:
        user_set_preferences(user=user, elder_mode=choice)
