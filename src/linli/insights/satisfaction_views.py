"""The satisfaction pages (满意度分析): the overview of a place, starting a run, one run's
dashboard, its printable one-page summary and the Excel exports.

Access: ``satisfaction_nodes`` / ``access_run`` (403 for roles without surveys, 404 for a
place or run outside the caller's scope); starting a run needs a survey role that may
write (auditors 403). A run is computed by the worker; while it is, its page polls its
status with HTMX (or offers a reload link) and reloads itself when it is done.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from linli.insights import satisfaction_export as export
from linli.insights.models import RunStatus
from linli.insights.pls import PlsError
from linli.insights.satisfaction import (
    RUN_PLACE_KINDS,
    access_run,
    can_start,
    may_start_any,
    satisfaction_node,
    satisfaction_nodes,
    satisfaction_run_for_survey,
    satisfaction_run_for_upload,
    startable_questionnaires,
    upload_places,
)
from linli.insights.satisfaction_dashboard import (
    is_stale,
    latest_below,
    local_today,
    ratings_stream,
    rounds_of,
    run_chart_data,
    run_view,
    runs_of,
    stream_chart_data,
)
from linli.insights.satisfaction_forms import PlaceForm, SurveyRunForm, UploadRunForm
from linli.surveys.access import access_questionnaire

RUNS_PER_PAGE = 20
# Engine messages about the model go to the model field; the rest are about the data.
MODEL_CODES = frozenset({
    "bad_model", "no_blocks", "bad_block", "duplicate_block", "empty_block", "bad_mode", "single_item_mode_b",
    "duplicate_item", "bad_scale", "bad_scheme", "bad_tol", "bad_max_iter", "no_paths", "unknown_lv",
    "path_cycle", "duplicate_path", "isolated_lv",
})


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _node(request: HttpRequest) -> tuple[PlaceForm, Any, list[Any], int]:
    nodes = satisfaction_nodes(request.user)
    form = PlaceForm(request.GET or None, nodes=nodes)
    place_id = None
    status = 200
    if form.is_bound:
        if form.is_valid():
            place_id = form.cleaned_data.get("place")
        else:
            status = 400
    node = satisfaction_node(nodes, place_id)
    if not form.is_bound or status == 400:
        errors = form.errors if form.is_bound else None
        form = PlaceForm({"place": node.pk}, nodes=nodes)
        form.is_valid()
        if errors:
            form.add_error("place", errors.get("place") or _("请从列表中选择地点。"))
    return form, node, nodes, status


@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    form, node, _nodes, status = _node(request)
    today = local_today()
    rounds = rounds_of(node) if node.kind in RUN_PLACE_KINDS else []
    stream = ratings_stream(node, today=today)
    page = Paginator(runs_of(node), RUNS_PER_PAGE).get_page(request.GET.get("page"))
    context: dict[str, Any] = {
        "form": form, "node": node, "rounds": rounds, "latest": rounds[-1] if rounds else None,
        "stream": stream, "stream_rated": sum(p.rated for p in stream), "page": page, "below": latest_below(node),
        "can_start": may_start_any(request.user),
        "export_url": f"{reverse('insights:satisfaction_overview_export')}?place={node.pk}",
        "chart_data": {"empty": _("暂无数据"), "names": {"index": _("指数"), "interval": _("95% 区间"),
                                                        "rate": _("满意率"), "rated": _("评价件数"),
                                                        "rating_index": _("回访评价指数")},
                       "trend": {"labels": [p.label for p in rounds], "titles": [p.title for p in rounds],
                                 "values": [p.value for p in rounds], "lower": [p.lower for p in rounds],
                                 "upper": [p.upper for p in rounds]},
                       "stream": stream_chart_data(stream)},
    }
    return render(request, "insights/satisfaction.html", context, status=status)


@require_GET
def overview_export(request: HttpRequest) -> HttpResponse:
    _form, node, _nodes, _status = _node(request)
    rounds = rounds_of(node) if node.kind in RUN_PLACE_KINDS else []
    stream = ratings_stream(node, today=local_today())
    return export.overview_response(node, rounds, stream, part=request.GET.get("part", ""))


def _forms(request: HttpRequest) -> tuple[SurveyRunForm, UploadRunForm, str]:
    questionnaires = startable_questionnaires(request.user)
    places = upload_places(request.user)
    source = request.POST.get("source", "") if request.method == "POST" else ""
    chosen = request.GET.get("questionnaire", "")
    survey = SurveyRunForm(request.POST if source == "survey" else None, questionnaires=questionnaires,
                           initial={"questionnaire": chosen} if chosen.isdigit() else None)
    upload = UploadRunForm(request.POST if source == "upload" else None,
                           request.FILES if source == "upload" else None, places=places)
    return survey, upload, source


@require_http_methods(["GET", "POST"])
def new(request: HttpRequest) -> HttpResponse:
    if not may_start_any(request.user):
        raise PermissionDenied
    survey, upload, source = _forms(request)
    problem = ""
    if request.method == "POST":
        if source == "survey" and survey.is_valid():
            questionnaire = access_questionnaire(request.user, survey.cleaned_data["questionnaire"], write=True)
            try:
                run = satisfaction_run_for_survey(questionnaire=questionnaire, by=request.user,
                                                  bootstrap=survey.cleaned_data["bootstrap"],
                                                  seed=survey.cleaned_data.get("seed"))
            except PlsError as exc:
                survey.add_error("questionnaire", exc.message)
            else:
                return redirect("insights:satisfaction_run", pk=run.pk)
        elif source == "upload" and upload.is_valid():
            run_or_none = _start_upload(request, upload)
            if run_or_none is not None:
                return redirect("insights:satisfaction_run", pk=run_or_none)
        elif source not in ("survey", "upload"):
            problem = _("请选择一种数据来源后再提交。")
    status = 400 if request.method == "POST" else 200
    return render(request, "insights/satisfaction_new.html",
                  {"survey_form": survey, "upload_form": upload, "source": source, "problem": problem},
                  status=status)


def _start_upload(request: HttpRequest, form: UploadRunForm) -> int | None:
    place = next((p for p in upload_places(request.user) if p.pk == form.cleaned_data["place"]), None)
    if place is None:  # pragma: no cover - the choices hold only these places
        raise PermissionDenied
    upload = form.cleaned_data["file"]
    data = upload.read(settings.UPLOAD_MAX_BYTES + 1)
    try:
        run = satisfaction_run_for_upload(
            place=place, by=request.user, name=upload.name or "data.csv", data=data,
            model_text=form.cleaned_data.get("model") or "", title=form.cleaned_data.get("title") or "",
            period_date=form.cleaned_data.get("period_date"), bootstrap=form.cleaned_data["bootstrap"],
            seed=form.cleaned_data.get("seed"))
    except PlsError as exc:
        form.add_error("model" if exc.code in MODEL_CODES else "bootstrap" if exc.code == "bad_bootstrap"
                       else "seed" if exc.code == "bad_seed" else "file", exc.message)
        return None
    return run.pk


def _run_context(request: HttpRequest, pk: int) -> dict[str, Any]:
    run = access_run(request.user, pk)
    view = run_view(run) if run.status == RunStatus.DONE else None
    stream = ratings_stream(run.place, today=local_today()) if view is not None else []
    if view is not None:
        view.stream_rated = sum(p.rated for p in stream)
    return {"run": run, "view": view, "stream": stream, "stale": is_stale(run),
            "writable": can_start(request.user, run.place_path),
            "chart_data": run_chart_data(view, stream) if view is not None else None}


@require_GET
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    if _is_htmx(request) and request.GET.get("poll") == "1":
        run = access_run(request.user, pk)
        if run.pending:
            return render(request, "insights/satisfaction_run.html#status",
                          {"run": run, "stale": is_stale(run), "poll": True})
        response = HttpResponse("")
        response["HX-Refresh"] = "true"
        return response
    return render(request, "insights/satisfaction_run.html", _run_context(request, pk))


@require_GET
def run_print(request: HttpRequest, pk: int) -> HttpResponse:
    context = _run_context(request, pk)
    return render(request, "insights/satisfaction_print.html", context)


@require_GET
def run_export(request: HttpRequest, pk: int) -> HttpResponse:
    context = _run_context(request, pk)
    if context["view"] is None:
        return render(request, "insights/satisfaction_run.html", context, status=400)
    return export.run_response(context["view"], context["stream"], part=request.GET.get("part", ""))
