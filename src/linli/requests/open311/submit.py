"""POST Service Request: a GeoReport form turned into a call of the intake service.

The place of the request is the ``address_id`` (a place code below the key's place, at
community level or below), else the key's own place when that is a community or below.
The photo in ``media`` goes through the intake service, which checks its type and size
and re-encodes it, so no EXIF data (the phone's position) is kept.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.http import HttpRequest
from django.utils.translation import gettext as _

from linli.accounts.models import ApiKey
from linli.places.models import Place, PlaceKind
from linli.requests.intake import request_submit
from linli.requests.models import Category, Channel, Request, Submission
from linli.requests.open311 import names
from linli.requests.open311.callers import Caller
from linli.requests.open311.params import Open311Error, bad, single
from linli.requests.queue import queue_enabled, submission_queue

_ATTRIBUTE = re.compile(r"^attribute\[([^\[\]]{1,100})\](\[\])?$")
_TITLE_LENGTH = 40
# The intake service's field names, as a GeoReport client knows them.
_FIELD_NAMES = {
    "title": "description", "description": "description", "address": "address_string", "lat": "lat",
    "long": "long", "place": "address_id", "contact_email": "email", "contact_phone": "phone",
    "contact_name": "first_name/last_name", "category": "service_code", "photos": "media",
}
_NOT_PLACES = (PlaceKind.DISTRICT, PlaceKind.STREET)
PLACE_CODE_MAX = Place._meta.get_field("code").max_length or 64


def _coordinate(value: str, name: str) -> Decimal | None:
    if not value:
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise bad(_("%(name)s 不是有效的坐标。") % {"name": name}) from None
    if not number.is_finite():
        raise bad(_("%(name)s 不是有效的坐标。") % {"name": name})
    return number


def _place(key: ApiKey, address_id: str, *, fresh: bool = False) -> Place:
    """The place of a submission, within the key's scope; ``fresh`` reads it (and the
    key's place) from the database instead of the copies kept in the process."""
    scope = Place.objects.get(pk=key.place_id) if fresh else key.place
    if address_id:
        if len(address_id) > PLACE_CODE_MAX:
            place = None
        elif fresh:
            place = Place.objects.filter(code=address_id).first()
        else:
            place = names.places_by_code.get(address_id)
        if (place is None or not place.is_active or place.kind in _NOT_PLACES
                or not place.path.startswith(scope.path)):
            # The same answer for a code that does not exist and one outside the key's scope.
            raise bad(_("address_id 不是本密钥范围内社区或其下的地点编码。"))
        return place
    if scope.kind in _NOT_PLACES:
        raise bad(_("此密钥覆盖多个社区：请用 address_id 给出社区或其下地点的编码。"))
    return scope


def _attributes(request: HttpRequest) -> dict[str, Any]:
    """``attribute[code]=v`` and, for a multivaluelist, ``attribute[code][]=v1&…``."""
    collected: dict[str, list[str]] = {}
    lists: set[str] = set()
    for name in request.POST:
        match = _ATTRIBUTE.match(name)
        if match is None:
            continue
        code = match.group(1)
        collected.setdefault(code, []).extend(value.strip() for value in request.POST.getlist(name))
        if match.group(2):
            lists.add(code)
    return {code: values if code in lists or len(values) != 1 else values[0] for code, values in collected.items()}


def _contact_name(first: str, last: str) -> str:
    if first.isascii() and last.isascii():
        return f"{first} {last}".strip()
    return f"{last}{first}"  # Chinese order: family name first


def _title(description: str, fallback: str) -> str:
    first_line = description.strip().splitlines()[0].strip() if description.strip() else ""
    if not first_line:
        return fallback
    return first_line if len(first_line) <= _TITLE_LENGTH else first_line[: _TITLE_LENGTH - 1] + "…"


def _messages(exc: ValidationError) -> list[str]:
    if hasattr(exc, "error_dict"):
        return [f"{_FIELD_NAMES.get(field, field)}: {message}"
                for field, messages in exc.message_dict.items() for message in messages]
    return list(exc.messages)


def submit(request: HttpRequest, caller: Caller) -> Request | Submission:
    """The request filed now, or (``OPEN311_QUEUE``, no photo) the queued submission."""
    if not caller.may_submit or caller.key is None:
        raise Open311Error(403, _("提交诉求需要有效的 api_key（只读密钥不能提交）。"))
    data = request.POST
    code = single(data, "service_code")
    if not code:
        raise bad(_("缺少 service_code。"))
    category = names.active_categories.get(code)
    if category is None:
        raise Open311Error(404, _("找不到 service_code：%(code)s。") % {"code": code[:60]})
    lat = _coordinate(single(data, "lat"), "lat")
    long = _coordinate(single(data, "long"), "long")
    if (lat is None) != (long is None):
        raise bad(_("lat 与 long 需要同时提供。"))
    address_string, address_id = single(data, "address_string"), single(data, "address_id")
    if lat is None and not address_string and not address_id:
        raise bad(_("请提供位置：lat 与 long、address_string 或 address_id 之一。"))
    place = _place(caller.key, address_id)
    email = single(data, "email")
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise bad(_("email 不是有效的电子邮箱地址。")) from None
    description = single(data, "description") or category.name
    fields: dict[str, Any] = {
        "category": category, "place": place, "title": _title(description, category.name),
        "description": description, "address": address_string, "lat": lat, "long": long,
        "attributes": _attributes(request),
        "contact_name": _contact_name(single(data, "first_name"), single(data, "last_name")),
        "contact_phone": single(data, "phone"), "contact_email": email,
        "device_id": single(data, "device_id"), "account_id": single(data, "account_id"),
    }
    photos = request.FILES.getlist("media")
    try:
        if queue_enabled() and not photos:
            return submission_queue(key=caller.key, **fields)
        # Filed now: the place and category afresh, not the copies kept in the process
        # (the queue's filing does the same).
        fields["place"] = _place(caller.key, address_id, fresh=True)
        fields["category"] = Category.objects.filter(pk=category.pk).first() or category
        return request_submit(by=caller.key, channel=Channel.OPEN311, photos=photos, **fields)
    except ValidationError as exc:
        raise bad(*_messages(exc)) from None
