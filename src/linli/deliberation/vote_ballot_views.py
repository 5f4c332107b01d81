"""The voter's pages and the public record of votes.

The voter: "my votes", the ballot (one question on one screen, big buttons, a review
step before the ballot is cast) and the receipt. A secret ballot's receipt code is shown
once, in the answer to the cast itself, and never again: it is stored only on the
ballot, which names no one. A named ballot's receipt can be shown again to its voter.

The public (no sign-in): published results, each with the count, the law's numbers in
words, every receipt with its choice, a receipt lookup, the result file and how to
verify it (``linli vote verify``).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from linli.deliberation import rules, selectors, services
from linli.deliberation.access import public_vote
from linli.deliberation.models import OpenBallot, QuestionKind, Vote, VoterRollEntry, VoteStatus
from linli.deliberation.vote_forms import BallotForm, ReceiptLookupForm
from linli.deliberation.vote_views import (
    _posted,
    _user,
    choice_text,
    first_error,
    option_labels,
    vote_options,
)

PUBLIC_PAGE = 20
BALLOTS_PAGE = 100


# The voter ---------------------------------------------------------------------------------------

@require_GET
def mine(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    rows = []
    for item in selectors.voter_votes(request.user):
        vote = item.vote
        open_now = vote.status == VoteStatus.OPEN and vote.opens_at <= now < vote.closes_at
        rows.append({"vote": vote, "entry": item.entry, "proxy": item.proxy, "open_now": open_now,
                     "upcoming": vote.status == VoteStatus.OPEN and now < vote.opens_at})
    return render(request, "deliberation/vote_mine.html", {"rows": rows})


def _choices(vote: Vote, user: Any) -> list[tuple[VoterRollEntry, bool]]:
    """The roll rows the user may cast: their own first, then those they are proxy for."""
    own = list(selectors.own_roll_entries(vote, user).order_by("pk"))
    proxied = [e for e in selectors.proxy_roll_entries(vote, user).order_by("pk") if e.pk not in {o.pk for o in own}]
    return [(e, False) for e in own] + [(e, True) for e in proxied]


def _ballot_vote(request: HttpRequest, pk: int) -> tuple[Vote, list[tuple[VoterRollEntry, bool]]]:
    vote = Vote.objects.select_related("place", "community").filter(pk=pk).first()
    if vote is None or vote.status in (VoteStatus.DRAFT, VoteStatus.CANCELLED):
        raise Http404
    entries = _choices(vote, request.user)
    if not entries:
        raise Http404  # not this person's vote: nothing leaks about it
    return vote, entries


def _pick(entries: list[tuple[VoterRollEntry, bool]], value: str | None) -> tuple[VoterRollEntry, bool]:
    if value and value.isdigit():
        for entry, proxy in entries:
            if entry.pk == int(value):
                return entry, proxy
    for entry, proxy in entries:
        if not entry.voted:
            return entry, proxy
    return entries[0]


def _groups(code: str) -> list[str]:
    """A receipt code in its groups of four, so a narrow screen breaks it only between groups."""
    parts = code.split("-")
    return [part + ("-" if i < len(parts) - 1 else "") for i, part in enumerate(parts)]


def _receipt_context(vote: Vote, code: str, choice: str, *, changed: bool = False, fresh: bool) -> dict[str, Any]:
    return {"vote": vote, "code": code, "code_groups": _groups(code), "choice": choice, "changed": changed, "fresh": fresh,
            "just_cast": fresh}


@never_cache
@require_http_methods(["GET", "POST"])
def ballot(request: HttpRequest, pk: int) -> HttpResponse:
    vote, entries = _ballot_vote(request, pk)
    entry, proxy = _pick(entries, request.POST.get("for") or request.GET.get("for"))
    options = vote_options(vote)
    labels = option_labels(vote, options)
    now = timezone.now()
    context: dict[str, Any] = {"vote": vote, "entry": entry, "proxy": proxy, "entries": entries,
                               "options": options, "labels": labels}
    problem = ""
    if vote.status != VoteStatus.OPEN or now >= vote.closes_at:
        problem = _("投票已经截止。")
    elif now < vote.opens_at:
        problem = _("投票尚未开始：%(t)s 开始。") % {"t": timezone.localtime(vote.opens_at).strftime("%Y-%m-%d %H:%M")}
    current = None
    if not vote.secret and entry.voted:
        current = OpenBallot.objects.filter(vote=vote, entry=entry).values_list("choice", "receipt").first()
    if problem or (vote.secret and entry.voted):
        context.update(problem=problem, current=current,
                       current_text=choice_text(vote, labels, current[0]) if current else "")
        return render(request, "deliberation/vote_ballot.html", context, status=400 if request.method == "POST" else 200)
    initial = _initial(vote, current[0]) if current else None
    form = BallotForm(_posted(request), vote=vote, options=options, initial=initial)
    context.update(form=form, current=current, current_text=choice_text(vote, labels, current[0]) if current else "")
    if request.method != "POST":
        return render(request, "deliberation/vote_ballot.html", context)
    if not form.is_valid():
        return render(request, "deliberation/vote_ballot.html", context, status=400)
    key = form.canonical()
    if request.POST.get("edit") == "1":
        return render(request, "deliberation/vote_ballot.html", context)
    if request.POST.get("confirm") != "1":
        # Review: what will be cast, in words, before anything is written.
        marks = [(name, value) for name in request.POST if name not in ("csrfmiddlewaretoken", "confirm", "edit")
                 for value in request.POST.getlist(name)]
        context.update(review=True, choice_text=choice_text(vote, labels, key), marks=marks)
        return render(request, "deliberation/vote_ballot.html", context)
    try:
        receipt = services.vote_cast(vote=vote, by=_user(request), choice=key, entry=entry)
    except services.AlreadyVoted as exc:
        context.update(problem=first_error(exc))
        return render(request, "deliberation/vote_ballot.html", context, status=400)
    except ValidationError as exc:
        form.add_error(None, exc.messages)
        return render(request, "deliberation/vote_ballot.html", context, status=400)
    except PermissionDenied as exc:
        context.update(problem=first_error(exc))
        return render(request, "deliberation/vote_ballot.html", context, status=403)
    if not vote.secret:
        # Said by the receipt page itself (the shared message list is not a list to screen readers).
        return redirect(f"{_receipt_url(vote.pk)}?for={entry.pk}&cast={'changed' if receipt.changed else 'new'}")
    # A secret ballot's receipt is shown here, once; nothing can show it again.
    return render(request, "deliberation/vote_receipt.html",
                  _receipt_context(vote, receipt.code, choice_text(vote, labels, key), fresh=True))


def _receipt_url(pk: int) -> str:
    from django.urls import reverse

    return reverse("votes:receipt", args=[pk])


def _initial(vote: Vote, key: str) -> dict[str, Any]:
    """The form's marks for a named ballot being changed."""
    if vote.question_kind in (QuestionKind.YES_NO, QuestionKind.SINGLE):
        return {"choice": key}
    if key == rules.BLANK:
        return {"blank": True}
    if vote.question_kind == QuestionKind.MULTIPLE:
        return {"choices": key.split(rules.MULTI_SEP)}
    return {f"rank_{i}": k for i, k in enumerate(key.split(rules.RANK_SEP), start=1)}


@never_cache
@require_GET
def receipt(request: HttpRequest, pk: int) -> HttpResponse:
    """A named ballot's receipt, again, for its voter; a secret one is never shown again."""
    vote, entries = _ballot_vote(request, pk)
    entry, _proxy = _pick(entries, request.GET.get("for"))
    if vote.secret or not entry.voted:
        return render(request, "deliberation/vote_receipt.html",
                      {"vote": vote, "code": "", "secret_again": vote.secret and entry.voted})
    row = OpenBallot.objects.filter(vote=vote, entry=entry).values_list("choice", "receipt").first()
    if row is None:  # claimed by a paper ballot still awaiting confirmation
        return render(request, "deliberation/vote_receipt.html", {"vote": vote, "code": "", "paper": True})
    labels = option_labels(vote, vote_options(vote))
    cast = request.GET.get("cast", "")
    context = _receipt_context(vote, row[1], choice_text(vote, labels, row[0]), changed=cast == "changed",
                               fresh=False)
    context["just_cast"] = cast in ("new", "changed")
    return render(request, "deliberation/vote_receipt.html", context)


# The public record -------------------------------------------------------------------------------

@login_not_required
@require_GET
def public_list(request: HttpRequest) -> HttpResponse:
    rows = (Vote.objects.public().select_related("community", "place", "published")
            .defer("published__document").order_by("-published_at", "-id"))
    page = Paginator(rows, PUBLIC_PAGE).get_page(request.GET.get("page"))
    return render(request, "deliberation/vote_public_list.html", {"page": page})


@login_not_required
@require_GET
def public_detail(request: HttpRequest, pk: int) -> HttpResponse:
    vote = _public_vote(pk)
    result = vote.published
    document = selectors.result_document(result)
    labels = {o["key"]: o["label"] for o in document["question"]["options"]}
    outcome = document["outcome"]
    lookup = ReceiptLookupForm(request.GET if "receipt" in request.GET else None)
    found = None
    malformed = lookup.is_bound and not lookup.is_valid()
    if lookup.is_bound and not malformed:
        line = document["_by_receipt"].get(lookup.cleaned_data["receipt"])
        if line is None:
            lookup.add_error("receipt", _("公布的选票中没有这个回执码。请核对；如确认投过票，请联系居委会或监督委员会。"))
        else:
            found = {"receipt": line["receipt"], "choice": choice_text(vote, labels, line["choice"]),
                     "area": line.get("area")}
    ballots = document["ballots"]
    page = Paginator(ballots, BALLOTS_PAGE).get_page(request.GET.get("page"))
    rows = [{"receipt": b["receipt"], "groups": _groups(b["receipt"]), "choice": choice_text(vote, labels, b["choice"]),
             "area": b.get("area")} for b in page.object_list]
    option_rows = [{"label": labels.get(o["key"], o["key"]), "headcount": o["headcount"], "area": o["area"],
                    "winner": o["key"] in outcome["winners"], "tied": o["key"] in outcome["tied"]}
                   for o in outcome["options"]]
    return render(request, "deliberation/vote_public_detail.html", {
        "vote": vote, "result": result, "document": document, "outcome": outcome, "option_rows": option_rows,
        "explanation": document["explanation"], "lookup": lookup, "found": found, "page": page, "rows": rows,
        "weighted": bool(document["body"].get("weighted")), "body": document["body"],
        "filename": _filename(vote),
    }, status=400 if malformed else 200)


def _public_vote(pk: int) -> Vote:
    """A published vote, its result's (large) document left unread until needed."""
    vote = (Vote.objects.select_related("community", "place", "published").defer("published__document")
            .filter(pk=pk, status=VoteStatus.PUBLISHED).first())
    if vote is None:
        raise Http404
    return vote


def _filename(vote: Vote) -> str:
    return f"linli-vote-{vote.pk}-result.json"


@login_not_required
@require_GET
def public_file(request: HttpRequest, pk: int) -> HttpResponse:
    """The result file exactly as published: its SHA-256 is the one in the audit chain."""
    vote = public_vote(pk)
    result = vote.published
    response = HttpResponse(result.document.encode("utf-8"), content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_filename(vote)}"'
    response["ETag"] = f'"{result.sha256}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response

