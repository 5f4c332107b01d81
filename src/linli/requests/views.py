"""HTML pages of the requests app (接诉即办): the resident side (report a problem, my
requests, rating and reopening) and the staff workbench (the queue, entry on a
resident's behalf, and a request's page with every action the viewer may take).

Every action is a plain POST that works without JavaScript; each carries the version of
the request the page showed, so a stale page gets a clear message instead of
overwriting someone else's step. Errors re-render the page with what was typed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from linli.accounts.models import Organisation, User
from linli.core.crypto import mask
from linli.places.models import Place
from linli.requests import forms as f
from linli.requests import selectors as sel
from linli.requests import services as svc
from linli.requests.access import access_own_request, access_request, check_request, require_queue
from linli.requests.intake import request_follow, request_submit, similar_open
from linli.requests.models import (
    ACTIVE_STATUSES,
    OPEN_STATUSES,
    Category,
    Channel,
    Request,
    Status,
    VisitChannel,
)

PAGE_SIZE = 25
CSS_STATES = ("ok", "soon", "overdue", "paused", "done", "late", "none")


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _form_errors(form: forms.Form, exc: ValidationError) -> None:
    """Put a service's ValidationError onto the form; keys it has no field for become
    errors of the whole form."""
    if hasattr(exc, "error_dict"):
        for key, errors in exc.message_dict.items():
            name = f.attr_field_name(key)
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _category(raw: Any, categories: list[Category]) -> Category | None:
    text = str(raw or "").strip()
    if not text.isdigit() or len(text) > 12:
        return None
    return next((c for c in categories if c.pk == int(text)), None)


def _photos(form: forms.Form) -> list[UploadedFile]:
    photos: list[UploadedFile] = form.cleaned_data.get("photos") or []
    return photos


# Resident: report a problem --------------------------------------------------------------

def _report_place(source: Any, places: list[Place]) -> Place:
    text = str(source.get("place") or "")
    return next((p for p in places if text.isdigit() and p.pk == int(text)), places[0])


def _similar(place: Place, category: Category | None, user: Any) -> list[Request]:
    """Open requests like this one nearby; those the resident already reported or follows
    are marked, so they get a link rather than a "me too"."""
    rows = similar_open(place=place, category=category) if category is not None else []
    if rows:
        own = set(sel.own_requests(user).filter(pk__in=[r.pk for r in rows]).values_list("pk", flat=True))
        for row in rows:
            row.is_mine = row.pk in own  # type: ignore[attr-defined]
    return rows


def _report_page(request: HttpRequest, form: f.ReportForm, *, similar: list[Request], held: bool = False,
                 status: int = 200) -> HttpResponse:
    context = {
        "form": form, "similar": similar, "similar_ids": ",".join(str(r.pk) for r in similar), "held": held,
        "photos_lost": bool(request.FILES) and (held or bool(form.errors) or "refresh" in request.POST),
    }
    return render(request, "requests/new.html", context, status=status)


@require_http_methods(["GET", "POST"])
def new(request: HttpRequest) -> HttpResponse:
    """A resident reports a problem at their home. The category's extra questions come in
    with HTMX when the category changes (or with the "show questions" button without
    JavaScript); similar open requests nearby are offered before filing a duplicate."""
    places = sel.resident_places(request.user)
    if not places:
        raise PermissionDenied
    categories = sel.active_categories()
    source = request.POST if request.method == "POST" else request.GET
    category = _category(source.get("category"), categories)
    kwargs: dict[str, Any] = {"categories": categories, "category": category, "places": places,
                              "questions_url": reverse("requests:new")}
    if request.method == "GET" or "refresh" in request.POST:
        if request.method == "GET":
            initial: dict[str, Any] = {"category": category.pk if category else None}
        else:
            initial = f.ReportForm.initial_from(request.POST, category)
        form = f.ReportForm(initial=initial, **kwargs)
        place = _report_place(source, places)
        form.initial["place"] = place.pk
        similar = _similar(place, category, request.user)
        if _is_htmx(request):
            context = {"form": form, "similar": similar, "similar_ids": ",".join(str(r.pk) for r in similar),
                       "oob": True}
            return render(request, "requests/new.html#category_swap", context)
        return _report_page(request, form, similar=similar)

    form = f.ReportForm(request.POST, request.FILES, **kwargs)
    if form.is_valid() and category is not None:
        place = form.chosen_place()
        similar = _similar(place, category, request.user)
        if similar and not {r.pk for r in similar} <= form.seen_ids():
            # Shown once: the resident may follow one of them, or send theirs anyway.
            return _report_page(request, form, similar=similar, held=True)
        try:
            created = request_submit(
                by=request.user, category=category, place=place, title=form.cleaned_data["title"],
                description=form.cleaned_data["description"], channel=Channel.WEB,
                address=form.cleaned_data["address"], attributes=form.attributes(),
                anonymous=bool(form.cleaned_data.get("anonymous")), photos=_photos(form),
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("已收到您的诉求 #%(n)s，我们会在时限内受理并回复您。") % {"n": created.pk})
            if created.anonymous:
                # An anonymous request has no reporter: it is not "mine" to follow up.
                return redirect("requests:mine")
            return redirect("requests:mine_detail", pk=created.pk)
    else:
        similar = _similar(_report_place(request.POST, places), category, request.user)
    return _report_page(request, form, similar=similar, status=400)


@require_POST
def follow(request: HttpRequest, pk: int) -> HttpResponse:
    """"这也是我的问题": follow an existing request instead of filing a duplicate."""
    target = sel.followable(_user(request), pk)
    request_follow(request=target, user=_user(request))
    messages.success(request, _("已记下：您也遇到了这个问题。办理进展会同样通知您。"))
    return redirect("requests:mine_detail", pk=target.pk)


# Resident: my requests -------------------------------------------------------------------

@require_GET
def mine(request: HttpRequest) -> HttpResponse:
    page = Paginator(sel.own_requests(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    at = timezone.now()
    rows = [(req, sel.countdown(req, at)) for req in page.object_list]
    return render(request, "requests/mine.html", {
        "page": page, "rows": rows, "can_report": bool(sel.resident_places(request.user)),
    })


MINE_ACTIONS: dict[str, type[forms.Form]] = {
    "rate": f.RateForm, "reopen": f.ReasonForm, "comment": f.CommentForm, "withdraw": f.PlainForm,
}


def _mine_context(request: HttpRequest, req: Request, bound: tuple[str, forms.Form] | None = None) -> dict[str, Any]:
    user = _user(request)
    is_reporter = req.reporter_id == user.pk
    initial = {"expected_version": req.version}
    forms_: dict[str, forms.Form | None] = {}
    for name, form_class in MINE_ACTIONS.items():
        forms_[name] = bound[1] if bound and bound[0] == name else form_class(prefix=name, initial=initial)
    if not (is_reporter and req.status == Status.RESOLVED):
        forms_["rate"] = None
    if not (is_reporter and sel.may_reopen(req)):
        forms_["reopen"] = None
    if req.status == Status.CLOSED:
        forms_["comment"] = None
    if not (is_reporter and req.status in OPEN_STATUSES):
        forms_["withdraw"] = None
    if bound:
        # What was typed stays on the page with its errors, even if the step is no longer offered.
        forms_[bound[0]] = bound[1]
    return {
        "req": req, "countdown": sel.countdown(req), "timeline": sel.timeline(req, viewer=user, public_only=True),
        "attachments": sel.request_attachments(req, public_only=True), "answers": sel.attribute_answers(req),
        "forms": forms_, "open_action": bound[0] if bound else "", "is_reporter": is_reporter,
    }


@require_GET
def mine_detail(request: HttpRequest, pk: int) -> HttpResponse:
    req = access_own_request(request.user, pk)
    return render(request, "requests/mine_detail.html", _mine_context(request, req))


def _check_version(form: forms.Form, req: Request) -> None:
    expected = form.cleaned_data.get("expected_version")
    if expected is not None and expected != req.version:
        raise svc.ConflictError(_("此诉求刚被他人处理过，请刷新后查看最新状态再操作。"))


@require_POST
def mine_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    req = access_own_request(request.user, pk)
    form_class = MINE_ACTIONS.get(action)
    if form_class is None:
        raise Http404
    user = _user(request)
    form = form_class(request.POST, request.FILES, prefix=action)
    status = 400
    if form.is_valid():
        data = form.cleaned_data
        try:
            _check_version(form, req)
            if action == "rate":
                if req.reporter_id != user.pk:
                    raise PermissionDenied
                svc.request_rate(request=req, by=user, rating=data["rating"], solved=data["solved"],
                                 comment=data["comment"], channel=VisitChannel.ONLINE)
                done = _("感谢您的评价。") if data["rating"] > 2 else _(
                    "感谢您的评价。您的意见已转社区复核；如问题仍在，可选择“重新办理”。")
            elif action == "reopen":
                if req.reporter_id != user.pk:
                    raise PermissionDenied
                svc.request_reopen(request=req, by=user, reason=data["reason"])
                done = _("已重新提交办理。")
            elif action == "comment":
                svc.request_comment(request=req, by=user, body=data["body"], photos=_photos(form))
                done = _("补充信息已提交。")
            else:
                svc.request_withdraw(request=req, by=user)
                done = _("已撤回此诉求。")
        except svc.ConflictError as exc:
            form.add_error(None, exc.messages)
            status = 409
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, done)
            return redirect("requests:mine_detail", pk=req.pk)
    fresh = access_own_request(request.user, pk)
    context = _mine_context(request, fresh, bound=(action, form))
    if status == 409:
        messages.error(request, _("此诉求刚被他人处理过，请查看最新状态。"))
    return render(request, "requests/mine_detail.html", context, status=status)


# Staff: the workbench --------------------------------------------------------------------

def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return fallback


@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    require_queue(user)
    form = f.QueueFilterForm(request.GET or None, categories=sel.active_categories(), grids=sel.queue_grids(user))
    valid = not form.is_bound or form.is_valid()
    at = timezone.now()
    rows_qs = sel.queue(user, form.filters(), at=at) if valid else Request.objects.none()
    page = Paginator(rows_qs, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [(req, sel.countdown(req, at)) for req in page.object_list]
    handlers = sel.bulk_handler_choices(user) if sel.may_manage_any(user) else []
    context = {
        "form": form, "page": page, "rows": rows, "bulk_form": f.BulkAssignForm(handlers=handlers) if handlers else None,
        "can_enter": sel.may_enter(user), "here": request.get_full_path(),
        "more_filters": any(request.GET.get(name) for name in ("category", "channel", "grid")),
    }
    template = "requests/queue.html#results" if _is_htmx(request) else "requests/queue.html"
    return render(request, template, context, status=200 if valid else 400)


@require_POST
def bulk_assign(request: HttpRequest) -> HttpResponse:
    """Assign the ticked requests to one handler; each that cannot be is reported."""
    user = _user(request)
    if not sel.may_manage_any(user):
        raise PermissionDenied
    handlers = sel.bulk_handler_choices(user)
    form = f.BulkAssignForm(request.POST, handlers=handlers)
    back = _safe_next(request, reverse("requests:queue"))
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return redirect(back)
    handler = next(h for h in handlers if h.pk == form.cleaned_data["handler"])
    done: list[int] = []
    for pk in form.cleaned_data["ids"]:
        try:
            req = sel.access_for_action(user, pk, "manage")
            svc.request_assign(request=req, by=user, handler=handler)
        except Http404:
            messages.error(request, _("#%(n)s：找不到该诉求，或不在您的范围内。") % {"n": pk})
        except PermissionDenied:
            messages.error(request, _("#%(n)s：您无权分派此诉求。") % {"n": pk})
        except ValidationError as exc:
            messages.error(request, _("#%(n)s：%(error)s") % {"n": pk, "error": " ".join(exc.messages)})
        else:
            done.append(pk)
    if done:
        messages.success(request, _("已将 %(count)s 件诉求分派给 %(name)s。") % {
            "count": len(done), "name": sel.user_label(handler)})
    return redirect(back)


# Staff: entry on a resident's behalf -----------------------------------------------------

@require_http_methods(["GET", "POST"])
def staff_entry(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not sel.may_enter(user):
        raise PermissionDenied
    places = sel.entry_places(user)
    categories = sel.active_categories()
    source = request.POST if request.method == "POST" else request.GET
    category = _category(source.get("category"), categories)
    kwargs: dict[str, Any] = {"categories": categories, "category": category, "places": places,
                              "questions_url": reverse("requests:staff_entry")}
    if request.method == "GET" or "refresh" in request.POST:
        initial = ({"category": category.pk if category else None, "channel": Channel.PHONE}
                   if request.method == "GET" else f.StaffEntryForm.initial_from(request.POST, category))
        form = f.StaffEntryForm(initial=initial, **kwargs)
        if _is_htmx(request):
            return render(request, "requests/_questions.html", {"form": form})
        return render(request, "requests/staff_entry.html", {"form": form, "photos_lost": bool(request.FILES)})
    form = f.StaffEntryForm(request.POST, request.FILES, **kwargs)
    if form.is_valid() and category is not None:
        data = form.cleaned_data
        code = (data.get("place_code") or "").strip()
        place = sel.entry_place(user, code=code) if code else sel.entry_place(user, pk=data.get("place"))
        if place is None:
            form.add_error("place_code" if code else "place", _("找不到该地点，或它不在您的工作范围内。"))
        else:
            try:
                created = request_submit(
                    by=user, category=category, place=place, title=data["title"], description=data["description"],
                    channel=data["channel"], priority=data.get("priority") or None, address=data["address"],
                    attributes=form.attributes(), anonymous=bool(data.get("anonymous")),
                    contact_name=data["contact_name"], contact_phone=data["contact_phone"],
                    photos=_photos(form),
                )
            except ValidationError as exc:
                _form_errors(form, exc)
            else:
                messages.success(request, _("已登记诉求 #%(n)s。") % {"n": created.pk})
                return redirect("requests:detail", pk=created.pk)
    return render(request, "requests/staff_entry.html", {"form": form, "photos_lost": bool(request.FILES)},
                  status=400)


# Staff: one request and its actions ------------------------------------------------------

Run = Callable[[Request, User, dict[str, Any], list[UploadedFile]], Any]


@dataclass(frozen=True)
class Action:
    name: str
    label: Any
    level: str
    form: type[forms.Form]
    statuses: frozenset[str]
    run: Run
    done: Any
    choices: Callable[[Request, User], list[tuple[Any, str]]] | None = None
    danger: bool = False
    primary: bool = False


def _v(data: dict[str, Any]) -> int | None:
    value: int | None = data.get("expected_version")
    return value


def _pick(choices: list[tuple[Any, str]], value: Any, field: str) -> Any:
    if value not in {key for key, _label in choices}:
        raise ValidationError({field: [_("请从给出的选项中选择。")]})
    return value


def _handlers(req: Request, user: User) -> list[tuple[Any, str]]:
    return [(u.pk, sel.user_label(u)) for u in sel.handler_choices(req.place_path)]


def _organisations(req: Request, user: User) -> list[tuple[Any, str]]:
    return [(o.pk, o.name) for o in sel.organisation_choices(req.place_path)]


def _merge_targets(req: Request, user: User) -> list[tuple[Any, str]]:
    return [(r.pk, f"#{r.pk} {r.title}") for r in sel.merge_targets(req)]


def _communities(req: Request, user: User) -> list[tuple[Any, str]]:
    return [(p.pk, p.name) for p in sel.transfer_targets(req)]


def _assign(req: Request, by: User, data: dict[str, Any], photos: list[UploadedFile]) -> Any:
    pk = _pick(_handlers(req, by), data["handler"], "handler")
    return svc.request_assign(request=req, by=by, handler=User.objects.get(pk=pk), reason=data["reason"],
                              expected_version=_v(data))


def _dispatch(req: Request, by: User, data: dict[str, Any], photos: list[UploadedFile]) -> Any:
    pk = _pick(_organisations(req, by), data["organisation"], "organisation")
    return svc.request_dispatch(request=req, by=by, organisation=Organisation.objects.get(pk=pk),
                                reason=data["reason"], expected_version=_v(data))


def _merge(req: Request, by: User, data: dict[str, Any], photos: list[UploadedFile]) -> Any:
    pk = _pick(_merge_targets(req, by), data["into"], "into")
    return svc.request_merge(request=req, into=Request.objects.get(pk=pk), by=by)


def _transfer(req: Request, by: User, data: dict[str, Any], photos: list[UploadedFile]) -> Any:
    pk = _pick(_communities(req, by), data["to"], "to")
    return svc.request_transfer(request=req, by=by, to=Place.objects.get(pk=pk), reason=data["reason"],
                                expected_version=_v(data))


WORKING = frozenset({Status.ACCEPTED, Status.ASSIGNED, Status.DISPATCHED, Status.IN_PROGRESS})
NOT_CLOSED = frozenset(OPEN_STATUSES | {Status.RESOLVED})
L = gettext_lazy

ACTIONS: dict[str, Action] = {a.name: a for a in [
    Action("accept", L("受理"), "staff", f.AcceptForm, frozenset({Status.SUBMITTED}),
           lambda r, by, d, p: svc.request_accept(request=r, by=by, priority=d["priority"], expected_version=_v(d)),
           L("已受理，办理时限已设定。"), primary=True),
    Action("start", L("开始办理"), "work", f.PlainForm, frozenset({Status.ACCEPTED, Status.ASSIGNED,
                                                                  Status.DISPATCHED}),
           lambda r, by, d, p: svc.request_start(request=r, by=by, expected_version=_v(d)), L("已开始办理。"),
           primary=True),
    Action("assign", L("分派给工作人员"), "manage", f.AssignForm,
           frozenset({Status.ACCEPTED, Status.ASSIGNED, Status.IN_PROGRESS}), _assign, L("已分派。"),
           choices=_handlers),
    Action("dispatch", L("派往合作单位"), "manage", f.DispatchForm, WORKING - {Status.DISPATCHED}, _dispatch,
           L("已派往合作单位。"), choices=_organisations),
    Action("reply", L("答复居民"), "work", f.ReplyForm, NOT_CLOSED,
           lambda r, by, d, p: svc.request_reply(request=r, by=by, body=d["body"], photos=p), L("答复已发送。")),
    Action("note", L("内部备注"), "work", f.NoteForm, NOT_CLOSED,
           lambda r, by, d, p: svc.request_reply(request=r, by=by, body=d["body"], public=False),
           L("内部备注已记录。")),
    Action("contact", L("登记联系居民"), "work", f.ContactForm, ACTIVE_STATUSES,
           lambda r, by, d, p: svc.request_contact(request=r, by=by, method=d["method"], body=d["body"]),
           L("已登记联系。")),
    Action("wait", L("请居民补充（暂停计时）"), "work", f.WaitForm, WORKING,
           lambda r, by, d, p: svc.request_wait(request=r, by=by, question=d["question"], expected_version=_v(d)),
           L("已请居民补充，计时暂停。")),
    Action("resume", L("恢复办理"), "work", f.PlainForm, frozenset({Status.WAITING}),
           lambda r, by, d, p: svc.request_resume(request=r, by=by, expected_version=_v(d)),
           L("已恢复办理，时限顺延。"), primary=True),
    Action("priority", L("调整紧急程度"), "staff", f.PriorityForm, ACTIVE_STATUSES - {Status.WAITING},
           lambda r, by, d, p: svc.request_set_priority(request=r, by=by, priority=d["priority"],
                                                        reason=d["reason"], expected_version=_v(d)),
           L("紧急程度已调整，时限已重新计算。")),
    Action("resolve", L("办结"), "work", f.ResolveForm, WORKING,
           lambda r, by, d, p: svc.request_resolve(request=r, by=by, resolution=d["resolution"], photos=p,
                                                   expected_version=_v(d)),
           L("已办结，等待居民评价。"), primary=True),
    Action("visit", L("登记回访评价"), "staff", f.VisitForm, frozenset({Status.RESOLVED}),
           lambda r, by, d, p: svc.request_rate(request=r, by=by, rating=d["rating"], solved=d["solved"],
                                                comment=d["comment"], channel=d["channel"]),
           L("回访评价已登记，诉求已关闭。")),
    Action("close", L("不予派单并答复"), "manage", f.CloseForm, OPEN_STATUSES,
           lambda r, by, d, p: svc.request_close(request=r, by=by, reason=d["reason"], answer=d["answer"],
                                                 expected_version=_v(d)),
           L("已答复并关闭。"), danger=True),
    Action("merge", L("合并为重复诉求"), "manage", f.MergeForm, OPEN_STATUSES, _merge, L("已合并。"),
           choices=_merge_targets, danger=True),
    Action("transfer", L("转交其他社区"), "lead", f.TransferForm, OPEN_STATUSES - {Status.WAITING}, _transfer,
           L("已转交。"), choices=_communities),
    Action("return", L("退回"), "holder", f.ReasonForm, frozenset({Status.ASSIGNED, Status.DISPATCHED,
                                                                 Status.IN_PROGRESS}),
           lambda r, by, d, p: svc.request_return(request=r, by=by, reason=d["reason"], expected_version=_v(d)),
           L("已退回，社区负责人会重新安排。"), danger=True),
    Action("contest", L("对转办/退回提出异议"), "contest", f.ReasonForm, frozenset(OPEN_STATUSES),
           lambda r, by, d, p: svc.request_contest(request=r, by=by, reason=d["reason"]),
           L("异议已提交街道。")),
    Action("reopen", L("重新办理"), "manage", f.ReasonForm, frozenset({Status.RESOLVED, Status.CLOSED}),
           lambda r, by, d, p: svc.request_reopen(request=r, by=by, reason=d["reason"]), L("已重新办理。")),
]}


def _shown(action: Action, req: Request, contestable: bool) -> bool:
    if req.status not in action.statuses:
        return False
    if action.name == "reopen":
        return sel.may_reopen(req)
    if action.name == "contest":
        return contestable
    if action.name == "merge":
        return bool(sel.merge_targets(req))
    return True


@dataclass
class ActionView:
    action: Action
    form: forms.Form
    open: bool


def _action_form(action: Action, req: Request, user: User, data: Any = None, files: Any = None,
                 initial: dict[str, Any] | None = None) -> forms.Form:
    kwargs: dict[str, Any] = {"prefix": action.name}
    if action.choices is not None:
        kwargs["choices"] = action.choices(req, user)
    if data is None:
        kwargs["initial"] = {"expected_version": req.version, "priority": req.priority, **(initial or {})}
        return action.form(**kwargs)
    return action.form(data, files, **kwargs)


def _detail_context(request: HttpRequest, req: Request, *, bound: ActionView | None = None) -> dict[str, Any]:
    user = _user(request)
    at = timezone.now()
    try:
        check_request(user, req, write=True)
        writable = True
    except PermissionDenied:
        writable = False
    templates = sel.reply_templates(req) if writable and req.status in NOT_CLOSED else []
    chosen = request.GET.get("template", "")
    template = next((t for t in templates if chosen.isdigit() and t.pk == int(chosen)), None)
    actions: list[ActionView] = []
    if writable:
        levels = {level: sel.allowed(user, req, level) for level in sel.LEVELS}
        contestable = levels["contest"] and sel.has_transfer_or_return(req)
        for action in ACTIONS.values():
            if not levels[action.level] or not _shown(action, req, contestable):
                continue
            if bound is not None and bound.action.name == action.name:
                actions.append(bound)
                continue
            initial = {"body": template.body} if template is not None and action.name == "reply" else None
            actions.append(ActionView(action, _action_form(action, req, user, initial=initial),
                                      open=template is not None and action.name == "reply"))
        if bound is not None and bound not in actions:
            actions.insert(0, bound)  # no longer offered (the state moved on), but show what was typed
    contact_phone = req.contact_phone if writable else mask(req.contact_phone)
    return {
        "req": req, "countdown": sel.countdown(req, at), "deadlines": sel.deadline_rows(req, at),
        "timeline": sel.timeline(req, viewer=user, public_only=False),
        "attachments": sel.request_attachments(req, public_only=False), "answers": sel.attribute_answers(req),
        "actions": actions, "writable": writable, "templates": templates,
        "template_form": f.TemplateChoiceForm(initial={"template": template.pk if template else None}),
        "contact_phone": contact_phone, "duplicates": list(Request.objects.filter(merged_into=req).order_by("pk").values_list("pk", flat=True)),
    }


@require_GET
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    req = access_request(_user(request), pk)
    return render(request, "requests/detail.html", _detail_context(request, req))


@require_POST
def action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    spec = ACTIONS.get(action)
    if spec is None:
        raise Http404
    user = _user(request)
    req = sel.access_for_action(user, pk, spec.level)
    form = _action_form(spec, req, user, data=request.POST, files=request.FILES)
    status = 400
    if form.is_valid():
        try:
            _check_version(form, req)
            spec.run(req, user, form.cleaned_data, _photos(form))
        except svc.ConflictError as exc:
            form.add_error(None, exc.messages)
            status = 409
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, str(spec.done))
            fresh = Request.objects.filter(pk=pk).first()
            try:
                if fresh is None:
                    raise Http404
                check_request(user, fresh)
            except Http404:
                # Handed on (transferred, returned by a partner): no longer this user's to see.
                return redirect("requests:queue")
            return redirect("requests:detail", pk=pk)
    fresh_req = access_request(user, pk)
    context = _detail_context(request, fresh_req, bound=ActionView(spec, form, open=True))
    messages.error(request, _("此诉求刚被他人处理过，请查看最新状态后再操作。") if status == 409
                   else _("“%(action)s”未完成，请查看标出的问题。") % {"action": spec.label})
    return render(request, "requests/detail.html", context, status=status)


# Photos ----------------------------------------------------------------------------------

@require_GET
def attachment(request: HttpRequest, pk: int) -> FileResponse:
    item = sel.access_attachment(request.user, pk)
    try:
        handle = item.file.open("rb")
    except (FileNotFoundError, OSError):
        raise Http404 from None
    response = FileResponse(handle, content_type=item.content_type)
    response["Cache-Control"] = "private, max-age=3600"
    response["Content-Disposition"] = "inline"
    return response
