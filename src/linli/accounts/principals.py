"""Who does something, as the services record it: a signed-in user, an API key, or the
system (a scheduled job, a command)."""

from __future__ import annotations

from typing import Any

from linli.accounts.models import ApiKey, User


def principal_label(principal: Any) -> str:
    """The name an event or an audit record keeps for ``principal``."""
    if isinstance(principal, User):
        return principal.username
    if isinstance(principal, ApiKey):
        return f"apikey:{principal.prefix}"
    return "system"


def principal_user(principal: Any) -> User | None:
    return principal if isinstance(principal, User) else None
