"""Every write to a request: intake and each transition of its lifecycle (DOMAIN §1).

Each transition locks the request, checks that its state allows the move, saves with
an optimistic version check (so two staff acting at once cannot both win), appends a
``RequestEvent``, keeps the rollups current, and tells the people concerned once the
transaction has committed. Staff actions are also written to the audit chain;
intake is not, since the request and its first event are its own record.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.accounts.access import grant_covering
from linli.accounts.models import Organisation, Role, User
from linli.accounts.principals import principal_label, principal_user
from linli.audit.services import audit_record
from linli.core.text import TEXT_MAX as TEXT_MAX  # re-exported: forms and the API use it
from linli.core.text import clean_text
from linli.notifications.services import notify, webhooks_announce
from linli.places.models import SEGMENT, Place, PlaceKind
from linli.requests import rollups, sla
from linli.requests.models import (
    ACTIVE_STATUSES,
    HANDLER_ROLES,
    NOT_DISPATCHED_REASONS,
    OPEN_STATUSES,
    Attachment,
    CloseReason,
    EventKind,
    Follower,
    Priority,
    Rating,
    Request,
    RequestEvent,
    Status,
    VisitChannel,
)
from linli.requests.photos import photo_clean, photos_check_count

TITLE_MAX = 120
# A resolved request the resident has not rated closes by itself after this long;
# it then counts for the response and resolution rates but not for satisfaction.
RATING_WINDOW = timedelta(days=7)
# A resident may reopen a closed request within this long.
REOPEN_WINDOW = timedelta(days=30)
# Ratings at or below this send the request to the committee for review.
REVIEW_AT_OR_BELOW = Rating.DISSATISFIED


class ConflictError(ValidationError):
    """The request changed since the caller read it; nothing was written."""


# Helpers --------------------------------------------------------------------------------

_label = principal_label
_user = principal_user
_text = clean_text


def _event(request: Request, kind: str, *, by: Any, at: datetime, body: str = "", public: bool = True,
           data: dict[str, Any] | None = None) -> RequestEvent:
    return RequestEvent.objects.create(
        request=request, kind=kind, at=at, actor=_user(by), actor_label=_label(by), public=public, body=body,
        status=request.status, data=data or {},
    )


def _lock(request: Request, *, expected_version: int | None) -> Request:
    """Re-read the request under a row lock; refuse if the caller saw an older version."""
    fresh = Request.objects.select_for_update(of=("self",)).select_related("community", "category").get(pk=request.pk)
    if expected_version is not None and fresh.version != expected_version:
        raise ConflictError(_("此诉求刚被他人处理过，请刷新后查看最新状态再操作。"))
    return fresh


def _save(request: Request, fields: Iterable[str]) -> None:
    """Write ``fields`` only if nobody else wrote since we locked (SQLite has no row
    locks, so the version check is what makes a transition single-winner there)."""
    values = {name: getattr(request, name) for name in fields}
    values["updated_at"] = timezone.now()
    written = Request.objects.filter(pk=request.pk, version=request.version).update(
        **values, version=request.version + 1
    )
    if not written:
        raise ConflictError(_("此诉求刚被他人处理过，请刷新后查看最新状态再操作。"))
    request.version += 1


def _require_status(request: Request, allowed: Iterable[str], action: str) -> None:
    if request.status not in set(allowed):
        raise ValidationError(
            _("诉求当前为“%(status)s”，不能%(action)s。") % {"status": request.get_status_display(), "action": action}
        )


def _attach(request: Request, uploads: Sequence[UploadedFile], *, by: Any, event: RequestEvent | None,
            public: bool = True) -> list[Attachment]:
    """Clean every photo before saving any, so a bad one loses nothing and stores nothing."""
    photos_check_count(list(uploads))
    cleaned = [photo_clean(upload) for upload in uploads]
    rows = []
    for photo in cleaned:
        rows.append(Attachment.objects.create(
            request=request, event=event, file=photo.content, content_type=photo.content_type,
            size=photo.content.size, width=photo.width, height=photo.height, public=public, uploaded_by=_user(by),
        ))
    return rows


def _request_url(request: Request) -> str:
    return reverse("requests:mine_detail", args=[request.pk])


def _staff_url(request: Request) -> str:
    return reverse("requests:detail", args=[request.pk])


def _followers(request: Request) -> list[User]:
    users = list(User.objects.filter(
        Q(pk=request.reporter_id) | Q(pk__in=Follower.objects.filter(request=request).values("user_id"))
    ))
    return users


def _tell_resident(request: Request, title: str, body: str = "") -> None:
    notify(users=_followers(request), title=title, body=body, url=_request_url(request))


def _tell_staff(users: Iterable[User | None], request: Request, title: str, body: str = "") -> None:
    notify(users=[u for u in users if u is not None], title=title, body=body, url=_staff_url(request))


def _announce(request: Request, text: str) -> None:
    webhooks_announce(place_path=request.place_path, text=f"#{request.pk} {request.title}：{text}",
                      url=_staff_url(request))


def _audit(by: Any, action: str, request: Request, **after: Any) -> None:
    audit_record(actor=_user(by), action=f"requests.{action}", obj=request, after=after or None,
                 community_id=request.community_id)


def ancestor_paths(path: str) -> list[str]:
    """The paths of a node and of every node above it."""
    return [path[:i] for i in range(SEGMENT, len(path) + 1, SEGMENT)]


def holders(place: Place, roles: Iterable[str]) -> list[User]:
    """Active users holding one of ``roles`` at ``place`` or above it."""
    prefixes = ancestor_paths(place.path)
    return list(User.objects.filter(
        is_active=True, role_assignments__is_active=True, role_assignments__role__in=list(roles),
        role_assignments__place__path__in=prefixes,
    ).distinct())


# Transitions ----------------------------------------------------------------------------

def request_accept(*, request: Request, by: Any, priority: str | None = None, expected_version: int | None = None,
                   at: datetime | None = None) -> Request:
    """Accept a request: its deadlines are set from the SLA policy, counted from now."""
    at = at or timezone.now()
    with transaction.atomic():
        req = _lock(request, expected_version=expected_version)
        _require_status(req, [Status.SUBMITTED], _("受理"))
        if priority:
            if priority not in Priority.values:
                raise ValidationError({"priority": [_("未知的紧急程度。")]})
            req.priority = priority
        targets = sla.targets_for(community_id=req.community_id, category_id=req.category_id, priority=req.priority)
        req.status = Status.ACCEPTED
        req.accepted_at = at
        req.contact_due_at = sla.due(req.community_id, at, targets.contact)
        req.resolve_due_at = sla.due(req.community_id, at, targets.resolve)
        _save(req, ["status", "priority", "accepted_at", "contact_due_at", "resolve_due_at"])
        _event(req, EventKind.ACCEPTED, by=by, at=at,
               data={"priority": req.priority, "resolve_due_at": req.resolve_due_at.isoformat()})
        _audit(by, "accept", req, priority=req.priority)
        _tell_resident(req, _("您的诉求 #%(n)s 已受理") % {"n": req.pk},
                       _("办理时限：%(due)s") % {"due": timezone.localtime(req.resolve_due_at).strftime("%Y-%m-%d %H:%M")})
    return req


def _can_handle(user: User, place_path: str) -> bool:
    return bool([g for g in grant_covering(user, place_path, roles=HANDLER_ROLES) if not g.read_only])


def request_assign(*, request: Request, by: Any, handler: User, reason: str = "",
                   expected_version: int | None = None, at: datetime | None = None) -> Request:
    """Give the request to a member of staff (or move it to another one)."""
    at = at or timezone.now()
    with transaction.atomic():
        req = _lock(request, expected_version=expected_version)
        _require_status(req, [Status.SUBMITTED, Status.ACCEPTED, Status.ASSIGNED, Status.IN_PROGRESS], _("分派"))
        if not handler.is_active or not _can_handle(handler, req.place_path):
            raise ValidationError({"handler": [_("此人在该地点没有承办诉求的角色。")]})
        if req.status == Status.SUBMITTED:
            raise ValidationError(_("请先受理诉求，再分派。"))
        previous = req.handler_id
        req.handler = handler
        req.organisation = None
        req.status = Status.ASSIGNED
        _save(req, ["handler", "organisation", "status"])
        _event(req, EventKind.ASSIGNED, by=by, at=at, public=False, body=_text(reason, field="reason", required=False),
               data={"handler": handler.pk, "from": previous})
        _audit(by, "assign", req, handler=handler.pk)
        _tell_staff([handler], req, _("新分派给您的诉求 #%(n)s") % {"n": req.pk}, req.title)
    return req


def request_dispatch(*, request: Request, by: Any, organisation: Organisation, reason: str = "",
                     expected_version: int | None = None, at: datetime | None = None) -> Request:
    """Send the request to a partner (property manager, social organisation, a department)."""
    at = at or timezone.now()
    with transaction.atomic():
        req = _lock(request, expected_version=expected_version)
        _require_status(req, [Status.ACCEPTED, Status.ASSIGNED, Status.IN_PROGRESS], _("派往合作单位"))
        org_place = Place.objects.get(pk=organisation.place_id)
        if not organisation.is_active or not req.place_path.startswith(org_place.path):
            raise ValidationError({"organisation": [_("该合作单位不负责此地点。")]})
        req.organisation = organisation
        req.handler = None
        req.status = Status.DISPATCHED
        _save(req, ["organisation", "handler", "status"])
        _event(req, EventKind.DISPATCHED, by=by, at=at, body=_text(reason, field="reason", required=False),
               data={"organisation": organisation.pk, "organisation_name": organisation.name})
        _audit(by, "dispatch", req, organisation=organisation.pk)
        members = User.objects.filter(organisation=organisation, is_active=True)
        _tell_staff(members, req, _("派往贵单位的诉求 #%(n)s") % {"n": req.pk}, req.title)
        _tell_resident(req, _("您的诉求 #%(n)s 已交由 %(org)s 办理") % {"n": req.pk, "org": organisation.name})
    return req


def request_return(*, request: Request, by: Any, reason: str, expected_version: int | None = None,
                   at: datetime | None = None) -> Request:
    """The handler or partner hands the request back, saying why (退回): it is recorded,
    the community's managers are told, and the return can be contested."""
    at = at or timezone.now()
    reason_text = _text(reason, field="reason")
    with transaction.atomic():
        req = _lock(request, expected_version=expected_version)
        _require_status(req, [Status.ASSIGNED, Status.DISPATCHED, Status.IN_PROGRESS], _("退回"))
        data = {"handler": req.handler_id, "organisation": req.organisation_id}
        req.handler = None
        req.organisation = None
        req.status = Status.ACCEPTED
        _save(req, ["handler", "organisation", "status"])
        _event(req, EventKind.RETURNED, by=by, at=at, body=reason_text, public=False, data=data)
        _audit(by, "return", req, **data)
        community = Place.objects.get(pk=req.community_id)
        _tell_staff(holders(community, [Role.COMMITTEE_LEAD]), req,
                    _("诉求 #%(n)s 被退回") % {"n": req.pk}, reason_text)
    return req


def request_transfer(*, request: Request, by: Any, to: Place, reason: str, expected_version: int | None = None,
                     at: datetime | None = None) -> Request:
    """Hand the request over to another community explicitly (首接负责 ends only here).
    The receiving community may contest it."""
    at = at or timezone.now()
    reason_text = _text(reason, field="reason")
    if to.kind != PlaceKind.COMMUNITY or not to.is_active:
        raise ValidationError({"to": [_("请选择要转交的社区。")]})
    with transaction.atomic():
        req = _lock(request, expected_version=expected_version)
        _require_status(req, OPEN_STATUSES - {Status.WAITING}, _("转办"))
        if to.pk == req.community_id:
            raise ValidationError({"to": [_("诉求已在该社区。")]})
        origin = req.community_id
        req.community = to
        req.place = to
        req.place_path = to.path
        req.grid = None
        req.handler = None
        req.organisation = None
        if req.status != Status.SUBMITTED:
            req.status = Status.ACCEPTED
        _save(req, ["community", "place", "place_path", "grid", "handler", "organisation", "status"])
        _event(req, EventKind.TRANSFERRED, by=by, at=at, body=reason_text,
               data={"from_community": origin, "to_community": to.pk, "to_name": to.name})
        _audit(by, "transfer", req, from_community=origin, to_community=to.pk)
        _tell_staff(holders(to, [Role.COMMITTEE_LEAD, Role.COMMUNITY_STAFF]), req,
                    _("转交给本社区的诉求 #%(n)s") % {"n": req.pk}, reason_text)
        _tell_resident(req, _("您的诉求 #%(n)s 已转交 %(to)s 办理") % {"n": req.pk, "to": to.name}, reason_text)
    return req


def request_contest(*, request: Request, by: Any, reason: str, at: datetime | None = None) -> Request:
    """Object to a transfer or a return (Art. 17: work must not be pushed down without
    recourse): the request is flagged for the street office, which decides."""
    at = at or timezone.now()
    reason_text = _text(reason, field="reason")
    with transaction.atomic():
        req = _lock(request, expected_version=None)
        last = RequestEvent.objects.filter(request=req).filter(kind__in=[EventKind.TRANSFERRED, EventKind.RETURNED]).order_by("-at", "-id").first()
        if last is None:
            raise ValidationError(_("此诉求没有可提出异议的转办或退回。"))
        req.needs_review = True
        _save(req, ["needs_review"])
        _event(req, EventKind.CONTESTED, by=by, at=at, body=reason_text, public=False, data={"event": last.pk})
        _audit(by, "contest", req, event=last.pk)
        community = Place.objects.get(pk=req.community_id)
        street = Place.objects.filter(pk=community.parent_id).first() if community.parent_id else community
        street = street or community
        _tell_staff(holders(street, [Role.STREET_SUPERVISOR]), req,
                    _("诉求 #%(n)s 的转办/退回有异议") % {"n": req.pk}, reason_text)
    return req


def request_start(*, request: Request, by: Any, expected_version: int | None = None,
                  at: datetime | None = None) -> Request:
    at = at or timezone.now()
    with transaction.atomic():
        req = _lock(request, expected_version=expected_version)
        _require_status(req, [Status.ACCEPTED, Status.ASSIGNED, Status.DISPATCHED], _("开始办理"))
        user = _user(by)
        if req.handler_id is None and req.organisation_id is None and user is not None:
            req.handler = user
        req.status = Status.IN_PROGRESS
        _save(req, ["status", "handler"])
        _event(req, EventKind.STARTED, by=by, at=at)
    return req


def request_reply(*, request: Request, by: Any, body: str, public: bool = True, photos: Sequence[UploadedFile] = (),
                  at: datetime | None = None) -> RequestEvent:
    """A reply the resident sees (the first one counts as the first contact), or an
    internal note (``public=False``) that stays with staff."""
    at = at or timezone.now()
    text = _text(body, field="body")
    with transaction.atomic():
        req = _lock(request, expected_version=None)
        if req.status == Status.CLOSED:
            raise ValidationError(_("诉求已关闭，不能再答复；如问题仍在，可重新办理。"))
        event = _event(req, EventKind.REPLIED if public else EventKind.NOTED, by=by, at=at, body=text, public=public)
        if photos:
            _attach(req, photos, by=by, event=event, public=public)
        if public and req.first_contact_at is None and req.status != Status.SUBMITTED:
            req.first_contact_at = at
            _save(req, ["first_contact_at"])
        if public:
            _tell_resident(req, _("您的诉求 #%(n)s 有新答复") % {"n": req.pk}, text)
    return event


def request_contact(*, request: Request, by: Any, method: str, body: str = "", at: datetime | None = None) -> Request:
    """Record that the handler reached the resident (by phone, in person …)."""
    at = at or timezone.now()
    with transaction.atomic():
        req = _lock(request, expected_version=None)
        _require_status(req, ACTIVE_STATUSES, _("登记联系"))
        if method not in VisitChannel.values:
            raise ValidationError({"method": [_("未知的联系方式。")]})
        _event(req, EventKind.CONTACTED, by=by, at=at, body=_text(body, field="body", required=False),
               data={"method": method})
        if req.first_contact_at is None:
            req.first_contact_at = at
            _save(req, ["first_contact_at"])
    return req


def request_comment(*, request: Request, by: User, body: str, photos: Sequence[UploadedFile] = (),
                    at: datetime | None = None) -> RequestEvent:
    """The resident adds information; if the request was waiting on them, the clock restarts."""
    at = at or timezone.now()
    text = _text(body, field="body")
    with transaction.atomic():
        req = _lock(request, expected_version=None)
        if req.status == Status.CLOSED:
            raise ValidationError(_("诉求已关闭；如问题仍在，请选择“重新办理”。"))
        event = _event(req, EventKind.REPLIED, by=by, at=at, body=text, data={"from_resident": True})
        if photos:
            _attach(req, photos, by=by, event=event)
        if req.status == Status.WAITING:
            _resume(req, by=by, at=at)
        _tell_staff([req.handler] if req.handler_id else [], req,
                    _("居民补充了诉求 #%(n)s") % {"n": req.pk}, text)
    return event


def request_wait(*, request: Request, by: Any, question: str, expected_version: int | None = None,
                 at: datetime | None = None) -> Request:
    """Ask the resident for something; the clock stops until they answer."""
    at = at or timezone.now()
    text = _text(question, field="question")
    with transaction.atomic():
        req = _lock(request, expected_version=expected_version)
        _require_status(req, [Status.ACCEPTED, Status.ASSIGNED, Status.DISPATCHED, Status.IN_PROGRESS],
                        _("等待居民补充"))
        previous = req.status
        req.status = Status.WAITING
        req.paused_at = at
        if req.first_contact_at is None:
            req.first_contact_at = at  # asking the resident is contacting them
        _save(req, ["status", "paused_at", "first_contact_at"])
        _event(req, EventKind.WAITING, by=by, at=at, body=text, data={"previous": previous})
        _tell_resident(req, _("诉求 #%(n)s 需要您补充信息") % {"n": req.pk}, text)
    return req


def _resume(req: Request, *, by: Any, at: datetime) -> None:
    if req.paused_at is None:  # pragma: no cover - WAITING always sets it
        req.paused_at = at
    last_wait = RequestEvent.objects.filter(request=req).filter(kind=EventKind.WAITING).order_by("-at", "-id").first()
    previous = (last_wait.data.get("previous") if last_wait else None) or Status.IN_PROGRESS
    targets = sla.targets_for(community_id=req.community_id, category_id=req.category_id, priority=req.priority)
    cal = sla.calendar(req.community_id)
    if req.resolve_due_at:
        req.resolve_due_at = cal.shift(req.resolve_due_at, targets.resolve.unit, req.paused_at, at)
    if req.contact_due_at and req.first_contact_at is None:
        req.contact_due_at = cal.shift(req.contact_due_at, targets.contact.unit, req.paused_at, at)
    paused_from = req.paused_at
    req.status = previous
    req.paused_at = None
    _save(req, ["status", "paused_at", "resolve_due_at", "contact_due_at"])
    _event(req, EventKind.RESUMED, by=by, at=at, data={"paused_from": paused_from.isoformat()})


def request_resume(*, request: Request, by: Any, expected_version: int | None = None,
                   at: datetime | None = None) -> Request:
    at = at or timezone.now()
    with transaction.atomic():
        req = _lock(request, expected_version=expected_version)
        _require_status(req, [Status.WAITING], _("恢复办理"))
        _resume(req, by=by, at=at)
    return req


def request_set_priority(*, request: Request, by: Any, priority: str, reason: str,
                         expected_version: int | None = None, at: datetime | None = None) -> Request:
    """Change the priority; the deadlines are counted again from acceptance."""
    at = at or timezone.now()
    reason_text = _text(reason, field="reason")
    if priority not in Priority.values:
        raise ValidationError({"priority": [_("未知的紧急程度。")]})
    with transaction.atomic():
        req = _lock(request, expected_version=expected_version)
        _require_status(req, ACTIVE_STATUSES - {Status.WAITING}, _("调整紧急程度"))
        previous = req.priority
        req.priority = priority
        targets = sla.targets_for(community_id=req.community_id, category_id=req.category_id, priority=priority)
        if req.accepted_at is None:  # pragma: no cover - every active status has been accepted
            raise ValidationError(_("诉求尚未受理。"))
        req.contact_due_at = sla.due(req.community_id, req.accepted_at, targets.contact)
        req.resolve_due_at = sla.due(req.community_id, req.accepted_at, targets.resolve)
        req.warned_at = None
        _save(req, ["priority", "contact_due_at", "resolve_due_at", "warned_at"])
        _event(req, EventKind.PRIORITY, by=by, at=at, body=reason_text, public=False,
               data={"from": previous, "to": priority})
        _audit(by, "priority", req, priority=priority)
    return req


def request_resolve(*, request: Request, by: Any, resolution: str, photos: Sequence[UploadedFile] = (),
                    expected_version: int | None = None, at: datetime | None = None) -> Request:
    """Report what was done; the resident is asked to rate it (the return visit)."""
    at = at or timezone.now()
    text = _text(resolution, field="resolution")
    with transaction.atomic():
        req = _lock(request, expected_version=expected_version)
        _require_status(req, [Status.ACCEPTED, Status.ASSIGNED, Status.DISPATCHED, Status.IN_PROGRESS], _("办结"))
        req.status = Status.RESOLVED
        req.resolved_at = at
        req.resolution = text
        if req.first_contact_at is None:
            req.first_contact_at = at
        _save(req, ["status", "resolved_at", "resolution", "first_contact_at"])
        event = _event(req, EventKind.RESOLVED, by=by, at=at, body=text)
        if photos:
            _attach(req, photos, by=by, event=event)
        _audit(by, "resolve", req)
        _tell_resident(req, _("您的诉求 #%(n)s 已办结，请评价") % {"n": req.pk}, text)
        _announce(req, _("已办结"))
    return req


def _close(req: Request, *, by: Any, at: datetime, reason: str) -> None:
    req.status = Status.CLOSED
    req.closed_at = at
    req.close_reason = reason
    req.counted = rollups.count_closed(req, excluded=req.category.excluded_from_satisfaction)


def request_rate(*, request: Request, by: Any, rating: int, solved: bool, comment: str = "",
                 channel: str = VisitChannel.ONLINE, at: datetime | None = None) -> Request:
    """The return visit (回访): the resident rates the handling on the five-level scale,
    online or through staff recording a phone, SMS or in-person visit. The request
    closes and counts in the rates; a "not satisfied" rating also sends it to the
    committee for review (and the resident may reopen it)."""
    at = at or timezone.now()
    try:
        value = Rating(int(rating))
    except (TypeError, ValueError):
        raise ValidationError({"rating": [_("请选择满意程度。")]}) from None
    if channel not in VisitChannel.values:
        raise ValidationError({"channel": [_("未知的回访方式。")]})
    text = _text(comment, field="comment", required=False, max_length=1000)
    with transaction.atomic():
        req = _lock(request, expected_version=None)
        _require_status(req, [Status.RESOLVED], _("评价"))
        req.rating = int(value)
        req.solved = bool(solved)
        req.rated_at = at
        req.needs_review = value <= REVIEW_AT_OR_BELOW
        _close(req, by=by, at=at, reason=CloseReason.RESOLVED)
        _save(req, ["rating", "solved", "rated_at", "needs_review", "status", "closed_at", "close_reason", "counted"])
        _event(req, EventKind.RATED, by=by, at=at, body=text,
               data={"rating": int(value), "solved": bool(solved), "channel": channel})
        _event(req, EventKind.CLOSED, by=by, at=at, data={"reason": CloseReason.RESOLVED})
        if req.needs_review:
            community = Place.objects.get(pk=req.community_id)
            _tell_staff(holders(community, [Role.COMMITTEE_LEAD]), req,
                        _("诉求 #%(n)s 评价为不满意，待复核") % {"n": req.pk}, text)
        _announce(req, _("回访评价：%(rating)s") % {"rating": value.label})
    return req


def request_reopen(*, request: Request, by: Any, reason: str, at: datetime | None = None) -> Request:
    """Handle it again: the resident is not satisfied, or the committee's review found
    it not done. Its earlier contribution to the rates is taken back, and it gets a new
    resolve deadline."""
    at = at or timezone.now()
    reason_text = _text(reason, field="reason")
    with transaction.atomic():
        req = _lock(request, expected_version=None)
        _require_status(req, [Status.RESOLVED, Status.CLOSED], _("重新办理"))
        if req.status == Status.CLOSED:
            if req.close_reason != CloseReason.RESOLVED:
                raise ValidationError(_("此诉求未经办理而关闭，不能重新办理；请提交新的诉求。"))
            if req.closed_at and at - req.closed_at > REOPEN_WINDOW:
                raise ValidationError(_("已超过 30 天，不能重新办理；请提交新的诉求。"))
            rollups.uncount_closed(req)
        targets = sla.targets_for(community_id=req.community_id, category_id=req.category_id, priority=req.priority)
        req.status = Status.IN_PROGRESS if (req.handler_id or req.organisation_id) else Status.ACCEPTED
        if req.organisation_id and not req.handler_id:
            req.status = Status.DISPATCHED
        req.reopen_count += 1
        req.closed_at = None
        req.close_reason = ""
        req.counted = None
        req.resolved_at = None
        req.rating = None
        req.solved = None
        req.rated_at = None
        req.needs_review = False
        req.warned_at = None
        req.escalation = 0
        req.resolve_due_at = sla.due(req.community_id, at, targets.resolve)
        _save(req, ["status", "reopen_count", "closed_at", "close_reason", "counted", "resolved_at", "rating", "solved",
                    "rated_at", "needs_review", "warned_at", "escalation", "resolve_due_at"])
        _event(req, EventKind.REOPENED, by=by, at=at, body=reason_text)
        _audit(by, "reopen", req)
        _tell_staff([req.handler] if req.handler_id else holders(Place.objects.get(pk=req.community_id),
                                                                  [Role.COMMITTEE_LEAD]),
                    req, _("诉求 #%(n)s 重新办理") % {"n": req.pk}, reason_text)
        _tell_resident(req, _("您的诉求 #%(n)s 将重新办理") % {"n": req.pk}, reason_text)
    return req


def request_close(*, request: Request, by: Any, reason: str, answer: str, expected_version: int | None = None,
                  at: datetime | None = None) -> Request:
    """Close a request that is not dispatched (Art. 11), with the answer the resident sees."""
    at = at or timezone.now()
    if reason not in NOT_DISPATCHED_REASONS or reason == CloseReason.DUPLICATE:
        raise ValidationError({"reason": [_("请选择关闭原因（合并重复诉求请用“合并”）。")]})
    text = _text(answer, field="answer")
    with transaction.atomic():
        req = _lock(request, expected_version=expected_version)
        _require_status(req, OPEN_STATUSES, _("关闭"))
        req.answer = text
        _close(req, by=by, at=at, reason=reason)
        req.paused_at = None
        _save(req, ["answer", "status", "closed_at", "close_reason", "counted", "paused_at"])
        _event(req, EventKind.CLOSED, by=by, at=at, body=text, data={"reason": reason})
        _audit(by, "close", req, reason=reason)
        _tell_resident(req, _("您的诉求 #%(n)s 已答复并关闭") % {"n": req.pk}, text)
    return req


def request_withdraw(*, request: Request, by: User, at: datetime | None = None) -> Request:
    """The resident withdraws their own request before it is resolved."""
    at = at or timezone.now()
    if request.reporter_id != by.pk:
        raise PermissionDenied
    with transaction.atomic():
        req = _lock(request, expected_version=None)
        _require_status(req, OPEN_STATUSES, _("撤回"))
        req.answer = str(_("居民已撤回此诉求。"))
        _close(req, by=by, at=at, reason=CloseReason.WITHDRAWN)
        req.paused_at = None
        _save(req, ["answer", "status", "closed_at", "close_reason", "counted", "paused_at"])
        _event(req, EventKind.CLOSED, by=by, at=at, data={"reason": CloseReason.WITHDRAWN})
    return req


def request_merge(*, request: Request, into: Request, by: Any, at: datetime | None = None) -> Request:
    """Merge a duplicate into the request that carries the work: the duplicate closes with
    the current progress as its answer, and all its reporters follow the main one."""
    at = at or timezone.now()
    if request.pk == into.pk:
        raise ValidationError({"into": [_("不能合并到自身。")]})
    with transaction.atomic():
        # Lock both in id order so two merges in opposite directions cannot deadlock.
        first, second = sorted([request, into], key=lambda r: r.pk)
        locked = {r.pk: _lock(r, expected_version=None) for r in (first, second)}
        dup, main = locked[request.pk], locked[into.pk]
        _require_status(dup, OPEN_STATUSES, _("合并"))
        if main.merged_into_id is not None or main.status == Status.CLOSED and main.close_reason != CloseReason.RESOLVED:
            raise ValidationError({"into": [_("目标诉求已被合并或已关闭，不能合并到它。")]})
        if main.community_id != dup.community_id:
            raise ValidationError({"into": [_("只能合并同一社区的诉求。")]})
        dup.merged_into = main
        dup.answer = str(_("与诉求 #%(n)s 相同，已合并办理，进展将一并通知您。") % {"n": main.pk})
        _close(dup, by=by, at=at, reason=CloseReason.DUPLICATE)
        dup.paused_at = None
        _save(dup, ["merged_into", "answer", "status", "closed_at", "close_reason", "counted", "paused_at"])
        _event(dup, EventKind.MERGED, by=by, at=at, body=dup.answer, data={"into": main.pk})
        existing = set(Follower.objects.filter(request=main).values_list("user_id", flat=True))
        moved = []
        for follower in Follower.objects.filter(request=dup):
            if follower.user_id is None:
                moved.append(Follower(request=main, email=follower.email, from_request=dup))
            elif follower.user_id not in existing:
                moved.append(Follower(request=main, user_id=follower.user_id, from_request=dup))
                existing.add(follower.user_id)
        if dup.reporter_id and dup.reporter_id not in existing:
            moved.append(Follower(request=main, user_id=dup.reporter_id, from_request=dup))
        Follower.objects.bulk_create(moved)
        _event(main, EventKind.MERGED, by=by, at=at, public=False, data={"from": dup.pk})
        _audit(by, "merge", dup, into=main.pk)
        _tell_resident(dup, _("您的诉求 #%(n)s 已与相同诉求合并办理") % {"n": dup.pk}, dup.answer)
    return main


