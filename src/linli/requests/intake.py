"""Intake from every channel: the web form, the JSON API, Open311, and staff entering a
request on a resident's behalf (phone, door-to-door visit, suggestion box, forum)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, TypedDict, Unpack

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.accounts.models import User
from linli.places.models import SEGMENT, Place, PlaceKind
from linli.requests import rollups, sla
from linli.requests.models import Category, Channel, EventKind, Follower, Priority, Request, Status
from linli.requests.services import (
    TITLE_MAX,
    _announce,
    _attach,
    _event,
    _tell_resident,
    _text,
    _user,
)

# Intake ---------------------------------------------------------------------------------

def attributes_clean(category: Category, raw: dict[str, Any]) -> dict[str, Any]:
    """Check the answers to a category's extra questions (Open311 attributes)."""
    clean: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for attr in category.attributes or []:
        code = str(attr.get("code", ""))
        if not code or attr.get("variable", True) is False:
            continue
        value = raw.get(code)
        datatype = attr.get("datatype", "string")
        if value in (None, "", []):
            if attr.get("required"):
                errors[f"attribute[{code}]"] = [_("请回答：%(q)s") % {"q": attr.get("description", code)}]
            continue
        keys = {str(v.get("key")) for v in attr.get("values", [])}
        if datatype == "singlevaluelist":
            if isinstance(value, list):
                value = value[0] if len(value) == 1 else value
            if not isinstance(value, str | int) or str(value) not in keys:
                errors[f"attribute[{code}]"] = [_("请从给出的选项中选择。")]
                continue
            value = str(value)
        elif datatype == "multivaluelist":
            values = value if isinstance(value, list) else [value]
            if not all(str(v) in keys for v in values):
                errors[f"attribute[{code}]"] = [_("请从给出的选项中选择。")]
                continue
            value = [str(v) for v in values]
        elif datatype == "number":
            try:
                number = Decimal(str(value))
            except ArithmeticError:
                errors[f"attribute[{code}]"] = [_("请填写数字。")]
                continue
            if not number.is_finite() or abs(number) > Decimal("1e12"):
                errors[f"attribute[{code}]"] = [_("请填写数字。")]
                continue
            value = str(number)
        elif datatype == "datetime":
            from django.utils.dateparse import parse_datetime

            try:
                parsed = parse_datetime(str(value))
            except ValueError:
                parsed = None
            if parsed is None:
                errors[f"attribute[{code}]"] = [_("请填写有效的日期时间。")]
                continue
            value = parsed.isoformat()
        else:
            value = str(value)[:1000]
        clean[code] = value
    if errors:
        raise ValidationError(errors)
    return clean


def _grid_of(place: Place) -> Place | None:
    if place.kind == PlaceKind.GRID:
        return place
    if place.kind in (PlaceKind.DISTRICT, PlaceKind.STREET, PlaceKind.COMMUNITY):
        return None
    from linli.places.models import path_ids

    ids = path_ids(place.path)
    return Place.objects.filter(pk__in=ids, kind=PlaceKind.GRID).first()


@dataclass(frozen=True)
class Checked:
    """What ``request_check`` made of a submission: every value as it will be stored."""

    category: Category
    place: Place
    community_id: int
    channel: str
    priority: str
    title: str
    description: str
    address: str
    lat: Decimal | None
    long: Decimal | None
    attributes: dict[str, Any]
    anonymous: bool
    reporter: User | None
    contact_name: str
    contact_phone: str
    contact_email: str
    device_id: str
    account_id: str
    client_ref: str


def _coordinate(value: Decimal | float | str | None) -> Decimal | None:
    return Decimal(str(value)).quantize(Decimal("0.000001")) if value is not None else None


def request_check(
    *,
    by: Any,
    category: Category,
    place: Place,
    title: str,
    description: str,
    channel: str,
    priority: str | None = None,
    address: str = "",
    lat: Decimal | float | str | None = None,
    long: Decimal | float | str | None = None,
    attributes: dict[str, Any] | None = None,
    anonymous: bool = False,
    reporter: User | None = None,
    contact_name: str = "",
    contact_phone: str = "",
    contact_email: str = "",
    device_id: str = "",
    account_id: str = "",
    client_ref: str = "",
) -> Checked:
    """Every check of a new request that needs no write: a ValidationError naming the
    field, or the values to store. ``request_submit`` runs it; Open311's queue runs it
    before queueing, so the client hears about bad input at once."""
    if channel not in Channel.values:
        raise ValidationError({"channel": [_("未知的渠道。")]})
    if not category.is_active:
        raise ValidationError({"category": [_("该类别已停用。")]})
    if anonymous and not category.allow_anonymous:
        raise ValidationError({"anonymous": [_("该类别不接受匿名诉求，请留下联系方式。")]})
    if place.community_id is None or place.kind in (PlaceKind.DISTRICT, PlaceKind.STREET):
        raise ValidationError({"place": [_("请选择社区或社区内的具体位置。")]})
    if not place.is_active:
        raise ValidationError({"place": [_("该地点已停用。")]})
    priority = priority or category.default_priority
    if priority not in Priority.values:
        raise ValidationError({"priority": [_("未知的紧急程度。")]})
    errors: dict[str, list[str]] = {}
    for name, value in (("lat", lat), ("long", long)):
        if value is not None:
            limit = 90 if name == "lat" else 180
            try:
                number = Decimal(str(value))
                if not number.is_finite() or abs(number) > limit:
                    raise ArithmeticError
            except ArithmeticError:
                errors[name] = [_("坐标超出范围。")]
    if errors:
        raise ValidationError(errors)
    answers = attributes_clean(category, attributes or {})
    title_text = _text(title, field="title", max_length=TITLE_MAX)
    description_text = _text(description, field="description")
    if anonymous:
        reporter = None
        contact_name = contact_phone = contact_email = ""
    user = _user(by)
    if reporter is None and channel in (Channel.WEB, Channel.API) and user is not None and not anonymous:
        reporter = user
    return Checked(
        category=category, place=place, community_id=place.pk if place.kind == PlaceKind.COMMUNITY else place.community_id,
        channel=channel, priority=priority,
        title=title_text, description=description_text,
        address=_text(address, field="address", required=False, max_length=200),
        lat=_coordinate(lat), long=_coordinate(long), attributes=answers, anonymous=anonymous, reporter=reporter,
        contact_name=_text(contact_name, field="contact_name", required=False, max_length=60),
        contact_phone=_text(contact_phone, field="contact_phone", required=False, max_length=30),
        contact_email=_text(contact_email, field="contact_email", required=False, max_length=200),
        device_id=device_id[:100], account_id=account_id[:100], client_ref=client_ref[:64],
    )


class Submitted(TypedDict, total=False):
    """What a channel says about a new request, beyond ``by``, ``category``, ``place``,
    ``title``, ``description`` and ``channel`` (``request_check`` has every default)."""

    priority: str | None
    address: str
    lat: Decimal | float | str | None
    long: Decimal | float | str | None
    attributes: dict[str, Any] | None
    anonymous: bool
    reporter: User | None
    contact_name: str
    contact_phone: str
    contact_email: str
    device_id: str
    account_id: str
    client_ref: str


def request_submit(
    *,
    by: Any,
    category: Category,
    place: Place,
    title: str,
    description: str,
    channel: str,
    photos: Sequence[UploadedFile] = (),
    at: datetime | None = None,
    **details: Unpack[Submitted],
) -> Request:
    """A new request from any channel. ``by`` is who entered it: the resident, a staff
    member on a resident's behalf (``reporter`` or contact details given), or an API key."""
    at = at or timezone.now()
    checked = request_check(by=by, category=category, place=place, title=title, description=description,
                            channel=channel, **details)
    return request_file(checked, by=by, photos=photos, at=at)


def request_file(checked: Checked, *, by: Any, at: datetime, photos: Sequence[UploadedFile] = ()) -> Request:
    """Write a checked request: the row, its first event, the rollups, the notices."""
    reporter, community_id, category, place = checked.reporter, checked.community_id, checked.category, checked.place
    user = _user(by)
    with transaction.atomic():
        if checked.client_ref and reporter is not None:
            existing = Request.objects.filter(reporter=reporter, client_ref=checked.client_ref).first()
            if existing is not None:
                return existing
        targets = sla.targets_for(community_id=community_id, category_id=category.pk, priority=checked.priority)
        request = Request(
            community_id=community_id, place=place, place_path=place.path, grid=_grid_of(place), category=category,
            priority=checked.priority, status=Status.SUBMITTED, channel=checked.channel, title=checked.title,
            description=checked.description, address=checked.address, lat=checked.lat, long=checked.long,
            attributes=checked.attributes, reporter=reporter, anonymous=checked.anonymous,
            contact_name=checked.contact_name, contact_phone=checked.contact_phone,
            contact_email=checked.contact_email,
            entered_by=user if user is not None and user != reporter else None,
            device_id=checked.device_id, account_id=checked.account_id, client_ref=checked.client_ref,
            submitted_at=at, accept_due_at=sla.due(community_id, at, targets.accept),
        )
        request.save()
        event = _event(request, EventKind.SUBMITTED, by=by, at=at, data={"channel": checked.channel})
        if photos:
            _attach(request, photos, by=by, event=event)
        if reporter is not None:
            Follower.objects.create(request=request, user=reporter)
        rollups.count_submitted(request)
        if reporter is not None:
            _tell_resident(request, _("已收到您的诉求 #%(n)s") % {"n": request.pk},
                           _("我们会在时限内受理并回复您。"))
        _announce(request, _("新诉求（%(category)s）") % {"category": category.name})
    return request


def similar_open(*, place: Place, category: Category, exclude: int | None = None, limit: int = 5) -> list[Request]:
    """Open requests of the same category at the same place or building, newest first:
    offered at intake so a resident can follow an existing one instead."""
    # A household or unit widens to its building: neighbours report the same broken lift.
    anchor = place.path
    while len(anchor) > SEGMENT and Place.objects.filter(path=anchor, kind__in=[PlaceKind.HOUSEHOLD, PlaceKind.UNIT]).exists():
        anchor = anchor[:-SEGMENT]
    rows = Request.objects.open().not_merged().filter(
        community_id=place.community_id or place.pk, category=category, place_path__startswith=anchor,
    )
    if exclude:
        rows = rows.exclude(pk=exclude)
    return list(rows.order_by("-submitted_at")[:limit])


def request_follow(*, request: Request, user: User) -> Follower:
    """A resident with the same problem follows an existing request instead of filing another."""
    with transaction.atomic():
        follower, created = Follower.objects.get_or_create(request=request, user=user)
        if created:
            fresh = Request.objects.get(pk=request.pk)
            _event(fresh, EventKind.FOLLOWED, by=user, at=timezone.now(), public=False)
    return follower


