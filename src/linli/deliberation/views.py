"""HTML pages of deliberation (议事协商): the staff overview, residents' proposals,
decisions and the actions that carry them out, the public record and a community's
settings. Meetings have their pages in ``meeting_views``, votes in ``vote_views``.

Residents take part in their own community's proposals and meetings; staff see those in
their scope (404 outside it) and act on them as their role allows (403 otherwise). Every
action is a plain POST that works without JavaScript; a form with errors comes back with
what was typed. The public pages (no sign-in) show only what the committee wrote for the
public: minutes once published, decisions, and the progress of their actions.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from linli.accounts.access import scope_paths
from linli.accounts.models import User
from linli.deliberation import forms as f
from linli.deliberation import selectors as sel
from linli.deliberation import services as svc
from linli.deliberation.access import (
    Reach,
    access_action,
    access_decision,
    access_meeting,
    check_scope,
    public_decision,
    public_meeting,
    reach_proposal,
)
from linli.deliberation.base import config_for
from linli.deliberation.models import (
    DELIBERATION_MANAGE_ROLES,
    DELIBERATION_VIEW_ROLES,
    VOTE_RUN_ROLES,
    Action,
    ActionPhoto,
    ActionUpdate,
    AgendaItem,
    Decision,
    Meeting,
    MeetingStatus,
    Proposal,
    ProposalStatus,
    ProposalSupport,
    Vote,
    VoteStatus,
)
from linli.deliberation.models.proposals import PENDING_STATUSES
from linli.places.models import Place, PlaceKind
from linli.requests.models import Request

PAGE_SIZE = 25
PUBLIC_PAGE_SIZE = 20
COMING = (MeetingStatus.PLANNING, MeetingStatus.SCHEDULED)
STATUS_TABS = ("open", "agenda", "answered", "withdrawn")


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _form_errors(form: forms.Form, exc: ValidationError) -> None:
    """Put a service's ValidationError onto the form; keys it has no field for become
    errors of the whole form."""
    if hasattr(exc, "error_dict"):
        for key, errors in exc.message_dict.items():
            form.add_error(key if key in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _first(exc: ValidationError) -> str:
    return exc.messages[0] if exc.messages else _("输入有误。")


def when_label(start: Any, end: Any = None) -> str:
    """“2026-12-01 周二 19:00–21:00” in the local time of the page."""
    text = date_format(timezone.localtime(start), "Y-m-d D H:i")
    if end is not None:
        text += "–" + date_format(timezone.localtime(end), "H:i")
    return text


def _manage_places(user: User, kinds: tuple[str, ...] = (PlaceKind.COMMUNITY, PlaceKind.GRID)) -> list[Place]:
    paths = scope_paths(user, roles=DELIBERATION_MANAGE_ROLES, write=True)
    return list(Place.objects.active().below_any(paths).filter(kind__in=kinds).order_by("path"))


# Staff: the overview -------------------------------------------------------------------------

@require_GET
def desk(request: HttpRequest) -> HttpResponse:
    """议事协商: what waits for the committee — proposals on the agenda without an answer,
    coming meetings, overdue actions, recent decisions."""
    user = _user(request)
    paths = scope_paths(user, roles=DELIBERATION_VIEW_ROLES)
    if not paths:
        raise PermissionDenied
    proposals = Proposal.objects.below_any(paths)
    return render(request, "deliberation/desk.html", {
        "waiting": list(proposals.on_agenda().select_related("place").order_by("agenda_at", "pk")[:10]),
        "open_count": proposals.filter(status=ProposalStatus.OPEN).count(),
        "meetings": list(Meeting.objects.below_any(paths).upcoming().select_related("place")
                         .order_by("starts_at", "pk")[:10]),
        "overdue": list(sel.overdue_actions(paths, timezone.localdate())[:10]),
        "decisions": list(sel.with_progress(Decision.objects.below_any(paths).select_related("place"))[:10]),
        "can_manage": bool(scope_paths(user, roles=DELIBERATION_MANAGE_ROLES, write=True)),
        "can_configure": bool(scope_paths(user, roles=VOTE_RUN_ROLES, write=True)),
    })


# Proposals -----------------------------------------------------------------------------------

@require_GET
def proposals(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    communities = sel.member_communities(user)
    paths = sel.seen_paths(user, communities)
    if not paths:
        raise PermissionDenied
    status = request.GET.get("status", "")
    if status not in STATUS_TABS:
        status = ""
    page = Paginator(sel.proposals_seen(user, paths, status), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "deliberation/proposals.html", {
        "page": page, "status": status, "can_propose": bool(communities),
        "staff": bool(scope_paths(user, roles=DELIBERATION_VIEW_ROLES)),
        "tabs": [("", _("全部")), ("open", _("征集附议")), ("agenda", _("已列入议程")), ("answered", _("已答复")),
                 ("withdrawn", _("已撤回"))],
    })


@require_http_methods(["GET", "POST"])
def proposal_new(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    places = sel.member_places(user)
    if not places:
        raise PermissionDenied
    community = next(p for p in places if p.kind == PlaceKind.COMMUNITY)
    form = f.ProposalForm(request.POST or None, choices={"place": f.place_choices(places)},
                          initial={"place": community.pk})
    if request.method == "POST" and form.is_valid():
        place = next(p for p in places if p.pk == form.cleaned_data["place"])
        try:
            proposal = svc.proposal_create(by=user, place=place, title=form.cleaned_data["title"],
                                           body=form.cleaned_data["body"])
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("提议已提交。邀请邻居附议：达到 %(n)s 人附议后列入居委会议程。")
                             % {"n": proposal.support_threshold})
            return redirect("deliberation:proposal_detail", pk=proposal.pk)
    return render(request, "deliberation/proposal_new.html", {
        "form": form, "threshold": config_for(community).support_threshold,
    }, status=400 if form.errors else 200)


def _merge_targets(proposal: Proposal) -> list[tuple[int, str]]:
    rows = (Proposal.objects.filter(community_id=proposal.community_id).exclude(pk=proposal.pk)
            .exclude(status__in=[ProposalStatus.MERGED, ProposalStatus.WITHDRAWN]).order_by("-created_at")[:100])
    return [(p.pk, f"#{p.pk} {p.title}") for p in rows]


def _coming_meetings(community_id: int) -> list[tuple[int, str]]:
    rows = Meeting.objects.filter(community_id=community_id, status__in=COMING).order_by("starts_at", "pk")[:50]
    return [(m.pk, f"{m.title}（{when_label(m.starts_at) if m.starts_at else _('时间待定')}）") for m in rows]


def _proposal_context(request: HttpRequest, proposal: Proposal, reach: Reach,
                      bound: dict[str, forms.Form] | None = None) -> dict[str, Any]:
    user = _user(request)
    bound = bound or {}
    pending = proposal.status in PENDING_STATUSES
    supported = ProposalSupport.objects.filter(proposal=proposal, user=user).exists()
    answer_form = agenda_form = None
    if reach.manage and (pending or "answer" in bound):
        answer_form = bound.get("answer") or f.AnswerForm(choices={"merged_into": _merge_targets(proposal)})
    if reach.manage and (pending or "agenda" in bound):
        agenda_form = bound.get("agenda") or f.AgendaPickForm(
            choices={"meeting": _coming_meetings(proposal.community_id)})
    return {
        "proposal": proposal, "reach": reach, "mine": proposal.proposer_id == user.pk, "supported": supported,
        "can_support": reach.member and pending and not supported and proposal.proposer_id != user.pk,
        "can_withdraw": proposal.proposer_id == user.pk and proposal.status == ProposalStatus.OPEN,
        "answer_form": answer_form, "agenda_form": agenda_form,
        "agenda_items": list(AgendaItem.objects.filter(proposal=proposal).select_related("meeting")),
        "merged": list(Proposal.objects.filter(merged_into=proposal).order_by("pk")),
        "decisions": list(proposal.decisions.order_by("-decided_at")),
        "actions": list(proposal.actions.order_by("pk")),
    }


@require_GET
def proposal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    proposal, reach = reach_proposal(request.user, pk)
    return render(request, "deliberation/proposal_detail.html", _proposal_context(request, proposal, reach))


@require_POST
def proposal_support(request: HttpRequest, pk: int) -> HttpResponse:
    proposal, reach = reach_proposal(request.user, pk)
    if not reach.member:
        raise PermissionDenied
    try:
        proposal = svc.proposal_support(proposal=proposal, by=_user(request))
    except ValidationError as exc:
        messages.error(request, _first(exc))
    else:
        if proposal.status == ProposalStatus.AGENDA and proposal.supports_count == proposal.support_threshold:
            messages.success(request, _("感谢附议！这项提议已达到附议人数，列入居委会议程。"))
        else:
            messages.success(request, _("感谢附议！进展会通知您。"))
    return redirect("deliberation:proposal_detail", pk=pk)


@require_POST
def proposal_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    proposal, _reach = reach_proposal(request.user, pk)
    try:
        svc.proposal_withdraw(proposal=proposal, by=_user(request))
    except ValidationError as exc:
        messages.error(request, _first(exc))
    else:
        messages.success(request, _("提议已撤回。"))
    return redirect("deliberation:proposal_detail", pk=pk)


@require_POST
def proposal_answer(request: HttpRequest, pk: int) -> HttpResponse:
    proposal, reach = reach_proposal(request.user, pk)
    if not reach.manage:
        raise PermissionDenied
    form = f.AnswerForm(request.POST, choices={"merged_into": _merge_targets(proposal)})
    if form.is_valid():
        data = form.cleaned_data
        into = Proposal.objects.filter(pk=data["merged_into"]).first() if data.get("merged_into") else None
        try:
            svc.proposal_answer(proposal=proposal, by=_user(request), outcome=data["outcome"], answer=data["answer"],
                                merged_into=into)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("答复已公开，提议人和附议的居民会收到通知。"))
            return redirect("deliberation:proposal_detail", pk=pk)
    proposal, reach = reach_proposal(request.user, pk)
    return render(request, "deliberation/proposal_detail.html",
                  _proposal_context(request, proposal, reach, {"answer": form}), status=400)


@require_POST
def proposal_agenda(request: HttpRequest, pk: int) -> HttpResponse:
    proposal, reach = reach_proposal(request.user, pk)
    if not reach.manage:
        raise PermissionDenied
    form = f.AgendaPickForm(request.POST, choices={"meeting": _coming_meetings(proposal.community_id)})
    if form.is_valid():
        meeting = Meeting.objects.get(pk=form.cleaned_data["meeting"])
        try:
            svc.meeting_agenda_add(meeting=meeting, by=_user(request), proposal=proposal)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("已列入“%(m)s”的议程。") % {"m": meeting.title})
            return redirect("deliberation:proposal_detail", pk=pk)
    return render(request, "deliberation/proposal_detail.html",
                  _proposal_context(request, proposal, reach, {"agenda": form}), status=400)


# Decisions and actions --------------------------------------------------------------------------

@require_GET
def decisions(request: HttpRequest) -> HttpResponse:
    paths = scope_paths(request.user, roles=DELIBERATION_VIEW_ROLES)
    if not paths:
        raise PermissionDenied
    rows = sel.with_progress(Decision.objects.below_any(paths).select_related("place", "meeting"))
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "deliberation/decisions.html", {
        "page": page, "can_record": bool(scope_paths(request.user, roles=DELIBERATION_MANAGE_ROLES, write=True)),
    })


def _decision_choices(user: User, meeting: Meeting | None) -> dict[str, list[tuple[int, str]]]:
    paths = scope_paths(user, roles=DELIBERATION_MANAGE_ROLES, write=True)
    if meeting is not None:
        paths = [meeting.place_path]
    votes = Vote.objects.below_any(paths).filter(status=VoteStatus.PUBLISHED, decision__isnull=True)
    if meeting is not None:
        votes = votes.filter(community_id=meeting.community_id)
    proposals = Proposal.objects.below_any(
        [meeting.community.path] if meeting is not None else paths,
    ).filter(status__in=[ProposalStatus.OPEN, ProposalStatus.AGENDA, ProposalStatus.ACCEPTED])
    return {
        "place": f.place_choices(_manage_places(user)),
        "vote": [(v.pk, v.title) for v in votes.order_by("-published_at", "-pk")[:50]],
        "proposals": [(p.pk, f"#{p.pk} {p.title}（{p.get_status_display()}）")
                      for p in proposals.order_by("-created_at")[:50]],
    }


@require_http_methods(["GET", "POST"])
def decision_new(request: HttpRequest) -> HttpResponse:
    """Record a decision: of a meeting (``?meeting=``), with the vote it rests on, the
    proposals and requests behind it."""
    user = _user(request)
    raw = request.POST.get("meeting") or request.GET.get("meeting") or ""
    meeting = access_meeting(user, int(raw), manage=True) if raw.isdigit() and len(raw) < 12 else None
    if meeting is None and not _manage_places(user):
        raise PermissionDenied
    choices = _decision_choices(user, meeting)
    initial: dict[str, Any] = {}
    if meeting is not None:
        initial["proposals"] = list(AgendaItem.objects.filter(meeting=meeting, proposal__isnull=False)
                                    .values_list("proposal_id", flat=True))
    form = f.DecisionForm(request.POST or None, choices=choices, initial=initial)
    if meeting is not None:
        form.fields["place"].widget = forms.HiddenInput()
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        place = Place.objects.filter(pk=data["place"]).first() if data.get("place") else None
        if meeting is None and place is None:
            form.add_error("place", _("请选择范围。"))
        else:
            community_id = meeting.community_id if meeting is not None else (place.community_id if place else None)
            found = list(Request.objects.filter(pk__in=data["requests"], community_id=community_id))
            missing = sorted(set(data["requests"]) - {r.pk for r in found})
            if missing:
                form.add_error("requests", _("找不到这些诉求（须是本社区的诉求）：%(ids)s")
                               % {"ids": "、".join(f"#{n}" for n in missing)})
            else:
                try:
                    decision = svc.decision_record(
                        by=user, title=data["title"], text=data["text"], place=place if meeting is None else None,
                        meeting=meeting, vote=Vote.objects.filter(pk=data["vote"]).first() if data["vote"] else None,
                        proposals=list(Proposal.objects.filter(pk__in=data["proposals"])), requests=found,
                    )
                except ValidationError as exc:
                    _form_errors(form, exc)
                else:
                    messages.success(request, _("决定已记录，并在公开页面公布。接下来请添加落实事项。"))
                    return redirect("deliberation:decision_detail", pk=decision.pk)
    return render(request, "deliberation/decision_new.html", {"form": form, "meeting": meeting},
                  status=400 if form.errors else 200)


def _action_form_choices(decision: Decision) -> dict[str, list[tuple[int, str]]]:
    return {
        "owner": [(u.pk, u.display_name or u.username) for u in sel.action_owners(decision.place)],
        "parent": [(a.pk, a.title) for a in decision.actions.order_by("pk")],
        "proposals": [(p.pk, f"#{p.pk} {p.title}") for p in decision.proposals.order_by("pk")],
        "requests": [(r.pk, f"#{r.pk} {r.title}") for r in decision.requests.order_by("pk")],
    }


def _decision_context(request: HttpRequest, decision: Decision, bound: forms.Form | None = None) -> dict[str, Any]:
    try:
        check_scope(request.user, decision.place_path, write=True, roles=DELIBERATION_MANAGE_ROLES)
        writable = True
    except PermissionDenied:
        writable = False
    actions = list(decision.actions.select_related("owner").order_by("pk"))
    form = None
    if writable:
        choices = _action_form_choices(decision)
        form = bound or f.ActionForm(choices=choices, initial={
            "proposals": [pk for pk, _label in choices["proposals"]],
            "requests": [pk for pk, _label in choices["requests"]]})
    return {
        "decision": decision, "tree": sel.action_tree(actions), "writable": writable, "action_form": form,
        "proposals": list(decision.proposals.order_by("pk")), "requests": list(decision.requests.order_by("pk")),
        "today": timezone.localdate(),
    }


@require_GET
def decision_detail(request: HttpRequest, pk: int) -> HttpResponse:
    decision = access_decision(request.user, pk)
    return render(request, "deliberation/decision_detail.html", _decision_context(request, decision))


@require_POST
def action_new(request: HttpRequest, pk: int) -> HttpResponse:
    decision = access_decision(request.user, pk, write=True)
    form = f.ActionForm(request.POST, choices=_action_form_choices(decision))
    if form.is_valid():
        data = form.cleaned_data
        try:
            action = svc.action_create(
                decision=decision, by=_user(request), title=data["title"], description=data["description"],
                due_on=data["due_on"], owner=User.objects.filter(pk=data["owner"]).first() if data["owner"] else None,
                # The label is public: without one, the committee answers for it, never a person's name.
                owner_label=data["owner_label"] or _("%(community)s居委会") % {"community": decision.community.name},
                parent=Action.objects.filter(pk=data["parent"]).first() if data["parent"] else None,
                proposals=list(Proposal.objects.filter(pk__in=data["proposals"])),
                requests=list(Request.objects.filter(pk__in=data["requests"])),
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("落实事项“%(t)s”已添加。") % {"t": action.title})
            return redirect(reverse("deliberation:decision_detail", args=[decision.pk]) + "#actions")
    messages.error(request, _("落实事项未添加，请查看标出的问题。"))
    return render(request, "deliberation/decision_detail.html", _decision_context(request, decision, form),
                  status=400)


def _action_context(request: HttpRequest, action: Action, bound: forms.Form | None = None) -> dict[str, Any]:
    user = _user(request)
    try:
        access_action(user, action.pk, write=True)
        writable = True
    except PermissionDenied:
        writable = False
    updates = list(ActionUpdate.objects.filter(action=action).prefetch_related("photos").order_by("-at", "-pk"))
    children = list(action.children.order_by("pk"))
    sel.action_tree([action, *children])  # the state its steps give it, as the bar shows
    return {
        "action": action, "decision": action.decision, "writable": writable,
        "children": children, "updates": updates,
        "proposals": list(action.proposals.order_by("pk")), "requests": list(action.requests.order_by("pk")),
        "update_form": (bound or f.ActionUpdateForm()) if writable else None,
        "defaults": config_for(action.decision.place), "today": timezone.localdate(),
    }


@require_GET
def action_detail(request: HttpRequest, pk: int) -> HttpResponse:
    action = access_action(request.user, pk)
    return render(request, "deliberation/action_detail.html", _action_context(request, action))


@require_POST
def action_update(request: HttpRequest, pk: int) -> HttpResponse:
    action = access_action(request.user, pk, write=True)
    form = f.ActionUpdateForm(request.POST, request.FILES)
    if form.is_valid():
        data = form.cleaned_data
        try:
            svc.action_update(action=action, by=_user(request), status=data["status"] or None,
                              progress=data["progress"], body=data["body"], photos=data.get("photos") or [])
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("进展已更新，公开页面同步显示。"))
            return redirect("deliberation:action_detail", pk=action.pk)
    return render(request, "deliberation/action_detail.html",
                  {**_action_context(request, action, form), "photos_lost": bool(request.FILES)}, status=400)


@login_not_required
@require_GET
def action_photo(request: HttpRequest, pk: int) -> FileResponse:
    """A photo of an action's progress: public like the progress it shows (re-encoded on
    upload, so it carries no location data)."""
    photo = ActionPhoto.objects.filter(pk=pk).first()
    if photo is None:
        raise Http404
    try:
        handle = photo.file.open("rb")
    except (FileNotFoundError, OSError):
        raise Http404 from None
    response = FileResponse(handle, content_type=photo.content_type)
    response["Cache-Control"] = "public, max-age=3600"
    response["Content-Disposition"] = "inline"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# The public record --------------------------------------------------------------------------

def _public_community(request: HttpRequest) -> Place | None:
    raw = request.GET.get("community", "")
    if not raw.isdigit() or len(raw) > 12:
        return None
    return Place.objects.filter(pk=int(raw), kind=PlaceKind.COMMUNITY, is_active=True).first()


@login_not_required
@require_GET
def public_index(request: HttpRequest) -> HttpResponse:
    """议事公开: decisions with the progress of their actions, and published minutes."""
    community = _public_community(request)
    decisions_qs = Decision.objects.select_related("community")
    minutes_qs = Meeting.objects.filter(status=MeetingStatus.HELD, minutes_published=True).select_related("community")
    if community is not None:
        decisions_qs = decisions_qs.filter(community=community)
        minutes_qs = minutes_qs.filter(community=community)
    page = Paginator(sel.with_progress(decisions_qs), PUBLIC_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "deliberation/public_index.html", {
        "community": community, "page": page,
        "minutes": list(minutes_qs.order_by("-starts_at", "-pk")[:10]),
    })


def _public_actions(decision: Decision) -> list[tuple[Action, int]]:
    updates = ActionUpdate.objects.order_by("-at", "-pk").prefetch_related("photos")
    actions = list(decision.actions.prefetch_related(Prefetch("updates", queryset=updates)).order_by("pk"))
    return sel.action_tree(actions)


@login_not_required
@require_GET
def public_decision_view(request: HttpRequest, pk: int) -> HttpResponse:
    decision = public_decision(pk)
    meeting = decision.meeting
    return render(request, "deliberation/public_decision.html", {
        "decision": decision, "tree": _public_actions(decision), "today": timezone.localdate(),
        "meeting_public": meeting is not None and meeting.status == MeetingStatus.HELD and meeting.minutes_published,
        "proposals_count": decision.proposals.count(), "requests_count": decision.requests.count(),
    })


@login_not_required
@require_GET
def public_meeting_view(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = public_meeting(pk)
    quorum = sel.meeting_quorum(meeting)
    return render(request, "deliberation/public_meeting.html", {
        "meeting": meeting, "quorum": quorum, "when": when_label(meeting.starts_at, meeting.ends_at)
        if meeting.starts_at else "",
        "agenda": list(AgendaItem.objects.filter(meeting=meeting)),
        "decisions": list(sel.with_progress(Decision.objects.filter(meeting=meeting))),
    })


# Settings -------------------------------------------------------------------------------------

@require_http_methods(["GET", "POST"])
def config(request: HttpRequest) -> HttpResponse:
    """The committee lead sets the community's numbers: the support threshold, the
    default progress of each status, the vote reminder interval."""
    user = _user(request)
    places = list(Place.objects.active().below_any(scope_paths(user, roles=VOTE_RUN_ROLES, write=True))
                  .filter(kind=PlaceKind.COMMUNITY).order_by("path"))
    if not places:
        raise PermissionDenied
    raw = request.POST.get("place") or request.GET.get("place") or ""
    place = next((p for p in places if raw.isdigit() and p.pk == int(raw)), places[0])
    current = config_for(place)
    form = f.ConfigForm(request.POST or None, initial={name: getattr(current, name) for name in svc.CONFIG_FIELDS})
    if request.method == "POST" and form.is_valid():
        try:
            svc.config_save(place=place, by=user, values={name: form.cleaned_data[name]
                                                          for name in svc.CONFIG_FIELDS})
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("%(place)s 的议事设置已保存。") % {"place": place.name})
            return redirect(reverse("deliberation:config") + f"?place={place.pk}")
    return render(request, "deliberation/config.html", {"form": form, "place": place, "places": places},
                  status=400 if form.errors else 200)
