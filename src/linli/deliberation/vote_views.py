"""Staff pages of votes (表决): the list, drafting, a vote's page with its turnout (never
its results before close, for anyone), the roll, the history of changed named ballots,
and the actions that move a vote on: open, remind, close, publish, cancel.

Paper ballots and proxies are in ``vote_paper_views``, the owners' roll in
``vote_roll_views``, the voter's ballot and the public results in ``vote_ballot_views``.
Every write goes through a service; access goes through ``access.py`` (404 outside
scope, 403 where the caller may look but not do this).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from linli.accounts.access import scope_paths
from linli.accounts.models import User
from linli.deliberation import counting, rules, selectors, services
from linli.deliberation.access import access_vote, check_scope
from linli.deliberation.base import has_role
from linli.deliberation.models import (
    DELIBERATION_MANAGE_ROLES,
    DELIBERATION_VIEW_ROLES,
    DELIBERATION_WORK_ROLES,
    VOTE_RUN_ROLES,
    AgendaItem,
    Eligibility,
    Meeting,
    MeetingStatus,
    Owner,
    OwnerRoll,
    PaperBallotEntry,
    PaperEntryStatus,
    QuestionKind,
    Vote,
    VoteOption,
    VoterRollEntry,
    VoteStatus,
)
from linli.deliberation.vote_forms import SECRET, ReasonForm, RollSearchForm, VoteForm
from linli.places.models import Place, PlaceKind

PAGE_SIZE = 25
ROLL_PAGE = 50
VOTE_PLACE_KINDS = (PlaceKind.COMMUNITY, PlaceKind.GRID, PlaceKind.BUILDING)
CHOICE_LIMIT = 200


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _posted(request: HttpRequest) -> Any:
    """The POST data for a form, bound even when empty (``request.POST or None`` would
    leave an empty submission unbound, and so without its errors)."""
    return request.POST if request.method == "POST" else None


def _bound(request: HttpRequest) -> tuple[Any, Any]:
    return (request.POST, request.FILES) if request.method == "POST" else (None, None)


def form_errors(form: Any, exc: ValidationError) -> None:
    """Put a service's ValidationError onto the form; unknown keys become form errors."""
    if hasattr(exc, "error_dict"):
        for key, errors in exc.message_dict.items():
            form.add_error(key if key in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def first_error(exc: ValidationError | PermissionDenied) -> str:
    if isinstance(exc, ValidationError):
        return exc.messages[0] if exc.messages else _("输入有误。")
    return str(exc) or _("您没有进行该操作的权限。")


def vote_options(vote: Vote) -> list[VoteOption]:
    return list(VoteOption.objects.filter(vote=vote).order_by("order"))


def choice_text(vote: Vote, labels: dict[str, str], key: str) -> str:
    """A canonical choice in words: 赞成; 甲; 甲、丙; 1. 乙 → 2. 甲; 空白票."""
    if key == rules.BLANK:
        return _("弃权（空白票）")
    if vote.question_kind == QuestionKind.YES_NO:
        return {rules.FOR: _("赞成"), rules.AGAINST: _("反对"), rules.ABSTAIN: _("弃权")}.get(key, key)
    if vote.question_kind == QuestionKind.MULTIPLE:
        return "、".join(labels.get(k, k) for k in key.split(rules.MULTI_SEP))
    if vote.question_kind == QuestionKind.RANKED:
        return " → ".join(f"{i}. {labels.get(k, k)}" for i, k in enumerate(key.split(rules.RANK_SEP), start=1))
    return labels.get(key, key)


def option_labels(vote: Vote, options: list[VoteOption]) -> dict[str, str]:
    labels = {o.key: o.label for o in options}
    if vote.question_kind == QuestionKind.YES_NO:
        labels = {rules.FOR: _("赞成"), rules.AGAINST: _("反对"), rules.ABSTAIN: _("弃权")}
    return labels


def area_text(units: int) -> str:
    return rules.format_area(units)


def percent(part: int, whole: int) -> str:
    from fractions import Fraction

    return rules.percent_text(Fraction(part, whole), 1) if whole else "—"


def _vote_paths(user: Any) -> list[str]:
    paths = scope_paths(user, roles=DELIBERATION_VIEW_ROLES)
    if not paths:
        raise PermissionDenied
    return paths


def _manage_paths(user: Any) -> list[str]:
    return scope_paths(user, roles=DELIBERATION_MANAGE_ROLES, write=True)


def vote_tabs_context(request: HttpRequest, vote: Vote) -> dict[str, Any]:
    """What every page of one vote shows in its header and tabs."""
    user = _user(request)
    pending = PaperBallotEntry.objects.filter(vote=vote, status=PaperEntryStatus.PENDING).count()
    return {
        "vote": vote, "pending_papers": pending,
        "can_run": has_role(user, vote.place_path, VOTE_RUN_ROLES),
        "can_manage": has_role(user, vote.place_path, DELIBERATION_MANAGE_ROLES),
        "can_work": has_role(user, vote.place_path, DELIBERATION_WORK_ROLES),
    }


# The list and drafting ---------------------------------------------------------------------

@require_GET
def vote_list(request: HttpRequest) -> HttpResponse:
    paths = _vote_paths(request.user)
    rows = (Vote.objects.below_any(paths).select_related("place")
            .annotate(voted=Count("roll", filter=Q(roll__voted=True))).order_by("-opens_at", "-id"))
    status = request.GET.get("status", "")
    if status in VoteStatus.values:
        rows = rows.filter(status=status)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "deliberation/vote_list.html", {
        "page": page, "status": status, "statuses": VoteStatus.choices,
        "can_create": bool(_manage_paths(request.user)),
    })


def _form_choices(user: Any, paths: list[str]) -> dict[str, list[tuple[int, str]]]:
    places = list(Place.objects.active().below_any(paths).filter(kind__in=VOTE_PLACE_KINDS).order_by("path")
                  [:CHOICE_LIMIT])
    rolls = list(OwnerRoll.objects.filter(_paths_q(paths)).order_by("-imported_at")[:CHOICE_LIMIT])
    meetings = list(Meeting.objects.filter(_paths_q(paths)).exclude(status=MeetingStatus.CANCELLED)
                    .order_by("-id")[:CHOICE_LIMIT])
    items = list(AgendaItem.objects.filter(meeting__in=[m.pk for m in meetings]).select_related("meeting")
                 .order_by("-meeting_id", "order")[:CHOICE_LIMIT])
    return {
        "place": [(p.pk, p.address or p.name) for p in places],
        "owner_roll": [(r.pk, _("%(name)s（%(owners)d 名业主，%(area)s ㎡，%(day)s 导入）") % {
            "name": r.name, "owners": r.owners_count, "area": area_text(r.total_area),
            "day": timezone.localtime(r.imported_at).strftime("%Y-%m-%d")}) for r in rolls],
        "meeting": [(m.pk, m.title + (timezone.localtime(m.starts_at).strftime(" · %Y-%m-%d %H:%M")
                                      if m.starts_at else "")) for m in meetings],
        "agenda_item": [(i.pk, f"{i.meeting.title} · {i.order}. {i.title}") for i in items],
    }


def _paths_q(paths: list[str]) -> Q:
    query = Q(pk__in=[])
    for path in paths:
        query |= Q(place_path__startswith=path)
    return query




@require_http_methods(["GET", "POST"])
def vote_new(request: HttpRequest) -> HttpResponse:
    paths = _manage_paths(request.user)
    if not paths:
        raise PermissionDenied
    choices = _form_choices(request.user, paths)
    initial: dict[str, Any] = {"opens_at": timezone.localtime().replace(second=0, microsecond=0)}
    for name in ("meeting", "agenda_item", "title"):
        if request.GET.get(name):
            initial[name] = request.GET[name]
    form = VoteForm(_posted(request), choices=choices, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        place = Place.objects.filter(pk=data["place"]).first()
        if place is None:
            raise Http404
        check_scope(request.user, place.path, write=True, roles=DELIBERATION_MANAGE_ROLES)
        try:
            representatives = (selectors.residents_named(place, data["representatives"])
                               if data["eligibility"] == Eligibility.REPRESENTATIVES else [])
            vote = services.vote_create(
                by=_user(request), place=place, title=data["title"], description=data["description"],
                question_kind=data["question_kind"], eligibility=data["eligibility"], rule=data["rule"],
                opens_at=data["opens_at"], closes_at=data["closes_at"], secret=data["ballot"] == SECRET,
                options=data["options"], min_choices=data.get("min_choices") or 1,
                max_choices=data.get("max_choices") or 1, seats=data.get("seats"),
                meeting=Meeting.objects.filter(pk=data["meeting"]).first() if data["meeting"] else None,
                agenda_item=AgendaItem.objects.filter(pk=data["agenda_item"]).first() if data["agenda_item"] else None,
                owner_roll=OwnerRoll.objects.filter(pk=data["owner_roll"]).first() if data["owner_roll"] else None,
                representatives=representatives,
            )
        except ValidationError as exc:
            form_errors(form, exc)
        else:
            messages.success(request, _("表决已保存为草稿。核对名册和设置后，由居委会负责人开始投票。"))
            return redirect("votes:detail", pk=vote.pk)
    return render(request, "deliberation/vote_new.html", {"form": form, "rolls": bool(choices["owner_roll"])},
                  status=400 if form.errors else 200)


# One vote ------------------------------------------------------------------------------------

def _voter_redirect(request: HttpRequest, pk: int) -> HttpResponse | None:
    """Someone without a staff role who follows a link to a vote (from a meeting or a
    decision): its public result once published, else their ballot if they are on the roll."""
    vote = Vote.objects.filter(pk=pk).only("id", "status", "eligibility", "opens_at").first()
    if vote is None:
        return None
    if vote.status == VoteStatus.PUBLISHED:
        return redirect("votes:public_detail", pk=pk)
    if selectors.own_roll_entries(vote, request.user).exists() or \
            selectors.proxy_roll_entries(vote, request.user).exists():
        return redirect("votes:ballot", pk=pk)
    return None


def _outcome_context(request: HttpRequest, vote: Vote, labels: dict[str, str]) -> dict[str, Any]:
    """The count, once there is one to show: after close, for everyone alike."""
    if vote.status == VoteStatus.CLOSED:
        outcome = services.vote_tally(vote=vote, by=_user(request))
        return {"outcome": outcome.as_dict(), "explanation": rules.explain(outcome, labels)}
    if vote.status == VoteStatus.PUBLISHED:
        result = vote.published
        document = selectors.result_document(result)
        return {"outcome": document["outcome"], "explanation": document["explanation"], "result": result}
    return {}


def draft_roll_size(vote: Vote) -> tuple[int, int]:
    """Before opening: how many the roll would hold today (and their area)."""
    on = timezone.localdate(vote.opens_at)
    if vote.eligibility == Eligibility.ADULTS:
        return selectors.adults_in(vote.place_path, on).count(), 0
    if vote.eligibility == Eligibility.HOUSEHOLDS:
        return selectors.households_in(vote.place_path, on).count(), 0
    if vote.eligibility == Eligibility.OWNERS and vote.owner_roll is not None:
        return vote.owner_roll.owners_count, vote.owner_roll.total_area
    return VoterRollEntry.objects.filter(vote=vote).count(), 0


@require_GET
def vote_detail(request: HttpRequest, pk: int) -> HttpResponse:
    if not scope_paths(request.user, roles=DELIBERATION_VIEW_ROLES):
        answer = _voter_redirect(request, pk)
        if answer is not None:
            return answer
    try:
        vote = access_vote(request.user, pk)
    except Http404:
        answer = _voter_redirect(request, pk)
        if answer is not None:
            return answer
        raise
    vote = (Vote.objects.select_related("place", "community", "meeting", "agenda_item", "owner_roll", "published")
            .defer("published__document").get(pk=vote.pk))
    options = vote_options(vote)
    labels = option_labels(vote, options)
    context = vote_tabs_context(request, vote)
    context.update(options=options, labels=labels, tab="detail", cancel_form=ReasonForm())
    if vote.status == VoteStatus.DRAFT:
        context["draft_size"] = draft_roll_size(vote)
        context["draft_area"] = area_text(context["draft_size"][1])
    else:
        turnout = selectors.vote_turnout(vote)
        context.update(turnout=turnout, turnout_percent=percent(turnout.voted, turnout.eligible),
                       area_percent=percent(turnout.voted_area, turnout.eligible_area),
                       voted_area=area_text(turnout.voted_area), eligible_area=area_text(turnout.eligible_area))
    context.update(_outcome_context(request, vote, labels))
    if "outcome" in context:
        context["option_rows"] = [
            {"label": labels.get(o["key"], o["key"]), "headcount": o["headcount"], "area": o["area"],
             "approved": o["approved"], "winner": o["key"] in context["outcome"]["winners"],
             "tied": o["key"] in context["outcome"]["tied"]}
            for o in context["outcome"]["options"]]
    context["now"] = timezone.now()
    return render(request, "deliberation/vote_detail.html", context)


def _act(request: HttpRequest, pk: int, *, run: bool = False, manage: bool = False) -> Vote:
    if manage:
        vote = access_vote(request.user, pk)
        check_scope(request.user, vote.place_path, write=True, roles=DELIBERATION_MANAGE_ROLES)
        return vote
    return access_vote(request.user, pk, run=run, write=True)


def _done(request: HttpRequest, vote: Vote, action: Any) -> HttpResponse:
    """Run a service; a refusal comes back as a message in words on the vote's page."""
    try:
        text = action()
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, first_error(exc))
    else:
        messages.success(request, text)
    return redirect("votes:detail", pk=vote.pk)


@require_POST
def vote_open(request: HttpRequest, pk: int) -> HttpResponse:
    vote = _act(request, pk, run=True)

    def action() -> str:
        opened = services.vote_open(vote=vote, by=_user(request))
        return _("投票已开始：名册共 %(n)d 人。") % {"n": opened.roll_headcount}

    return _done(request, vote, action)


@require_POST
def vote_close(request: HttpRequest, pk: int) -> HttpResponse:
    vote = _act(request, pk, run=True)

    def action() -> str:
        services.vote_close(vote=vote, by=_user(request))
        return _("投票已结束，现在可以查看计票结果；纸质选票复核完毕后即可公布。")

    return _done(request, vote, action)


@require_POST
def vote_publish(request: HttpRequest, pk: int) -> HttpResponse:
    vote = _act(request, pk, run=True)

    def action() -> str:
        services.vote_publish(vote=vote, by=_user(request))
        return _("结果已公布：任何人都可以在公开页面查看、下载并核验。")

    return _done(request, vote, action)


@require_POST
def vote_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    vote = _act(request, pk, run=True)
    form = ReasonForm(request.POST)

    def action() -> str:
        if not form.is_valid():
            raise ValidationError(_("请写明取消的原因。"))
        services.vote_cancel(vote=vote, by=_user(request), reason=form.cleaned_data["reason"])
        return _("表决已取消。")

    return _done(request, vote, action)


@require_POST
def vote_remind(request: HttpRequest, pk: int) -> HttpResponse:
    vote = _act(request, pk, manage=True)

    def action() -> str:
        told = counting.vote_remind_now(vote=vote, by=_user(request))
        return _("已向 %(n)d 个尚未投票的账号发送提醒（没有账号的请上门或电话提醒）。") % {"n": told}

    return _done(request, vote, action)


# The roll and the history of named ballots --------------------------------------------------

@require_GET
def vote_roll(request: HttpRequest, pk: int) -> HttpResponse:
    vote = access_vote(request.user, pk)
    search = RollSearchForm(request.GET or None)
    q = search.cleaned_data.get("q", "").strip() if search.is_valid() else ""
    voted = request.GET.get("voted", "")
    context = vote_tabs_context(request, vote)
    context.update(tab="roll", search=search, voted=voted)
    if vote.status == VoteStatus.DRAFT and vote.eligibility != Eligibility.REPRESENTATIVES:
        context["draft_size"] = draft_roll_size(vote)
        lazy: Any = _LazyRows(vote, q)
        context["page"] = Paginator(lazy, ROLL_PAGE).get_page(request.GET.get("page"))
        context["draft"] = True
    else:
        rows = VoterRollEntry.objects.filter(vote=vote).order_by("pk")
        if q:
            rows = rows.filter(label__contains=q)
        if voted in ("yes", "no"):
            rows = rows.filter(voted=voted == "yes")
        page = Paginator(rows, ROLL_PAGE).get_page(request.GET.get("page"))
        context["page"] = page
        context["rows"] = [{"entry": e, "area": area_text(e.area)} for e in page.object_list]
        context["turnout"] = selectors.vote_turnout(vote)
    return render(request, "deliberation/vote_roll.html", context)


class _LazyRows:
    """A draft roll for the paginator: counted and sliced in the database."""

    def __init__(self, vote: Vote, q: str) -> None:
        self.vote, self.q = vote, q

    def _query(self) -> Any:
        on = timezone.localdate(self.vote.opens_at)
        if self.vote.eligibility == Eligibility.ADULTS:
            rows = selectors.adults_in(self.vote.place_path, on).select_related("household__place").order_by("pk")
            return rows.filter(name__contains=self.q) if self.q else rows
        if self.vote.eligibility == Eligibility.HOUSEHOLDS:
            households = selectors.households_in(self.vote.place_path, on).select_related("place").order_by("pk")
            return households.filter(place__address__contains=self.q) if self.q else households
        owners = Owner.objects.filter(roll_id=self.vote.owner_roll_id).order_by("pk")
        return owners.filter(name__contains=self.q) if self.q else owners

    def count(self) -> int:
        return int(self._query().count())

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, index: slice) -> list[dict[str, str]]:
        eligibility = self.vote.eligibility
        rows = []
        for obj in self._query()[index]:
            if eligibility == Eligibility.ADULTS:
                rows.append({"label": obj.name, "where": obj.household.place.address or obj.household.place.name})
            elif eligibility == Eligibility.HOUSEHOLDS:
                rows.append({"label": obj.place.address or obj.ref, "where": obj.ref})
            else:
                rows.append({"label": obj.name, "where": _("%(n)d 套，%(a)s ㎡") % {
                    "n": obj.units_count, "a": area_text(obj.area)}})
        return rows


@require_GET
def vote_history(request: HttpRequest, pk: int) -> HttpResponse:
    """Changed named ballots: who, when, by which channel. What each version chose is
    shown after close only, like every other part of the count."""
    vote = access_vote(request.user, pk)
    if vote.secret:
        raise Http404
    options = vote_options(vote)
    labels = option_labels(vote, options)
    page = Paginator(selectors.ballot_changes(vote), ROLL_PAGE).get_page(request.GET.get("page"))
    show_choices = vote.results_visible
    rows = [{"revision": r, "choice": choice_text(vote, labels, r.choice) if show_choices else ""}
            for r in page.object_list]
    context = vote_tabs_context(request, vote)
    context.update(tab="history", page=page, rows=rows, show_choices=show_choices)
    return render(request, "deliberation/vote_history.html", context)

