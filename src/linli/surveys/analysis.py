"""From a questionnaire's responses to the satisfaction model (SATISFACTION-MODEL.md).

* ``default_model``: one block per dimension that has item questions (a code and a
  numeric scale), in the dimension's mode; paths: every driver → SAT, SAT → TRUST,
  SAT → PART, TRUST → PART (those whose blocks the questionnaire keeps). Each block
  carries its items' answer scale, so the engine computes the ACSI 0–100 index on it.
* ``response_table``: one row per response, one column per item code, NaN where a
  question was not answered; only rows that answered at least ``min_share`` of the
  items (by default all of them, which is what ``pls.fit`` needs).

Both fail with ``pls.PlsError`` naming the problem in words, like the engine itself.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.utils.translation import gettext as _

from linli.insights import pls
from linli.places.models import Place
from linli.surveys.models import MODEL_KINDS, SCALES, Answer, Dimension, Question, Questionnaire

SAT = "SAT"
OUTCOMES = ("TRUST", "PART")
OUTCOME_PATHS = ((SAT, "TRUST"), (SAT, "PART"), ("TRUST", "PART"))


@dataclass(frozen=True)
class ModelBlock:
    dimension: Dimension
    questions: tuple[Question, ...]

    @property
    def items(self) -> tuple[str, ...]:
        return tuple(question.code for question in self.questions)

    @property
    def scale(self) -> tuple[float, float] | None:
        scales = {SCALES[question.kind] for question in self.questions}
        if len(scales) != 1:
            return None  # mixed scales: no single [min, max] for the index
        low, high = scales.pop()
        return float(low), float(high)


def model_blocks(questionnaire: Questionnaire) -> list[ModelBlock]:
    """The dimensions with item questions, in order, each with its items (two queries)."""
    dimensions = list(questionnaire.dimensions.order_by("order", "id"))
    questions = (Question.objects.filter(questionnaire=questionnaire, kind__in=MODEL_KINDS, dimension__isnull=False)
                 .exclude(code="").order_by("order", "id"))
    by_dimension: dict[int, list[Question]] = {}
    for question in questions:
        by_dimension.setdefault(question.dimension_id or 0, []).append(question)
    return [ModelBlock(dimension, tuple(by_dimension[dimension.pk])) for dimension in dimensions
            if by_dimension.get(dimension.pk)]


def default_model(questionnaire: Questionnaire, **settings: Any) -> pls.PathModel:
    """The model of SATISFACTION-MODEL.md over the blocks this questionnaire keeps.
    ``settings`` go to ``pls.PathModel`` (scheme, scaled, tol, max_iter)."""
    blocks = model_blocks(questionnaire)
    names = [block.dimension.code for block in blocks]
    if SAT not in names:
        raise pls.PlsError("no_sat_block", _("问卷没有编码为 SAT 的总体满意度维度（含带编码的评分题），无法建立满意度模型。"))
    drivers = [name for name in names if name != SAT and name not in OUTCOMES]
    if not drivers:
        raise pls.PlsError("no_drivers", _("问卷除总体满意度外没有其他评分维度（驱动因素），无法建立满意度模型。"))
    paths = [(driver, SAT) for driver in drivers]
    paths += [(source, target) for source, target in OUTCOME_PATHS if source in names and target in names]
    return pls.PathModel(
        blocks=tuple(pls.Block(name=block.dimension.code, items=block.items, mode=block.dimension.mode,  # type: ignore[arg-type]
                               scale=block.scale) for block in blocks),
        paths=tuple(paths), **settings,
    )


def response_table(questionnaire: Questionnaire, *, items: Sequence[str] | None = None, min_share: float = 1.0,
                   grid: Place | None = None) -> pls.Table:
    """The answers to ``items`` (by default every item of the model's blocks) as a
    table: a row per response that answered at least ``min_share`` of them."""
    if not (isinstance(min_share, float | int) and 0 < min_share <= 1):
        raise pls.PlsError("bad_min_share", _("最低作答比例应大于 0 且不超过 1。"))
    columns = tuple(items) if items is not None else tuple(
        code for block in model_blocks(questionnaire) for code in block.items)
    if not columns:
        raise pls.PlsError("no_items", _("问卷没有带编码的评分题，无法生成模型数据。"))
    position = {code: i for i, code in enumerate(columns)}
    answers = Answer.objects.filter(questionnaire=questionnaire, question__code__in=columns, number__isnull=False)
    if grid is not None:
        answers = answers.filter(response__grid=grid)
    rows: dict[Any, np.ndarray] = {}
    for response_id, code, number in answers.order_by().values_list("response_id", "question__code", "number"):
        row = rows.get(response_id)
        if row is None:
            row = rows[response_id] = np.full(len(columns), np.nan)
        row[position[code]] = number
    needed = math.ceil(min_share * len(columns) - 1e-9)
    kept = [rows[key] for key in sorted(rows, key=str) if np.count_nonzero(~np.isnan(rows[key])) >= needed]
    values = np.vstack(kept) if kept else np.empty((0, len(columns)))
    return pls.Table(columns=columns, values=values)


def model_data(questionnaire: Questionnaire, *, min_share: float = 1.0, grid: Place | None = None,
               **settings: Any) -> tuple[pls.PathModel, pls.Table]:
    """The default model and the table of its items, ready for ``pls.fit``."""
    model = default_model(questionnaire, **settings)
    return model, response_table(questionnaire, items=model.items, min_share=min_share, grid=grid)
