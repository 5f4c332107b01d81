"""Reads: per-question summaries, response rates by stratum, free texts, the monthly
stream of return-visit ratings; each in a fixed number of queries."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from linli.requests.models import Category
from linli.requests.rollups import rollup_add
from linli.surveys import services as svc
from linli.surveys.models import Invitation, Kind, Questionnaire, ResponseChannel
from linli.surveys.responses import questions_of, response_submit
from linli.surveys.selectors import (
    free_texts,
    question_summaries,
    response_rates,
    return_visit_series,
)
from tests.conftest import Personas, Tree
from tests.surveys.conftest import Neighbourhood, full_answers, open_and_invite_all


@pytest.fixture
def mixed(tree: Tree, personas: Personas) -> Questionnaire:
    """One question of every kind."""
    q = svc.questionnaire_create(place=tree.community, title="各种题型", by=personas.staff)
    for kind, text, options in [
        (Kind.FIVE_LEVEL, "对楼道保洁满意吗", ()), (Kind.SCALE_1_5, "打几分（1–5）", ()),
        (Kind.SCALE_0_10, "打几分（0–10）", ()), (Kind.SCALE_1_10, "打几分（1–10）", ()),
        (Kind.NPS, "会推荐吗", ()), (Kind.SINGLE, "住了多久", ("一年内", "一到五年", "五年以上")),
        (Kind.MULTIPLE, "常去哪里", ("广场", "活动室", "图书角")), (Kind.TEXT, "建议", ()),
    ]:
        svc.question_add(questionnaire=q, by=personas.staff,
                         data=svc.QuestionInput(kind=kind, text=text, options=options, required=kind != Kind.TEXT))
    return svc.questionnaire_open(questionnaire=q, by=personas.staff)


# Answers given by four residents, question by question (by kind).
SHEETS: list[dict[str, Any]] = [
    {Kind.FIVE_LEVEL: 5, Kind.SCALE_1_5: 4, Kind.SCALE_0_10: 0, Kind.SCALE_1_10: 10, Kind.NPS: 10,
     Kind.SINGLE: 0, Kind.MULTIPLE: [0, 1], Kind.TEXT: "多装路灯"},
    {Kind.FIVE_LEVEL: 3, Kind.SCALE_1_5: 2, Kind.SCALE_0_10: 10, Kind.SCALE_1_10: 1, Kind.NPS: 9,
     Kind.SINGLE: 2, Kind.MULTIPLE: [1], Kind.TEXT: ""},
    {Kind.FIVE_LEVEL: 1, Kind.SCALE_1_5: 3, Kind.SCALE_0_10: 5, Kind.SCALE_1_10: 4, Kind.NPS: 7,
     Kind.SINGLE: 2, Kind.MULTIPLE: [0, 1, 2], Kind.TEXT: "电梯太慢"},
    {Kind.FIVE_LEVEL: 4, Kind.SCALE_1_5: 5, Kind.SCALE_0_10: 5, Kind.SCALE_1_10: 5, Kind.NPS: 3,
     Kind.SINGLE: 1, Kind.MULTIPLE: [2], Kind.TEXT: ""},
]


def _answer(q: Questionnaire, invitation: Invitation, sheet: dict[str, Any], **kwargs: Any) -> None:
    answers: dict[int, Any] = {}
    for question in questions_of(q):
        value = sheet[question.kind]
        options = list(question.options.all())
        if question.kind == Kind.SINGLE:
            value = options[value].pk
        elif question.kind == Kind.MULTIPLE:
            value = [options[i].pk for i in value]
        answers[question.pk] = value
    response_submit(invitation=invitation, answers=answers, **kwargs)


@pytest.fixture
def answered(hood: Neighbourhood, mixed: Questionnaire, personas: Personas) -> Questionnaire:
    invitations = {i.resident_id: i for i in open_and_invite_all(mixed, personas.staff)}
    residents = [hood.me, hood.neighbour, hood.grid1[2], hood.grid2[0]]
    for resident, sheet in zip(residents, SHEETS, strict=True):
        paper = resident == hood.grid2[0]
        _answer(mixed, invitations[resident.pk], sheet,
                **({"channel": ResponseChannel.PAPER, "by": personas.staff} if paper else {}))
    return mixed


def _by_kind(summary: Any) -> dict[str, Any]:
    return {s.question.kind: s for s in summary.questions}


def test_distributions_means_nps_and_satisfaction_by_hand(answered: Questionnaire) -> None:
    summary = question_summaries(answered)
    assert summary.responses == 4
    kinds = _by_kind(summary)
    five = kinds[Kind.FIVE_LEVEL]
    assert [(b.label, b.count) for b in five.bars] == [("非常满意", 1), ("满意", 1), ("基本满意", 1), ("不满意", 0),
                                                       ("非常不满意", 1)]
    assert five.mean == pytest.approx((5 + 3 + 1 + 4) / 4)
    assert five.satisfaction == pytest.approx((1 + 1 + 0.9 * 1) / 4)  # 0.725
    assert question_summaries(answered, basic_weight=0.5).questions[0].satisfaction == pytest.approx(0.625)
    assert kinds[Kind.SCALE_1_5].mean == pytest.approx(3.5)
    assert [b.value for b in kinds[Kind.SCALE_0_10].bars] == list(range(11))
    assert kinds[Kind.SCALE_0_10].bars[5].count == 2 and kinds[Kind.SCALE_0_10].bars[5].share == pytest.approx(0.5)
    assert [b.value for b in kinds[Kind.SCALE_1_10].bars] == list(range(1, 11))
    assert kinds[Kind.SCALE_1_10].mean == pytest.approx(5.0)
    nps = kinds[Kind.NPS].nps
    assert (nps.promoters, nps.passives, nps.detractors) == (2, 1, 1)
    assert nps.score == pytest.approx(25.0)  # 50 % promoters − 25 % detractors
    single = kinds[Kind.SINGLE]
    assert [(b.label, b.count) for b in single.bars] == [("一年内", 1), ("一到五年", 1), ("五年以上", 2)]
    multiple = kinds[Kind.MULTIPLE]
    assert multiple.answered == 4
    assert [(b.label, b.count) for b in multiple.bars] == [("广场", 2), ("活动室", 3), ("图书角", 2)]
    assert multiple.bars[1].share == pytest.approx(0.75)
    assert kinds[Kind.TEXT].texts == 2 and kinds[Kind.TEXT].answered == 2


def test_summaries_for_one_grid(answered: Questionnaire, hood: Neighbourhood) -> None:
    grid2 = Invitation.objects.get(resident=hood.grid2[0]).grid
    assert grid2 is not None
    summary = question_summaries(answered, grid=grid2)
    assert summary.responses == 1
    assert _by_kind(summary)[Kind.FIVE_LEVEL].mean == pytest.approx(4.0)


def test_summaries_cost_the_same_queries_however_many_answers(answered: Questionnaire,
                                                              django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(6):
        question_summaries(answered)


def test_free_texts_carry_only_the_words(answered: Questionnaire) -> None:
    texts = list(free_texts(answered))
    assert sorted(t.text for t in texts) == ["多装路灯", "电梯太慢"]
    assert all(t.question.kind == Kind.TEXT for t in texts)


def test_response_rates_by_grid_and_building(answered: Questionnaire, hood: Neighbourhood,
                                             django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(2):
        rates = response_rates(answered, by="grid")
    assert [(r.name, r.invited, r.answered) for r in rates.rows] == [("第一网格", 6, 3), ("第二网格", 6, 1)]
    assert rates.rows[0].rate == pytest.approx(0.5)
    assert (rates.total.invited, rates.total.answered) == (12, 4)
    assert rates.channels == {ResponseChannel.WEB: 3, ResponseChannel.PAPER: 1}
    by_building = response_rates(answered, by="building")
    assert [(r.name, r.invited, r.answered) for r in by_building.rows] == [("3号楼", 6, 3), ("7号楼", 6, 1)]


def test_response_rates_cost_the_same_for_more_strata(tree: Tree, personas: Personas, satisfaction: Questionnaire,
                                                      django_assert_num_queries: Any) -> None:
    from tests.surveys.conftest import make_neighbourhood

    make_neighbourhood(tree, personas, extra_grid1=1, grid2=1)
    open_and_invite_all(satisfaction, personas.staff)
    with django_assert_num_queries(2):
        response_rates(satisfaction)


def test_an_unanswered_questionnaire_has_empty_summaries(satisfaction: Questionnaire) -> None:
    summary = question_summaries(satisfaction)
    assert summary.responses == 0
    assert all(s.answered == 0 and s.mean is None for s in summary.questions)
    assert all(b.share is None for s in summary.questions for b in s.bars)
    assert full_answers(satisfaction)  # the fixture questionnaire has questions


# Return visits ------------------------------------------------------------------------------

def _rate(tree: Tree, day: date, *, grid: int = 0, community: Any = None, **counts: int) -> None:
    community = community or tree.community
    category, _created = Category.objects.get_or_create(code="repairs", defaults={"name": "报修"})
    rollup_add({"community_id": community.pk, "grid_id": grid, "category_id": category.pk, "handler_id": 0,
                "organisation_id": 0, "day": day.isoformat()}, community.path, counts)


def test_return_visit_ratings_month_by_month(tree: Tree, django_assert_num_queries: Any) -> None:
    _rate(tree, date(2026, 1, 5), very_satisfied=2, satisfied=1, rated=3)
    _rate(tree, date(2026, 1, 31), grid=tree.grid.pk, basically_satisfied=1, very_dissatisfied=1, rated=2)
    _rate(tree, date(2026, 3, 1), grid=tree.grid.pk, dissatisfied=1, rated=1)
    _rate(tree, date(2026, 3, 2), community=tree.other_community, very_satisfied=5, rated=5)
    _rate(tree, date(2025, 12, 31), very_satisfied=9, rated=9)  # before the range
    with django_assert_num_queries(1):
        series = return_visit_series(tree.community, start=date(2026, 1, 1), end=date(2026, 3, 31))
    assert [m.month for m in series] == [date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)]
    january, february, march = series
    assert january.counts == {5: 2, 4: 1, 3: 1, 2: 0, 1: 1} and january.rated == 5
    assert january.mean == pytest.approx((5 * 2 + 4 + 3 + 1) / 5)
    assert january.satisfaction() == pytest.approx((2 + 1 + 0.9) / 5)
    assert february.rated == 0 and february.mean is None and february.satisfaction() is None
    assert march.counts[2] == 1 and march.rated == 1
    grid = return_visit_series(tree.grid, start=date(2026, 1, 1), end=date(2026, 3, 31))
    assert [m.rated for m in grid] == [2, 0, 1]
    street = return_visit_series(tree.street, start=date(2026, 3, 1), end=date(2026, 3, 31))
    assert street[0].counts[5] == 5 and street[0].rated == 6
    with pytest.raises(ValidationError):
        return_visit_series(tree.building, start=date(2026, 1, 1), end=date(2026, 1, 31))
    with pytest.raises(ValidationError):
        return_visit_series(tree.community, start=date(2026, 2, 1), end=date(2026, 1, 1))
