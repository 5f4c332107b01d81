from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from linli.accounts.models import User
from linli.core.crypto import lookup_hash, normalise


def looks_like_phone(identifier: str) -> bool:
    digits = normalise(identifier).removeprefix("+86")
    return digits.isdigit() and len(digits) == 11 and digits.startswith("1")


def find_user(identifier: str) -> User | None:
    identifier = identifier.strip()
    if not identifier:
        return None
    if looks_like_phone(identifier):
        user = User.objects.filter(phone_hash=lookup_hash(normalise(identifier).removeprefix("+86"))).first()
        if user is not None:
            return user
    return User.objects.filter(username__iexact=identifier).first()


class UsernameOrPhoneBackend(ModelBackend):
    """Sign in with a username or a mainland mobile number."""

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> User | None:
        if not username or not password:
            return None
        user = find_user(username)
        if user is None:
            # Spend the same time as a real check so timing does not reveal accounts.
            User().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
