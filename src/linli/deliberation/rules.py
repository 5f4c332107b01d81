"""The outcome rules of votes (DOMAIN §2), as pure functions over exact fractions.

Nothing here touches the database or a float. A vote is counted as *groups*: every
distinct canonical choice with the headcount and the exclusive area of the ballots
that made it (a single ballot is a group of one), so the database can aggregate and
the verifier can count a published list ballot by ballot, and both reach the same
``Outcome``. Every threshold is a ``Check`` that records the value, what it was
compared with, the threshold and whether "以上" (≥) or "过半数" (>) applies, so the
published record explains the result with the exact fractions.

Areas are integers in ``AREA_SCALE`` units (1/10,000 m²): sums of areas are exact in
SQL on every database, and become ``Fraction``s only here.

Rules
- ``civil_code_ordinary`` / ``civil_code_special`` (民法典 Art. 278): owners holding
  ≥ 2/3 of the exclusive area AND ≥ 2/3 of the owners by headcount take part; an
  ordinary matter passes with > 1/2 of the participating area AND > 1/2 of the
  participating owners, a special matter with ≥ 3/4 of both. "以上" includes the
  number (Art. 1259), "过半数" does not.
- ``residents_meeting`` (城市居民委员会组织法): more than half of the body is present,
  and a choice needs more than half of those present.
- ``simple_majority``: a motion passes with more votes for than against (abstentions
  do not count); in a choice between options the options with the most votes win.
- ``instant_runoff``: ranked ballots; the last option is eliminated round by round
  until one holds more than half of the ballots still in the count (tie rule below).

Ties are never broken by lot: options tied at the last seat are reported as ``tied``
and the seat stays undecided, for the meeting to settle (for example by a run-off).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from django.utils.translation import gettext as _

AREA_SCALE = 10_000  # areas are stored as integers of 1/10,000 m²

# Question kinds.
YES_NO = "yes_no"
SINGLE = "single"
MULTIPLE = "multiple"
RANKED = "ranked"
KINDS = (YES_NO, SINGLE, MULTIPLE, RANKED)

# The answers of a yes/no question, in ballot order; and the blank ballot of the other kinds.
FOR, AGAINST, ABSTAIN = "for", "against", "abstain"
YES_NO_ANSWERS = (FOR, AGAINST, ABSTAIN)
BLANK = "-"
MULTI_SEP = "+"
RANK_SEP = ">"

# Rules.
CIVIL_CODE_ORDINARY = "civil_code_ordinary"
CIVIL_CODE_SPECIAL = "civil_code_special"
RESIDENTS_MEETING = "residents_meeting"
SIMPLE_MAJORITY = "simple_majority"
INSTANT_RUNOFF = "instant_runoff"
RULES = (CIVIL_CODE_ORDINARY, CIVIL_CODE_SPECIAL, RESIDENTS_MEETING, SIMPLE_MAJORITY, INSTANT_RUNOFF)
CIVIL_CODE_RULES = (CIVIL_CODE_ORDINARY, CIVIL_CODE_SPECIAL)

# The law's numbers.
PARTICIPATION = Fraction(2, 3)  # Art. 278: "三分之二以上" → ≥
ORDINARY_APPROVAL = Fraction(1, 2)  # "过半数" → >
SPECIAL_APPROVAL = Fraction(3, 4)  # "四分之三以上" → ≥
MEETING_QUORUM = Fraction(1, 2)  # 居民会议: "过半数" present → >
MEETING_MAJORITY = Fraction(1, 2)  # "过半数" of those present → >
HALF = Fraction(1, 2)


class ChoiceError(ValueError):
    """A ballot that the question does not allow; the message is for people."""


# Questions and choices -----------------------------------------------------------------

@dataclass(frozen=True)
class Question:
    kind: str
    options: tuple[str, ...] = ()  # option keys in ballot order (ignored for yes/no)
    min_choices: int = 1
    max_choices: int = 1
    seats: int = 1

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown question kind {self.kind!r}")
        if self.kind != YES_NO:
            if len(self.options) < 2 or len(set(self.options)) != len(self.options):
                raise ValueError("a choice needs at least two distinct options")
            for key in self.options:
                if not key or any(sep in key for sep in (MULTI_SEP, RANK_SEP, BLANK, " ")):
                    raise ValueError(f"option key {key!r} may not be empty or contain + > - or spaces")
        if self.kind == MULTIPLE and not 1 <= self.min_choices <= self.max_choices <= len(self.options):
            raise ValueError("multiple choice needs 1 <= min <= max <= options")
        if not 1 <= self.seats <= max(1, len(self.options)):
            raise ValueError("seats must be between 1 and the number of options")
        if self.kind in (YES_NO, SINGLE, RANKED) and self.seats != 1:
            raise ValueError("only multiple choice elects more than one option")

    @property
    def keys(self) -> tuple[str, ...]:
        return YES_NO_ANSWERS if self.kind == YES_NO else self.options


def choice_key(question: Question, value: Any) -> str:
    """The canonical string of a ballot: ``for``/``against``/``abstain``; an option key;
    ``A+C`` (options in ballot order); ``B>A>C`` (a ranking); ``-`` (a blank ballot).

    ``value`` may be the canonical string itself, an option key, a sequence of keys, or
    ``None`` for an abstention. Raises ``ChoiceError``."""
    if question.kind == YES_NO:
        if value is None:
            return ABSTAIN
        if isinstance(value, str) and value in YES_NO_ANSWERS:
            return value
        raise ChoiceError(_("请选择赞成、反对或弃权。"))
    if value is None or value == BLANK or (isinstance(value, (list, tuple)) and not value):
        return BLANK
    if isinstance(value, str):
        sep = RANK_SEP if question.kind == RANKED else MULTI_SEP
        items = [part.strip() for part in value.split(sep)] if sep in value else [value.strip()]
    elif isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
        items = [item.strip() for item in value]
    else:
        raise ChoiceError(_("无法识别的选票内容。"))
    unknown = [item for item in items if item not in question.options]
    if unknown:
        raise ChoiceError(_("选票中有不存在的选项。"))
    if len(set(items)) != len(items):
        raise ChoiceError(_("同一选项不能选择两次。"))
    if question.kind == SINGLE:
        if len(items) != 1:
            raise ChoiceError(_("本次表决只能选择一项。"))
        return items[0]
    if question.kind == MULTIPLE:
        if not question.min_choices <= len(items) <= question.max_choices:
            if question.min_choices == question.max_choices:
                raise ChoiceError(_("请选择 %(n)d 项。") % {"n": question.min_choices})
            raise ChoiceError(_("请选择 %(min)d 至 %(max)d 项。") % {"min": question.min_choices, "max": question.max_choices})
        order = {key: i for i, key in enumerate(question.options)}
        return MULTI_SEP.join(sorted(items, key=order.__getitem__))
    return RANK_SEP.join(items)  # a ranking may leave options out


def choice_items(question: Question, key: str) -> tuple[str, ...]:
    """The options a canonical choice names (in ranking order for a ranking)."""
    if key in (BLANK, ABSTAIN):
        return ()
    if question.kind == YES_NO:
        return (key,)
    if question.kind == MULTIPLE:
        return tuple(key.split(MULTI_SEP))
    if question.kind == RANKED:
        return tuple(key.split(RANK_SEP))
    return (key,)


# Counting --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Group:
    """Ballots with one canonical choice: how many people and how much area."""

    choice: str
    headcount: int
    area: int = 0  # AREA_SCALE units


@dataclass(frozen=True)
class Body:
    """Who may vote: ``headcount`` people (owners, residents, households) holding
    ``area`` (AREA_SCALE units, owners only). ``present`` is the attendance of a
    residents' meeting; ``None`` means those who cast a ballot."""

    headcount: int
    area: int = 0
    present: int | None = None


def merge(groups: Iterable[Group]) -> list[Group]:
    """One group per choice (so the result never depends on how ballots were grouped)."""
    heads: Counter[str] = Counter()
    areas: Counter[str] = Counter()
    for group in groups:
        heads[group.choice] += group.headcount
        areas[group.choice] += group.area
    return [Group(choice, heads[choice], areas[choice]) for choice in sorted(heads)]


def area_fraction(units: int) -> Fraction:
    return Fraction(units, AREA_SCALE)


def parse_area(text: str | int | Decimal) -> int:
    """'89.37' → 893700 units. Raises ValueError beyond four decimals or below zero."""
    try:
        value = Decimal(str(text).strip())
    except InvalidOperation:
        raise ValueError("not a number") from None
    if not value.is_finite() or value < 0:
        raise ValueError("not a non-negative number")
    units = value * AREA_SCALE
    if units != units.to_integral_value():
        raise ValueError("more than four decimals")
    return int(units)


def format_area(units: int) -> str:
    """893700 → '89.37' (at least two decimals, at most four)."""
    whole, rest = divmod(units, AREA_SCALE)
    decimals = f"{rest:04d}".rstrip("0").ljust(2, "0")
    return f"{whole}.{decimals}"


def fraction_text(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


def parse_fraction(text: str) -> Fraction:
    return Fraction(text)


@dataclass(frozen=True)
class Check:
    """``value`` compared with ``threshold`` × ``base``: ``value/base > threshold`` when
    ``strict`` ("过半数"), ``≥`` otherwise ("以上"). A check against an empty base fails."""

    key: str
    value: Fraction
    base: Fraction
    threshold: Fraction
    strict: bool
    option: str | None = None

    @property
    def share(self) -> Fraction | None:
        return self.value / self.base if self.base else None

    @property
    def passed(self) -> bool:
        if self.base <= 0:
            return False
        if self.strict:
            return self.value > self.threshold * self.base
        return self.value >= self.threshold * self.base

    def as_dict(self) -> dict[str, Any]:
        share = self.share
        return {
            "key": self.key, "option": self.option, "value": fraction_text(self.value),
            "base": fraction_text(self.base), "share": fraction_text(share) if share is not None else None,
            "threshold": fraction_text(self.threshold), "op": ">" if self.strict else ">=", "passed": self.passed,
        }


@dataclass(frozen=True)
class OptionResult:
    key: str
    headcount: int
    area: int
    checks: tuple[Check, ...] = ()
    approved: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "headcount": self.headcount, "area": format_area(self.area),
                "checks": [check.as_dict() for check in self.checks], "approved": self.approved}


@dataclass(frozen=True)
class Round:
    """One round of an instant run-off: each continuing option's count."""

    number: int
    counts: tuple[tuple[str, int], ...]
    exhausted: int
    eliminated: str | None = None
    tie_break: str | None = None  # "previous_rounds" or "ballot_order" when a tie was broken

    def as_dict(self) -> dict[str, Any]:
        return {"number": self.number, "counts": dict(self.counts), "exhausted": self.exhausted,
                "eliminated": self.eliminated, "tie_break": self.tie_break}


@dataclass(frozen=True)
class Outcome:
    rule: str
    kind: str
    participants: int  # headcount of ballots cast (blank ones and abstentions included)
    participating_area: int
    checks: tuple[Check, ...]  # participation or quorum
    options: tuple[OptionResult, ...]
    winners: tuple[str, ...]
    tied: tuple[str, ...] = ()
    rounds: tuple[Round, ...] = ()
    seats: int = 1
    present: int | None = None

    @property
    def passed(self) -> bool:
        """A motion carried, or (for a choice) at least one option won."""
        return bool(self.winners)

    @property
    def conditions_met(self) -> bool:
        return all(check.passed for check in self.checks)

    def option(self, key: str) -> OptionResult:
        return next(result for result in self.options if result.key == key)

    def as_dict(self) -> dict[str, Any]:
        """The machine-readable outcome: what the published record states and what a
        verifier recomputes (no translated text in it, so it never changes with the
        language of whoever looks)."""
        return {
            "rule": self.rule, "kind": self.kind, "participants": self.participants,
            "participating_area": format_area(self.participating_area), "present": self.present,
            "checks": [check.as_dict() for check in self.checks],
            "options": [option.as_dict() for option in self.options],
            "winners": list(self.winners), "tied": list(self.tied), "passed": self.passed, "seats": self.seats,
            "rounds": [r.as_dict() for r in self.rounds],
        }


def _option_totals(question: Question, groups: Sequence[Group]) -> dict[str, tuple[int, int]]:
    """Per option: the headcount and area of the ballots that choose it (a ranking's
    first preference)."""
    totals = {key: [0, 0] for key in question.keys}
    for group in groups:
        items = choice_items(question, group.choice)
        if question.kind == RANKED:
            items = items[:1]
        if question.kind == YES_NO and group.choice == ABSTAIN:
            items = (ABSTAIN,)
        for item in items:
            totals[item][0] += group.headcount
            totals[item][1] += group.area
    return {key: (heads, area) for key, (heads, area) in totals.items()}


def _top(question: Question, ranked: Sequence[OptionResult], seats: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The best ``seats`` options by headcount, then area; options tied across the last
    seat are returned as tied instead (that seat stays undecided)."""
    order = {key: i for i, key in enumerate(question.keys)}
    ranking = sorted(ranked, key=lambda r: (-r.headcount, -r.area, order[r.key]))
    if len(ranking) <= seats:
        return tuple(r.key for r in ranking), ()
    boundary = (ranking[seats - 1].headcount, ranking[seats - 1].area)
    if (ranking[seats].headcount, ranking[seats].area) != boundary:
        return tuple(r.key for r in ranking[:seats]), ()
    winners = tuple(r.key for r in ranking[:seats] if (r.headcount, r.area) != boundary)
    tied = tuple(r.key for r in ranking if (r.headcount, r.area) == boundary)
    return winners, tied


def _check_groups(question: Question, groups: Sequence[Group]) -> list[Group]:
    merged = merge(groups)
    for group in merged:
        if group.headcount < 0 or group.area < 0:
            raise ValueError("negative counts")
        if choice_key(question, group.choice if group.choice != BLANK else None) != group.choice:
            raise ChoiceError(f"choice {group.choice!r} is not canonical for this question")
    return [group for group in merged if group.headcount or group.area]


def civil_code(*, question: Question, body: Body, groups: Sequence[Group], special: bool) -> Outcome:
    """民法典 Art. 278: participation by area AND headcount, then approval by area AND
    headcount of those participating."""
    if question.kind == RANKED:
        raise ValueError("Art. 278 needs a double majority; a ranking cannot give one")
    groups = _check_groups(question, groups)
    heads = sum(g.headcount for g in groups)
    area = sum(g.area for g in groups)
    if heads > body.headcount or area > body.area:
        raise ValueError("more participation than the body holds")
    checks = (
        Check("participation_area", area_fraction(area), area_fraction(body.area), PARTICIPATION, strict=False),
        Check("participation_headcount", Fraction(heads), Fraction(body.headcount), PARTICIPATION, strict=False),
    )
    threshold, strict = (SPECIAL_APPROVAL, False) if special else (ORDINARY_APPROVAL, True)
    totals = _option_totals(question, groups)
    results = []
    for key in question.keys:
        o_heads, o_area = totals[key]
        if question.kind == YES_NO and key != FOR:
            results.append(OptionResult(key, o_heads, o_area))
            continue
        option_checks = (
            Check("approval_area", area_fraction(o_area), area_fraction(area), threshold, strict, key),
            Check("approval_headcount", Fraction(o_heads), Fraction(heads), threshold, strict, key),
        )
        approved = all(c.passed for c in checks) and all(c.passed for c in option_checks)
        results.append(OptionResult(key, o_heads, o_area, option_checks, approved))
    approved_options = [r for r in results if r.approved]
    winners, tied = _top(question, approved_options, question.seats)
    return Outcome(CIVIL_CODE_SPECIAL if special else CIVIL_CODE_ORDINARY, question.kind, heads, area, checks,
                   tuple(results), winners, tied, seats=question.seats)


def civil_code_ordinary(*, question: Question, body: Body, groups: Sequence[Group]) -> Outcome:
    return civil_code(question=question, body=body, groups=groups, special=False)


def civil_code_special(*, question: Question, body: Body, groups: Sequence[Group]) -> Outcome:
    return civil_code(question=question, body=body, groups=groups, special=True)


def residents_meeting(*, question: Question, body: Body, groups: Sequence[Group]) -> Outcome:
    """城市居民委员会组织法: quorum > 1/2 of the body present; a choice needs > 1/2 of
    those present (so absent-minded abstention counts against, as the law reads)."""
    if question.kind == RANKED:
        raise ValueError("a residents' meeting decides by majority of those present, not by ranking")
    groups = _check_groups(question, groups)
    heads = sum(g.headcount for g in groups)
    present = body.present if body.present is not None else heads
    if present < heads or present > body.headcount:
        raise ValueError("those present must include every voter and be part of the body")
    checks = (Check("quorum", Fraction(present), Fraction(body.headcount), MEETING_QUORUM, strict=True),)
    totals = _option_totals(question, groups)
    results = []
    for key in question.keys:
        o_heads, o_area = totals[key]
        if question.kind == YES_NO and key != FOR:
            results.append(OptionResult(key, o_heads, o_area))
            continue
        option_checks = (Check("majority_of_present", Fraction(o_heads), Fraction(present), MEETING_MAJORITY,
                               strict=True, option=key),)
        approved = checks[0].passed and option_checks[0].passed
        results.append(OptionResult(key, o_heads, o_area, option_checks, approved))
    winners, tied = _top(question, [r for r in results if r.approved], question.seats)
    return Outcome(RESIDENTS_MEETING, question.kind, heads, sum(g.area for g in groups), checks, tuple(results),
                   winners, tied, seats=question.seats, present=present)


def simple_majority(*, question: Question, body: Body, groups: Sequence[Group]) -> Outcome:
    """A motion: more for than against. A choice: the most votes win (ties unresolved)."""
    if question.kind == RANKED:
        raise ValueError("ranked ballots are counted by instant run-off")
    groups = _check_groups(question, groups)
    heads = sum(g.headcount for g in groups)
    if heads > body.headcount:
        raise ValueError("more ballots than voters")
    totals = _option_totals(question, groups)
    if question.kind == YES_NO:
        yes, no = totals[FOR][0], totals[AGAINST][0]
        check = Check("more_for_than_against", Fraction(yes), Fraction(yes + no), HALF, strict=True, option=FOR)
        results = tuple(
            OptionResult(key, *totals[key], checks=(check,) if key == FOR else (),
                         approved=key == FOR and check.passed)
            for key in question.keys
        )
        winners: tuple[str, ...] = (FOR,) if check.passed else ()
        return Outcome(SIMPLE_MAJORITY, question.kind, heads, sum(g.area for g in groups), (), results, winners,
                       seats=1)
    results = tuple(OptionResult(key, *totals[key], approved=totals[key][0] > 0) for key in question.keys)
    winners, tied = _top(question, [r for r in results if r.approved], question.seats)
    results = tuple(OptionResult(r.key, r.headcount, r.area, approved=r.key in winners) for r in results)
    return Outcome(SIMPLE_MAJORITY, question.kind, heads, sum(g.area for g in groups), (), results, winners, tied,
                   seats=question.seats)


def instant_runoff(*, question: Question, body: Body, groups: Sequence[Group]) -> Outcome:
    """Instant run-off over rankings, counting people (headcount).

    Each round counts every ballot for its highest-ranked continuing option; an option
    with more than half of the ballots still in the count (not exhausted) wins. Else
    the option with the fewest votes is eliminated. Tie rule for the elimination: among
    the options tied for fewest, look back through the earlier rounds, latest first,
    and eliminate the one with fewer votes in the latest round where they differ; if
    they were level in every round, eliminate the one listed last on the ballot. When
    every continuing option is tied, no one is eliminated by rule: the count stops
    with those options tied and no winner."""
    if question.kind != RANKED:
        raise ValueError("instant run-off counts ranked ballots")
    groups = _check_groups(question, groups)
    heads = sum(g.headcount for g in groups)
    if heads > body.headcount:
        raise ValueError("more ballots than voters")
    position = {key: i for i, key in enumerate(question.options)}
    rankings = [(choice_items(question, g.choice), g.headcount) for g in groups]
    continuing = list(question.options)
    history: list[dict[str, int]] = []
    rounds: list[Round] = []
    winners: tuple[str, ...] = ()
    tied: tuple[str, ...] = ()
    while continuing:
        counts = dict.fromkeys(continuing, 0)
        exhausted = 0
        alive = set(continuing)
        for ranking, weight in rankings:
            top = next((item for item in ranking if item in alive), None)
            if top is None:
                exhausted += weight
            else:
                counts[top] += weight
        history.append(counts)
        in_count = heads - exhausted
        ordered = tuple(sorted(counts.items(), key=lambda kv: position[kv[0]]))
        leader = max(counts.values())
        if in_count and 2 * leader > in_count:
            winners = tuple(key for key, n in counts.items() if n == leader)
            rounds.append(Round(len(rounds) + 1, ordered, exhausted))
            break
        if in_count == 0:
            rounds.append(Round(len(rounds) + 1, ordered, exhausted))
            break
        lowest = min(counts.values())
        candidates = [key for key in continuing if counts[key] == lowest]
        if len(candidates) == len(continuing):
            tied = tuple(candidates) if len(candidates) > 1 else ()
            if len(candidates) == 1:
                winners = tuple(candidates)
            rounds.append(Round(len(rounds) + 1, ordered, exhausted))
            break
        tie_break = None
        if len(candidates) > 1:
            tie_break = "ballot_order"
            for earlier in reversed(history[:-1]):
                fewest = min(earlier[key] for key in candidates)
                narrowed = [key for key in candidates if earlier[key] == fewest]
                if len(narrowed) < len(candidates):
                    candidates = narrowed
                    tie_break = "previous_rounds"
                    if len(candidates) == 1:
                        break
        eliminated = max(candidates, key=position.__getitem__)
        rounds.append(Round(len(rounds) + 1, ordered, exhausted, eliminated, tie_break))
        continuing.remove(eliminated)
    totals = _option_totals(question, groups)
    results = tuple(OptionResult(key, *totals[key], approved=key in winners) for key in question.options)
    return Outcome(INSTANT_RUNOFF, question.kind, heads, sum(g.area for g in groups), (), results, winners, tied,
                   tuple(rounds), seats=1)


RULE_FUNCTIONS = {
    CIVIL_CODE_ORDINARY: civil_code_ordinary,
    CIVIL_CODE_SPECIAL: civil_code_special,
    RESIDENTS_MEETING: residents_meeting,
    SIMPLE_MAJORITY: simple_majority,
    INSTANT_RUNOFF: instant_runoff,
}


def rule_fits(rule: str, question_kind: str, *, weighted: bool) -> bool:
    """Which rules apply to which questions and bodies: Art. 278 needs owners weighted
    by area (and a question it can approve by double majority); ranked ballots are
    counted by instant run-off alone, and only by headcount."""
    if rule not in RULE_FUNCTIONS or question_kind not in KINDS:
        return False
    if rule in CIVIL_CODE_RULES:
        return weighted and question_kind != RANKED
    if weighted:
        return False
    if rule == INSTANT_RUNOFF:
        return question_kind == RANKED
    return question_kind != RANKED


def decide(*, rule: str, question: Question, body: Body, groups: Sequence[Group]) -> Outcome:
    if rule not in RULE_FUNCTIONS:
        raise ValueError(f"unknown rule {rule!r}")
    return RULE_FUNCTIONS[rule](question=question, body=body, groups=groups)


def count_ballots(question: Question, ballots: Iterable[tuple[str, int, int]]) -> list[Group]:
    """Groups from single ballots (choice, headcount, area), each checked."""
    heads: Counter[str] = Counter()
    areas: Counter[str] = Counter()
    for choice, headcount, area in ballots:
        key = choice_key(question, None if choice == BLANK else choice)
        if key != choice:
            raise ChoiceError(f"choice {choice!r} is not canonical")
        heads[key] += headcount
        areas[key] += area
    return [Group(key, heads[key], areas[key]) for key in sorted(heads)]


def question_from_dict(data: Mapping[str, Any]) -> Question:
    return Question(
        kind=str(data["kind"]), options=tuple(str(o["key"]) for o in data.get("options", [])),
        min_choices=int(data.get("min_choices", 1)), max_choices=int(data.get("max_choices", 1)),
        seats=int(data.get("seats", 1)),
    )


def percent_text(value: Fraction, places: int = 2) -> str:
    """A share as a rounded percentage for people to read (the fraction is what counts)."""
    scaled = value * 100 * 10**places
    rounded = (scaled.numerator * 2 + scaled.denominator) // (scaled.denominator * 2)  # half up
    whole, rest = divmod(rounded, 10**places)
    return f"{whole}.{rest:0{places}d}%"


def _check_line(check: Check, labels: Mapping[str, str]) -> str:
    option = labels.get(check.option or "", check.option or "")
    threshold = fraction_text(check.threshold)
    op = _("超过 %(t)s（过半数，不含本数）") if check.strict else _("达到 %(t)s 以上（含本数）")
    required = op % {"t": threshold}
    texts = {
        "participation_area": _("参与表决的专有部分面积 %(value)s ㎡ / 总面积 %(base)s ㎡"),
        "participation_headcount": _("参与表决的业主 %(value)s 人 / 业主总人数 %(base)s 人"),
        "approval_area": _("“%(option)s”的同意面积 %(value)s ㎡ / 参与表决面积 %(base)s ㎡"),
        "approval_headcount": _("“%(option)s”的同意人数 %(value)s 人 / 参与表决人数 %(base)s 人"),
        "quorum": _("到会 %(value)s 人 / 应到 %(base)s 人"),
        "majority_of_present": _("“%(option)s”得票 %(value)s / 到会 %(base)s 人"),
        "more_for_than_against": _("赞成 %(value)s 票 / 赞成与反对合计 %(base)s 票"),
    }
    area_keys = {"participation_area", "approval_area"}

    def number(value: Fraction, key: str) -> str:
        if key in area_keys and (value * AREA_SCALE).denominator == 1:
            return format_area(int(value * AREA_SCALE))
        return fraction_text(value)

    head = texts.get(check.key, check.key) % {
        "option": option, "value": number(check.value, check.key), "base": number(check.base, check.key),
    }
    share = check.share
    share_text = (f"{fraction_text(share)}（≈{percent_text(share)}）" if share is not None else _("无（基数为零）"))
    verdict = _("满足") if check.passed else _("不满足")
    return _("%(head)s = %(share)s，要求%(required)s：%(verdict)s") % {
        "head": head, "share": share_text, "required": required, "verdict": verdict,
    }


def explain(outcome: Outcome, labels: Mapping[str, str] | None = None) -> list[str]:
    """The result in sentences, every threshold with its exact fraction."""
    labels = dict(labels or {})
    labels.setdefault(FOR, _("赞成"))
    labels.setdefault(AGAINST, _("反对"))
    labels.setdefault(ABSTAIN, _("弃权"))
    names = {
        CIVIL_CODE_ORDINARY: _("《民法典》第二百七十八条 一般事项"),
        CIVIL_CODE_SPECIAL: _("《民法典》第二百七十八条 特别事项"),
        RESIDENTS_MEETING: _("居民会议（到会过半数，到会人员过半数通过）"),
        SIMPLE_MAJORITY: _("简单多数"),
        INSTANT_RUNOFF: _("排序复选（即时决选）"),
    }
    lines = [_("表决规则：%(rule)s。") % {"rule": names.get(outcome.rule, outcome.rule)}]
    lines.append(_("参与表决 %(n)d 人。") % {"n": outcome.participants})
    lines.extend(_check_line(check, labels) for check in outcome.checks)
    for option in outcome.options:
        lines.append(_("“%(option)s”：%(n)d 人") % {"option": labels.get(option.key, option.key), "n": option.headcount}
                     + (_("，面积 %(area)s ㎡") % {"area": format_area(option.area)} if outcome.participating_area else ""))
        lines.extend(_check_line(check, labels) for check in option.checks)
    for round_ in outcome.rounds:
        counts = "，".join(f"{labels.get(k, k)} {n}" for k, n in round_.counts)
        line = _("第 %(n)d 轮：%(counts)s；已无有效顺位 %(x)d") % {"n": round_.number, "counts": counts,
                                                            "x": round_.exhausted}
        if round_.eliminated:
            line += _("；淘汰“%(o)s”") % {"o": labels.get(round_.eliminated, round_.eliminated)}
            if round_.tie_break == "previous_rounds":
                line += _("（并列最少，按此前各轮得票较少者淘汰）")
            elif round_.tie_break == "ballot_order":
                line += _("（并列最少且此前各轮均相同，淘汰选票上排列靠后者）")
        lines.append(line)
    if outcome.winners:
        if outcome.kind == YES_NO:
            lines.append(_("结果：通过。"))
        else:
            lines.append(_("结果：%(w)s 当选/胜出。") % {"w": "、".join(labels.get(w, w) for w in outcome.winners)})
    elif outcome.kind == YES_NO:
        lines.append(_("结果：未通过。"))
    else:
        lines.append(_("结果：没有选项胜出。"))
    if outcome.tied:
        lines.append(_("%(t)s 票数相同，剩余席位未决，须另行表决。") % {"t": "、".join(labels.get(t, t) for t in outcome.tied)})
    return lines
