"""What the satisfaction pages read: the runs of a place, the trend over survey rounds,
the monthly stream of return-visit ratings, and one run's dashboard with the requests
and comments behind each thing to improve. Each read costs a fixed number of queries.

The return-visit stream comes from ``RequestRollup`` through the rates' own reader
(``rollup_cache.RollupReader``), so it uses their cache and their counting rules: a
rating counts in the month its request closed; categories left out of the satisfaction
rate are left out here too.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop as N_

from linli.insights.drivers import QUADRANTS, quadrant_label
from linli.insights.models import RunSource, RunStatus, SatisfactionRun
from linli.insights.rollup_cache import RollupReader, split_months
from linli.insights.satisfaction import STALE_MINUTES
from linli.insights.selectors import Rates, weights_for
from linli.places.models import Place, PlaceKind
from linli.requests.calendar import TIME_ZONE
from linli.requests.models import OPEN_STATUSES, ROLLUP_COUNTERS, Category, Request
from linli.surveys.models import Answer, Kind, Mechanism
from linli.surveys.selectors import ResponseRates, response_rates

STREAM_MONTHS = 12
TREND_ROUNDS = 12
RUNS_SCANNED = 300
Z95 = 1.959963984540054
COMMENTS_SHOWN = 3
COMMENTS_SCANNED = 3000
EXCERPT = 80
LOW_RATING = 2  # 不满意 and 非常不满意
# A comment's writer "rated it low" when their score of the block is in the bottom third
# of the scale (1–4 of 10, 1–2 of 5).
LOW_SCORE = 100.0 / 3

# The request categories (by code) that belong to each work mechanism; None: every category.
MECHANISM_CATEGORIES: dict[str, tuple[str, ...] | None] = {
    Mechanism.COMMUNICATION: ("suggestion",),
    Mechanism.REQUESTS: None,
    Mechanism.DEMOCRACY: ("suggestion",),
    Mechanism.SERVICES: ("admin_question", "elderly_help"),
    Mechanism.ENVIRONMENT: ("repairs", "utilities", "sanitation", "greening", "infrastructure", "parking", "pets",
                            "safety", "noise"),
    Mechanism.SAFETY: ("safety", "noise", "dispute"),
    Mechanism.ACTIVITIES: (),
    Mechanism.CARE: ("elderly_help",),
    Mechanism.STAFF: ("complaint",),
    Mechanism.DISCLOSURE: ("complaint", "suggestion"),
}
# Words residents use for each mechanism, to find the comments about it.
MECHANISM_WORDS: dict[str, tuple[str, ...]] = {
    Mechanism.COMMUNICATION: ("通知", "信息", "公告", "宣传", "沟通", "微信群"),
    Mechanism.REQUESTS: ("反映", "诉求", "处理", "解决", "回复", "答复", "办理", "没人管"),
    Mechanism.DEMOCRACY: ("协商", "议事", "投票", "征求", "决定", "参与决策"),
    Mechanism.SERVICES: ("服务", "办事", "养老", "助餐", "托管", "手续", "健康"),
    Mechanism.ENVIRONMENT: ("环境", "卫生", "垃圾", "绿化", "设施", "路灯", "楼道", "停车", "电梯", "安全", "噪音",
                            "维修"),
    Mechanism.SAFETY: ("安全", "治安", "防盗", "消防", "噪音"),
    Mechanism.ACTIVITIES: ("活动", "志愿", "兴趣", "邻里", "互助"),
    Mechanism.CARE: ("老人", "老年", "残疾", "困难", "独居", "关爱"),
    Mechanism.STAFF: ("工作人员", "态度", "效率", "网格员"),
    Mechanism.DISCLOSURE: ("公开", "经费", "透明", "监督", "财务"),
}


def local_today() -> date:
    return timezone.now().astimezone(TIME_ZONE).date()


def _pct(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


# Runs and rounds ---------------------------------------------------------------------------

def runs_of(node: Place) -> Any:
    """The runs of ``node`` and below, newest first (a queryset: the page paginates it)."""
    return (SatisfactionRun.objects.filter(place_path__startswith=node.path).light()
            .select_related("place", "created_by").order_by("-created_at", "-id"))


@dataclass
class RoundPoint:
    run_id: int
    title: str
    period_date: date
    n: int
    fitted: bool
    target: str
    value: float | None
    lower: float | None
    upper: float | None
    index: dict[str, list[float | None]]

    @property
    def label(self) -> str:
        return self.period_date.isoformat()


def rounds_of(place: Place, *, upto: SatisfactionRun | None = None) -> list[RoundPoint]:
    """One point per survey round at ``place`` (the newest finished run of each
    questionnaire or of each uploaded period), oldest first; ``upto`` keeps the rounds up
    to that run's. One query."""
    rows = list(SatisfactionRun.objects.filter(place=place, status=RunStatus.DONE).light()
                .only("id", "title", "period_date", "questionnaire_id", "source", "summary", "created_at")
                .order_by("-created_at", "-id")[:RUNS_SCANNED])
    chosen: dict[Any, SatisfactionRun] = {}
    for run in rows:
        key = run.questionnaire_id if run.source == RunSource.SURVEY else ("upload", run.period_date)
        chosen.setdefault(key, run)
    if upto is not None:
        key = upto.questionnaire_id if upto.source == RunSource.SURVEY else ("upload", upto.period_date)
        chosen[key] = upto
        chosen = {k: r for k, r in chosen.items() if (r.period_date, r.created_at) <= (upto.period_date, upto.created_at)}
    points = []
    for run in sorted(chosen.values(), key=lambda r: (r.period_date, r.created_at)):
        summary = run.summary or {}
        target = summary.get("target") or "SAT"
        value = (summary.get("index") or {}).get(target) or [None, None, None]
        points.append(RoundPoint(run.pk, run.title, run.period_date, int(summary.get("n") or 0),
                                 bool(summary.get("fitted")), target, value[0], value[1], value[2],
                                 dict(summary.get("index") or {})))
    return points[-TREND_ROUNDS:]


@dataclass
class PlaceLatest:
    place: str
    point: RoundPoint


def latest_below(node: Place) -> list[PlaceLatest]:
    """The newest finished run of each place below ``node`` (streets and communities),
    for comparing them. One query."""
    if node.kind == PlaceKind.COMMUNITY:
        return []
    rows = (SatisfactionRun.objects.filter(place_path__startswith=node.path, status=RunStatus.DONE)
            .exclude(place=node).light().select_related("place")
            .only("id", "title", "period_date", "summary", "created_at", "place__name", "place__path")
            .order_by("-period_date", "-created_at", "-id")[:RUNS_SCANNED])
    seen: dict[int, PlaceLatest] = {}
    for run in rows:
        if run.place_id in seen:
            continue
        summary = run.summary or {}
        target = summary.get("target") or "SAT"
        value = (summary.get("index") or {}).get(target) or [None, None, None]
        seen[run.place_id] = PlaceLatest(run.place.name, RoundPoint(
            run.pk, run.title, run.period_date, int(summary.get("n") or 0), bool(summary.get("fitted")), target,
            value[0], value[1], value[2], dict(summary.get("index") or {})))
    return sorted(seen.values(), key=lambda row: row.place)


# The return-visit stream --------------------------------------------------------------------

RATING_VALUES = (("very_satisfied", 5), ("satisfied", 4), ("basically_satisfied", 3), ("dissatisfied", 2),
                 ("very_dissatisfied", 1))


@dataclass
class StreamPoint:
    month: date
    counts: dict[int, int]  # rating 5 … 1 → cases
    rate: float | None  # 满意率 with the place's basic weight, 0–1

    @property
    def label(self) -> str:
        return _("%(y)s年%(m)s月") % {"y": self.month.year, "m": self.month.month}

    @property
    def rated(self) -> int:
        return sum(self.counts.values())

    def _moments(self) -> tuple[float, float] | None:
        n = self.rated
        if not n:
            return None
        mean = sum(v * c for v, c in self.counts.items()) / n
        variance = sum(c * (v - mean) ** 2 for v, c in self.counts.items()) / n
        return mean, variance

    @property
    def index(self) -> float | None:
        """The mean rating on 0–100: 1 (非常不满意) is 0, 5 (非常满意) is 100."""
        moments = self._moments()
        return None if moments is None else (moments[0] - 1) / 4 * 100

    @property
    def interval(self) -> tuple[float | None, float | None]:
        """95 % interval of the index (normal approximation, sample standard deviation)."""
        n = self.rated
        moments = self._moments()
        if moments is None or n < 2:
            return None, None
        mean, variance = moments
        half = Z95 * math.sqrt(variance * n / (n - 1) / n)
        low, high = (mean - half - 1) / 4 * 100, (mean + half - 1) / 4 * 100
        return max(0.0, low), min(100.0, high)


def ratings_stream(node: Place, *, today: date, months: int = STREAM_MONTHS) -> list[StreamPoint]:
    """The return-visit ratings of requests at ``node``, month by month, the last
    ``months`` months up to ``today`` (every month present)."""
    first = date(today.year, today.month, 1)
    for _step in range(months - 1):
        first = (first - timedelta(days=1)).replace(day=1)
    pieces = split_months(first, today)
    sums = RollupReader(today=today).sums(
        scope=Q(community_path__startswith=node.path),
        scope_key=("satisfaction-stream", node.pk, node.path, node.created_at.isoformat() if node.created_at else ""),
        pieces=pieces, group=(), filters={})
    weights = weights_for(node)
    position = {name: i for i, name in enumerate(ROLLUP_COUNTERS)}
    out = []
    for piece in pieces:
        total = sums[piece].total
        counts = {value: int(total[position[name]]) for name, value in RATING_VALUES}
        out.append(StreamPoint(month=piece.start, counts=counts, rate=Rates.of(total, weights).satisfaction))
    return out


# One run's dashboard ----------------------------------------------------------------------------

def _triple(found: Mapping[str, Any] | None) -> tuple[float | None, float | None, float | None]:
    if not found:
        return None, None, None
    return found.get("value"), found.get("lower"), found.get("upper")


@dataclass
class BlockView:
    name: str
    label: str
    mechanism: str
    role: str
    items: list[dict[str, Any]]
    value: float | None  # the index shown: the model's, or the plain mean without a model
    lower: float | None
    upper: float | None
    mean: float | None
    importance: float | None = None
    importance_lower: float | None = None
    importance_upper: float | None = None
    quadrant: str | None = None
    previous: float | None = None

    @property
    def mechanism_label(self) -> str:
        try:
            return str(Mechanism(self.mechanism).label)
        except ValueError:
            return ""

    @property
    def quadrant_label(self) -> str:
        return quadrant_label(self.quadrant) if self.quadrant else ""  # type: ignore[arg-type]

    @property
    def change(self) -> float | None:
        if self.value is None or self.previous is None:
            return None
        return self.value - self.previous

    @property
    def weakest(self) -> dict[str, Any] | None:
        scored = [item for item in self.items if item.get("score") is not None]
        return min(scored, key=lambda item: item["score"]) if scored else None


@dataclass
class CategoryLink:
    name: str
    url: str
    open: int
    low: int


@dataclass(frozen=True)
class Comment:
    text: str
    spoken: bool  # it speaks of the mechanism; otherwise its writer rated the block low


@dataclass
class Improvement:
    block: BlockView
    rank: int
    drivers: int
    performance_split: float | None
    fallback: bool
    weakest: dict[str, Any] | None
    categories: list[CategoryLink] = field(default_factory=list)
    all_requests_url: str = ""
    open_requests: int = 0
    low_ratings: int = 0
    comments: list[Comment] = field(default_factory=list)
    comments_total: int = 0
    texts_url: str = ""


@dataclass
class BreakdownRow:
    label: str
    n: int
    enough: bool
    value: float | None
    lower: float | None
    upper: float | None


@dataclass
class RunView:
    run: SatisfactionRun
    analysis: dict[str, Any]
    blocks: list[BlockView]
    target: BlockView | None
    improvements: list[Improvement]
    breakdowns: list[tuple[str, str, list[BreakdownRow]]]  # (kind, title, rows)
    rounds: list[RoundPoint]
    previous: RoundPoint | None
    rates: ResponseRates | None
    paths: list[dict[str, Any]]
    reliability: list[dict[str, Any]]
    stream_rated: int = 0  # return-visit ratings in the stream shown beside the run

    @property
    def fitted(self) -> bool:
        return bool(self.analysis.get("fitted"))

    @property
    def n(self) -> int:
        return int(self.analysis.get("n") or 0)

    @property
    def min_rows(self) -> int:
        return int(self.analysis.get("min_rows") or 0)

    @property
    def drivers(self) -> list[BlockView]:
        return [b for b in self.blocks if b.role == "driver"]

    @property
    def outcomes(self) -> list[BlockView]:
        return [b for b in self.blocks if b.role == "outcome"]

    @property
    def headline_blocks(self) -> list[BlockView]:
        return [b for b in ([self.target] if self.target else []) + self.outcomes]

    @property
    def lowest_first(self) -> list[BlockView]:
        return sorted((b for b in self.drivers if b.value is not None), key=lambda b: b.value or 0.0)

    @property
    def ipa_points(self) -> list[BlockView]:
        return sorted((b for b in self.drivers if b.importance is not None),
                      key=lambda b: (b.quadrant != "concentrate_here", -(b.importance or 0.0)))

    @property
    def warnings(self) -> list[str]:
        return list(self.analysis.get("warnings") or [])

    @property
    def r2(self) -> float | None:
        value = self.analysis.get("r2")
        return float(value) if value is not None else None

    @property
    def gof(self) -> float | None:
        value = self.analysis.get("gof")
        return float(value) if value is not None else None

    @property
    def driver_shares(self) -> list[dict[str, Any]]:
        """Per driver: its share of R² by relative weights and by Shapley, in percent."""
        shares = self.analysis.get("drivers") or {}
        labels = {b.name: b.label for b in self.blocks}
        rel = {d["name"]: d for d in shares.get("relative_weights") or []}
        shap = {d["name"]: d for d in shares.get("shapley") or []}
        order = list(rel) or list(shap)
        return [{"name": name, "label": labels.get(name, name),
                 "relative": 100 * rel[name]["share"] if name in rel else None,
                 "shapley": 100 * shap[name]["share"] if name in shap else None,
                 "relative_raw": rel[name]["value"] if name in rel else None,
                 "shapley_raw": shap[name]["value"] if name in shap else None}
                for name in order]

    @property
    def drivers_r2(self) -> float | None:
        value = (self.analysis.get("drivers") or {}).get("r2")
        return float(value) if value is not None else None


BREAKDOWN_TITLES = {"grid": N_("按网格"), "community": N_("按社区"), "group": N_("按特殊群体"), "age": N_("按年龄段")}


def _block_views(analysis: Mapping[str, Any], previous: RoundPoint | None, fitted_before: bool) -> list[BlockView]:
    fitted = bool(analysis.get("fitted"))
    views = []
    for entry in analysis.get("blocks") or []:
        shown = entry.get("index") if fitted else entry.get("mean_index")
        value, lower, upper = _triple(shown)
        importance, imp_lower, imp_upper = _triple(entry.get("importance"))
        before = None
        # Only like with like: a model index against a model index, a mean against a mean.
        if previous is not None and fitted_before == fitted:
            before = (previous.index.get(entry["name"]) or [None])[0]
        views.append(BlockView(
            name=entry["name"], label=entry.get("label") or entry["name"], mechanism=entry.get("mechanism") or "other",
            role=entry.get("role") or "other", items=list(entry.get("items") or []),
            value=value, lower=lower, upper=upper, mean=_triple(entry.get("mean_index"))[0],
            importance=importance, importance_lower=imp_lower, importance_upper=imp_upper,
            quadrant=entry.get("quadrant"), previous=before,
        ))
    return views


def run_view(run: SatisfactionRun, *, principal: Any = None) -> RunView:
    """Everything the run's page shows (a finished run)."""
    analysis = run.analysis or {}
    rounds = rounds_of(run.place, upto=run)
    before = [p for p in rounds if p.run_id != run.pk]
    previous = before[-1] if before else None
    blocks = _block_views(analysis, previous, previous.fitted if previous else False)
    by_name = {b.name: b for b in blocks}
    target = by_name.get(analysis.get("target") or "")
    improvements = []
    for entry in analysis.get("improve") or []:
        block = by_name.get(entry["name"])
        if block is None:
            continue
        improvements.append(Improvement(block=block, rank=int(entry.get("importance_rank") or 0),
                                        drivers=int(entry.get("drivers") or 0),
                                        performance_split=entry.get("performance_split"),
                                        fallback=bool(entry.get("fallback")), weakest=entry.get("weakest")))
    _link_requests(run, improvements)
    _link_comments(run, improvements)
    breakdowns = []
    for kind, rows in (analysis.get("breakdowns") or {}).items():
        table = []
        for row in rows:
            if not row.get("n"):
                continue  # an option nobody chose, a grid nobody answered from
            value, lower, upper = _triple(row.get("target"))
            table.append(BreakdownRow(row["label"], int(row["n"]), bool(row["enough"]), value, lower, upper))
        breakdowns.append((kind, _(BREAKDOWN_TITLES.get(kind, kind)), table))
    rates = response_rates(run.questionnaire) if run.questionnaire is not None else None
    return RunView(run=run, analysis=analysis, blocks=blocks, target=target, improvements=improvements,
                   breakdowns=breakdowns, rounds=rounds, previous=previous, rates=rates,
                   paths=_paths(run), reliability=_reliability(run, by_name))


def _paths(run: SatisfactionRun) -> list[dict[str, Any]]:
    result = run.result or {}
    boot = (result.get("bootstrap") or {}).get("paths") or {}
    out = []
    for label, value in (result.get("paths") or {}).items():
        source, _sep, target = label.partition("->")
        ci = boot.get(label) or {}
        out.append({"source": source, "target": target, "value": value, "lower": ci.get("lower"),
                    "upper": ci.get("upper")})
    return out


def _reliability(run: SatisfactionRun, blocks: Mapping[str, BlockView]) -> list[dict[str, Any]]:
    result = run.result or {}
    return [{"name": name, "label": blocks[name].label if name in blocks else name, **row}
            for name, row in (result.get("reliability") or {}).items()]


# The requests and comments behind each thing to improve ---------------------------------------------

def _link_requests(run: SatisfactionRun, improvements: list[Improvement]) -> None:
    """Open requests and low return-visit ratings of the past year in the categories of
    each mechanism, at the run's place (two queries)."""
    if not improvements:
        return
    categories = list(Category.objects.order_by("order", "code").only("id", "code", "name"))
    since = timezone.now() - timedelta(days=365)
    rows = (Request.objects.filter(place_path__startswith=run.place_path).order_by().values("category_id")
            .annotate(open=Count("pk", filter=Q(status__in=OPEN_STATUSES)),
                      low=Count("pk", filter=Q(rating__lte=LOW_RATING, rated_at__gte=since))))
    counts = {row["category_id"]: (row["open"], row["low"]) for row in rows}
    queue = reverse("requests:queue")
    for item in improvements:
        codes = MECHANISM_CATEGORIES.get(item.block.mechanism, ())
        chosen = categories if codes is None else [c for c in categories if c.code in codes]
        item.all_requests_url = queue if codes is None else ""
        for category in chosen:
            open_count, low = counts.get(category.pk, (0, 0))
            item.open_requests += open_count
            item.low_ratings += low
            if open_count or low or codes is not None:
                item.categories.append(CategoryLink(category.name, f"{queue}?category={category.pk}", open_count, low))


def _keywords(item: Improvement, categories: Mapping[str, str]) -> set[str]:
    words = set(MECHANISM_WORDS.get(item.block.mechanism, ()))
    codes = MECHANISM_CATEGORIES.get(item.block.mechanism, ())
    for code, keywords in categories.items():
        if codes is not None and code in codes:
            words |= {w.strip() for w in keywords.split(",") if len(w.strip()) >= 2}
    if len(item.block.label) >= 2:
        words.add(item.block.label)
    return words


def _link_comments(run: SatisfactionRun, improvements: list[Improvement]) -> None:
    """The written answers behind each thing to improve: those that speak of it, then
    those of residents who rated it low. Read live (three queries), so answers removed
    when the questionnaire's retention ran out are gone here too."""
    questionnaire = run.questionnaire
    if questionnaire is None or not improvements:
        return
    texts_url = reverse("surveys:texts", args=[questionnaire.pk])
    written = (Answer.objects.filter(questionnaire=questionnaire, question__kind=Kind.TEXT).exclude(text="")
               .order_by("id"))
    texts = list(written.values_list("response_id", "text")[:COMMENTS_SCANNED])
    for item in improvements:
        item.texts_url = texts_url
    if not texts:
        return
    items = {i["code"]: item.block.name for item in improvements for i in item.block.items}
    scale = {item.block.name: item.block for item in improvements}
    numbers: dict[Any, dict[str, list[int]]] = {}
    for response_id, code, number in (Answer.objects.filter(questionnaire=questionnaire, question__code__in=items,
                                                            number__isnull=False,
                                                            response_id__in=written.values("response_id"))
                                      .order_by().values_list("response_id", "question__code", "number")):
        numbers.setdefault(response_id, {}).setdefault(items[code], []).append(int(number or 0))
    categories = dict(Category.objects.values_list("code", "keywords"))
    scales = {name: _scale_of(run, name) for name in scale}
    for item in improvements:
        words = _keywords(item, categories)
        spoken, low = [], []
        for response_id, text in texts:
            if any(word in text for word in words):
                spoken.append(text)
                continue
            given = numbers.get(response_id, {}).get(item.block.name)
            bounds = scales.get(item.block.name)
            if given and bounds and 100 * (sum(given) / len(given) - bounds[0]) / (bounds[1] - bounds[0]) <= LOW_SCORE:
                low.append(text)
        chosen = [Comment(_excerpt(text), True) for text in spoken] + [Comment(_excerpt(text), False) for text in low]
        item.comments_total = len(chosen)
        item.comments = chosen[:COMMENTS_SHOWN]


def _scale_of(run: SatisfactionRun, block: str) -> tuple[float, float] | None:
    for entry in (run.analysis or {}).get("blocks") or []:
        if entry["name"] == block and entry.get("scale"):
            low, high = entry["scale"]
            return float(low), float(high)
    return None


def _excerpt(text: str) -> str:
    """One line of at most ``EXCERPT`` characters, without a closing full stop (the page
    puts the quotation in its own sentence)."""
    text = " ".join(text.split()).rstrip("。.")
    return text if len(text) <= EXCERPT else text[:EXCERPT] + "…"


# For the charts --------------------------------------------------------------------------------

def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(float(value), digits)


def run_chart_data(view: RunView, stream: Sequence[StreamPoint]) -> dict[str, Any]:
    """What satisfaction.js draws, as plain data for ``json_script``."""
    quadrants = {q: quadrant_label(q) for q in QUADRANTS}
    ipa_blocks = view.ipa_points
    split = (view.analysis.get("ipa") or {})
    data: dict[str, Any] = {
        "empty": _("暂无数据"),
        "names": {"index": _("指数"), "interval": _("95% 区间"), "importance": _("重要性（对总体满意度的总效应）"),
                  "performance": _("表现（0–100 指数）"), "relative": _("相对权重"), "shapley": _("Shapley 分解"),
                  "rate": _("满意率"), "rated": _("评价件数"), "rating_index": _("回访评价指数"),
                  "answered": _("回收率"), "mean": _("得分")},
        "gauges": [{"name": b.label, "value": _round(b.value), "lower": _round(b.lower), "upper": _round(b.upper)}
                   for b in view.headline_blocks],
        "scores": {"names": [b.label for b in view.drivers], "values": [_round(b.value) for b in view.drivers],
                   "lower": [_round(b.lower) for b in view.drivers], "upper": [_round(b.upper) for b in view.drivers]},
        "ipa": None,
        "drivers": None,
        "trend": {"labels": [p.label for p in view.rounds], "titles": [p.title for p in view.rounds],
                  "values": [_round(p.value) for p in view.rounds], "lower": [_round(p.lower) for p in view.rounds],
                  "upper": [_round(p.upper) for p in view.rounds]},
        "stream": stream_chart_data(stream),
        "rates": None,
        "breakdown": None,
    }
    if ipa_blocks:
        data["ipa"] = {
            "points": [{"name": b.label, "x": _round(b.value), "y": _round(b.importance, 3),
                        "quadrant": b.quadrant or ""} for b in ipa_blocks],
            "xSplit": _round(split.get("performance_split")), "ySplit": _round(split.get("importance_split"), 3),
            "quadrants": quadrants,
        }
    shares = view.driver_shares
    if shares:
        data["drivers"] = {"names": [d["label"] for d in shares],
                           "relative": [_round(d["relative"]) for d in shares],
                           "shapley": [_round(d["shapley"]) for d in shares]}
    if view.rates is not None and view.rates.rows:
        data["rates"] = {"names": [r.name for r in view.rates.rows],
                         "rate": [_round(100 * r.rate) if r.rate is not None else None for r in view.rates.rows],
                         "answered": [r.answered for r in view.rates.rows],
                         "invited": [r.invited for r in view.rates.rows]}
    for kind, title, rows in view.breakdowns:
        if kind in ("grid", "community"):
            shown = [r for r in rows if r.enough]
            if shown:
                data["breakdown"] = {"title": title, "names": [r.label for r in shown],
                                     "values": [_round(r.value) for r in shown],
                                     "lower": [_round(r.lower) for r in shown],
                                     "upper": [_round(r.upper) for r in shown]}
    return data


def stream_chart_data(stream: Sequence[StreamPoint]) -> dict[str, Any]:
    return {"months": [p.label for p in stream], "index": [_round(p.index) for p in stream],
            "lower": [_round(p.interval[0]) for p in stream], "upper": [_round(p.interval[1]) for p in stream],
            "rate": [_round(100 * p.rate) if p.rate is not None else None for p in stream],
            "rated": [p.rated for p in stream]}


def is_stale(run: SatisfactionRun) -> bool:
    """Queued or running for so long that its worker has most likely gone."""
    if not run.pending:
        return False
    since = run.started_at or run.created_at
    return timezone.now() - since > timedelta(minutes=STALE_MINUTES)
