"""Reads for the surveys pages and the satisfaction dashboards: questionnaire lists,
response rates by stratum, per-question summaries (distributions, means with counts,
NPS, the five-level satisfaction rate), free-text answers (staff only) and the monthly
stream of return-visit ratings of requests.

Each read costs a fixed number of queries however many questions, answers or strata
there are: counts are grouped in the database, never counted row by row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, TruncMonth
from django.utils.translation import gettext as _

from linli.places.models import Place, PlaceKind
from linli.requests.models import PlaceRollup, Rating
from linli.surveys.models import (
    SCALES,
    Answer,
    Invitation,
    Kind,
    Question,
    Questionnaire,
    Response,
    Strata,
)
from linli.surveys.responses import questions_of

# NPS: 9–10 promoters, 7–8 passives, 0–6 detractors (Reichheld).
PROMOTER_MIN = 9
PASSIVE_MIN = 7
FIVE_LEVEL_LABELS = {rating.value: rating.label for rating in Rating}


def _count(model: type[Any], **filters: Any) -> Coalesce:
    rows = (model.objects.filter(questionnaire=OuterRef("pk"), **filters).order_by()
            .values("questionnaire").annotate(n=Count("pk")).values("n"))
    return Coalesce(Subquery(rows, output_field=IntegerField()), Value(0))


def with_counts(questionnaires: QuerySet[Questionnaire]) -> QuerySet[Questionnaire]:
    """Questions, invitations and responses counted per questionnaire, one query for any
    number of rows (subqueries, so the counts never multiply each other)."""
    return questionnaires.select_related("place").annotate(
        questions_count=_count(Question), invited_count=_count(Invitation),
        responses_count=_count(Response),
    )


def own_invitations(user: Any) -> list[Invitation]:
    """A signed-in resident's invitations, newest first."""
    if not getattr(user, "is_authenticated", False):
        return []
    return list(Invitation.objects.filter(resident__user=user).select_related("questionnaire")
                .order_by("-sent_at", "-id"))


# Response rates ---------------------------------------------------------------------------

@dataclass(frozen=True)
class StratumRate:
    stratum_id: int | None
    name: str
    invited: int
    answered: int

    @property
    def rate(self) -> float | None:
        return self.answered / self.invited if self.invited else None


@dataclass(frozen=True)
class ResponseRates:
    by: str
    rows: list[StratumRate]
    total: StratumRate
    channels: dict[str, int]  # responses by channel


def response_rates(questionnaire: Questionnaire, *, by: str = Strata.GRID) -> ResponseRates:
    """Invited, answered and the rate per grid or building (two queries)."""
    column = "building" if by == Strata.BUILDING else "grid"
    rows = (Invitation.objects.filter(questionnaire=questionnaire).order_by()
            .values(f"{column}_id", f"{column}__name", f"{column}__path")
            .annotate(invited=Count("pk"), answered=Count("pk", filter=Q(answered=True))))
    outside = _("未划入网格") if column == "grid" else _("未登记楼栋")
    ordered = sorted(rows, key=lambda row: (row[f"{column}_id"] is None, row[f"{column}__path"] or ""))
    strata = [StratumRate(row[f"{column}_id"], row[f"{column}__name"] or outside, row["invited"], row["answered"])
              for row in ordered]
    channels = dict(Response.objects.filter(questionnaire=questionnaire).order_by().values("channel")
                    .annotate(n=Count("pk")).values_list("channel", "n"))
    total = StratumRate(None, _("合计"), sum(r.invited for r in strata), sum(r.answered for r in strata))
    return ResponseRates(by=column, rows=strata, total=total, channels=channels)


# Per-question summaries ---------------------------------------------------------------------

@dataclass(frozen=True)
class Bar:
    label: str
    value: Any  # the number, or the option id
    count: int
    share: float | None  # of those who answered the question


@dataclass(frozen=True)
class Nps:
    promoters: int
    passives: int
    detractors: int

    @property
    def total(self) -> int:
        return self.promoters + self.passives + self.detractors

    @property
    def score(self) -> float | None:
        """% promoters − % detractors, from −100 to 100."""
        if not self.total:
            return None
        return 100.0 * (self.promoters - self.detractors) / self.total


@dataclass
class QuestionSummary:
    question: Question
    answered: int = 0
    bars: list[Bar] = field(default_factory=list)
    mean: float | None = None
    nps: Nps | None = None
    # Five-level questions: (非常满意 + 满意 + w × 基本满意) ÷ answered (DOMAIN §1).
    satisfaction: float | None = None
    texts: int = 0


@dataclass(frozen=True)
class Summary:
    questionnaire: Questionnaire
    responses: int
    questions: list[QuestionSummary]


def _number_label(question: Question, number: int) -> str:
    if question.kind == Kind.FIVE_LEVEL:
        return str(FIVE_LEVEL_LABELS.get(number, number))
    return str(number)


def question_summaries(questionnaire: Questionnaire, *, basic_weight: float = 0.9,
                       grid: Place | None = None) -> Summary:
    """Every question's distribution with counts and shares; means for scales; NPS;
    the satisfaction rate for five-level questions. Optionally for one grid.
    Six queries whatever the size of the questionnaire."""
    questions = questions_of(questionnaire)
    answers = Answer.objects.filter(questionnaire=questionnaire).order_by()
    responses = Response.objects.filter(questionnaire=questionnaire)
    if grid is not None:
        answers = answers.filter(response__grid=grid)
        responses = responses.filter(grid=grid)
    numbers: dict[int, dict[int, int]] = {}
    for question_id, number, n in (answers.filter(number__isnull=False).values("question_id", "number")
                                   .annotate(n=Count("pk")).values_list("question_id", "number", "n")):
        numbers.setdefault(question_id, {})[int(number or 0)] = n
    options: dict[int, dict[int, int]] = {}
    for question_id, option_id, n in (answers.filter(option__isnull=False).values("question_id", "option_id")
                                      .annotate(n=Count("pk")).values_list("question_id", "option_id", "n")):
        options.setdefault(question_id, {})[option_id] = n
    answered = dict(answers.values("question_id").annotate(n=Count("response_id", distinct=True))
                    .values_list("question_id", "n"))
    summaries = []
    for question in questions:
        summary = QuestionSummary(question=question, answered=answered.get(question.pk, 0))
        total = summary.answered
        scale = SCALES.get(question.kind)
        if scale is not None:
            counts = numbers.get(question.pk, {})
            values = list(range(scale[1], scale[0] - 1, -1)) if question.kind == Kind.FIVE_LEVEL \
                else list(range(scale[0], scale[1] + 1))
            summary.bars = [Bar(_number_label(question, v), v, counts.get(v, 0),
                                counts.get(v, 0) / total if total else None) for v in values]
            if total:
                summary.mean = sum(v * c for v, c in counts.items()) / total
            if question.kind == Kind.NPS:
                summary.nps = Nps(
                    promoters=sum(c for v, c in counts.items() if v >= PROMOTER_MIN),
                    passives=sum(c for v, c in counts.items() if PASSIVE_MIN <= v < PROMOTER_MIN),
                    detractors=sum(c for v, c in counts.items() if v < PASSIVE_MIN),
                )
            if question.kind == Kind.FIVE_LEVEL and total:
                summary.satisfaction = (counts.get(5, 0) + counts.get(4, 0) + basic_weight * counts.get(3, 0)) / total
        elif question.is_choice:
            counts = options.get(question.pk, {})
            summary.bars = [Bar(option.label, option.pk, counts.get(option.pk, 0),
                                counts.get(option.pk, 0) / total if total else None)
                            for option in question.options.all()]
        else:
            summary.texts = total
        summaries.append(summary)
    return Summary(questionnaire=questionnaire, responses=responses.count(), questions=summaries)


def free_texts(questionnaire: Questionnaire, *, question: Question | None = None) -> QuerySet[Answer]:
    """The written answers (for staff only: never on a public page). No name, no time:
    only the question and the words."""
    rows = Answer.objects.filter(questionnaire=questionnaire, question__kind=Kind.TEXT).exclude(text="")
    if question is not None:
        rows = rows.filter(question=question)
    return rows.select_related("question").only("text", "question__text", "question__order").order_by(
        "question__order", "question_id", "id")


# Continuous ratings: return visits of requests -----------------------------------------------

RATING_COUNTERS = ("very_satisfied", "satisfied", "basically_satisfied", "dissatisfied", "very_dissatisfied")
COUNTER_VALUE = dict(zip(RATING_COUNTERS, (5, 4, 3, 2, 1), strict=True))


@dataclass(frozen=True)
class MonthRatings:
    month: date  # the first day of the month
    counts: dict[int, int]  # rating (5 非常满意 … 1 非常不满意) → cases

    @property
    def rated(self) -> int:
        return sum(self.counts.values())

    @property
    def mean(self) -> float | None:
        """Mean rating on the five-level scale (1–5)."""
        return sum(v * c for v, c in self.counts.items()) / self.rated if self.rated else None

    def satisfaction(self, basic_weight: float = 0.9) -> float | None:
        """满意率 (DOMAIN §1): (非常满意 + 满意 + w × 基本满意) ÷ rated."""
        if not self.rated:
            return None
        return (self.counts[5] + self.counts[4] + basic_weight * self.counts[3]) / self.rated


def _months(start: date, end: date) -> list[date]:
    months = []
    current = start.replace(day=1)
    while current <= end:
        months.append(current)
        current = current.replace(year=current.year + 1, month=1) if current.month == 12 \
            else current.replace(month=current.month + 1)
    return months


def return_visit_series(place: Place, *, start: date, end: date) -> list[MonthRatings]:
    """The return-visit ratings of requests (回访评价) closed at ``place`` between
    ``start`` and ``end`` (inclusive), month by month, every month present (zeros where
    none); from the rollups by place (``PlaceRollup``), in one query. Rated cases of categories left out of
    the satisfaction rate are not counted, as in the three rates."""
    if start > end:
        raise ValidationError(_("开始日期应早于结束日期。"))
    if place.kind == PlaceKind.GRID:
        scope = Q(community_id=place.community_id, grid_id=place.pk)
    elif place.kind in (PlaceKind.DISTRICT, PlaceKind.STREET, PlaceKind.COMMUNITY):
        scope = Q(community_path__startswith=place.path)
    else:
        raise ValidationError(_("回访评价按网格及以上统计，楼栋和住户没有单独的统计。"))
    rows = (PlaceRollup.objects.filter(scope, day__gte=start, day__lte=end).order_by()
            .annotate(month=TruncMonth("day")).values("month")
            .annotate(**{name: Sum(name) for name in RATING_COUNTERS}))
    found: dict[date, dict[int, int]] = {}
    for row in rows:
        values: dict[str, Any] = dict(row)
        month = values["month"]
        month = month.date() if hasattr(month, "date") else month
        found[month] = {COUNTER_VALUE[name]: int(values[name] or 0) for name in RATING_COUNTERS}
    empty = dict.fromkeys(COUNTER_VALUE.values(), 0)
    return [MonthRatings(month=month, counts=found.get(month, dict(empty))) for month in _months(start, end)]
