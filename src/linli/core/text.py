"""Free text typed by people, checked the same way by every service."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

TEXT_MAX = 4000


def clean_text(value: str | None, *, field: str, required: bool = True, max_length: int = TEXT_MAX) -> str:
    """``value`` stripped; a ValidationError on ``field`` when it is required and empty, or too long."""
    text = (value or "").strip()
    if required and not text:
        raise ValidationError({field: [_("请填写此项。")]})
    if len(text) > max_length:
        raise ValidationError({field: [_("最多 %(n)s 个字。") % {"n": max_length}]})
    return text
