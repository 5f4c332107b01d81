"""Residents' requests (接诉即办) over JSON: the staff queue and a request's full record,
intake (a resident, staff on a resident's behalf, or an API key; photos optional), the
main transitions, and a resident's own requests.

Access is the pages' (``access_*`` and the action levels in ``selectors``): 404 outside
scope, 403 where the caller may only read. Every transition takes an optional
``expected_version``; when the request has moved on since, the answer is 409
``conflict`` and nothing is written. Errors use the project's shape
``{"error": {"code", "message", "fields"}}``.
"""

import json
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja import Status as Reply
from ninja.errors import HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.pagination import paginate
from pydantic import ValidationError as PydanticValidationError

from linli.accounts.models import ApiKey, Organisation, User
from linli.core.api_schemas import BoundedPageNumberPagination, Error
from linli.core.crypto import mask
from linli.requests import selectors as sel
from linli.requests import services as svc
from linli.requests.access import access_own_request, access_request, check_request, require_queue
from linli.requests.intake import request_submit
from linli.requests.models import (
    STAFF_ENTRY_CHANNELS,
    Category,
    Channel,
    Priority,
    Request,
    Status,
    VisitChannel,
)

router = Router(tags=["requests"])
PAGE_SIZE = 50
ERRORS: dict[int, Any] = {401: Error, 403: Error, 404: Error, 409: Error, 422: Error}


def _principal(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


def _conflict(exc: ValidationError) -> Reply[dict[str, Any]]:
    return Reply(409, {"error": {"code": "conflict", "message": exc.messages[0] if exc.messages else "",
                           "fields": {}}})


# Schemas --------------------------------------------------------------------------------

class CategoryOut(Schema):
    id: int
    code: str
    name: str
    group: str
    description: str
    allow_anonymous: bool
    default_priority: str
    attributes: list[dict[str, Any]] = Field(description="Extra questions (Open311 attributes)")


class RequestOut(Schema):
    """A request as the staff queue lists it."""

    id: int
    title: str
    status: str
    status_label: str
    priority: str
    category: str = Field(description="The category's code")
    category_name: str
    channel: str
    place_id: int
    place: str
    grid_id: int | None
    handler_id: int | None
    handler: str
    organisation_id: int | None
    organisation: str
    submitted_at: datetime
    accept_due_at: datetime | None
    accepted_at: datetime | None
    resolve_due_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    close_reason: str
    needs_review: bool
    countdown: str = Field(description="剩 3 小时 / 已超时 2 天; empty once resolved")
    overdue: bool
    version: int = Field(description="Send it back as expected_version with a transition")

    @staticmethod
    def resolve_status_label(obj: Request) -> str:
        return str(obj.get_status_display())

    @staticmethod
    def resolve_category(obj: Request) -> str:
        return obj.category.code

    @staticmethod
    def resolve_category_name(obj: Request) -> str:
        return obj.category.name

    @staticmethod
    def resolve_place(obj: Request) -> str:
        return obj.place.address or obj.place.name

    @staticmethod
    def resolve_handler(obj: Request) -> str:
        return sel.user_label(obj.handler)

    @staticmethod
    def resolve_organisation(obj: Request) -> str:
        return obj.organisation.name if obj.organisation_id and obj.organisation else ""

    @staticmethod
    def resolve_countdown(obj: Request) -> str:
        countdown = sel.countdown(obj)
        return countdown.text if countdown else ""

    @staticmethod
    def resolve_overdue(obj: Request) -> bool:
        countdown = sel.countdown(obj)
        return bool(countdown and countdown.state == "overdue")


class EventOut(Schema):
    kind: str
    kind_label: str
    at: datetime
    actor: str
    public: bool
    text: str
    body: str
    attachments: list[int]


class AttachmentOut(Schema):
    id: int
    url: str
    content_type: str
    width: int
    height: int
    public: bool


class RequestDetailOut(RequestOut):
    description: str
    address: str
    lat: float | None
    long: float | None
    attributes: dict[str, Any]
    reporter: str
    contact_name: str
    contact_phone: str = Field(description="Masked for read-only callers")
    resolution: str
    answer: str
    rating: int | None
    solved: bool | None
    reopen_count: int
    merged_into_id: int | None
    timeline: list[EventOut] = Field(description="Every step, internal notes included (public=false)")
    photos: list[AttachmentOut]

    @staticmethod
    def resolve_reporter(obj: Request) -> str:
        return obj.reporter_label()


class MyRequestOut(Schema):
    """A request as its reporter (or a follower) sees it in their list."""

    id: int
    title: str
    status: str
    status_label: str
    category: str
    category_name: str
    submitted_at: datetime
    accept_due_at: datetime | None
    resolve_due_at: datetime | None
    closed_at: datetime | None
    close_reason: str
    rating: int | None
    version: int
    mine: bool = Field(description="False when followed rather than reported")

    @staticmethod
    def resolve_status_label(obj: Request) -> str:
        return str(obj.get_status_display())

    @staticmethod
    def resolve_category(obj: Request) -> str:
        return obj.category.code

    @staticmethod
    def resolve_category_name(obj: Request) -> str:
        return obj.category.name

    @staticmethod
    def resolve_mine(obj: Request, context: Any) -> bool:
        principal = context["request"].auth
        return obj.reporter_id == getattr(principal, "pk", None)


class MyRequestDetailOut(MyRequestOut):
    description: str
    address: str
    place: str
    attributes: dict[str, Any]
    resolution: str
    answer: str
    solved: bool | None
    merged_into_id: int | None
    timeline: list[EventOut] = Field(description="Only the steps the resident sees")
    photos: list[AttachmentOut]

    @staticmethod
    def resolve_place(obj: Request) -> str:
        return obj.place.address or obj.place.name


class QueueQuery(Schema):
    status: str = Field("open", description="open (default), all, or one status")
    category: str = Field("", max_length=40, description="A category code")
    channel: str = Field("", max_length=20)
    grid: int | None = None
    overdue: bool = False
    due_soon: bool = Field(False, description="Resolve deadline within the next 24 hours")
    mine: bool = Field(False, description="Held by the caller (or the caller's organisation)")
    q: str = Field("", max_length=60, description="An id, or part of the title")


class RequestIn(Schema):
    category: str = Field(..., max_length=40, description="A category code (GET /categories)")
    title: str = Field(..., min_length=1, max_length=svc.TITLE_MAX)
    description: str = Field(..., min_length=1, max_length=svc.TEXT_MAX)
    place_id: int | None = Field(None, description="Staff and API keys: a place in scope. Residents: one of "
                                                   "their homes (default: their only one)")
    address: str = Field("", max_length=200)
    lat: float | None = None
    long: float | None = None
    attributes: dict[str, Any] = Field(default_factory=dict, description="Answers to the category's questions")
    anonymous: bool = False
    channel: str | None = Field(None, description="Staff entry: phone, visit, suggestion_box, forum, hotline")
    priority: str | None = None
    contact_name: str = Field("", max_length=60)
    contact_phone: str = Field("", max_length=30)
    contact_email: str = Field("", max_length=200)
    client_ref: str = Field("", max_length=64, description="Idempotency key (residents)")


class CreatedOut(Schema):
    id: int
    status: str
    version: int
    accept_due_at: datetime | None
    url: str = Field(description="The page where the caller follows it")


class VersionIn(Schema):
    expected_version: int | None = Field(None, ge=0)


class AcceptIn(VersionIn):
    priority: str | None = None


class AssignIn(VersionIn):
    handler_id: int
    reason: str = Field("", max_length=500)


class DispatchIn(VersionIn):
    organisation_id: int
    reason: str = Field("", max_length=500)


class TextIn(VersionIn):
    body: str = Field(..., max_length=svc.TEXT_MAX)


class ResolveIn(VersionIn):
    resolution: str = Field(..., max_length=svc.TEXT_MAX)


class CloseIn(VersionIn):
    reason: str = Field(..., description="emergency, legal_channel, privacy, outside_duty, unlawful, withdrawn")
    answer: str = Field(..., max_length=svc.TEXT_MAX)


class RateIn(VersionIn):
    rating: int = Field(..., ge=1, le=5, description="5 非常满意 … 1 非常不满意")
    solved: bool
    comment: str = Field("", max_length=1000)
    channel: str | None = Field(None, description="Staff recording a return visit: phone, sms or in_person")


class ReasonIn(VersionIn):
    reason: str = Field(..., max_length=svc.TEXT_MAX)


# Helpers --------------------------------------------------------------------------------

def _attachments_out(items: list[Any]) -> list[dict[str, Any]]:
    return [{"id": a.pk, "url": reverse("requests:attachment", args=[a.pk]), "content_type": a.content_type,
             "width": a.width, "height": a.height, "public": a.public} for a in items]


def _events_out(entries: list[sel.TimelineEntry]) -> list[dict[str, Any]]:
    return [{"kind": e.event.kind, "kind_label": e.title, "at": e.event.at, "actor": e.who, "public": e.event.public,
             "text": e.text, "body": e.event.body, "attachments": [a.pk for a in e.attachments]} for e in entries]


def _summary(pk: int) -> Request:
    return Request.objects.select_related("category", "place", "handler", "organisation").get(pk=pk)


def _check_version(req: Request, expected: int | None) -> None:
    if expected is not None and expected != req.version:
        raise svc.ConflictError(_("此诉求刚被他人处理过，请刷新后查看最新状态再操作。"))


def _queue_filters(query: QueueQuery) -> sel.QueueFilters:
    errors: dict[str, list[str]] = {}
    if query.status not in (sel.OPEN, sel.ALL, *Status.values):
        errors["status"] = [_("未知的状态。")]
    category_id = None
    if query.category:
        category = Category.objects.filter(code=query.category).first()
        if category is None:
            errors["category"] = [_("未知的类别。")]
        else:
            category_id = category.pk
    if query.channel and query.channel not in Channel.values:
        errors["channel"] = [_("未知的渠道。")]
    if errors:
        raise ValidationError(errors)
    return sel.QueueFilters(status=query.status, category=category_id, channel=query.channel, grid=query.grid,
                            overdue=query.overdue, due_soon=query.due_soon, mine=query.mine, q=query.q)


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "on", "yes")


def _create_input(request: HttpRequest) -> tuple[dict[str, Any], list[UploadedFile]]:
    """The request body as a dict: JSON, or a form (form-encoded or multipart with
    ``photos``). A form gives the answers as ``attribute[code]`` fields (as Open311
    does) or as one ``attributes`` field holding a JSON object."""
    content_type = (request.content_type or "").lower()
    if content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
        form = request.POST
        data: dict[str, Any] = {key: form.get(key) for key in form if not key.startswith("attribute[")}
        attributes: dict[str, Any] = {}
        if form.get("attributes"):
            try:
                attributes = json.loads(form["attributes"])
            except ValueError:
                raise ValidationError({"attributes": [_("补充信息应为 JSON 对象。")]}) from None
            if not isinstance(attributes, dict):
                raise ValidationError({"attributes": [_("补充信息应为 JSON 对象。")]})
        for key in form:
            if key.startswith("attribute[") and key.endswith("]"):
                values = form.getlist(key)
                attributes[key[len("attribute["):-1]] = values if len(values) > 1 else values[0]
        data["attributes"] = attributes
        for flag in ("anonymous",):
            if flag in data:
                data[flag] = _truthy(data[flag])
        for name in ("place_id", "lat", "long", "channel", "priority"):
            if data.get(name) == "":
                data[name] = None
        return data, request.FILES.getlist("photos")
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        raise HttpError(400, "bad json") from None
    if not isinstance(body, dict):
        # Valid JSON of the wrong shape is invalid input (422 naming the body), like every operation's.
        raise ValidationError({"__all__": [_("请求内容无法解析，请发送有效的 JSON 或表单数据。")]})
    return body, []


# The queue and one request ----------------------------------------------------------------

@router.get("/", response={200: list[RequestOut], **ERRORS}, summary="The staff queue: requests in scope, filtered")
@paginate(BoundedPageNumberPagination, page_size=PAGE_SIZE, max_page_size=200)
def request_list(request: HttpRequest, filters: Query[QueueQuery]) -> Any:
    principal = _principal(request)
    require_queue(principal)
    return sel.queue(principal, _queue_filters(filters))


@router.get("/categories", response={200: list[CategoryOut], 401: Error}, summary="Active categories with their questions")
def category_list(request: HttpRequest) -> Any:
    return sel.active_categories()


@router.get("/mine", response={200: list[MyRequestOut], 401: Error}, summary="The caller's own requests (reported or followed)")
@paginate(BoundedPageNumberPagination, page_size=PAGE_SIZE, max_page_size=200)
def request_mine(request: HttpRequest) -> Any:
    principal = _principal(request)
    return sel.own_requests(principal) if isinstance(principal, User) else Request.objects.none()


@router.get("/mine/{request_id}", response={200: MyRequestDetailOut, 401: Error, 404: Error},
            summary="One of the caller's own requests, with its public timeline")
def request_mine_detail(request: HttpRequest, request_id: int) -> Any:
    principal = _principal(request)
    if not isinstance(principal, User):
        raise PermissionDenied
    req = access_own_request(principal, request_id)
    req.timeline = _events_out(sel.timeline(req, viewer=principal, public_only=True))  # type: ignore[attr-defined]
    req.photos = _attachments_out(sel.request_attachments(req, public_only=True))  # type: ignore[attr-defined]
    return req


@router.get("/{request_id}", response={200: RequestDetailOut, **ERRORS}, summary="One request in scope, in full")
def request_detail(request: HttpRequest, request_id: int) -> Any:
    principal = _principal(request)
    req = access_request(principal, request_id)
    try:
        check_request(principal, req, write=True)
        writable = True
    except PermissionDenied:
        writable = False
    if not writable:
        req.contact_phone = mask(req.contact_phone)
    req.timeline = _events_out(sel.timeline(req, viewer=principal, public_only=False))  # type: ignore[attr-defined]
    req.photos = _attachments_out(sel.request_attachments(req, public_only=False))  # type: ignore[attr-defined]
    return req


# Intake ---------------------------------------------------------------------------------

CREATE_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": RequestIn.model_json_schema()},
        "multipart/form-data": {"schema": {
            "type": "object",
            "description": "The fields of RequestIn; answers as attribute[code] fields (or `attributes` as a JSON "
                           "object); photos as repeated `photos` files.",
            "properties": {"photos": {"type": "array", "items": {"type": "string", "format": "binary"}}},
        }},
    },
}


@router.post("/", response={201: CreatedOut, 400: Error, **ERRORS}, summary="Report a request",
             openapi_extra={"requestBody": CREATE_BODY})
def request_create(request: HttpRequest) -> Any:
    """A resident reports at one of their homes; staff (or an API key) enter a request at a
    place in their scope on a resident's behalf, naming the channel."""
    principal = _principal(request)
    data, photos = _create_input(request)
    try:
        payload = RequestIn.model_validate(data)
    except PydanticValidationError as exc:
        raise NinjaValidationError([dict(e) for e in exc.errors(include_url=False)]) from None
    category = Category.objects.filter(code=payload.category, is_active=True).first()
    if category is None:
        raise ValidationError({"category": [_("未知的类别。")]})
    if payload.priority is not None and payload.priority not in Priority.values:
        raise ValidationError({"priority": [_("未知的紧急程度。")]})
    staff = isinstance(principal, ApiKey) or sel.may_enter(principal)
    if staff:
        channels = [c.value for c in STAFF_ENTRY_CHANNELS] + [Channel.API.value]
        channel = payload.channel or (Channel.API if isinstance(principal, ApiKey) else Channel.PHONE)
        if channel not in channels:
            raise ValidationError({"channel": [_("未知的渠道。")]})
        if payload.place_id is None:
            raise ValidationError({"place_id": [_("请指明地点。")]})
        if isinstance(principal, ApiKey) and not sel.work_paths(principal):
            raise PermissionDenied
        place = sel.entry_place(principal, pk=payload.place_id)
        if place is None:
            raise ValidationError({"place_id": [_("找不到该地点，或它不在您的工作范围内。")]})
        priority = payload.priority
    else:
        homes = sel.resident_places(principal)
        if not homes:
            raise PermissionDenied
        channel = Channel.API
        place = homes[0] if payload.place_id is None else next((p for p in homes if p.pk == payload.place_id), None)
        if place is None:
            raise ValidationError({"place_id": [_("请选择您自己的住址。")]})
        priority = None  # the category decides; staff may change it on acceptance
    created = request_submit(
        by=principal, category=category, place=place, title=payload.title, description=payload.description,
        channel=channel, priority=priority, address=payload.address, lat=payload.lat, long=payload.long,
        attributes=payload.attributes, anonymous=payload.anonymous, contact_name=payload.contact_name,
        contact_phone=payload.contact_phone, contact_email=payload.contact_email,
        client_ref=payload.client_ref if not staff else "", photos=photos,
    )
    if staff:
        url = reverse("requests:detail", args=[created.pk])
    elif created.reporter_id:
        url = reverse("requests:mine_detail", args=[created.pk])
    else:
        url = ""
    return Reply(201, {"id": created.pk, "status": created.status, "version": created.version,
                        "accept_due_at": created.accept_due_at, "url": url})


# Transitions ----------------------------------------------------------------------------

def _require_object_body(request: HttpRequest) -> None:
    """A JSON body must be an object: ninja reads a list as "no fields given", which for
    operations whose fields are all optional would pass as valid input."""
    if request.content_type != "application/json" or not request.body:
        return
    try:
        body = json.loads(request.body)
    except ValueError:
        return  # ninja has already refused what does not parse
    if not isinstance(body, dict):
        raise ValidationError({"__all__": [_("请求内容无法解析，请发送有效的 JSON 或表单数据。")]})


def _act(request: HttpRequest, request_id: int, level: str, expected: int | None, run: Any) -> Any:
    _require_object_body(request)
    principal = _principal(request)
    req = sel.access_for_action(principal, request_id, level)
    try:
        _check_version(req, expected)
        run(req, principal)
    except svc.ConflictError as exc:
        return _conflict(exc)
    return Reply(200, _summary(req.pk))


@router.post("/{request_id}/accept", response={200: RequestOut, **ERRORS}, summary="Accept (the deadlines are set)")
def request_accept(request: HttpRequest, request_id: int, payload: AcceptIn) -> Any:
    return _act(request, request_id, "staff", payload.expected_version, lambda r, by: svc.request_accept(
        request=r, by=by, priority=payload.priority, expected_version=payload.expected_version))


@router.post("/{request_id}/assign", response={200: RequestOut, **ERRORS}, summary="Give it to a member of staff")
def request_assign(request: HttpRequest, request_id: int, payload: AssignIn) -> Any:
    def run(req: Request, by: Any) -> None:
        handler = next((u for u in sel.handler_choices(req.place_path) if u.pk == payload.handler_id), None)
        if handler is None:
            raise ValidationError({"handler_id": [_("此人在该地点没有承办诉求的角色。")]})
        svc.request_assign(request=req, by=by, handler=handler, reason=payload.reason,
                           expected_version=payload.expected_version)

    return _act(request, request_id, "manage", payload.expected_version, run)


@router.post("/{request_id}/dispatch", response={200: RequestOut, **ERRORS}, summary="Send it to a partner")
def request_dispatch(request: HttpRequest, request_id: int, payload: DispatchIn) -> Any:
    def run(req: Request, by: Any) -> None:
        organisation: Organisation | None = next(
            (o for o in sel.organisation_choices(req.place_path) if o.pk == payload.organisation_id), None)
        if organisation is None:
            raise ValidationError({"organisation_id": [_("该合作单位不负责此地点。")]})
        svc.request_dispatch(request=req, by=by, organisation=organisation, reason=payload.reason,
                             expected_version=payload.expected_version)

    return _act(request, request_id, "manage", payload.expected_version, run)


@router.post("/{request_id}/start", response={200: RequestOut, **ERRORS}, summary="Start handling it")
def request_start(request: HttpRequest, request_id: int, payload: VersionIn) -> Any:
    return _act(request, request_id, "work", payload.expected_version, lambda r, by: svc.request_start(
        request=r, by=by, expected_version=payload.expected_version))


@router.post("/{request_id}/reply", response={200: RequestOut, **ERRORS}, summary="Reply to the resident")
def request_reply(request: HttpRequest, request_id: int, payload: TextIn) -> Any:
    return _act(request, request_id, "work", payload.expected_version, lambda r, by: svc.request_reply(
        request=r, by=by, body=payload.body))


@router.post("/{request_id}/note", response={200: RequestOut, **ERRORS}, summary="Add an internal note")
def request_note(request: HttpRequest, request_id: int, payload: TextIn) -> Any:
    return _act(request, request_id, "work", payload.expected_version, lambda r, by: svc.request_reply(
        request=r, by=by, body=payload.body, public=False))


@router.post("/{request_id}/resolve", response={200: RequestOut, **ERRORS}, summary="Report what was done")
def request_resolve(request: HttpRequest, request_id: int, payload: ResolveIn) -> Any:
    return _act(request, request_id, "work", payload.expected_version, lambda r, by: svc.request_resolve(
        request=r, by=by, resolution=payload.resolution, expected_version=payload.expected_version))


@router.post("/{request_id}/close", response={200: RequestOut, **ERRORS},
             summary="Close without dispatch, with the answer the resident sees")
def request_close(request: HttpRequest, request_id: int, payload: CloseIn) -> Any:
    return _act(request, request_id, "manage", payload.expected_version, lambda r, by: svc.request_close(
        request=r, by=by, reason=payload.reason, answer=payload.answer, expected_version=payload.expected_version))


def _own_or(request: HttpRequest, request_id: int, level: str) -> tuple[Request, bool]:
    """The caller's own request (as its reporter), else the request as staff at ``level``."""
    principal = _principal(request)
    if isinstance(principal, User):
        own = Request.objects.select_related("category").filter(pk=request_id, reporter=principal).first()
        if own is not None:
            return own, True
    return sel.access_for_action(principal, request_id, level), False


@router.post("/{request_id}/rate", response={200: RequestOut, **ERRORS},
             summary="Rate it (its reporter), or record a return visit (staff)")
def request_rate(request: HttpRequest, request_id: int, payload: RateIn) -> Any:
    req, own = _own_or(request, request_id, "staff")
    channel = VisitChannel.ONLINE if own else payload.channel
    if not own and channel not in (VisitChannel.PHONE, VisitChannel.SMS, VisitChannel.IN_PERSON):
        raise ValidationError({"channel": [_("请注明回访方式：电话、短信或当面。")]})
    try:
        _check_version(req, payload.expected_version)
        svc.request_rate(request=req, by=_principal(request), rating=payload.rating, solved=payload.solved,
                         comment=payload.comment, channel=channel or VisitChannel.ONLINE)
    except svc.ConflictError as exc:
        return _conflict(exc)
    return Reply(200, _summary(req.pk))


@router.post("/{request_id}/reopen", response={200: RequestOut, **ERRORS},
             summary="Handle it again (its reporter within 30 days of closing, or a manager)")
def request_reopen(request: HttpRequest, request_id: int, payload: ReasonIn) -> Any:
    req, _own = _own_or(request, request_id, "manage")
    try:
        _check_version(req, payload.expected_version)
        svc.request_reopen(request=req, by=_principal(request), reason=payload.reason)
    except svc.ConflictError as exc:
        return _conflict(exc)
    return Reply(200, _summary(req.pk))

