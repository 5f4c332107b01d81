"""The three rates of residents' requests and the composite score (DOMAIN §1; 北京市接诉即办
工作条例 Art. 32), from ``RequestRollup`` only — never a scan of the requests.

The arithmetic is a handful of pure functions over summed counters (``response_rate``
… ``composite_score``, ``Rates.of``). The reads cut the rollups by place node, period,
category, handler and partner, sum them in the database with GROUP BY
(``rollup_cache.RollupReader``), and assemble the dashboard and the ranking in Python.

A zero denominator gives ``None`` (shown as "—"), never 0 % and never an error.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404
from django.utils.translation import gettext as _

from linli.accounts.models import Organisation, User
from linli.insights.periods import Period, month_key, month_period, trend_months
from linli.insights.rollup_cache import ZERO, Counts, Piece, RollupReader, add, split_months
from linli.places.models import SEGMENT, Place, PlaceKind
from linli.requests.access import require_rates
from linli.requests.models import ROLLUP_COUNTERS, Category, RatesConfig
from linli.requests.services import ancestor_paths

# Nodes the rates are kept for: rollups know the community and the grid, nothing finer.
RATES_KINDS = (PlaceKind.DISTRICT, PlaceKind.STREET, PlaceKind.COMMUNITY, PlaceKind.GRID)
# Nodes whose communities can be ranked against each other.
RANKING_KINDS = (PlaceKind.DISTRICT, PlaceKind.STREET)
NO_GRID = 0
# Rollup rows of communities that no longer sit where they were counted.
ELSEWHERE = -1
INDEX = {name: i for i, name in enumerate(ROLLUP_COUNTERS)}


# The arithmetic ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Weights:
    """Weights of the composite score and of "basically satisfied" (RatesConfig)."""

    response: float = 0.1
    resolution: float = 0.5
    satisfaction: float = 0.4
    basic: float = 0.9
    # Where they come from: the place whose RatesConfig applies ("" for the row without a
    # place), or None for the built-in defaults.
    source: str | None = None


DEFAULT_WEIGHTS = Weights()


def ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def response_rate(counts: Mapping[str, int]) -> float | None:
    """响应率: valid cases where the resident was contacted in time ÷ valid cases."""
    return ratio(counts["responded_in_time"], counts["valid"])


def resolution_rate(counts: Mapping[str, int]) -> float | None:
    """解决率: valid cases the resident said were solved ÷ valid cases."""
    return ratio(counts["solved"], counts["valid"])


def timeliness_rate(counts: Mapping[str, int]) -> float | None:
    """按时办结率: valid cases resolved before their deadline ÷ valid cases."""
    return ratio(counts["resolved_in_time"], counts["valid"])


def satisfaction_points(counts: Mapping[str, int], basic_weight: float) -> float:
    return counts["very_satisfied"] + counts["satisfied"] + basic_weight * counts["basically_satisfied"]


def satisfaction_rate(counts: Mapping[str, int], basic_weight: float = DEFAULT_WEIGHTS.basic) -> float | None:
    """满意率: (very satisfied + satisfied + w × basically satisfied) ÷ rated cases. Cases
    of categories left out of the satisfaction rate are not in ``rated``."""
    if not counts["rated"]:
        return None
    return satisfaction_points(counts, basic_weight) / counts["rated"]


def composite_score(response: float | None, resolution: float | None, satisfaction: float | None,
                    weights: Weights = DEFAULT_WEIGHTS) -> float | None:
    """w₁·response + w₂·resolution + w₃·satisfaction; None when any rate has no cases,
    so a missing rate never counts as zero."""
    if response is None or resolution is None or satisfaction is None:
        return None
    return weights.response * response + weights.resolution * resolution + weights.satisfaction * satisfaction


@dataclass(frozen=True)
class Rates:
    counts: dict[str, int]
    response: float | None
    resolution: float | None
    satisfaction: float | None
    timeliness: float | None
    composite: float | None

    @classmethod
    def of(cls, counts: Mapping[str, int] | Counts, weights: Weights = DEFAULT_WEIGHTS) -> Rates:
        named = dict(zip(ROLLUP_COUNTERS, counts, strict=True)) if isinstance(counts, tuple) else dict(counts)
        response, resolution = response_rate(named), resolution_rate(named)
        satisfaction = satisfaction_rate(named, weights.basic)
        return cls(
            counts=named, response=response, resolution=resolution, satisfaction=satisfaction,
            timeliness=timeliness_rate(named),
            composite=composite_score(response, resolution, satisfaction, weights),
        )

    @property
    def satisfied(self) -> int:
        return self.counts["very_satisfied"] + self.counts["satisfied"]

    @property
    def handled(self) -> int:
        """Closed cases: valid ones and the ones closed without dispatch."""
        return self.counts["valid"] + self.counts["not_dispatched"]


def weights_for(place: Place) -> Weights:
    """The RatesConfig nearest to ``place`` on its ancestor chain, else the row without a
    place, else the defaults (one query)."""
    paths = ancestor_paths(place.path)
    rows = list(RatesConfig.objects.filter(Q(place__path__in=paths) | Q(place__isnull=True))
                .values("place__path", "place__name", "response_weight", "resolution_weight",
                        "satisfaction_weight", "basic_weight"))
    if not rows:
        return DEFAULT_WEIGHTS
    best = max(rows, key=lambda r: len(r["place__path"] or ""))
    return Weights(
        response=float(best["response_weight"]), resolution=float(best["resolution_weight"]),
        satisfaction=float(best["satisfaction_weight"]), basic=float(best["basic_weight"]),
        source=best["place__name"] or "",
    )


# Scope ----------------------------------------------------------------------------------------

@dataclass
class RatesScope:
    """The node being looked at, and every node the caller may look at (the choices)."""

    node: Place
    nodes: list[Place]

    def children(self) -> list[Place]:
        return [p for p in self.nodes if p.parent_id == self.node.pk]

    def communities(self) -> list[Place]:
        return [p for p in self.nodes if p.kind == PlaceKind.COMMUNITY and p.path.startswith(self.node.path)]

    @property
    def can_rank(self) -> bool:
        return any(p.kind in RANKING_KINDS for p in self.nodes)

    def choices(self, kinds: Iterable[str] = RATES_KINDS) -> list[Place]:
        wanted = set(kinds)
        return [p for p in self.nodes if p.kind in wanted and (p.is_active or p.pk == self.node.pk)]


def rates_nodes(principal: Any, *, ranking: bool = False) -> list[Place]:
    """Every node the caller may read the rates of (one query); 403 without a rates role
    (or, for the ranking, without a street or district in scope)."""
    paths = require_rates(principal)
    nodes = list(Place.objects.below_any(paths).filter(kind__in=RATES_KINDS)
                 .only("id", "parent_id", "kind", "name", "path", "depth", "is_active", "created_at")
                 .order_by("path"))
    usable = [p for p in nodes if p.kind in RANKING_KINDS] if ranking else nodes
    if not usable:
        raise PermissionDenied
    return nodes


def rates_scope(nodes: list[Place], place_id: int | None, *, ranking: bool = False) -> RatesScope:
    """The node asked for (or the caller's topmost one); 404 outside the scope."""
    usable = [p for p in nodes if p.kind in RANKING_KINDS] if ranking else nodes
    if place_id is None:
        active = [p for p in usable if p.is_active] or usable
        node = min(active, key=lambda p: (p.depth, p.path))
    else:
        found = next((p for p in usable if p.pk == place_id), None)
        if found is None:
            raise Http404
        node = found
    return RatesScope(node=node, nodes=nodes)


def _scope_q(node: Place) -> Q:
    if node.kind == PlaceKind.GRID:
        return Q(community_path=node.path[:-SEGMENT], grid_id=node.pk)
    return Q(community_path__startswith=node.path)


def _scope_key(node: Place) -> tuple[Any, ...]:
    return (node.pk, node.path, node.created_at.isoformat() if node.created_at else "")


def _unit(node: Place) -> str:
    """The rollup column that tells the node's children apart."""
    return "grid_id" if node.kind in (PlaceKind.COMMUNITY, PlaceKind.GRID) else "community_id"


# The dashboard ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Filters:
    period: Period
    category: Category | None = None
    handler: int | None = None
    partner: int | None = None


@dataclass
class Row:
    key: int
    label: str
    rates: Rates
    selected: bool = False
    place: Place | None = None
    code: str = ""  # a category's code, for links
    url: str = ""  # set by the view: the same page, filtered to this row


@dataclass
class TrendPoint:
    key: str
    label: str
    rates: Rates


@dataclass
class Dashboard:
    scope: RatesScope
    filters: Filters
    weights: Weights
    totals: Rates
    trend: list[TrendPoint]
    by_category: list[Row]
    by_place: list[Row]
    by_handler: list[Row]
    by_partner: list[Row]
    categories: list[Category]
    # Intake counts by submission, before anyone handles a request: a handler or
    # partner filter leaves nothing to count.
    intake_counted: bool = True
    child_label: str = ""

    @property
    def node(self) -> Place:
        return self.scope.node

    @property
    def period(self) -> Period:
        return self.filters.period


def _pieces(months: Sequence[tuple[int, int]], period: Period) -> list[tuple[str, bool, Piece]]:
    """Each month of the trend, cut where the period starts and ends."""
    out = []
    for year, month in months:
        whole = month_period(year, month)
        cuts = sorted({whole.start, whole.end + timedelta(days=1)}
                      | {d for d in (period.start, period.end + timedelta(days=1)) if whole.start < d <= whole.end})
        for start, stop in zip(cuts, cuts[1:], strict=False):
            piece = Piece(start, stop - timedelta(days=1))
            out.append((month_key(year, month), period.contains(piece.start), piece))
    return out


def _merge(target: dict[int, Counts], source: Mapping[int, Counts]) -> None:
    for key, counts in source.items():
        target[key] = add(target[key], counts)


def _sum(rows: Iterable[Counts]) -> Counts:
    total = ZERO
    for counts in rows:
        total = add(total, counts)
    return total


def _child_of(scope: RatesScope) -> tuple[dict[int, int], list[Place]]:
    """Map from the unit column (community or grid id) to the child node it lies in."""
    node = scope.node
    children = scope.children()
    if node.kind == PlaceKind.GRID:
        return {node.pk: node.pk}, []
    if node.kind == PlaceKind.COMMUNITY:
        return {c.pk: c.pk for c in children}, children
    by_path = {c.path: c.pk for c in children}
    mapping = {}
    for community in scope.communities():
        child = by_path.get(community.path[: len(node.path) + SEGMENT])
        if child is not None:
            mapping[community.pk] = child
    return mapping, children


def _names(model: type[User] | type[Organisation], ids: set[int]) -> dict[int, str]:
    # Asked even when there is nobody to name (id 0 matches no row), so that the page
    # runs the same queries whatever the data.
    ids = {i for i in ids if i} or {0}
    if model is User:
        return {u.pk: str(u) for u in User.objects.filter(pk__in=ids).only("id", "username", "display_name")}
    return {o.pk: o.name for o in Organisation.objects.filter(pk__in=ids).only("id", "name")}


def dashboard(scope: RatesScope, filters: Filters, *, today: date, categories: list[Category]) -> Dashboard:
    """Everything the rates page shows, in a fixed number of queries whatever the data.

    Each breakdown applies every filter except its own dimension's (so the category
    chart still shows every category, with the chosen one marked)."""
    node, period = scope.node, filters.period
    weights = weights_for(node)
    unit = _unit(node)
    pieces = _pieces(trend_months(period), period)
    hp_filters = {"handler_id": filters.handler, "organisation_id": filters.partner}
    reader = RollupReader(today=today)
    cube = reader.sums(
        scope=_scope_q(node), scope_key=_scope_key(node), pieces=[p for _m, _in, p in pieces],
        group=("category_id", unit), filters={k: v for k, v in hp_filters.items() if v is not None},
    )
    in_period = [p for _m, inside, p in pieces if inside]
    people = reader.sums(
        scope=_scope_q(node), scope_key=_scope_key(node), pieces=in_period,
        group=("handler_id", "organisation_id"),
        filters={"category_id": filters.category.pk} if filters.category else {},
    )
    chosen = filters.category.pk if filters.category else None

    # Trend and totals (every filter), categories (all but the category filter), places.
    # Without a category filter the margins of each piece suffice.
    trend: dict[str, Counts] = {month_key(y, m): ZERO for y, m in trend_months(period)}
    per_category: dict[int, Counts] = defaultdict(lambda: ZERO)
    per_unit: dict[int, Counts] = defaultdict(lambda: ZERO)
    for month, inside, piece in pieces:
        sums = cube[piece]
        if inside:
            _merge(per_category, sums.margins[0])
        if chosen is None:
            trend[month] = add(trend[month], sums.total)
            if inside:
                _merge(per_unit, sums.margins[1])
            continue
        for (category_id, unit_id), counts in sums.rows.items():
            if category_id == chosen:
                trend[month] = add(trend[month], counts)
                if inside:
                    per_unit[unit_id] = add(per_unit[unit_id], counts)
    totals = _sum(per_unit.values())

    # Handlers (all but the handler filter) and partners (all but the partner filter).
    per_handler: dict[int, Counts] = defaultdict(lambda: ZERO)
    per_partner: dict[int, Counts] = defaultdict(lambda: ZERO)
    for piece in in_period:
        sums = people[piece]
        if filters.partner is None:
            _merge(per_handler, sums.margins[0])
        if filters.handler is None:
            _merge(per_partner, sums.margins[1])
        if filters.partner is None and filters.handler is None:
            continue
        for (handler_id, organisation_id), counts in sums.rows.items():
            if filters.partner is not None and organisation_id == filters.partner:
                per_handler[handler_id] = add(per_handler[handler_id], counts)
            if filters.handler is not None and handler_id == filters.handler:
                per_partner[organisation_id] = add(per_partner[organisation_id], counts)

    users = _names(User, set(per_handler))
    organisations = _names(Organisation, set(per_partner))
    return Dashboard(
        scope=scope, filters=filters, weights=weights,
        totals=Rates.of(totals, weights),
        trend=[TrendPoint(key, _("%(y)s年%(m)s月") % {"y": key[:4], "m": int(key[5:])}, Rates.of(c, weights))
               for key, c in trend.items()],
        by_category=_category_rows(categories, per_category, weights, chosen),
        by_place=_place_rows(scope, per_unit, weights),
        by_handler=_people_rows(per_handler, users, weights, filters.handler, none_label=_("未分派到个人")),
        by_partner=_people_rows(per_partner, organisations, weights, filters.partner, none_label=_("社区自办")),
        categories=categories,
        intake_counted=filters.handler is None and filters.partner is None,
        child_label=_child_label(node),
    )


def _child_label(node: Place) -> str:
    return {
        PlaceKind.DISTRICT: _("街道"), PlaceKind.STREET: _("社区"), PlaceKind.COMMUNITY: _("网格"),
    }.get(PlaceKind(node.kind), "")


def _category_rows(categories: list[Category], per_category: Mapping[int, Counts], weights: Weights,
                   chosen: int | None) -> list[Row]:
    rows = []
    for category in categories:
        counts = per_category.get(category.pk, ZERO)
        if counts == ZERO and category.pk != chosen:
            continue
        rows.append(Row(category.pk, category.name, Rates.of(counts, weights), selected=category.pk == chosen,
                        code=category.code))
    return rows


def _place_rows(scope: RatesScope, per_unit: Mapping[int, Counts], weights: Weights) -> list[Row]:
    node = scope.node
    if node.kind == PlaceKind.GRID:
        return []
    mapping, children = _child_of(scope)
    per_child: dict[int, Counts] = defaultdict(lambda: ZERO)
    for unit_id, counts in per_unit.items():
        child = mapping.get(unit_id, NO_GRID if node.kind == PlaceKind.COMMUNITY and unit_id == NO_GRID else ELSEWHERE)
        per_child[child] = add(per_child[child], counts)
    rows = [Row(c.pk, c.name, Rates.of(per_child.get(c.pk, ZERO), weights), place=c)
            for c in children if c.is_active or c.pk in per_child]
    if NO_GRID in per_child and node.kind == PlaceKind.COMMUNITY:
        rows.append(Row(NO_GRID, _("未划入网格"), Rates.of(per_child[NO_GRID], weights)))
    if ELSEWHERE in per_child:
        rows.append(Row(ELSEWHERE, _("已调整的地点"), Rates.of(per_child[ELSEWHERE], weights)))
    return rows


def _people_rows(per_key: Mapping[int, Counts], names: Mapping[int, str], weights: Weights, chosen: int | None,
                 *, none_label: str) -> list[Row]:
    valid, not_dispatched = INDEX["valid"], INDEX["not_dispatched"]
    rows = []
    for key, counts in per_key.items():
        # The row of intake counts alone (handler and partner are 0 there) rates nobody.
        if not counts[valid] and not counts[not_dispatched] and key != chosen:
            continue
        label = none_label if key == 0 else names.get(key, f"#{key}")
        rows.append(Row(key, label, Rates.of(counts, weights), selected=key == chosen))
    rows.sort(key=lambda r: (r.key == 0, -r.rates.counts["valid"], r.label))
    return rows


# The ranking ------------------------------------------------------------------------------

@dataclass
class RankRow:
    place: Place
    rates: Rates
    previous: Rates
    rank: int | None = None
    previous_rank: int | None = None
    url: str = ""  # set by the view: the community's rates

    @property
    def change(self) -> int | None:
        """Places moved up (positive) or down since the previous period."""
        if self.rank is None or self.previous_rank is None:
            return None
        return self.previous_rank - self.rank


@dataclass
class Ranking:
    scope: RatesScope
    period: Period
    previous: Period
    weights: Weights
    rows: list[RankRow] = field(default_factory=list)
    category: Category | None = None
    categories: list[Category] = field(default_factory=list)

    @property
    def node(self) -> Place:
        return self.scope.node


def _rank(values: Sequence[tuple[Any, float | None]]) -> dict[Any, int]:
    """Competition ranking (1, 2, 2, 4) by descending value; no value, no rank."""
    ordered = sorted([(k, round(v, 9)) for k, v in values if v is not None], key=lambda kv: -kv[1])
    ranks: dict[Any, int] = {}
    for position, (key, value) in enumerate(ordered, start=1):
        if position > 1 and value == ordered[position - 2][1]:
            ranks[key] = ranks[ordered[position - 2][0]]
        else:
            ranks[key] = position
    return ranks


def ranking(scope: RatesScope, period: Period, *, today: date, categories: list[Category],
            category: Category | None = None) -> Ranking:
    """The communities below a street (or district) by composite score, with their rank
    in the previous period of the same length."""
    node = scope.node
    weights = weights_for(node)
    previous = period.previous()
    now_pieces = split_months(period.start, period.end)
    before_pieces = split_months(previous.start, previous.end)
    sums = RollupReader(today=today).sums(scope=_scope_q(node), scope_key=_scope_key(node),
                                          pieces=now_pieces + before_pieces, group=("category_id", "community_id"),
                                          filters={})
    chosen = category.pk if category else None

    def per_community(pieces: list[Piece]) -> dict[int, Counts]:
        out: dict[int, Counts] = defaultdict(lambda: ZERO)
        for piece in pieces:
            if chosen is None:
                _merge(out, sums[piece].margins[1])
                continue
            for (category_id, community_id), counts in sums[piece].rows.items():
                if category_id == chosen:
                    out[community_id] = add(out[community_id], counts)
        return out

    now, before = per_community(now_pieces), per_community(before_pieces)
    rows = [RankRow(c, Rates.of(now.get(c.pk, ZERO), weights), Rates.of(before.get(c.pk, ZERO), weights))
            for c in scope.communities() if c.is_active or c.pk in now]
    ranks = _rank([(r.place.pk, r.rates.composite) for r in rows])
    previous_ranks = _rank([(r.place.pk, r.previous.composite) for r in rows])
    for row in rows:
        row.rank = ranks.get(row.place.pk)
        row.previous_rank = previous_ranks.get(row.place.pk)
    rows.sort(key=lambda r: (r.rank is None, r.rank or 0, r.place.path))
    return Ranking(scope=scope, period=period, previous=previous, weights=weights, rows=rows, category=category,
                   categories=categories)
