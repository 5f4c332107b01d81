"""Staff pages of the surveys app: the list, the builder, distribution with the
sample-size calculator, printed invitation slips, live response rates and results.

The builder's changes are plain POSTs that work without JavaScript (the page reloads);
with HTMX they swap only the list of questions. Once answers exist the questions are
fixed: the page then offers only closing and copying.
"""

from __future__ import annotations

import secrets
from typing import Any

import segno
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from linli.accounts.models import User
from linli.surveys import services as svc
from linli.surveys.access import (
    access_creatable_place,
    access_dimension,
    access_question,
    access_questionnaire,
    can_edit,
    creatable_places,
    require_surveys,
    visible_questionnaires,
)
from linli.surveys.distribution import (
    distribution_plan,
    invitations_remind,
    questionnaire_distribute,
    sample_size,
)
from linli.surveys.forms import (
    CreateForm,
    DimensionForm,
    DistributeForm,
    QuestionForm,
    SampleSizeForm,
    SettingsForm,
)
from linli.surveys.models import Distribution, Invitation, Questionnaire, Status, Strata
from linli.surveys.selectors import free_texts, question_summaries, response_rates, with_counts

PAGE_SIZE = 25
SLIPS_PER_PAGE = 24
TEXTS_PER_PAGE = 50


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _form_errors(form: Any, exc: ValidationError) -> None:
    """Put a service's ValidationError onto the form; unknown keys become form errors."""
    if hasattr(exc, "error_dict"):
        for key, errors in exc.message_dict.items():
            form.add_error(key if key in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _first(exc: ValidationError) -> str:
    return exc.messages[0] if exc.messages else _("输入有误。")


# The list and creating ---------------------------------------------------------------------

@require_GET
def questionnaire_list(request: HttpRequest) -> HttpResponse:
    require_surveys(request.user)
    rows = with_counts(visible_questionnaires(request.user))
    status = request.GET.get("status", "")
    if status in Status.values:
        rows = rows.filter(status=status)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "surveys/list.html", {
        "page": page, "status": status, "statuses": Status.choices,
        "can_create": bool(creatable_places(request.user)),
    })


@require_http_methods(["GET", "POST"])
def questionnaire_new(request: HttpRequest) -> HttpResponse:
    places = creatable_places(request.user)
    if not places:
        raise PermissionDenied
    form = CreateForm(request.POST or None, places=places)
    if request.method == "POST" and form.is_valid():
        place = access_creatable_place(request.user, form.cleaned_data["place"])
        template = form.cleaned_data.get("template") or ""
        title = (form.cleaned_data.get("title") or "").strip()
        try:
            if template:
                questionnaire = svc.questionnaire_from_template(template=template, place=place, by=_user(request))
                if title:
                    questionnaire = svc.questionnaire_update(questionnaire=questionnaire, by=_user(request), title=title)
            else:
                questionnaire = svc.questionnaire_create(place=place, title=title, by=_user(request))
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("问卷已创建（草稿）。检查题目后即可开始并发放。"))
            return redirect("surveys:detail", pk=questionnaire.pk)
    return render(request, "surveys/new.html", {"form": form}, status=400 if form.errors else 200)


# The builder --------------------------------------------------------------------------------

def _fresh_ids() -> str:
    """Ids for the add-question form that differ on every render. HTMX settles the
    attributes of elements whose id is in the old and the new content alike, and copies
    the (empty) style attribute Chromium puts on inputs, which the strict CSP refuses."""
    return f"id_{secrets.token_hex(3)}_%s"


def _builder_context(request: HttpRequest, questionnaire: Questionnaire, **extra: Any) -> dict[str, Any]:
    questions = list(questionnaire.questions.select_related("dimension").prefetch_related("options")
                     .order_by("order", "id"))
    dimensions = list(questionnaire.dimensions.order_by("order", "id"))
    problem = svc.editable_problem(questionnaire)
    writable = can_edit(request.user, questionnaire)
    context = {
        "q": questionnaire, "questions": questions, "dimensions": dimensions,
        "locked": problem, "editable": writable and not problem, "writable": writable,
        "question_form": QuestionForm(dimensions=dimensions, prefix="new", auto_id=_fresh_ids()),
        "dimension_form": DimensionForm(prefix="dim"),
        "responses": questionnaire.responses.count(),
        "invited": questionnaire.invitations.count(),
    }
    context.update(extra)
    return context


@require_GET
def questionnaire_detail(request: HttpRequest, pk: int) -> HttpResponse:
    questionnaire = access_questionnaire(request.user, pk)
    return render(request, "surveys/detail.html", _builder_context(request, questionnaire))


def _builder_answer(request: HttpRequest, questionnaire: Questionnaire, *, error: str = "",
                    status: int = 200, **extra: Any) -> HttpResponse:
    """After a builder change: HTMX gets the questions block, a browser the whole page
    (a redirect when all went well, so a reload does not post again)."""
    if _is_htmx(request):
        context = _builder_context(request, questionnaire, builder_error=error, **extra)
        # HTMX swaps only 2xx answers: the block with its error is still the answer to show.
        return render(request, "surveys/detail.html#questions", context)
    if error or status != 200:
        context = _builder_context(request, questionnaire, builder_error=error, **extra)
        return render(request, "surveys/detail.html", context, status=status)
    return redirect(reverse("surveys:detail", args=[questionnaire.pk]) + "#questions")


@require_http_methods(["GET", "POST"])
def questionnaire_settings(request: HttpRequest, pk: int) -> HttpResponse:
    questionnaire = access_questionnaire(request.user, pk, write=True)
    form = SettingsForm(request.POST or None, initial=SettingsForm.initial_for(questionnaire))
    if request.method == "POST" and form.is_valid():
        try:
            svc.questionnaire_update(questionnaire=questionnaire, by=_user(request), **form.cleaned_data)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("问卷设置已保存。"))
            return redirect("surveys:detail", pk=questionnaire.pk)
    return render(request, "surveys/settings.html", {"q": questionnaire, "form": form,
                                                     "locked": svc.editable_problem(questionnaire)},
                  status=400 if form.errors else 200)


@require_POST
def questionnaire_status(request: HttpRequest, pk: int) -> HttpResponse:
    questionnaire = access_questionnaire(request.user, pk, write=True)
    action = request.POST.get("action", "")
    try:
        if action == "open":
            svc.questionnaire_open(questionnaire=questionnaire, by=_user(request))
            messages.success(request, _("问卷已开始，现在可以发放了。"))
        elif action == "close":
            svc.questionnaire_close(questionnaire=questionnaire, by=_user(request))
            messages.success(request, _("问卷已结束，不再接受答卷。"))
        else:
            raise ValidationError(_("未知的操作。"))
    except ValidationError as exc:
        messages.error(request, _first(exc))
        return render(request, "surveys/detail.html", _builder_context(request, questionnaire), status=400)
    return redirect("surveys:detail", pk=questionnaire.pk)


@require_POST
def questionnaire_copy(request: HttpRequest, pk: int) -> HttpResponse:
    questionnaire = access_questionnaire(request.user, pk, write=True)
    copy = svc.questionnaire_copy(questionnaire=questionnaire, by=_user(request))
    messages.success(request, _("已复制为新的草稿问卷，可以修改题目。"))
    return redirect("surveys:detail", pk=copy.pk)


@require_POST
def dimension_add(request: HttpRequest, pk: int) -> HttpResponse:
    questionnaire = access_questionnaire(request.user, pk, write=True)
    form = DimensionForm(request.POST, prefix="dim")
    if form.is_valid():
        try:
            svc.dimension_add(questionnaire=questionnaire, by=_user(request), **form.cleaned_data)
        except ValidationError as exc:
            _form_errors(form, exc)
    if form.errors:
        return _builder_answer(request, questionnaire, error=_("维度未添加，请检查下面的错误。"), status=400,
                               dimension_form=form)
    return _builder_answer(request, questionnaire)


@require_http_methods(["GET", "POST"])
def dimension_edit(request: HttpRequest, pk: int) -> HttpResponse:
    dimension = access_dimension(request.user, pk, write=request.method == "POST")
    questionnaire = dimension.questionnaire
    form = DimensionForm(request.POST or None, initial={"code": dimension.code, "name": dimension.name,
                                                       "mechanism": dimension.mechanism, "mode": dimension.mode})
    if request.method == "POST" and form.is_valid():
        try:
            if "delete" in request.POST:
                svc.dimension_delete(dimension=dimension, by=_user(request))
                messages.success(request, _("维度已删除，其中的题目保留在问卷中。"))
            else:
                svc.dimension_update(dimension=dimension, by=_user(request), **form.cleaned_data)
                messages.success(request, _("维度已保存。"))
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            return redirect("surveys:detail", pk=questionnaire.pk)
    return render(request, "surveys/dimension.html", {"q": questionnaire, "dimension": dimension, "form": form,
                                                      "locked": svc.editable_problem(questionnaire),
                                                      "writable": can_edit(request.user, questionnaire)},
                  status=400 if form.errors else 200)


@require_POST
def question_add(request: HttpRequest, pk: int) -> HttpResponse:
    questionnaire = access_questionnaire(request.user, pk, write=True)
    dimensions = list(questionnaire.dimensions.order_by("order", "id"))
    form = QuestionForm(request.POST, dimensions=dimensions, prefix="new", auto_id=_fresh_ids())
    if form.is_valid():
        try:
            svc.question_add(questionnaire=questionnaire, data=form.to_input(), by=_user(request))
        except ValidationError as exc:
            _form_errors(form, exc)
    if form.errors:
        return _builder_answer(request, questionnaire, error=_("题目未添加，请检查下面的错误。"), status=400,
                               question_form=form)
    return _builder_answer(request, questionnaire)


@require_http_methods(["GET", "POST"])
def question_edit(request: HttpRequest, pk: int) -> HttpResponse:
    question = access_question(request.user, pk, write=request.method == "POST")
    questionnaire = question.questionnaire
    dimensions = list(questionnaire.dimensions.order_by("order", "id"))
    form = QuestionForm(request.POST or None, dimensions=dimensions, initial=QuestionForm.initial_for(question))
    if request.method == "POST" and form.is_valid():
        try:
            svc.question_update(question=question, data=form.to_input(), by=_user(request))
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("题目已保存。"))
            return redirect(reverse("surveys:detail", args=[questionnaire.pk]) + "#questions")
    return render(request, "surveys/question.html", {"q": questionnaire, "question": question, "form": form,
                                                     "locked": svc.editable_problem(questionnaire),
                                                     "writable": can_edit(request.user, questionnaire)},
                  status=400 if form.errors else 200)


@require_POST
def question_move(request: HttpRequest, pk: int) -> HttpResponse:
    question = access_question(request.user, pk, write=True)
    try:
        svc.question_move(question=question, up=request.POST.get("direction") != "down", by=_user(request))
    except ValidationError as exc:
        return _builder_answer(request, question.questionnaire, error=_first(exc), status=400)
    return _builder_answer(request, question.questionnaire)


@require_POST
def question_delete(request: HttpRequest, pk: int) -> HttpResponse:
    question = access_question(request.user, pk, write=True)
    try:
        svc.question_delete(question=question, by=_user(request))
    except ValidationError as exc:
        return _builder_answer(request, question.questionnaire, error=_first(exc), status=400)
    return _builder_answer(request, question.questionnaire)


# Distribution ------------------------------------------------------------------------------

@require_GET
def sample_size_view(request: HttpRequest) -> HttpResponse:
    """The calculator: the numbers of every step, for the page or an HTMX swap."""
    require_surveys(request.user)
    form = SampleSizeForm(request.GET or None, initial={"margin": 5, "confidence": "0.95", "proportion": 0.5})
    result = None
    if form.is_bound and form.is_valid():
        try:
            result = sample_size(**form.values())
        except ValidationError as exc:
            _form_errors(form, exc)
    elif not form.is_bound:
        result = sample_size()
    context = {"form": form, "result": result}
    if _is_htmx(request):
        return render(request, "surveys/sample_size.html#result", context)
    return render(request, "surveys/sample_size.html", context, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
def distribute(request: HttpRequest, pk: int) -> HttpResponse:
    """GET with the form's values previews the plan (population, sample size, allocation,
    the seed drawn); POST carries the same values and seed, so what was previewed is what
    is sent."""
    questionnaire = access_questionnaire(request.user, pk, write=request.method == "POST")
    source = request.POST if request.method == "POST" else request.GET
    form = DistributeForm(source if "mode" in source else None,
                          initial={"mode": "sample", "strata": Strata.GRID, "margin": 5, "confidence": "0.95",
                                   "proportion": 0.5})
    plan = None
    status = 200
    if form.is_bound and form.is_valid():
        try:
            if request.method == "POST":
                distribution = questionnaire_distribute(questionnaire=questionnaire, by=_user(request),
                                                        **form.values())
                messages.success(request, _("已向 %(n)s 位居民发出邀请。") % {"n": distribution.invited})
                return redirect("surveys:rates", pk=questionnaire.pk)
            plan = distribution_plan(questionnaire=questionnaire, **form.values())
        except ValidationError as exc:
            _form_errors(form, exc)
    if form.errors:
        status = 400
    return render(request, "surveys/distribute.html", {
        "q": questionnaire, "form": form, "plan": plan, "writable": can_edit(request.user, questionnaire),
        "distributions": list(Distribution.objects.filter(questionnaire=questionnaire).select_related("created_by")),
    }, status=status)


def _answer_url(request: HttpRequest, token: str) -> str:
    path = reverse("surveys:answer", args=[token])
    return f"{settings.SITE_URL}{path}" if settings.SITE_URL else request.build_absolute_uri(path)


def _qr_svg(url: str) -> str:
    # segno writes attributes only (no style), so the strict CSP holds.
    return segno.make(url, error="m").svg_inline(scale=3, dark="#000", light="#fff", title=str(_("问卷二维码")))


@require_GET
def slips(request: HttpRequest, pk: int) -> HttpResponse:
    """Printable invitations with a QR code and the paper code, for residents without an
    account (``?all=1``: for everyone invited), unanswered ones only."""
    questionnaire = access_questionnaire(request.user, pk)
    everyone = request.GET.get("all") == "1"
    rows = (Invitation.objects.filter(questionnaire=questionnaire, answered=False)
            .select_related("resident__household__place").order_by("building__path", "resident__household__place__path", "id"))
    if not everyone:
        rows = rows.filter(notified=False)
    page = Paginator(rows, SLIPS_PER_PAGE).get_page(request.GET.get("page"))
    entries = []
    for invitation in page.object_list:
        url = _answer_url(request, invitation.token)
        name = invitation.resident.name
        entries.append({"invitation": invitation, "url": url, "qr": mark_safe(_qr_svg(url)),  # noqa: S308 - our own SVG
                        "name": (name[:1] + "*" * max(1, len(name) - 1)) if name else "",
                        "address": invitation.resident.household.place.address,
                        "code": f"{invitation.code[:4]}-{invitation.code[4:]}"})
    return render(request, "surveys/slips.html", {"q": questionnaire, "page": page, "entries": entries,
                                                  "everyone": everyone})


@require_GET
def rates(request: HttpRequest, pk: int) -> HttpResponse:
    questionnaire = access_questionnaire(request.user, pk)
    by = request.GET.get("by", Strata.GRID)
    if by not in Strata.values:
        by = Strata.GRID
    context = {"q": questionnaire, "rates": response_rates(questionnaire, by=by), "by": by,
               "writable": can_edit(request.user, questionnaire), "strata": Strata.choices}
    if _is_htmx(request):
        return render(request, "surveys/rates.html#table", context)
    return render(request, "surveys/rates.html", context)


@require_POST
def remind(request: HttpRequest, pk: int) -> HttpResponse:
    questionnaire = access_questionnaire(request.user, pk, write=True)
    sent = invitations_remind(questionnaire=questionnaire)
    if sent:
        messages.success(request, _("已向 %(n)s 位未作答的居民发送提醒。") % {"n": sent})
    else:
        messages.info(request, _("现在没有需要提醒的居民（发出邀请 2 天后才提醒，每 3 天最多一次，共 2 次；"
                                 "没有账号的居民请由网格员上门提醒）。"))
    return redirect("surveys:rates", pk=questionnaire.pk)


# Results -------------------------------------------------------------------------------------

@require_GET
def results(request: HttpRequest, pk: int) -> HttpResponse:
    questionnaire = access_questionnaire(request.user, pk)
    summary = question_summaries(questionnaire)
    return render(request, "surveys/results.html", {"q": questionnaire, "summary": summary})


@require_GET
def texts(request: HttpRequest, pk: int) -> HttpResponse:
    """Written answers: staff and auditors only, never on a public page."""
    questionnaire = access_questionnaire(request.user, pk)
    page = Paginator(free_texts(questionnaire), TEXTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "surveys/texts.html", {"q": questionnaire, "page": page})
