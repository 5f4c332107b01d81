"""Reads of requests that are more than a get: the staff queue with its filters, the
people a request can go to, a resident's own requests and timeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, Q
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from linli.accounts.access import grant_covering, grants_for, scope_paths
from linli.accounts.models import ApiKey, Organisation, Role, RoleAssignment, User
from linli.places.models import Place, PlaceKind
from linli.requests.access import access_request, can_manage, check_request
from linli.requests.intake import similar_open
from linli.requests.models import (
    ACTIVE_STATUSES,
    HANDLER_ROLES,
    REQUEST_MANAGE_ROLES,
    REQUEST_VIEW_ROLES,
    REQUEST_WORK_ROLES,
    Attachment,
    Category,
    Channel,
    CloseReason,
    EventKind,
    Follower,
    Priority,
    Rating,
    ReplyTemplate,
    Request,
    RequestEvent,
    RequestQuerySet,
    Status,
    VisitChannel,
)
from linli.requests.services import REOPEN_WINDOW, ancestor_paths

# "Due soon" on the workbench: the resolve deadline falls within the next day.
DUE_SOON = timedelta(hours=24)
# Statuses a queue filter may name, besides each single status.
OPEN = "open"
ALL = "all"


def handler_choices(place_path: str) -> list[User]:
    """Staff who may be given a request at ``place_path``."""
    prefixes = ancestor_paths(place_path)
    ids = RoleAssignment.objects.active().filter(role__in=list(HANDLER_ROLES), place__path__in=prefixes,
                                                 user__is_active=True).values("user_id")
    return list(User.objects.filter(pk__in=ids).order_by("username"))


def organisation_choices(place_path: str) -> list[Organisation]:
    prefixes = ancestor_paths(place_path)
    return list(Organisation.objects.filter(is_active=True, place__path__in=prefixes).order_by("name"))


def user_label(user: User | None) -> str:
    if user is None:
        return ""
    return user.display_name or user.username


# The workbench ----------------------------------------------------------------------------

@dataclass(frozen=True)
class QueueFilters:
    status: str = OPEN
    category: int | None = None
    channel: str = ""
    grid: int | None = None
    overdue: bool = False
    due_soon: bool = False
    mine: bool = False
    q: str = ""


def queue_status_choices() -> list[tuple[str, Any]]:
    return [(OPEN, _("未办结")), *Status.choices, (ALL, _("全部"))]


def queue(principal: Any, filters: QueueFilters, *, at: datetime | None = None) -> RequestQuerySet:
    """The requests in ``principal``'s scope that match ``filters``; open ones soonest
    due first (a request not yet accepted counts by its acceptance deadline)."""
    at = at or timezone.now()
    from linli.requests.access import visible_requests

    rows = visible_requests(principal)
    if filters.status == OPEN:
        rows = rows.open()
    elif filters.status in Status.values:
        rows = rows.filter(status=filters.status)
    if filters.category:
        rows = rows.filter(category_id=filters.category)
    if filters.channel:
        rows = rows.filter(channel=filters.channel)
    if filters.grid:
        rows = rows.filter(grid_id=filters.grid)
    if filters.overdue:
        rows = rows.overdue(at)
    if filters.due_soon:
        rows = rows.due_soon(at, at + DUE_SOON)
    if filters.mine:
        mine = Q(handler_id=getattr(principal, "pk", None))
        organisation_id = getattr(principal, "organisation_id", None)
        if organisation_id:
            mine |= Q(organisation_id=organisation_id)
        rows = rows.filter(mine)
    text = filters.q.strip().lstrip("#")
    if text.isdigit() and len(text) < 12:
        rows = rows.filter(pk=int(text))
    elif text:
        rows = rows.filter(title__icontains=text)
    rows = rows.select_related("category", "grid", "place", "handler", "organisation")
    if filters.status == OPEN or filters.status == Status.SUBMITTED or filters.status in ACTIVE_STATUSES:
        return rows.order_by(Coalesce("resolve_due_at", "accept_due_at").asc(nulls_last=True), "-submitted_at",
                             "-id")
    return rows.order_by("-submitted_at", "-id")


def queue_grids(principal: Any) -> list[Place]:
    """Grids in the caller's scope, for the queue's grid filter."""
    paths = scope_paths(principal, roles=REQUEST_VIEW_ROLES)
    if not paths and getattr(principal, "organisation_id", None):
        paths = scope_paths(principal, roles=[Role.PARTNER])
    return list(Place.objects.below_any(paths).filter(kind=PlaceKind.GRID).only("pk", "name", "path")
                .order_by("path")[:500])


def manage_paths(principal: Any) -> list[str]:
    return [g.path for g in grants_for(principal) if g.role in REQUEST_MANAGE_ROLES and not g.read_only]


def may_manage_any(principal: Any) -> bool:
    return bool(manage_paths(principal))


def bulk_handler_choices(principal: Any) -> list[User]:
    """Staff the caller may give requests to: those with a handler role at or below the
    nodes the caller manages, and above them (a community's staff for a grid)."""
    paths = manage_paths(principal)
    if not paths:
        return []
    above = {prefix for path in paths for prefix in ancestor_paths(path)}
    below = Q()
    for path in paths:
        below |= Q(place__path__startswith=path)
    ids = (RoleAssignment.objects.active().filter(role__in=list(HANDLER_ROLES), user__is_active=True)
           .filter(below | Q(place__path__in=above)).values("user_id"))
    return list(User.objects.filter(pk__in=ids).order_by("username")[:500])


@dataclass(frozen=True)
class Countdown:
    """How long until (or since) the deadline that matters now, in words."""

    text: str
    state: str  # "ok", "soon", "overdue", "paused"
    due: datetime | None = None
    label: str = ""


def _span(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    if days:
        return ngettext("%(n)s 天", "%(n)s 天", days) % {"n": days}
    if hours:
        return ngettext("%(n)s 小时", "%(n)s 小时", hours) % {"n": hours}
    minutes = max(1, rest // 60)
    return ngettext("%(n)s 分钟", "%(n)s 分钟", minutes) % {"n": minutes}


def countdown(request: Request, at: datetime | None = None) -> Countdown | None:
    """"剩 3 小时" / "已超时 2 天" for the acceptance deadline of a new request and the
    resolve deadline of one being handled; None once it is resolved or closed."""
    at = at or timezone.now()
    if request.status == Status.SUBMITTED:
        due, label = request.accept_due_at, _("受理时限")
    elif request.status in ACTIVE_STATUSES:
        due, label = request.resolve_due_at, _("办结时限")
    else:
        return None
    if due is None:
        return None
    if request.paused_at is not None:
        return Countdown(_("已暂停计时（等待居民补充）"), "paused", due, label)
    delta = due - at
    if delta.total_seconds() >= 0:
        return Countdown(_("剩 %(span)s") % {"span": _span(delta)}, "soon" if delta <= DUE_SOON else "ok", due, label)
    return Countdown(_("已超时 %(span)s") % {"span": _span(-delta)}, "overdue", due, label)


@dataclass(frozen=True)
class DeadlineRow:
    label: str
    due: datetime | None
    done_at: datetime | None
    text: str
    state: str  # "ok", "soon", "overdue", "paused", "done", "late", "none"


def deadline_rows(request: Request, at: datetime | None = None) -> list[DeadlineRow]:
    """Each deadline of the request: met, missed, or how long is left."""
    at = at or timezone.now()
    rows = []
    for label, due, done in (
        (_("受理"), request.accept_due_at, request.accepted_at),
        (_("首次联系"), request.contact_due_at, request.first_contact_at),
        (_("办结"), request.resolve_due_at, request.resolved_at),
    ):
        if due is None and done is None:
            continue
        if done is not None:
            late = due is not None and done > due
            rows.append(DeadlineRow(label, due, done, _("超时完成") if late else _("按时完成"),
                                    "late" if late else "done"))
        elif due is None or request.status == Status.CLOSED:
            rows.append(DeadlineRow(label, due, None, "—", "none"))
        elif request.paused_at is not None:
            rows.append(DeadlineRow(label, due, None, _("已暂停计时（等待居民补充）"), "paused"))
        else:
            delta = due - at
            if delta.total_seconds() >= 0:
                rows.append(DeadlineRow(label, due, None, _("剩 %(span)s") % {"span": _span(delta)},
                                        "soon" if delta <= DUE_SOON else "ok"))
            else:
                rows.append(DeadlineRow(label, due, None, _("已超时 %(span)s") % {"span": _span(-delta)}, "overdue"))
    return rows


# Places -----------------------------------------------------------------------------------

def resident_places(user: Any) -> list[Place]:
    """The households (or other nodes) where ``user`` holds the resident role."""
    ids = [g.place_id for g in grants_for(user) if g.role == Role.RESIDENT]
    if not ids or isinstance(user, ApiKey):
        return []
    return list(Place.objects.filter(pk__in=ids, is_active=True).exclude(community__isnull=True).order_by("path"))


def work_paths(principal: Any) -> list[str]:
    """Where ``principal`` may work on requests (and so enter them for a resident)."""
    return [g.path for g in grants_for(principal) if g.role in REQUEST_WORK_ROLES and not g.read_only]


def may_enter(principal: Any) -> bool:
    return bool(work_paths(principal))


def entry_places(principal: Any) -> list[Place]:
    """Communities, grids and buildings in the caller's working scope, for the place picker
    of staff entry (households and units are given by their code)."""
    paths = work_paths(principal)
    return list(
        Place.objects.below_any(paths).active()
        .filter(kind__in=[PlaceKind.COMMUNITY, PlaceKind.GRID, PlaceKind.BUILDING])
        .only("pk", "kind", "name", "path", "depth").order_by("path")[:1000]
    )


def entry_place(principal: Any, *, pk: int | None = None, code: str = "") -> Place | None:
    """A place below the caller's working scope, by id or by code; None outside it."""
    if pk is None and not code:
        return None
    rows = Place.objects.active().exclude(community__isnull=True)
    place = rows.filter(pk=pk).first() if pk is not None else rows.filter(code=code.strip()).first()
    if place is None or not any(place.path.startswith(path) for path in work_paths(principal)):
        return None
    return place


# A resident's own requests ----------------------------------------------------------------

def own_requests(user: Any) -> RequestQuerySet:
    """Requests ``user`` reported or follows, newest first."""
    if not getattr(user, "is_authenticated", False) or isinstance(user, ApiKey):
        return Request.objects.none()
    followed = Follower.objects.filter(user=user).values("request_id")
    return (Request.objects.filter(Q(reporter=user) | Q(pk__in=followed))
            .select_related("category", "place").order_by("-submitted_at", "-id"))


def followable(user: User, pk: int) -> Request:
    """An open request a resident may follow ("me too"): one intake would suggest to them,
    i.e. of its category at their building. Anything else is 404."""
    request = Request.objects.select_related("category").filter(pk=pk).first()
    if request is None or not request.is_open or request.merged_into_id is not None:
        raise Http404
    for place in resident_places(user):
        if request.pk in {r.pk for r in similar_open(place=place, category=request.category, limit=200)}:
            return request
    raise Http404


def may_rate(user: Any, request: Request) -> bool:
    return request.status == Status.RESOLVED and request.reporter_id == getattr(user, "pk", None)


def may_reopen(request: Request, at: datetime | None = None) -> bool:
    at = at or timezone.now()
    if request.status == Status.RESOLVED:
        return True
    return (request.status == Status.CLOSED and request.close_reason == CloseReason.RESOLVED
            and request.closed_at is not None and at - request.closed_at <= REOPEN_WINDOW)


# The timeline -----------------------------------------------------------------------------

@dataclass
class TimelineEntry:
    event: RequestEvent
    who: str
    title: str
    text: str
    internal: bool
    attachments: list[Attachment] = field(default_factory=list)


def _local(at: Any) -> str:
    if not at:
        return ""
    if isinstance(at, str):
        from django.utils.dateparse import parse_datetime

        parsed = parse_datetime(at)
        if parsed is None:
            return ""
        at = parsed
    return timezone.localtime(at).strftime("%Y-%m-%d %H:%M")


def _label_of(choices: Any, value: Any) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value or "")


def _event_text(event: RequestEvent, names: dict[int, str]) -> str:
    data = event.data or {}
    kind = event.kind
    if kind == EventKind.SUBMITTED:
        return _("通过“%(channel)s”提交") % {"channel": _label_of(Channel, data.get("channel"))}
    if kind == EventKind.ACCEPTED:
        return _("紧急程度：%(priority)s；办结时限：%(due)s") % {
            "priority": _label_of(Priority, data.get("priority")), "due": _local(data.get("resolve_due_at"))}
    if kind == EventKind.ASSIGNED:
        return _("承办人：%(name)s") % {"name": names.get(data.get("handler") or 0, "—")}
    if kind == EventKind.DISPATCHED:
        return _("交由 %(org)s 办理") % {"org": data.get("organisation_name", "")}
    if kind == EventKind.TRANSFERRED:
        return _("转交 %(to)s 办理") % {"to": data.get("to_name", "")}
    if kind == EventKind.CONTACTED:
        return _("联系方式：%(method)s") % {"method": _label_of(VisitChannel, data.get("method"))}
    if kind == EventKind.PRIORITY:
        return _("%(from)s → %(to)s") % {"from": _label_of(Priority, data.get("from")),
                                          "to": _label_of(Priority, data.get("to"))}
    if kind == EventKind.RATED:
        solved = _("问题已解决") if data.get("solved") else _("问题未解决")
        return _("%(rating)s，%(solved)s（%(channel)s）") % {
            "rating": _label_of(Rating, data.get("rating")), "solved": solved,
            "channel": _label_of(VisitChannel, data.get("channel"))}
    if kind == EventKind.CLOSED:
        text = _label_of(CloseReason, data.get("reason"))
        if data.get("unrated"):
            text += _("（未评价，自动关闭）")
        return text
    if kind == EventKind.MERGED and data.get("from"):
        return _("已将重复诉求 #%(n)s 合并到此") % {"n": data["from"]}
    if kind == EventKind.FOLLOWED:
        return _("又有居民反映了相同的问题")
    if kind == EventKind.ESCALATED:
        return _("升级级别：%(n)s") % {"n": data.get("level", "")}
    return ""


def timeline(request: Request, *, viewer: Any, public_only: bool) -> list[TimelineEntry]:
    """The request's history: every event for staff, the public ones for residents (who
    see staff by name and other residents only as 居民)."""
    events = RequestEvent.objects.filter(request=request).select_related("actor").order_by("at", "id")
    attachments = Attachment.objects.order_by("uploaded_at", "id")
    if public_only:
        events = events.filter(public=True)
        attachments = attachments.filter(public=True)
    rows = list(events.prefetch_related(Prefetch("attachments", queryset=attachments)))
    handler_ids = {e.data.get("handler") for e in rows if e.kind == EventKind.ASSIGNED} - {None}
    # One query for the names of everyone the request was assigned to.
    names = {u.pk: user_label(u) for u in User.objects.filter(pk__in=handler_ids)} if handler_ids else {}
    viewer_id = getattr(viewer, "pk", None) if isinstance(viewer, User) else None
    entries = []
    for event in rows:
        if event.actor_id is not None and event.actor_id == viewer_id:
            who = _("我")
        elif public_only and (event.data or {}).get("from_resident"):
            who = _("居民")
        elif public_only and event.actor_id is not None and event.actor_id == request.reporter_id:
            who = _("诉求人")
        elif event.actor is not None:
            who = user_label(event.actor)
        elif event.actor_label.startswith("apikey:"):
            who = _("接口")
        else:
            who = _("系统")
        entries.append(TimelineEntry(
            event=event, who=who, title=event.get_kind_display(), text=_event_text(event, names),
            internal=not event.public, attachments=list(event.attachments.all()),
        ))
    return entries


def request_attachments(request: Request, *, public_only: bool) -> list[Attachment]:
    rows = Attachment.objects.filter(request=request).order_by("uploaded_at", "id")
    return list(rows.filter(public=True) if public_only else rows)


def attribute_answers(request: Request) -> list[tuple[str, str]]:
    """(question, answer) for the category's extra questions the request answered."""
    answers = request.attributes or {}
    out = []
    for attr in sorted(request.category.attributes or [], key=lambda a: a.get("order", 0)):
        code = str(attr.get("code", ""))
        if code not in answers:
            continue
        names = {str(v.get("key")): str(v.get("name")) for v in attr.get("values", [])}
        value = answers[code]
        values = value if isinstance(value, list) else [value]
        if attr.get("datatype") == "datetime":
            shown = [_local(v) or str(v) for v in values]
        else:
            shown = [names.get(str(v), str(v)) for v in values]
        out.append((str(attr.get("description") or code), "、".join(shown)))
    return out


# What staff may do on the detail page -----------------------------------------------------

def reply_templates(request: Request) -> list[ReplyTemplate]:
    return list(ReplyTemplate.objects.filter(Q(place__isnull=True) | Q(place_id=request.community_id))
                .filter(Q(category__isnull=True) | Q(category_id=request.category_id)).order_by("title")[:100])


def merge_targets(request: Request) -> list[Request]:
    if not request.is_open:
        return []
    return similar_open(place=request.place, category=request.category, exclude=request.pk, limit=20)


def transfer_targets(request: Request) -> list[Place]:
    """The other active communities of the same street."""
    street_id = request.community.parent_id
    if street_id is None:
        return []
    return list(Place.objects.filter(parent_id=street_id, kind=PlaceKind.COMMUNITY, is_active=True)
                .exclude(pk=request.community_id).order_by("path"))


def may_transfer(principal: Any, request: Request) -> bool:
    return bool([g for g in grant_covering(principal, request.place_path,
                                           roles=[Role.COMMITTEE_LEAD, Role.STREET_SUPERVISOR])
                 if not g.read_only])


def holds(principal: Any, request: Request) -> bool:
    """The caller holds the request: its handler, or a member of the partner it went to."""
    if isinstance(principal, User) and request.handler_id == principal.pk:
        return True
    organisation_id = getattr(principal, "organisation_id", None)
    return bool(organisation_id and request.organisation_id == organisation_id
                and grant_covering(principal, request.place_path, roles=[Role.PARTNER]))


def is_staff_for(principal: Any, request: Request) -> bool:
    return bool([g for g in grant_covering(principal, request.place_path, roles=REQUEST_WORK_ROLES)
                 if not g.read_only])


def has_transfer_or_return(request: Request) -> bool:
    return RequestEvent.objects.filter(request=request, kind__in=[EventKind.TRANSFERRED, EventKind.RETURNED]).exists()


# Levels of the actions on a request, shared by the pages and the JSON API:
#   work   – staff who work on requests in scope, and the partner it was dispatched to
#   staff  – staff who work on requests in scope (not partners): accept, return visits
#   manage – assign, dispatch, close without dispatch, merge, reopen
#   lead   – committee leads and street supervisors: transfer to another community
#   holder – the handler or the partner holding it: hand it back (退回)
#   contest– managers, and whoever holds it
LEVELS = ("work", "staff", "manage", "lead", "holder", "contest")


def allowed(principal: Any, request: Request, level: str) -> bool:
    if level == "work":
        return is_staff_for(principal, request) or holds(principal, request)
    if level == "staff":
        return is_staff_for(principal, request)
    if level == "manage":
        return can_manage(principal, request)
    if level == "lead":
        return may_transfer(principal, request)
    if level == "holder":
        return holds(principal, request)
    if level == "contest":
        return can_manage(principal, request) or holds(principal, request)
    raise ValueError(level)


def access_for_action(principal: Any, pk: int, level: str) -> Request:
    """The request, if ``principal`` may take an action of ``level`` on it: 404 outside
    scope, 403 where they may only read it (or may work but not at this level)."""
    request = access_request(principal, pk, write=True)
    if not allowed(principal, request, level):
        raise PermissionDenied
    return request


def access_attachment(principal: Any, pk: int) -> Attachment:
    """A photo, for staff (or the partner) who reach its request, or for the request's
    reporter and followers when it is public. 404 for anyone else."""
    attachment = Attachment.objects.select_related("request").filter(pk=pk).first()
    if attachment is None:
        raise Http404
    try:
        check_request(principal, attachment.request)
    except Http404:
        pass
    else:
        return attachment
    user_id = getattr(principal, "pk", None) if isinstance(principal, User) else None
    if attachment.public and user_id is not None and (
        attachment.request.reporter_id == user_id
        or Follower.objects.filter(request_id=attachment.request_id, user_id=user_id).exists()
    ):
        return attachment
    raise Http404


def active_categories() -> list[Category]:
    return list(Category.objects.filter(is_active=True).order_by("order", "code"))
