"""Meeting pages (议事会, 座谈会, 居民会议, 业主大会): convening with a time poll, the
agenda from proposals and motions, sign-in by residents or at the staff's desk, the live
quorum (polled by HTMX), comments, the end of the meeting and its minutes.

Residents of the community take part; staff in scope see and, as their role allows,
run the meeting (404 outside scope, 403 otherwise). Every step is a plain POST that
works without JavaScript.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from linli.accounts.access import scope_paths
from linli.accounts.models import User
from linli.deliberation import forms as f
from linli.deliberation import selectors as sel
from linli.deliberation import services as svc
from linli.deliberation.access import Reach, access_meeting, reach_meeting
from linli.deliberation.models import (
    DELIBERATION_MANAGE_ROLES,
    DELIBERATION_VIEW_ROLES,
    AgendaItem,
    Attendance,
    BodyKind,
    Decision,
    Meeting,
    MeetingComment,
    MeetingStatus,
    Proposal,
    TimeOption,
    TimePollAnswer,
    Vote,
)
from linli.deliberation.models.proposals import PENDING_STATUSES
from linli.deliberation.views import (
    COMING,
    PAGE_SIZE,
    _first,
    _form_errors,
    _is_htmx,
    _manage_places,
    _user,
    when_label,
)

# Meetings ------------------------------------------------------------------------------------

@require_GET
def meetings(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    paths = sel.seen_paths(user, sel.member_communities(user))
    if not paths:
        raise PermissionDenied
    page = Paginator(sel.meetings_seen(paths), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "deliberation/meetings.html", {
        "page": page, "can_convene": bool(scope_paths(user, roles=DELIBERATION_MANAGE_ROLES, write=True)),
        "staff": bool(scope_paths(user, roles=DELIBERATION_VIEW_ROLES)),
    })


@require_http_methods(["GET", "POST"])
def meeting_new(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    places = _manage_places(user)
    if not places:
        raise PermissionDenied
    form = f.MeetingForm(request.POST or None, choices={"place": f.place_choices(places)},
                         initial={"place": places[0].pk})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        place = next(p for p in places if p.pk == data["place"])
        try:
            members = (sel.residents_named(place, data["representatives"])
                       if data.get("body_kind") == BodyKind.REPRESENTATIVES else [])
            meeting = svc.meeting_create(
                by=user, place=place, kind=data["kind"], title=data["title"], description=data["description"],
                location=data["location"], body_kind=data.get("body_kind") or None, members=members, **form.times(),
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            if meeting.status == MeetingStatus.PLANNING:
                messages.success(request, _("会议已创建。请通知居民在本页选择能参加的时间。"))
            else:
                messages.success(request, _("会议已创建。"))
            return redirect("deliberation:meeting_detail", pk=meeting.pk)
    return render(request, "deliberation/meeting_new.html", {"form": form}, status=400 if form.errors else 200)


def _poll_form(meeting: Meeting, options: list[TimeOption], user: User, data: Any = None) -> f.PollForm:
    form = f.PollForm(data, options=options, prefix="poll")
    for option in options:
        form.fields[f"option_{option.pk}"].label = when_label(option.starts_at, option.ends_at)
    if data is None:
        mine = dict(TimePollAnswer.objects.filter(option__meeting=meeting, user=user)
                    .values_list("option_id", "answer"))
        form.initial = {f"option_{pk}": answer for pk, answer in mine.items()}
    return form


def _quorum_context(meeting: Meeting) -> dict[str, Any]:
    quorum = sel.meeting_quorum(meeting)
    needed = sel.quorum_needed(quorum)
    return {"meeting": meeting, "quorum": quorum, "needed": needed,
            "missing": max(0, needed - quorum.present), "live": meeting.status == MeetingStatus.SCHEDULED,
            "shown": f"{quorum.present}-{quorum.body_size}"}


def _meeting_context(request: HttpRequest, meeting: Meeting, reach: Reach,
                     bound: dict[str, forms.Form] | None = None) -> dict[str, Any]:
    user = _user(request)
    bound = bound or {}
    planning = meeting.status == MeetingStatus.PLANNING
    coming = meeting.status in COMING
    part = reach.member or reach.work  # who may answer the poll and comment (as the service says)
    options = list(TimeOption.objects.filter(meeting=meeting))
    poll = sel.poll_summary(meeting) if options else []
    context: dict[str, Any] = {
        "meeting": meeting, "reach": reach, "poll": [(o, when_label(o.starts_at, o.ends_at), y, m, n)
                                                     for o, y, m, n in poll],
        "agenda": list(AgendaItem.objects.filter(meeting=meeting).select_related("proposal")),
        "votes": list(Vote.objects.filter(meeting=meeting).order_by("pk")),
        "decisions": list(sel.with_progress(Decision.objects.filter(meeting=meeting))),
        "comments": list(MeetingComment.objects.filter(meeting=meeting).select_related("author")
                         if reach.staff else MeetingComment.objects.filter(meeting=meeting, hidden_at__isnull=True)),
        "attendance_count": Attendance.objects.filter(meeting=meeting).count(),
        "signed_in": Attendance.objects.filter(meeting=meeting, user=user).exists(),
        "when": when_label(meeting.starts_at, meeting.ends_at) if meeting.starts_at else "",
    }
    if meeting.body_kind != "none" and meeting.status in (MeetingStatus.SCHEDULED, MeetingStatus.HELD):
        context.update(_quorum_context(meeting))
    context["poll_form"] = (bound.get("poll") or _poll_form(meeting, options, user)) if planning and part else None
    may_comment = part and meeting.status != MeetingStatus.CANCELLED
    context["comment_form"] = (bound.get("comment") or f.CommentForm(prefix="comment")) if may_comment else None
    if reach.manage:
        best = poll[0][0].pk if poll else None
        context.update({
            "schedule_form": (bound.get("schedule") or f.ScheduleForm(prefix="schedule", 
                choices={"option": [(o.pk, label) for o, label, *_counts in context["poll"]]},
                initial={"option": best})) if coming else None,
            "option_form": (bound.get("option") or f.OptionAddForm(prefix="option")) if planning else None,
            "agenda_form": (bound.get("agenda") or f.AgendaForm(prefix="agenda", choices={"proposal": _agenda_proposals(meeting)}))
            if coming else None,
            "minutes_form": bound.get("minutes") or f.MinutesForm(prefix="minutes", initial={"minutes": meeting.minutes}),
            "cancel_form": (bound.get("cancel") or f.CancelForm(prefix="cancel")) if coming else None,
        })
    return context


def _agenda_proposals(meeting: Meeting) -> list[tuple[int, str]]:
    rows = (Proposal.objects.filter(community_id=meeting.community_id, status__in=PENDING_STATUSES)
            .exclude(agenda_items__meeting=meeting).order_by("-status", "-supports_count", "-created_at")[:100])
    return [(p.pk, f"{p.title}（{p.get_status_display()}，{p.supports_count}）") for p in rows]


@require_GET
def meeting_detail(request: HttpRequest, pk: int) -> HttpResponse:
    meeting, reach = reach_meeting(request.user, pk)
    return render(request, "deliberation/meeting_detail.html", _meeting_context(request, meeting, reach))


@require_GET
def meeting_quorum(request: HttpRequest, pk: int) -> HttpResponse:
    """The live quorum, polled by HTMX every few seconds while the meeting runs: 204 when
    nothing changed since what the page shows (so nothing is swapped or announced), 286
    (htmx: stop polling) once the meeting is over."""
    meeting, _reach = reach_meeting(request.user, pk)
    context = _quorum_context(meeting)
    if meeting.status != MeetingStatus.SCHEDULED:
        status = 286 if _is_htmx(request) else 200
    elif _is_htmx(request) and request.GET.get("shown") == context["shown"]:
        return HttpResponse(status=204)
    else:
        status = 200
    return render(request, "deliberation/_quorum.html", context, status=status)


def _meeting_post(request: HttpRequest, pk: int, *, manage: bool = False) -> tuple[Meeting, Reach]:
    meeting, reach = reach_meeting(request.user, pk)
    if manage and not reach.manage:
        raise PermissionDenied
    return meeting, reach


def _meeting_error(request: HttpRequest, meeting: Meeting, name: str, form: forms.Form) -> HttpResponse:
    meeting, reach = reach_meeting(request.user, meeting.pk)
    messages.error(request, _("未完成，请查看标出的问题。"))
    return render(request, "deliberation/meeting_detail.html",
                  _meeting_context(request, meeting, reach, {name: form}), status=400)


def _back(meeting: Meeting, anchor: str = "") -> HttpResponse:
    return redirect(reverse("deliberation:meeting_detail", args=[meeting.pk]) + (f"#{anchor}" if anchor else ""))


@require_POST
def meeting_poll(request: HttpRequest, pk: int) -> HttpResponse:
    meeting, reach = _meeting_post(request, pk)
    if not (reach.member or reach.work):
        raise PermissionDenied
    options = list(TimeOption.objects.filter(meeting=meeting).select_related("meeting"))
    form = _poll_form(meeting, options, _user(request), request.POST)
    if form.is_valid():
        try:
            for option, answer in form.answers():
                svc.meeting_poll_answer(option=option, by=_user(request), answer=answer)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("已记下您能参加的时间。时间确定后会通知您。"))
            return _back(meeting, "poll")
    return _meeting_error(request, meeting, "poll", form)


@require_POST
def meeting_option_add(request: HttpRequest, pk: int) -> HttpResponse:
    meeting, _reach = _meeting_post(request, pk, manage=True)
    form = f.OptionAddForm(request.POST, prefix="option")
    if form.is_valid():
        start = form.cleaned_data["starts_at"]
        try:
            svc.meeting_time_option_add(meeting=meeting, by=_user(request), starts_at=start,
                                        ends_at=start + timedelta(minutes=form.cleaned_data["duration"]))
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("已添加备选时间。"))
            return _back(meeting, "poll")
    return _meeting_error(request, meeting, "option", form)


@require_POST
def meeting_schedule(request: HttpRequest, pk: int) -> HttpResponse:
    meeting, _reach = _meeting_post(request, pk, manage=True)
    options = list(TimeOption.objects.filter(meeting=meeting))
    form = f.ScheduleForm(request.POST, prefix="schedule", choices={"option": [(o.pk, when_label(o.starts_at, o.ends_at))
                                                            for o in options]})
    if form.is_valid():
        data = form.cleaned_data
        option = next((o for o in options if o.pk == data.get("option")), None)
        start = data.get("starts_at")
        try:
            if option is not None:
                svc.meeting_schedule(meeting=meeting, by=_user(request), option=option)
            else:
                svc.meeting_schedule(meeting=meeting, by=_user(request), starts_at=start,
                                     ends_at=start + timedelta(minutes=data["duration"]) if start else None)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("会议时间已确定，参加时间投票的居民会收到通知。"))
            return _back(meeting)
    return _meeting_error(request, meeting, "schedule", form)


@require_POST
def meeting_agenda_add(request: HttpRequest, pk: int) -> HttpResponse:
    meeting, _reach = _meeting_post(request, pk, manage=True)
    form = f.AgendaForm(request.POST, prefix="agenda", choices={"proposal": _agenda_proposals(meeting)})
    if form.is_valid():
        data = form.cleaned_data
        proposal = Proposal.objects.filter(pk=data["proposal"]).first() if data.get("proposal") else None
        try:
            svc.meeting_agenda_add(meeting=meeting, by=_user(request), proposal=proposal, title=data["title"],
                                   body=data["body"])
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("已加入议程。"))
            return _back(meeting, "agenda")
    return _meeting_error(request, meeting, "agenda", form)


@require_POST
def meeting_sign_in_self(request: HttpRequest, pk: int) -> HttpResponse:
    """签到: a resident at the meeting signs themselves in."""
    meeting, reach = _meeting_post(request, pk)
    if not reach.member:
        raise PermissionDenied
    try:
        svc.meeting_sign_in(meeting=meeting, by=_user(request))
    except ValidationError as exc:
        messages.error(request, _first(exc))
    else:
        messages.success(request, _("签到成功。"))
    return _back(meeting, "sign-in")


@require_http_methods(["GET", "POST"])
def meeting_desk(request: HttpRequest, pk: int) -> HttpResponse:
    """The sign-in desk at the door: find a resident by name or home and sign them in;
    the quorum above updates as people arrive."""
    meeting = access_meeting(request.user, pk, write=True)
    search = f.SearchForm(request.GET)
    text = search.cleaned_data.get("q", "") if search.is_valid() else ""
    status, note = 200, ""
    if request.method == "POST":
        form = f.SignInForm(request.POST)
        resident = sel.sign_in_resident(meeting, form.cleaned_data["resident"]) if form.is_valid() else None
        if resident is None:
            status, note = 400, _("找不到该居民，或其不在本次会议的范围内。")
        else:
            try:
                svc.meeting_sign_in(meeting=meeting, by=_user(request), resident=resident)
            except ValidationError as exc:
                status, note = 400, _("%(name)s：%(error)s") % {"name": resident.name, "error": _first(exc)}
            else:
                note = _("%(name)s 已签到。") % {"name": resident.name}
        if _is_htmx(request):
            # HTMX swaps only 2xx answers: the list with the note in words is the answer to show.
            response = render(request, "deliberation/meeting_desk.html#desk_results",
                              {**_desk_context(meeting, text), "note": note, "note_ok": status == 200})
            response["HX-Trigger"] = "quorum-changed"
            return response
        if status == 200:
            messages.success(request, note)
            return redirect(reverse("deliberation:meeting_desk", args=[meeting.pk]) + (f"?{search_query(text)}"
                                                                                        if text else ""))
        messages.error(request, note)
    return render(request, "deliberation/meeting_desk.html", {**_desk_context(meeting, text), "search": search},
                  status=status)


def search_query(text: str) -> str:
    return urlencode({"q": text})


def _desk_context(meeting: Meeting, text: str) -> dict[str, Any]:
    return {
        **(_quorum_context(meeting) if meeting.body_kind != "none" else {"meeting": meeting}),
        "q": text, "candidates": sel.sign_in_candidates(meeting, text) if text else [],
        "attendances": list(Attendance.objects.filter(meeting=meeting).select_related("signed_in_by")
                            .order_by("-signed_in_at", "-pk")[:200]),
        "attendance_count": Attendance.objects.filter(meeting=meeting).count(),
        "open": meeting.status == MeetingStatus.SCHEDULED,
    }


@require_POST
def meeting_comment(request: HttpRequest, pk: int) -> HttpResponse:
    meeting, reach = _meeting_post(request, pk)
    if not (reach.member or reach.work):
        raise PermissionDenied
    form = f.CommentForm(request.POST, prefix="comment")
    if form.is_valid():
        try:
            svc.meeting_comment(meeting=meeting, by=_user(request), body=form.cleaned_data["body"])
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("意见已发表。"))
            return _back(meeting, "comments")
    return _meeting_error(request, meeting, "comment", form)


@require_POST
def comment_hide(request: HttpRequest, pk: int) -> HttpResponse:
    comment = MeetingComment.objects.select_related("meeting").filter(pk=pk).first()
    if comment is None:
        raise Http404
    meeting = access_meeting(request.user, comment.meeting_id, manage=True)
    svc.meeting_comment_hide(comment=comment, by=_user(request))
    messages.success(request, _("该意见已隐藏，居民不再看到。"))
    return _back(meeting, "comments")


@require_POST
def meeting_end(request: HttpRequest, pk: int) -> HttpResponse:
    meeting, _reach = _meeting_post(request, pk, manage=True)
    try:
        meeting = svc.meeting_end(meeting=meeting, by=_user(request))
    except ValidationError as exc:
        messages.error(request, _first(exc))
    else:
        messages.success(request, _("会议已结束，到会人数已记录。请整理并公开会议纪要。"))
    return _back(meeting, "minutes")


@require_POST
def meeting_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    meeting, _reach = _meeting_post(request, pk, manage=True)
    form = f.CancelForm(request.POST, prefix="cancel")
    if form.is_valid():
        try:
            svc.meeting_cancel(meeting=meeting, by=_user(request), reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("会议已取消。"))
            return _back(meeting)
    return _meeting_error(request, meeting, "cancel", form)


@require_POST
def meeting_minutes(request: HttpRequest, pk: int) -> HttpResponse:
    meeting, _reach = _meeting_post(request, pk, manage=True)
    form = f.MinutesForm(request.POST, prefix="minutes")
    publish = request.POST.get("publish") == "1"
    if form.is_valid():
        try:
            svc.meeting_minutes_save(meeting=meeting, by=_user(request), text=form.cleaned_data["minutes"],
                                     publish=publish)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("纪要已公开。") if publish else _("纪要已保存（未公开）。"))
            return _back(meeting, "minutes")
    return _meeting_error(request, meeting, "minutes", form)
