"""A model field whose value is stored sealed (see ``linli.core.crypto``)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import FieldError
from django.db import models
from django.db.models.lookups import Exact

from linli.core import crypto


class EmptyOnlyExact(Exact):
    """``field=""`` still finds empty values; anything else would compare against a
    fresh ciphertext and silently match nothing, so it is refused."""

    def get_prep_lookup(self) -> Any:
        if self.rhs not in ("", None):
            raise FieldError(
                f"{self.lhs.target.name} is encrypted and cannot be filtered by value; "
                "filter on its lookup hash (linli.core.crypto.lookup_hash) instead."
            )
        return super().get_prep_lookup()


class EncryptedTextField(models.TextField):
    """Holds text encrypted at rest; Python code sees the plain value.

    It cannot be filtered on (only ``=""`` and ``__isnull`` work): pair it with a
    ``*_hash`` field filled from ``crypto.lookup_hash`` for exact lookups.
    """

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if value is None or value == "":
            return value
        return crypto.decrypt(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return crypto.encrypt(str(value))

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name == "exact":
            return EmptyOnlyExact
        if lookup_name == "isnull":
            return super().get_lookup(lookup_name)
        return None
