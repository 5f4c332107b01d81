"""Paper ballots and proxies (纸质选票、委托投票), the channels staff work on.

Paper ballots are under two-person control: one member of staff types a ballot in, a
second, different one checks it against the paper and confirms it; only then does it
count. The page lists what awaits confirmation, and a member of staff never sees a
"confirm" button on their own entries. A named paper ballot names the voter (searched
in the roll); a secret one is typed in after close by the code printed on it, and the
papers are handed out against the roll (that hand-out is the voter's claim).

A proxy votes on the strength of a written authorisation staff have seen: its
reference (required) and a photo (optional, re-encoded without location data).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from linli.deliberation import services
from linli.deliberation.access import access_vote, check_scope
from linli.deliberation.models import (
    DELIBERATION_MANAGE_ROLES,
    Eligibility,
    PaperBallotEntry,
    PaperCode,
    PaperEntryStatus,
    Proxy,
    Vote,
    VoterRollEntry,
    VoteStatus,
)
from linli.deliberation.vote_forms import (
    PaperBallotForm,
    PaperCodesForm,
    ProxyForm,
    ReasonForm,
    RollSearchForm,
)
from linli.deliberation.vote_views import (
    _bound,
    _posted,
    _user,
    choice_text,
    first_error,
    form_errors,
    option_labels,
    vote_options,
    vote_tabs_context,
)

QUEUE_PAGE = 50
SEARCH_LIMIT = 20
CODES_PAGE = 60


def _search(vote: Vote, request: HttpRequest, *, unvoted: bool = True) -> tuple[RollSearchForm, list[VoterRollEntry]]:
    """Roll rows whose label contains what was typed (the page then picks one)."""
    form = RollSearchForm(request.GET if "q" in request.GET else None)
    found: list[VoterRollEntry] = []
    if form.is_bound and form.is_valid() and form.cleaned_data["q"].strip():
        rows = VoterRollEntry.objects.filter(vote=vote, label__contains=form.cleaned_data["q"].strip())
        if unvoted:
            rows = rows.filter(voted=False)
        found = list(rows.order_by("pk")[:SEARCH_LIMIT])
    return form, found


def _entry(vote: Vote, value: Any) -> VoterRollEntry | None:
    text = str(value or "")
    if not text.isdigit() or len(text) > 12:
        return None
    return VoterRollEntry.objects.filter(vote=vote, pk=int(text)).first()


def _proxy_choices(vote: Vote, entry: VoterRollEntry | None) -> list[tuple[int, str]]:
    if entry is None:
        return []
    return [(p.pk, _("%(name)s（委托书 %(ref)s）") % {"name": p.proxy_name, "ref": p.authorisation_ref})
            for p in Proxy.objects.filter(vote=vote, principal=entry, revoked_at__isnull=True)]


def _queue(vote: Vote, request: HttpRequest, labels: dict[str, str]) -> tuple[Any, list[dict[str, Any]]]:
    """Entries awaiting the second person, oldest first; one page, a constant number of queries."""
    rows = (PaperBallotEntry.objects.filter(vote=vote, status=PaperEntryStatus.PENDING)
            .select_related("entry", "entered_by", "proxy").order_by("entered_at", "pk"))
    page = Paginator(rows, QUEUE_PAGE).get_page(request.GET.get("page"))
    user = _user(request)
    items = [{"paper": p, "choice": choice_text(vote, labels, p.choice), "own": p.entered_by_id == user.pk}
             for p in page.object_list]
    return page, items


@never_cache
@require_http_methods(["GET", "POST"])
def vote_paper(request: HttpRequest, pk: int) -> HttpResponse:
    """Type in a paper ballot, and the queue of entries that await confirmation."""
    vote = access_vote(request.user, pk, write=request.method == "POST")
    options = vote_options(vote)
    labels = option_labels(vote, options)
    context = vote_tabs_context(request, vote)
    context.update(tab="paper")
    entry = None if vote.secret else _entry(vote, request.POST.get("entry") or request.GET.get("entry"))
    form = None
    status = 200
    takes_entries = (vote.status == VoteStatus.CLOSED) if vote.secret else vote.status in (VoteStatus.OPEN,
                                                                                          VoteStatus.CLOSED)
    if takes_entries and (vote.secret or entry is not None):
        form = PaperBallotForm(_posted(request), vote=vote, options=options,
                               initial={"entry": entry.pk} if entry else None)
        if "proxy" in form.fields:
            form.fields["proxy"].choices = [("", _("（本人填写）"))] + _proxy_choices(vote, entry)  # type: ignore[attr-defined]
        if request.method == "POST":
            if form.is_valid():
                proxy = Proxy.objects.filter(pk=form.cleaned_data["proxy"], vote=vote).first() \
                    if form.cleaned_data.get("proxy") else None
                try:
                    services.paper_entry_create(vote=vote, by=_user(request), choice=form.canonical(), entry=entry,
                                                code=form.cleaned_data.get("code", ""), proxy=proxy)
                except ValidationError as exc:
                    form_errors(form, exc)
                else:
                    messages.success(request, _("已录入，等待另一名工作人员核对纸质选票后复核计入。"))
                    return redirect("votes:paper", pk=vote.pk)
            status = 400
    elif request.method == "POST":
        messages.error(request, _("现在不能录入纸质选票，或没有选定投票人。"))
        status = 400
    search, found = _search(vote, request)
    page, queue = _queue(vote, request, labels)
    context.update(form=form, entry=entry, search=search, found=found, page=page, queue=queue,
                   takes_entries=takes_entries, reject_form=ReasonForm(), codes_form=PaperCodesForm(),
                   codes_made=PaperCode.objects.filter(vote=vote).count() if vote.secret else 0)
    return render(request, "deliberation/vote_paper.html", context, status=status)


def _paper(request: HttpRequest, pk: int) -> PaperBallotEntry:
    paper = PaperBallotEntry.objects.select_related("vote").filter(pk=pk).first()
    if paper is None:
        raise Http404
    access_vote(request.user, paper.vote_id, write=True)
    return paper


@require_POST
def paper_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    paper = _paper(request, pk)
    try:
        services.paper_entry_confirm(paper=paper, by=_user(request))
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, first_error(exc))
    else:
        messages.success(request, _("已复核，这张纸质选票已计入。"))
    return redirect("votes:paper", pk=paper.vote_id)


@require_POST
def paper_reject(request: HttpRequest, pk: int) -> HttpResponse:
    paper = _paper(request, pk)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("退回时请写明原因（如：录入与纸质选票不符）。"))
        return redirect("votes:paper", pk=paper.vote_id)
    try:
        services.paper_entry_reject(paper=paper, by=_user(request), reason=form.cleaned_data["reason"])
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, first_error(exc))
    else:
        messages.success(request, _("已退回，这条录入不计入；请按纸质选票重新录入。"))
    return redirect("votes:paper", pk=paper.vote_id)


@require_POST
def paper_issue(request: HttpRequest, pk: int) -> HttpResponse:
    """A secret paper ballot handed to a voter on the roll: that is their claim."""
    vote = access_vote(request.user, pk, write=True)
    entry = _entry(vote, request.POST.get("entry"))
    if entry is None:
        messages.error(request, _("请先在名册中查找并选择投票人。"))
        return redirect("votes:paper", pk=vote.pk)
    try:
        services.paper_issue(vote=vote, entry=entry, by=_user(request))
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, first_error(exc))
    else:
        messages.success(request, _("已登记向“%(name)s”发放一张纸质选票；请让其投入票箱。") % {"name": entry.label})
    return redirect("votes:paper", pk=vote.pk)


@never_cache
@require_http_methods(["GET", "POST"])
def paper_codes(request: HttpRequest, pk: int) -> HttpResponse:
    """The codes printed on secret paper ballots and their stubs: made in one batch, in
    random order, never linked to anyone; this page prints them."""
    vote = access_vote(request.user, pk)
    if not vote.secret:
        raise Http404
    form = PaperCodesForm(_posted(request))
    if request.method == "POST":
        check_scope(request.user, vote.place_path, write=True, roles=DELIBERATION_MANAGE_ROLES)
        if form.is_valid():
            try:
                made = services.vote_paper_codes(vote=vote, by=_user(request), count=form.cleaned_data["count"])
            except ValidationError as exc:
                form_errors(form, exc)
            else:
                messages.success(request, _("已生成 %(n)d 个选票编码，请打印在选票和存根上。") % {"n": len(made)})
                return redirect("votes:paper_codes", pk=vote.pk)
        context = vote_tabs_context(request, vote)
        context.update(tab="paper", form=form, page=None)
        return render(request, "deliberation/vote_codes.html", context, status=400)
    rows = PaperCode.objects.filter(vote=vote, used=False).order_by("code")
    page = Paginator(rows, CODES_PAGE).get_page(request.GET.get("page"))
    context = vote_tabs_context(request, vote)
    context.update(tab="paper", form=form, page=page)
    return render(request, "deliberation/vote_codes.html", context)


# Proxies ----------------------------------------------------------------------------------------

@never_cache
@require_http_methods(["GET", "POST"])
def vote_proxies(request: HttpRequest, pk: int) -> HttpResponse:
    vote = access_vote(request.user, pk)
    if request.method == "POST":
        check_scope(request.user, vote.place_path, write=True, roles=DELIBERATION_MANAGE_ROLES)
    principal = _entry(vote, request.POST.get("principal") or request.GET.get("principal"))
    form = ProxyForm(*_bound(request),
                     initial={"principal": principal.pk} if principal else None)
    status = 200
    if request.method == "POST":
        if form.is_valid() and principal is not None:
            username = form.cleaned_data["proxy_username"].strip()
            proxy_user = get_user_model().objects.filter(username=username, is_active=True).first() \
                if username else None
            if username and proxy_user is None:
                form.add_error("proxy_username", _("没有这个账号，请核对；也可以不填。"))
            else:
                try:
                    services.proxy_record(
                        vote=vote, principal=principal, by=_user(request), proxy_user=proxy_user,
                        proxy_name=form.cleaned_data["proxy_name"],
                        authorisation_ref=form.cleaned_data["authorisation_ref"],
                        authorisation_file=form.cleaned_data.get("authorisation_file"),
                    )
                except ValidationError as exc:
                    form_errors(form, exc)
                else:
                    messages.success(request, _("委托已登记：%(name)s 可以代“%(principal)s”投票。") % {
                        "name": form.cleaned_data["proxy_name"], "principal": principal.label})
                    return redirect("votes:proxies", pk=vote.pk)
        elif principal is None:
            form.add_error(None, _("请先在名册中查找并选择委托人。"))
        status = 400
    search, found = _search(vote, request)
    proxies = list(Proxy.objects.filter(vote=vote).select_related("principal", "proxy_user", "recorded_by")
                   .order_by("-recorded_at", "-pk")[:200])
    context = vote_tabs_context(request, vote)
    context.update(tab="proxies", form=form, principal=principal, search=search, found=found, proxies=proxies,
                   takes_proxies=vote.status == VoteStatus.OPEN
                   or (vote.status == VoteStatus.DRAFT and vote.eligibility == Eligibility.REPRESENTATIVES))
    return render(request, "deliberation/vote_proxies.html", context, status=status)


def _proxy(request: HttpRequest, pk: int, *, manage: bool) -> Proxy:
    proxy = Proxy.objects.select_related("vote").filter(pk=pk).first()
    if proxy is None:
        raise Http404
    access_vote(request.user, proxy.vote_id)
    if manage:
        check_scope(request.user, proxy.vote.place_path, write=True, roles=DELIBERATION_MANAGE_ROLES)
    return proxy


@require_POST
def proxy_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    proxy = _proxy(request, pk, manage=True)
    try:
        services.proxy_revoke(proxy=proxy, by=_user(request))
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, first_error(exc))
    else:
        messages.success(request, _("委托已撤销。"))
    return redirect("votes:proxies", pk=proxy.vote_id)


@require_GET
def proxy_file(request: HttpRequest, pk: int) -> FileResponse:
    """The photo of a written authorisation: staff of the vote's scope only."""
    proxy = _proxy(request, pk, manage=False)
    if not proxy.authorisation_file:
        raise Http404
    try:
        handle = proxy.authorisation_file.open("rb")
    except OSError:
        raise Http404 from None
    response = FileResponse(handle)
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
