"""The outcome rules: boundary cases by hand (exactly 2/3, exactly 1/2, exactly 3/4, by
area and by headcount separately) and properties with hypothesis."""

from __future__ import annotations

import random
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linli.deliberation import rules
from linli.deliberation.rules import ABSTAIN, AGAINST, FOR, Body, Group, Question

YES_NO = Question(kind=rules.YES_NO)
M2 = rules.AREA_SCALE  # one square metre in area units


def outcome(rule: str, body: Body, **answers: tuple[int, int]) -> rules.Outcome:
    """answers: for=(headcount, area in m²) etc."""
    names = {"for_": FOR, "against": AGAINST, "abstain": ABSTAIN}
    groups = [Group(names[key], heads, area * M2) for key, (heads, area) in answers.items()]
    return rules.decide(rule=rule, question=YES_NO, body=body, groups=groups)


def check(result: rules.Outcome, key: str) -> rules.Check:
    every = list(result.checks) + [c for option in result.options for c in option.checks]
    return next(c for c in every if c.key == key)


# Art. 278 participation: "三分之二以上" includes 2/3 ------------------------------------------

def test_participation_exactly_two_thirds_of_area_is_enough() -> None:
    body = Body(headcount=9, area=300 * M2)
    # 200 of 300 m² (exactly 2/3) take part; headcount 9 of 9.
    result = outcome(rules.CIVIL_CODE_ORDINARY, body, for_=(9, 200))
    assert check(result, "participation_area").share == Fraction(2, 3)
    assert check(result, "participation_area").passed
    assert result.passed


def test_participation_just_below_two_thirds_of_area_fails_even_with_everyone_by_headcount() -> None:
    body = Body(headcount=9, area=300 * M2)
    groups = [Group(FOR, 9, 200 * M2 - 1)]  # 0.0001 m² short
    result = rules.civil_code_ordinary(question=YES_NO, body=body, groups=groups)
    assert not check(result, "participation_area").passed
    assert check(result, "participation_headcount").passed
    assert not result.passed


def test_participation_exactly_two_thirds_of_headcount_is_enough() -> None:
    body = Body(headcount=9, area=300 * M2)
    result = outcome(rules.CIVIL_CODE_ORDINARY, body, for_=(6, 290))
    assert check(result, "participation_headcount").share == Fraction(2, 3)
    assert check(result, "participation_headcount").passed and result.passed


def test_participation_one_owner_short_of_two_thirds_fails_even_with_almost_all_area() -> None:
    body = Body(headcount=9, area=300 * M2)
    result = outcome(rules.CIVIL_CODE_ORDINARY, body, for_=(5, 299))
    assert check(result, "participation_area").passed
    assert not check(result, "participation_headcount").passed
    assert not result.passed


# Ordinary matters: "过半数" excludes one half -------------------------------------------------

def test_ordinary_exactly_half_of_participating_area_fails() -> None:
    body = Body(headcount=10, area=1000 * M2)
    # All take part; "for" holds 500 of 1000 m² (exactly 1/2) but 7 of 10 owners.
    result = outcome(rules.CIVIL_CODE_ORDINARY, body, for_=(7, 500), against=(3, 500))
    assert check(result, "approval_area").share == Fraction(1, 2)
    assert not check(result, "approval_area").passed
    assert check(result, "approval_headcount").passed
    assert not result.passed


def test_ordinary_just_over_half_of_participating_area_passes() -> None:
    body = Body(headcount=10, area=1000 * M2)
    groups = [Group(FOR, 7, 500 * M2 + 1), Group(AGAINST, 3, 500 * M2 - 1)]
    result = rules.civil_code_ordinary(question=YES_NO, body=body, groups=groups)
    assert check(result, "approval_area").passed and result.passed


def test_ordinary_exactly_half_of_participating_owners_fails() -> None:
    body = Body(headcount=10, area=1000 * M2)
    result = outcome(rules.CIVIL_CODE_ORDINARY, body, for_=(5, 800), against=(5, 200))
    assert check(result, "approval_headcount").share == Fraction(1, 2)
    assert check(result, "approval_area").passed
    assert not check(result, "approval_headcount").passed
    assert not result.passed


def test_ordinary_abstentions_count_among_the_participants() -> None:
    body = Body(headcount=10, area=1000 * M2)
    # 5 for of 9 participating (> 1/2), area 500 of 900 (> 1/2): passes though 4 abstain.
    result = outcome(rules.CIVIL_CODE_ORDINARY, body, for_=(5, 500), abstain=(4, 400))
    assert check(result, "approval_headcount").base == 9
    assert result.passed
    # One more abstention and "for" is no longer more than half of those taking part.
    result = outcome(rules.CIVIL_CODE_ORDINARY, body, for_=(5, 500), abstain=(5, 500))
    assert not result.passed


# Special matters: "四分之三以上" includes 3/4 --------------------------------------------------

def test_special_exactly_three_quarters_of_area_passes() -> None:
    body = Body(headcount=8, area=400 * M2)
    result = outcome(rules.CIVIL_CODE_SPECIAL, body, for_=(8, 300), against=(0, 0), abstain=(0, 100))
    assert check(result, "approval_area").share == Fraction(3, 4)
    assert check(result, "approval_area").passed


def test_special_just_below_three_quarters_of_area_fails() -> None:
    body = Body(headcount=8, area=400 * M2)
    groups = [Group(FOR, 7, 300 * M2 - 1), Group(AGAINST, 1, 100 * M2 + 1)]
    result = rules.civil_code_special(question=YES_NO, body=body, groups=groups)
    assert check(result, "approval_headcount").passed  # 7/8 of owners
    assert not check(result, "approval_area").passed
    assert not result.passed


def test_special_exactly_three_quarters_of_owners_passes_and_one_less_fails() -> None:
    body = Body(headcount=8, area=400 * M2)
    result = outcome(rules.CIVIL_CODE_SPECIAL, body, for_=(6, 350), against=(2, 50))
    assert check(result, "approval_headcount").share == Fraction(3, 4)
    assert result.passed
    result = outcome(rules.CIVIL_CODE_SPECIAL, body, for_=(5, 350), against=(3, 50))
    assert check(result, "approval_area").passed
    assert not check(result, "approval_headcount").passed
    assert not result.passed


def test_special_needs_more_than_ordinary() -> None:
    body = Body(headcount=10, area=1000 * M2)
    ordinary = outcome(rules.CIVIL_CODE_ORDINARY, body, for_=(7, 700), against=(3, 300))
    special = outcome(rules.CIVIL_CODE_SPECIAL, body, for_=(7, 700), against=(3, 300))
    assert ordinary.passed and not special.passed


# Residents' meeting and simple majority -----------------------------------------------------------

def test_residents_meeting_quorum_of_exactly_half_fails() -> None:
    body = Body(headcount=10, present=5)
    result = outcome(rules.RESIDENTS_MEETING, body, for_=(5, 0))
    assert check(result, "quorum").share == Fraction(1, 2)
    assert not check(result, "quorum").passed and not result.passed
    result = outcome(rules.RESIDENTS_MEETING, Body(headcount=10, present=6), for_=(4, 0))
    assert check(result, "quorum").passed and result.passed


def test_residents_meeting_exactly_half_of_those_present_fails() -> None:
    # 8 present, 4 for: half is not "more than half"; the silent present count against.
    result = outcome(rules.RESIDENTS_MEETING, Body(headcount=10, present=8), for_=(4, 0), against=(1, 0))
    assert check(result, "majority_of_present").share == Fraction(1, 2)
    assert not result.passed


def test_residents_meeting_refuses_fewer_present_than_voters() -> None:
    with pytest.raises(ValueError, match="present"):
        outcome(rules.RESIDENTS_MEETING, Body(headcount=10, present=3), for_=(4, 0))


def test_simple_majority_tie_fails_and_abstentions_do_not_count() -> None:
    assert not outcome(rules.SIMPLE_MAJORITY, Body(headcount=20), for_=(5, 0), against=(5, 0)).passed
    assert outcome(rules.SIMPLE_MAJORITY, Body(headcount=20), for_=(3, 0), against=(2, 0), abstain=(9, 0)).passed


def test_no_participants_means_no_decision() -> None:
    for rule in (rules.CIVIL_CODE_ORDINARY, rules.CIVIL_CODE_SPECIAL, rules.RESIDENTS_MEETING, rules.SIMPLE_MAJORITY):
        result = rules.decide(rule=rule, question=YES_NO, body=Body(headcount=5, area=500 * M2), groups=[])
        assert not result.passed


def test_checks_are_exact_fractions_never_floats() -> None:
    result = outcome(rules.CIVIL_CODE_ORDINARY, Body(headcount=3, area=1 * M2), for_=(3, 1))
    for c in result.checks:
        assert isinstance(c.value, Fraction) and isinstance(c.base, Fraction) and isinstance(c.threshold, Fraction)
    data = result.as_dict()
    assert data["checks"][0] == {"key": "participation_area", "option": None, "value": "1", "base": "1",
                                 "share": "1", "threshold": "2/3", "op": ">=", "passed": True}


def test_explanation_states_every_threshold_with_its_fraction() -> None:
    result = outcome(rules.CIVIL_CODE_ORDINARY, Body(headcount=9, area=300 * M2), for_=(6, 200), against=(0, 0))
    lines = "\n".join(rules.explain(result))
    assert "200.00 ㎡ / 总面积 300.00 ㎡ = 2/3" in lines
    assert "6 人 / 业主总人数 9 人 = 2/3" in lines
    assert "过半数" in lines and "以上" in lines


# Choices: single, multiple with limits, ranked -------------------------------------------------------

def test_multiple_choice_limits_and_canonical_order() -> None:
    q = Question(kind=rules.MULTIPLE, options=("1", "2", "3", "4"), min_choices=2, max_choices=3, seats=2)
    assert rules.choice_key(q, ["3", "1"]) == "1+3"
    assert rules.choice_key(q, "3+1") == "1+3"
    assert rules.choice_key(q, None) == rules.BLANK
    for bad in (["1"], ["1", "2", "3", "4"], ["1", "1"], ["9", "1"], 7):
        with pytest.raises(rules.ChoiceError):
            rules.choice_key(q, bad)


def test_multiple_choice_seats_and_a_tie_at_the_last_seat() -> None:
    q = Question(kind=rules.MULTIPLE, options=("1", "2", "3"), min_choices=1, max_choices=2, seats=2)
    groups = [Group("1+2", 4), Group("1+3", 4), Group("1", 1)]
    result = rules.simple_majority(question=q, body=Body(headcount=20), groups=groups)
    assert result.winners == ("1",)
    assert result.tied == ("2", "3")  # 4 each for the second seat: left undecided


def test_multiple_choice_under_art_278_elects_only_options_with_a_double_majority() -> None:
    q = Question(kind=rules.MULTIPLE, options=("1", "2", "3"), min_choices=1, max_choices=2, seats=2)
    body = Body(headcount=4, area=400 * M2)
    groups = [Group("1+2", 2, 250 * M2), Group("1+3", 1, 100 * M2), Group("3", 1, 50 * M2)]
    result = rules.civil_code_ordinary(question=q, body=body, groups=groups)
    assert result.option("1").approved  # 3 of 4 owners, 350 of 400 m²
    assert not result.option("2").approved  # 2 of 4 owners: not more than half
    assert result.winners == ("1",)


def test_single_choice_plurality_tie_has_no_winner() -> None:
    q = Question(kind=rules.SINGLE, options=("1", "2", "3"))
    result = rules.simple_majority(question=q, body=Body(headcount=9),
                                   groups=[Group("1", 3), Group("2", 3), Group("3", 1)])
    assert result.winners == () and result.tied == ("1", "2")


def test_instant_runoff_transfers_votes() -> None:
    q = Question(kind=rules.RANKED, options=("1", "2", "3"))
    groups = [Group("1>3", 4), Group("2>3", 3), Group("3>2", 2)]
    result = rules.instant_runoff(question=q, body=Body(headcount=9), groups=groups)
    assert [r.eliminated for r in result.rounds] == ["3", None]
    assert result.winners == ("2",)  # 3's voters prefer 2: 5 of 9


def test_instant_runoff_tie_rule_looks_back_then_at_ballot_order() -> None:
    q = Question(kind=rules.RANKED, options=("1", "2", "3", "4"))
    # Round 1: 1=5, 2=4, 3=2, 4=2 -> 3 and 4 tie for fewest with no earlier round: the
    # one listed later on the ballot (4) goes.
    groups = [Group("1", 5), Group("2", 4), Group("3>2", 2), Group("4>3", 2)]
    result = rules.instant_runoff(question=q, body=Body(headcount=13), groups=groups)
    assert result.rounds[0].eliminated == "4" and result.rounds[0].tie_break == "ballot_order"
    # Round 2: 3=4, 1=5, 2=4 -> 2 and 3 tie; in round 1 3 had fewer (2 < 4): 3 goes.
    assert result.rounds[1].eliminated == "3" and result.rounds[1].tie_break == "previous_rounds"
    assert result.winners == ("2",)  # 8 of 13


def test_instant_runoff_all_tied_stops_without_a_winner() -> None:
    q = Question(kind=rules.RANKED, options=("1", "2"))
    result = rules.instant_runoff(question=q, body=Body(headcount=4), groups=[Group("1>2", 2), Group("2>1", 2)])
    assert result.winners == () and result.tied == ("1", "2")


def test_rules_fit_only_their_questions() -> None:
    assert rules.rule_fits(rules.CIVIL_CODE_SPECIAL, rules.YES_NO, weighted=True)
    assert not rules.rule_fits(rules.CIVIL_CODE_SPECIAL, rules.YES_NO, weighted=False)
    assert not rules.rule_fits(rules.SIMPLE_MAJORITY, rules.YES_NO, weighted=True)
    assert rules.rule_fits(rules.INSTANT_RUNOFF, rules.RANKED, weighted=False)
    assert not rules.rule_fits(rules.INSTANT_RUNOFF, rules.SINGLE, weighted=False)
    assert not rules.rule_fits(rules.RESIDENTS_MEETING, rules.RANKED, weighted=False)


def test_areas_parse_exactly() -> None:
    assert rules.parse_area("89.37") == 893700
    assert rules.format_area(893700) == "89.37"
    assert rules.format_area(rules.parse_area("0.0001")) == "0.0001"
    for bad in ("89.00001", "-1", "abc", "NaN"):
        with pytest.raises(ValueError):
            rules.parse_area(bad)


# Properties ------------------------------------------------------------------------------------------

ANSWERS = st.sampled_from([None, FOR, AGAINST, ABSTAIN])  # None: does not vote
owners_st = st.lists(st.tuples(st.integers(1, 3_000_000), ANSWERS), min_size=1, max_size=40)
RULES_YES_NO = [rules.CIVIL_CODE_ORDINARY, rules.CIVIL_CODE_SPECIAL, rules.RESIDENTS_MEETING, rules.SIMPLE_MAJORITY]


def decide_owners(rule: str, owners: list[tuple[int, str | None]]) -> rules.Outcome:
    body = Body(headcount=len(owners), area=sum(area for area, _ in owners))
    ballots = [(answer, 1, area) for area, answer in owners if answer is not None]
    return rules.decide(rule=rule, question=YES_NO, body=body, groups=rules.count_ballots(YES_NO, ballots))


@settings(max_examples=300, deadline=None)
@given(owners=owners_st, rule=st.sampled_from(RULES_YES_NO), data=st.data())
def test_one_more_yes_never_turns_a_pass_into_a_fail(owners: list[tuple[int, str | None]], rule: str,
                                                     data: st.DataObject) -> None:
    changeable = [i for i, (_area, answer) in enumerate(owners) if answer != FOR]
    if not changeable:
        return
    i = data.draw(st.sampled_from(changeable))
    before = decide_owners(rule, owners)
    after_owners = list(owners)
    after_owners[i] = (owners[i][0], FOR)
    after = decide_owners(rule, after_owners)
    assert not (before.passed and not after.passed)


@settings(max_examples=200, deadline=None)
@given(owners=owners_st, rule=st.sampled_from(RULES_YES_NO), seed=st.integers(0, 10_000))
def test_results_do_not_depend_on_the_order_or_grouping_of_ballots(owners: list[tuple[int, str | None]], rule: str,
                                                                   seed: int) -> None:
    body = Body(headcount=len(owners), area=sum(area for area, _ in owners))
    ballots = [(answer, 1, area) for area, answer in owners if answer is not None]
    shuffled = list(ballots)
    random.Random(seed).shuffle(shuffled)
    one = rules.decide(rule=rule, question=YES_NO, body=body, groups=rules.count_ballots(YES_NO, ballots))
    two = rules.decide(rule=rule, question=YES_NO, body=body, groups=rules.count_ballots(YES_NO, shuffled))
    # Single ballots as groups of one, unmerged, give the same result too.
    three = rules.decide(rule=rule, question=YES_NO, body=body,
                         groups=[Group(answer, 1, area) for answer, _h, area in shuffled])
    assert one.as_dict() == two.as_dict() == three.as_dict()


@settings(max_examples=300, deadline=None)
@given(owners=owners_st, special=st.booleans())
def test_art_278_is_the_conjunction_of_independent_area_and_headcount_conditions(
        owners: list[tuple[int, str | None]], special: bool) -> None:
    rule = rules.CIVIL_CODE_SPECIAL if special else rules.CIVIL_CODE_ORDINARY
    total_area, total_heads = sum(a for a, _ in owners), len(owners)
    voting = [(a, ans) for a, ans in owners if ans is not None]
    part_area, part_heads = sum(a for a, _ in voting), len(voting)
    for_area, for_heads = sum(a for a, ans in voting if ans == FOR), sum(1 for _a, ans in voting if ans == FOR)
    # An oracle in integer arithmetic, written from the statute.
    participation_area = 3 * part_area >= 2 * total_area
    participation_heads = 3 * part_heads >= 2 * total_heads
    if special:
        approval_area = part_area > 0 and 4 * for_area >= 3 * part_area
        approval_heads = part_heads > 0 and 4 * for_heads >= 3 * part_heads
    else:
        approval_area = 2 * for_area > part_area
        approval_heads = 2 * for_heads > part_heads
    result = decide_owners(rule, owners)
    assert check(result, "participation_area").passed == participation_area
    assert check(result, "participation_headcount").passed == participation_heads
    assert check(result, "approval_area").passed == approval_area
    assert check(result, "approval_headcount").passed == approval_heads
    assert result.passed == (participation_area and participation_heads and approval_area and approval_heads)


@settings(max_examples=200, deadline=None)
@given(owners=owners_st, new_areas=st.lists(st.integers(1, 3_000_000), min_size=40, max_size=40))
def test_changing_areas_never_changes_the_headcount_conditions(owners: list[tuple[int, str | None]],
                                                               new_areas: list[int]) -> None:
    moved = [(new_areas[i], answer) for i, (_a, answer) in enumerate(owners)]
    for rule in rules.CIVIL_CODE_RULES:
        one, two = decide_owners(rule, owners), decide_owners(rule, moved)
        for key in ("participation_headcount", "approval_headcount"):
            assert check(one, key).passed == check(two, key).passed


@settings(max_examples=200, deadline=None)
@given(rankings=st.lists(st.permutations(["1", "2", "3", "4"]).flatmap(
    lambda p: st.integers(0, 4).map(lambda n: tuple(p[:n]))), min_size=1, max_size=30), seed=st.integers(0, 99))
def test_instant_runoff_winner_holds_a_majority_and_order_does_not_matter(rankings: list[tuple[str, ...]],
                                                                          seed: int) -> None:
    q = Question(kind=rules.RANKED, options=("1", "2", "3", "4"))
    ballots = [(rules.choice_key(q, list(r)), 1, 0) for r in rankings]
    shuffled = list(ballots)
    random.Random(seed).shuffle(shuffled)
    body = Body(headcount=len(ballots))
    one = rules.instant_runoff(question=q, body=body, groups=rules.count_ballots(q, ballots))
    two = rules.instant_runoff(question=q, body=body, groups=rules.count_ballots(q, shuffled))
    assert one.as_dict() == two.as_dict()
    if one.winners:
        last = dict(one.rounds[-1].counts)
        in_count = sum(last.values())
        assert 2 * last[one.winners[0]] > in_count
    first = {key: sum(1 for r in rankings if r and r[0] == key) for key in q.options}
    leader = max(first, key=first.__getitem__)
    if 2 * first[leader] > sum(1 for r in rankings if r):
        assert one.winners == (leader,)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["1", "2", "3", "4", "5"]), max_size=5))
def test_choice_keys_are_canonical_and_idempotent(picked: list[str]) -> None:
    q = Question(kind=rules.MULTIPLE, options=("1", "2", "3", "4", "5"), min_choices=1, max_choices=5, seats=1)
    try:
        key = rules.choice_key(q, picked)
    except rules.ChoiceError:
        assert len(set(picked)) != len(picked)
        return
    assert rules.choice_key(q, key if key != rules.BLANK else None) == key
    assert rules.choice_key(q, list(reversed(picked))) == key
