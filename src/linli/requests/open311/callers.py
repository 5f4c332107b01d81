"""Who asks, and what that lets them see.

A keyless caller reads every request, without personal information. A key reads only
the requests below its place; in full (description, address, coordinates, photos) if
its role reads requests as staff. Contact details are never given to anyone. Tokens
and photo addresses are signed values, so they need no table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core import signing
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from linli.accounts.models import READ_ONLY_ROLES, ApiKey
from linli.accounts.services import apikey_authenticate
from linli.places.models import PlaceKind
from linli.requests.models import REQUEST_VIEW_ROLES
from linli.requests.open311.params import Open311Error

MEDIA_SALT = "linli.open311.media"
MEDIA_MAX_AGE = 7 * 24 * 3600  # a photo address given to a client works for a week
REQUEST_ID_SALT = "linli.open311.token"
_ABOVE_COMMUNITY = (PlaceKind.DISTRICT, PlaceKind.STREET)


@dataclass(frozen=True)
class Caller:
    key: ApiKey | None = None

    @property
    def full(self) -> bool:
        return self.key is not None and self.key.role in REQUEST_VIEW_ROLES

    @property
    def may_submit(self) -> bool:
        return self.key is not None and self.key.role not in READ_ONLY_ROLES


def caller_for(raw_key: str) -> Caller:
    """No key: the public view. A key that is wrong, revoked or whose place is closed: 403."""
    if not raw_key:
        return Caller()
    key = apikey_authenticate(raw_key)
    if key is None or not key.place.is_active:
        raise Open311Error(403, _("api_key 无效或已停用。"))
    return Caller(key)


def in_scope(caller: Caller, rows: QuerySet[Any], *, through: str = "") -> QuerySet[Any]:
    """The rows below the key's place (``through`` reaches the request from an event).

    A community's requests are exactly those whose ``community_id`` is that community
    (intake and transfers keep it equal to the community at the head of ``place_path``).
    Filtering on it alone, not also on the path prefix, matters for the plan: the two
    conditions are perfectly correlated, the planner multiplies their selectivities,
    underestimates the rows, and sorts a bitmap scan instead of walking an index."""
    if caller.key is None:
        return rows
    place = caller.key.place
    if place.kind == PlaceKind.COMMUNITY:
        return rows.filter(**{f"{through}community_id": place.pk})
    rows = rows.filter(**{f"{through}place_path__startswith": place.path})
    if place.kind not in _ABOVE_COMMUNITY and place.community_id:
        rows = rows.filter(**{f"{through}community_id": place.community_id})
    return rows


def media_token(attachment_id: int) -> str:
    return signing.TimestampSigner(salt=MEDIA_SALT).sign(str(attachment_id))


def media_id(token: str) -> int | None:
    try:
        value = signing.TimestampSigner(salt=MEDIA_SALT).unsign(token, max_age=MEDIA_MAX_AGE)
    except signing.BadSignature:
        return None
    return int(value) if value.isascii() and value.isdigit() else None


def request_token(pk: int) -> str:
    return signing.Signer(salt=REQUEST_ID_SALT).sign(str(pk))


def submission_token(pk: int) -> str:
    """The token of a queued submission ("q" and its number, signed)."""
    return signing.Signer(salt=REQUEST_ID_SALT).sign(f"q{pk}")


def token_target(token: str) -> tuple[str, int] | None:
    """``("request", id)`` for a filed request's token, ``("queued", id)`` for a queued
    submission's; None for anything forged or malformed."""
    try:
        value = signing.Signer(salt=REQUEST_ID_SALT).unsign(token)
    except signing.BadSignature:
        return None
    kind, digits = ("queued", value[1:]) if value.startswith("q") else ("request", value)
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 19:
        return None
    return kind, int(digits)
