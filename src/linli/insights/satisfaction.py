"""Satisfaction runs: who may see and start them, starting them (from a survey's
responses or an uploaded file), and computing them (in the worker, or at once for the
demo). The pages' reads are in ``satisfaction_dashboard``.

Access follows the surveys app: community staff, committee leads, street supervisors
and auditors read the runs of the places below their grants; all but auditors start
them. A run outside the caller's scope is a 404, a start by a read-only role a 403.

Bad data never reaches the worker as a surprise: an upload is read and checked when it
is sent (the engine's message, naming the column, row or value, goes back to the form);
what only the estimation can find (no convergence, collinear blocks) ends the run as
"failed" with the engine's message in words.
"""

from __future__ import annotations

import io
import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from linli.accounts.access import check_path, grant_covering, scope_paths
from linli.audit.services import audit_record
from linli.core.uploads import UploadError, read_table
from linli.insights import pls, pls_io
from linli.insights.models import RunSource, RunStatus, SatisfactionRun
from linli.insights.satisfaction_analysis import BlockInfo, Subgroup, analyse
from linli.places.models import Place, PlaceKind
from linli.requests.calendar import TIME_ZONE
from linli.surveys.analysis import OUTCOME_PATHS, OUTCOMES, SAT, default_model, model_blocks
from linli.surveys.catalogue import SATISFACTION
from linli.surveys.models import (
    CHOICE_KINDS,
    SURVEY_EDIT_ROLES,
    SURVEY_VIEW_ROLES,
    Answer,
    Option,
    Question,
    Questionnaire,
    Response,
)

logger = logging.getLogger(__name__)

# The nodes the dashboard looks at: runs belong to communities and streets.
NODE_KINDS = (PlaceKind.DISTRICT, PlaceKind.STREET, PlaceKind.COMMUNITY)
RUN_PLACE_KINDS = (PlaceKind.STREET, PlaceKind.COMMUNITY)
BOOTSTRAP_CHOICES = (200, 500, 1000, 2000)
DEFAULT_BOOTSTRAP = 1000
TITLE_MAX = 160
# Background questions whose options split the answers into groups.
GROUP_CODES = {"GROUP": "group", "AGE": "age"}
# A run still queued or running after this long has most likely lost its worker.
STALE_MINUTES = 30


# Access ---------------------------------------------------------------------------------

def satisfaction_paths(principal: Any) -> list[str]:
    """The caller's scope; 403 for anyone holding no survey role."""
    paths = scope_paths(principal, roles=SURVEY_VIEW_ROLES)
    if not paths:
        raise PermissionDenied
    return paths


def satisfaction_nodes(principal: Any) -> list[Place]:
    """Every district, street and community the caller may look at (one query)."""
    nodes = list(Place.objects.below_any(satisfaction_paths(principal)).filter(kind__in=NODE_KINDS)
                 .only("id", "parent_id", "kind", "name", "path", "depth", "is_active", "created_at", "community_id")
                 .order_by("path"))
    if not nodes:
        raise PermissionDenied
    return nodes


def satisfaction_node(nodes: list[Place], place_id: int | None) -> Place:
    """The node asked for, or the caller's topmost one; 404 outside the scope."""
    if place_id is None:
        active = [p for p in nodes if p.is_active] or nodes
        return min(active, key=lambda p: (p.depth, p.path))
    found = next((p for p in nodes if p.pk == place_id), None)
    if found is None:
        raise Http404
    return found


def can_start(principal: Any, path: str) -> bool:
    return any(not g.read_only for g in grant_covering(principal, path, roles=SURVEY_EDIT_ROLES))


def may_start_any(principal: Any) -> bool:
    return bool(scope_paths(principal, roles=SURVEY_EDIT_ROLES, write=True))


def access_run(principal: Any, pk: int, *, write: bool = False) -> SatisfactionRun:
    run = SatisfactionRun.objects.select_related("place", "questionnaire", "created_by").filter(pk=pk).first()
    if run is None:
        raise Http404
    check_path(principal, run.place_path, roles=SURVEY_VIEW_ROLES)
    if write and not can_start(principal, run.place_path):
        raise PermissionDenied
    return run


def startable_questionnaires(principal: Any) -> list[Questionnaire]:
    """Questionnaires with an overall-satisfaction block that the caller may analyse."""
    paths = scope_paths(principal, roles=SURVEY_EDIT_ROLES, write=True)
    rows = (Questionnaire.objects.below_any(paths).filter(dimensions__code=SAT).select_related("place")
            .order_by("-created_at", "-id")[:200])
    return list(rows)


def upload_places(principal: Any) -> list[Place]:
    paths = scope_paths(principal, roles=SURVEY_EDIT_ROLES, write=True)
    return list(Place.objects.active().below_any(paths).filter(kind__in=RUN_PLACE_KINDS).order_by("path"))


# Reading the answers ------------------------------------------------------------------------

@dataclass(frozen=True)
class SurveyData:
    model: pls.PathModel
    values: np.ndarray  # complete rows, model item order, sorted by response id
    infos: dict[str, BlockInfo]
    subgroups: list[Subgroup]
    responses: int  # every response, complete or not


def survey_data(questionnaire: Questionnaire) -> SurveyData:
    """The model of the questionnaire and its complete answers, with each row's grid (or
    community) and background choices for the breakdowns. The rows are those of
    ``surveys.analysis.response_table`` (complete answers, ordered by response id)."""
    model = default_model(questionnaire)
    blocks = {block.dimension.code: block for block in model_blocks(questionnaire)}
    infos = {code: BlockInfo(label=block.dimension.name, mechanism=block.dimension.mechanism,
                             items={q.code: q.text for q in block.questions})
             for code, block in blocks.items()}
    items = model.items
    position = {code: i for i, code in enumerate(items)}
    rows: dict[Any, np.ndarray] = {}
    for response_id, code, number in (Answer.objects.filter(questionnaire=questionnaire, question__code__in=items,
                                                            number__isnull=False)
                                      .order_by().values_list("response_id", "question__code", "number")):
        row = rows.get(response_id)
        if row is None:
            row = rows[response_id] = np.full(len(items), np.nan)
        row[position[code]] = number
    kept = [key for key in sorted(rows, key=str) if not np.isnan(rows[key]).any()]
    values = np.vstack([rows[key] for key in kept]) if kept else np.empty((0, len(items)))
    index = {key: i for i, key in enumerate(kept)}
    by_community = questionnaire.place.kind == PlaceKind.STREET
    column = "community" if by_community else "grid"
    places: dict[Any, tuple[int | None, str | None]] = {
        response_id: (place_id, name) for response_id, place_id, name in
        Response.objects.filter(questionnaire=questionnaire).order_by()
        .values_list("id", f"{column}_id", f"{column}__name")}
    subgroups = _place_groups(column, kept, index, places)
    subgroups += _choice_groups(questionnaire, index, len(kept))
    return SurveyData(model=model, values=values, infos=infos, subgroups=subgroups, responses=len(places))


def _place_groups(column: str, kept: list[Any], index: dict[Any, int],
                  places: dict[Any, tuple[int | None, str | None]]) -> list[Subgroup]:
    members: dict[int | None, list[int]] = {}
    names: dict[int | None, str] = {}
    for key in kept:
        place_id, name = places.get(key, (None, None))
        members.setdefault(place_id, []).append(index[key])
        names[place_id] = name or (_("未划入网格") if column == "grid" else _("未知社区"))
    out = []
    for place_id in sorted(members, key=lambda k: (k is None, names[k])):
        mask = np.zeros(len(kept), dtype=bool)
        mask[members[place_id]] = True
        out.append(Subgroup(kind=column, key=str(place_id or 0), label=names[place_id], rows=mask))
    return out


def _choice_groups(questionnaire: Questionnaire, index: dict[Any, int], size: int) -> list[Subgroup]:
    questions = list(Question.objects.filter(questionnaire=questionnaire, code__in=GROUP_CODES, kind__in=CHOICE_KINDS)
                     .order_by("order", "id"))
    if not questions:
        return []
    options = list(Option.objects.filter(question__in=questions).order_by("question__order", "order", "id")
                   .values_list("pk", "question__code", "label"))
    chosen: dict[int, list[int]] = {}
    for response_id, option_id in (Answer.objects.filter(questionnaire=questionnaire, question__in=questions,
                                                         option__isnull=False)
                                   .order_by().values_list("response_id", "option_id")):
        if response_id in index:
            chosen.setdefault(option_id, []).append(index[response_id])
    out = []
    for option_id, code, label in options:
        mask = np.zeros(size, dtype=bool)
        mask[chosen.get(option_id, [])] = True
        out.append(Subgroup(kind=GROUP_CODES[code], key=str(option_id), label=label, rows=mask))
    return out


def catalogue_infos() -> dict[str, BlockInfo]:
    """Names and question texts of the 满意度测评 template's blocks, for uploaded data."""
    return {spec.code: BlockInfo(label=_(spec.name), mechanism=spec.mechanism,
                                 items={q.code: _(q.text) for q in spec.questions if q.code})
            for spec in SATISFACTION.dimensions}


def default_upload_model(columns: Sequence[str]) -> pls.PathModel:
    """SATISFACTION-MODEL.md over the template's blocks whose item columns (COMM1 …)
    are all in the file, on the template's 1–10 scale."""
    present = set(columns)
    blocks: list[pls.Block] = []
    for spec in SATISFACTION.dimensions:
        items = tuple(q.code for q in spec.questions if q.code)
        if items and all(item in present for item in items):
            blocks.append(pls.Block(name=spec.code, items=items, scale=(1.0, 10.0)))
    names = [block.name for block in blocks]
    if SAT not in names:
        raise pls.PlsError("no_sat_block", _("文件中没有默认模型所需的总体满意度列（SAT1、SAT2、SAT3）。请使用“满意度测评”"
                                             "模板的题目编码作列名，或同时上传模型文件。"))
    drivers = [name for name in names if name != SAT and name not in OUTCOMES]
    if not drivers:
        raise pls.PlsError("no_drivers", _("文件中除总体满意度外没有完整的评分维度（如 COMM1、COMM2、COMM3），"
                                           "无法建立满意度模型。"))
    paths = [(driver, SAT) for driver in drivers]
    paths += [(s, t) for s, t in OUTCOME_PATHS if s in names and t in names]
    return pls.PathModel(blocks=tuple(blocks), paths=tuple(paths))


@dataclass(frozen=True)
class UploadData:
    model: pls.PathModel
    table: pls.Table
    model_given: bool
    columns: tuple[str, ...]


def _check_values(model: pls.PathModel, table: pls.Table) -> None:
    """What ``pls.fit`` would refuse in any case: missing answers and values off the scale."""
    position = {name: i for i, name in enumerate(table.columns)}
    rows = table.rows()
    for item in model.items:
        column = table.values[:, position[item]]
        bad = np.flatnonzero(~np.isfinite(column))
        if bad.size:
            shown = "、".join(str(rows[i]) for i in bad[:10]) + (_(" 等共 %(n)d 行") % {"n": bad.size} if bad.size > 10 else "")
            raise pls.PlsError("missing_values", _("列 %(column)s 有缺失值（第 %(rows)s 行）；请补全或删除这些行。")
                               % {"column": item, "rows": shown})
    for block in model.blocks:
        scale = model.block_scale(block)
        if scale is None:
            continue
        low, high = scale
        outside = [item for item in block.items
                   if (table.values[:, position[item]] < low).any() or (table.values[:, position[item]] > high).any()]
        if outside:
            raise pls.PlsError("outside_scale", _("列 %(columns)s 有超出量表 [%(low)s, %(high)s] 的值。")
                               % {"columns": "、".join(outside), "low": _plain(low), "high": _plain(high)})


def _plain(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def read_upload(*, name: str, data: bytes, model_text: str) -> UploadData:
    """Read an uploaded .csv/.xlsx and the model (MODEL.json text, or empty for the
    default model); raises ``pls.PlsError`` with the problem in words."""
    try:
        _kind, rows = read_table(name=name, stream=io.BytesIO(data), size=len(data), max_rows=pls_io.DATA_MAX_ROWS)
    except UploadError as exc:
        raise pls.PlsError("bad_file", exc.message) from None
    header = next((cells for _number, cells in rows if any(c is not None and str(c).strip() for c in cells)), [])
    columns = tuple(str(cell).strip() for cell in header if cell is not None and str(cell).strip())
    given = bool(model_text.strip())
    model = pls_io.parse_model(model_text) if given else default_upload_model(columns)
    table = pls_io.table_from_rows(rows, model.items)
    if table.values.shape[0] == 0:
        raise pls.PlsError("empty_data", _("数据文件只有表头，没有答卷。"))
    _check_values(model, table)
    return UploadData(model=model, table=table, model_given=given, columns=columns)


# Services --------------------------------------------------------------------------------

def _local_date(at: datetime) -> date:
    return at.astimezone(TIME_ZONE).date()


def _check_settings(bootstrap: int, seed: int | None) -> None:
    if bootstrap != 0 and not pls.BOOTSTRAP_MIN <= bootstrap <= pls.BOOTSTRAP_MAX:
        raise pls.PlsError("bad_bootstrap", _("自助法重抽样次数必须在 %(low)d 到 %(high)d 之间。")
                           % {"low": pls.BOOTSTRAP_MIN, "high": pls.BOOTSTRAP_MAX})
    if seed is not None and not 0 <= seed < 2**62:
        raise pls.PlsError("bad_seed", _("随机种子必须是 0 到 2^62−1 之间的整数。"))


def _queue(run: SatisfactionRun) -> None:
    from linli.insights.tasks import compute_satisfaction_run

    # robust: a queue that cannot take the task leaves the run "queued" (the page says so),
    # never a failure of the request that asked for it.
    transaction.on_commit(lambda: compute_satisfaction_run.enqueue(run_id=run.pk), robust=True)


def _audit(run: SatisfactionRun, by: Any) -> None:
    audit_record(actor=by, action="insights.satisfaction_run", obj=run, community_id=run.community_id,
                 after={"source": run.source, "questionnaire": run.questionnaire_id, "place": run.place_id,
                        "bootstrap": run.bootstrap, "seed": run.seed, "file": run.upload_name})


def satisfaction_run_for_survey(*, questionnaire: Questionnaire, by: Any, bootstrap: int = DEFAULT_BOOTSTRAP,
                                seed: int | None = None, at: datetime | None = None,
                                queue: bool = True) -> SatisfactionRun:
    """Queue a run on the questionnaire's responses (its own model). Raises
    ``pls.PlsError`` when the questionnaire has no model (no SAT block, no drivers)."""
    at = at or timezone.now()
    _check_settings(bootstrap, seed)
    model = default_model(questionnaire)
    place = questionnaire.place
    with transaction.atomic():
        run = SatisfactionRun.objects.create(
            place=place, place_path=place.path, community_id=questionnaire.community_id, source=RunSource.SURVEY,
            questionnaire=questionnaire, title=questionnaire.title[:TITLE_MAX],
            period_date=_local_date(questionnaire.opens_at or questionnaire.created_at),
            bootstrap=bootstrap, seed=seed, model=pls_io.model_to_dict(model),
            language=translation.get_language() or "zh-hans", created_by=by, created_at=at,
        )
        _audit(run, by)
        if queue:
            _queue(run)
    return run


def satisfaction_run_for_upload(*, place: Place, by: Any, name: str, data: bytes, model_text: str = "",
                                title: str = "", period_date: date | None = None,
                                bootstrap: int = DEFAULT_BOOTSTRAP, seed: int | None = None,
                                at: datetime | None = None) -> SatisfactionRun:
    """Check the file and the model now (``pls.PlsError`` names the problem), then queue
    the run. The file is kept only until the run is computed."""
    at = at or timezone.now()
    _check_settings(bootstrap, seed)
    if place.kind not in RUN_PLACE_KINDS:
        raise pls.PlsError("bad_place", _("请选择一个社区或街道。"))
    upload = read_upload(name=name, data=data, model_text=model_text)
    with transaction.atomic():
        run = SatisfactionRun.objects.create(
            place=place, place_path=place.path,
            community_id=place.pk if place.kind == PlaceKind.COMMUNITY else None,
            source=RunSource.UPLOAD, title=(title.strip() or name)[:TITLE_MAX],
            period_date=period_date or _local_date(at), bootstrap=bootstrap, seed=seed,
            model=pls_io.model_to_dict(upload.model), model_given=upload.model_given,
            inputs={"file": name[:200], "rows": int(upload.table.values.shape[0]),
                    "columns": len(upload.columns)},
            upload=data, upload_name=name[:200], language=translation.get_language() or "zh-hans",
            created_by=by, created_at=at,
        )
        _audit(run, by)
        _queue(run)
    return run


def _claim(run: SatisfactionRun, at: datetime) -> bool:
    return bool(SatisfactionRun.objects.filter(pk=run.pk, status=RunStatus.QUEUED)
                .update(status=RunStatus.RUNNING, started_at=at))


def _inputs_of(run: SatisfactionRun) -> tuple[pls.PathModel, np.ndarray, dict[str, BlockInfo], list[Subgroup],
                                              dict[str, Any]]:
    if run.source == RunSource.SURVEY:
        if run.questionnaire is None:
            raise pls.PlsError("no_questionnaire", _("这份问卷已不存在。"))
        data = survey_data(run.questionnaire)
        inputs = {"responses": data.responses, "complete": int(data.values.shape[0]),
                  "incomplete": data.responses - int(data.values.shape[0])}
        return data.model, data.values, data.infos, data.subgroups, inputs
    upload = read_upload(name=run.upload_name, data=bytes(run.upload or b""),
                         model_text=_model_text(run))
    values = upload.table.values
    infos = catalogue_infos()
    return upload.model, values, {name: infos[name] for name in upload.model.lv_names if name in infos}, [], \
        dict(run.inputs)


def _model_text(run: SatisfactionRun) -> str:
    return json.dumps(run.model) if run.model_given else ""


def satisfaction_run_compute(*, run: SatisfactionRun, at: datetime | None = None) -> SatisfactionRun:
    """Compute a queued run (the worker's task, or the demo directly). A run already
    taken by another worker is left alone. Never raises for bad data: the run ends
    "failed" with the message in words."""
    started = at or timezone.now()
    if not _claim(run, started):
        run.refresh_from_db()
        return run
    run.refresh_from_db()
    with translation.override(run.language or "zh-hans"):
        try:
            model, values, infos, subgroups, inputs = _inputs_of(run)
            outcome = analyse(model, values, infos, subgroups=subgroups, bootstrap=run.bootstrap, seed=run.seed)
        except pls.PlsError as exc:
            return _finish(run, status=RunStatus.FAILED, error=exc.message)
        except Exception:
            logger.exception("satisfaction run %s failed", run.pk)
            return _finish(run, status=RunStatus.FAILED,
                           error=_("计算时出现意外错误，已记录在系统日志中；请稍后重试，或联系系统管理员。"))
    run.model = pls_io.model_to_dict(model)
    run.inputs = inputs
    run.seed = outcome.seed
    return _finish(run, status=RunStatus.DONE, result=outcome.result, analysis=outcome.analysis,
                   summary=outcome.summary)


def _finish(run: SatisfactionRun, *, status: str, error: str = "", result: dict[str, Any] | None = None,
            analysis: dict[str, Any] | None = None, summary: dict[str, Any] | None = None) -> SatisfactionRun:
    run.status = status
    run.error = error
    run.result = _finite(result)
    run.analysis = _finite(analysis)
    run.summary = _finite(summary) or {}
    run.finished_at = timezone.now()
    run.upload = None  # the uploaded answers are not kept once read
    run.save(update_fields=["status", "error", "result", "analysis", "summary", "finished_at", "upload", "model",
                            "inputs", "seed"])
    return run


def _finite(value: Any) -> Any:
    """JSON has no NaN: every non-finite number becomes null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, np.generic):
        return _finite(value.item())
    return value


def satisfaction_runs_for_demo(*, questionnaires: Sequence[Questionnaire], by: Any = None, bootstrap: int = 200,
                               seed: int = 2026) -> list[SatisfactionRun]:
    """Compute a run for each questionnaire at once, in the caller's transaction (the
    demo builds everything in one). Seeds follow from ``seed``, so a rebuild gives the
    same numbers."""
    runs = []
    for offset, questionnaire in enumerate(questionnaires):
        run = satisfaction_run_for_survey(questionnaire=questionnaire, by=by, bootstrap=bootstrap,
                                          seed=(seed + offset) % 2**62, queue=False)
        runs.append(satisfaction_run_compute(run=run))
    return runs
