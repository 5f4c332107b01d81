"""A model field whose value is stored sealed (see ``linli.core.crypto``)."""

from __future__ import annotations

from typing import Any

from django.db import models

from linli.core import crypto


class EncryptedTextField(models.TextField):
    """Holds text encrypted at rest; Python code sees the plain value.

    It cannot be filtered on: pair it with a ``*_hash`` field filled from
    ``crypto.lookup_hash`` for exact lookups.
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
