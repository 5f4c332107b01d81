"""Answering: the resident's page behind an invitation's link (no sign-in needed), the
signed-in resident's list of invitations, and staff entering a paper questionnaire.

The answer sheet is one long form, grouped by dimension, that works without JavaScript:
a missing required answer comes back with the error in words next to its question and
every other answer kept. Big radio buttons carry the scales (60 px in elder mode).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from linli.accounts.models import User
from linli.surveys.access import access_invitation, access_questionnaire
from linli.surveys.forms import AnswerForm, PaperCodeForm
from linli.surveys.models import Invitation, Questionnaire, ResponseChannel
from linli.surveys.responses import (
    AlreadyAnswered,
    answering_problem,
    invitation_by_code,
    normalise_code,
    questions_of,
    response_submit,
)
from linli.surveys.selectors import own_invitations


def _put_errors(form: AnswerForm, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for key, errors in exc.message_dict.items():
            form.add_error(key if key in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _sheet_context(questionnaire: Questionnaire, form: AnswerForm, **extra: Any) -> dict[str, Any]:
    return {"q": questionnaire, "form": form, "groups": form.groups(),
            "required_count": sum(1 for question in form.questions if question.required), **extra}


# The resident -----------------------------------------------------------------------------

@login_not_required
@never_cache
@require_http_methods(["GET", "POST"])
def answer(request: HttpRequest, token: str) -> HttpResponse:
    invitation = access_invitation(token)
    questionnaire = invitation.questionnaire
    if invitation.answered:
        return render(request, "surveys/closed.html", {"q": questionnaire, "answered": True})
    problem = answering_problem(questionnaire, at=timezone.now(), channel=ResponseChannel.WEB)
    if problem:
        return render(request, "surveys/closed.html", {"q": questionnaire, "message": problem})
    questions = questions_of(questionnaire)
    form = AnswerForm(request.POST or None, questions=questions)
    if request.method == "POST":
        if form.is_valid():
            try:
                response_submit(invitation=invitation, answers=form.answers(), channel=ResponseChannel.WEB)
            except AlreadyAnswered:
                return render(request, "surveys/closed.html", {"q": questionnaire, "answered": True}, status=409)
            except ValidationError as exc:
                _put_errors(form, exc)
            else:
                return redirect("surveys:thanks", token=token)
        return render(request, "surveys/answer.html", _sheet_context(questionnaire, form, token=token), status=400)
    return render(request, "surveys/answer.html", _sheet_context(questionnaire, form, token=token))


@login_not_required
@require_GET
def thanks(request: HttpRequest, token: str) -> HttpResponse:
    invitation = access_invitation(token)
    if not invitation.answered:
        return redirect("surveys:answer", token=token)
    return render(request, "surveys/thanks.html", {"q": invitation.questionnaire})


@require_GET
def mine(request: HttpRequest) -> HttpResponse:
    """A signed-in resident's invitations: to answer, or answered."""
    rows = []
    now = timezone.now()
    for invitation in own_invitations(request.user):
        problem = "" if invitation.answered else answering_problem(invitation.questionnaire, at=now,
                                                                    channel=ResponseChannel.WEB)
        rows.append({"invitation": invitation, "q": invitation.questionnaire, "problem": problem})
    return render(request, "surveys/mine.html", {"rows": rows})


@require_GET
def take(request: HttpRequest, pk: int) -> HttpResponse:
    """The link of an in-app notice: the same for every invitee, so it leads each
    signed-in resident to their own invitation."""
    user: User = request.user  # type: ignore[assignment]
    invitation = Invitation.objects.filter(questionnaire_id=pk, resident__user=user).only("token").first()
    if invitation is None:
        raise Http404
    return redirect("surveys:answer", token=invitation.token)


# Staff: paper questionnaires ----------------------------------------------------------------

@never_cache
@require_http_methods(["GET", "POST"])
def paper(request: HttpRequest, pk: int) -> HttpResponse:
    """Enter a paper questionnaire: first the code printed on it, then the answers, on
    a form that mirrors the questionnaire."""
    questionnaire = access_questionnaire(request.user, pk, write=True)
    source = request.POST if request.method == "POST" else request.GET
    code_form = PaperCodeForm(source if "code" in source else None)
    context: dict[str, Any] = {"q": questionnaire, "code_form": code_form}
    problem = answering_problem(questionnaire, at=timezone.now(), channel=ResponseChannel.PAPER)
    if problem:
        context["problem"] = problem
        return render(request, "surveys/paper.html", context, status=400 if request.method == "POST" else 200)
    if not code_form.is_bound:
        return render(request, "surveys/paper.html", context)
    invitation = invitation_by_code(questionnaire, code_form.data.get("code", ""))
    if not code_form.is_valid() or invitation is None:
        if code_form.is_valid():
            code_form.add_error("code", _("没有这个编号的邀请，请核对纸质问卷上的编号。"))
        return render(request, "surveys/paper.html", context, status=400)
    if invitation.answered:
        code_form.add_error("code", _("该编号的问卷已经提交过（网上或纸质），每位居民只能计一份。"))
        return render(request, "surveys/paper.html", context, status=400)
    questions = questions_of(questionnaire)
    form = AnswerForm(request.POST if request.method == "POST" else None, questions=questions)
    context.update(_sheet_context(questionnaire, form, code=normalise_code(invitation.code)))
    if request.method == "POST":
        if form.is_valid():
            user: User = request.user  # type: ignore[assignment]
            try:
                response_submit(invitation=invitation, answers=form.answers(), channel=ResponseChannel.PAPER, by=user)
            except ValidationError as exc:
                _put_errors(form, exc)
            else:
                messages.success(request, _("编号 %(code)s 的纸质问卷已录入。") % {"code": invitation.code})
                return redirect(reverse("surveys:paper", args=[questionnaire.pk]))
        context["groups"] = form.groups()
        return render(request, "surveys/paper.html", context, status=400)
    return render(request, "surveys/paper.html", context)
