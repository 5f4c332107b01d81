"""From stored answers to the satisfaction model, end to end (SATISFACTION-MODEL.md,
"Checking the model on data with a known answer"): answers drawn from the model's
structure with chosen true coefficients are stored through the services, extracted,
fitted with ``pls.fit``, and the coefficients must come back within sampling error."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from linli.insights import pls
from linli.people.models import Household, Resident
from linli.surveys import services as svc
from linli.surveys.analysis import default_model, model_blocks, model_data, response_table
from linli.surveys.distribution import questionnaire_distribute
from linli.surveys.models import Invitation, Kind, Questionnaire, ResponseChannel
from linli.surveys.responses import questions_of, response_submit
from tests.conftest import Personas, Tree
from tests.surveys.conftest import full_answers
from tests.surveys.synthetic import BLOCKS, DRIVERS, LOADING, TRUE_PATHS, draw_answers

N = 400
SEED = 20260315


def _register(tree: Tree, n: int) -> None:
    """``n`` adult residents in ten households (the register is the frame, not the subject here)."""
    households = [Household.objects.get_or_create(place=tree.household, community=tree.community, ref="M-1")[0],
                  Household.objects.get_or_create(place=tree.other_household, community=tree.community, ref="M-2")[0]]
    Resident.objects.bulk_create([
        Resident(household=households[i % 2], community=tree.community, name=f"受访者{i}", birth_date=date(1960, 1, 1))
        for i in range(n)
    ])


def test_default_model_follows_the_questionnaire(satisfaction: Questionnaire) -> None:
    model = default_model(satisfaction)
    assert model.lv_names == BLOCKS
    assert set(model.paths) == set(TRUE_PATHS)
    for block in model.blocks:
        assert block.items == tuple(f"{block.name}{i}" for i in (1, 2, 3))
        assert block.mode == "A" and block.scale == (1.0, 10.0)
    # Background questions (choices, text) are not items of the model.
    assert "AGE" not in model.items and "IMPROVE" not in model.items


def test_the_model_follows_the_blocks_the_committee_keeps(satisfaction: Questionnaire, personas: Personas) -> None:
    for code in ("OPEN", "PART"):
        svc.dimension_delete(dimension=satisfaction.dimensions.get(code=code), by=personas.staff)
    trust = satisfaction.dimensions.get(code="TRUST")
    svc.dimension_update(dimension=trust, by=personas.staff, code="TRUST", name=trust.name, mechanism=trust.mechanism,
                         mode="B")
    model = default_model(satisfaction)
    assert "OPEN" not in model.lv_names and "PART" not in model.lv_names
    assert set(model.paths) == {(d, "SAT") for d in DRIVERS if d != "OPEN"} | {("SAT", "TRUST")}
    assert model.block("TRUST").mode == "B"


def test_a_block_with_mixed_scales_has_no_index_scale(satisfaction: Questionnaire, personas: Personas) -> None:
    question = satisfaction.questions.get(code="COMM3")
    svc.question_update(question=question, by=personas.staff,
                        data=svc.QuestionInput(kind=Kind.FIVE_LEVEL, text=question.text, code="COMM3",
                                               dimension=question.dimension))
    model = default_model(satisfaction)
    assert model.block("COMM").scale is None and model.block("RESP").scale == (1.0, 10.0)


def test_no_satisfaction_block_is_a_clear_error(tree: Tree, personas: Personas, needs: Questionnaire) -> None:
    with pytest.raises(pls.PlsError) as caught:
        default_model(needs)
    assert caught.value.code == "no_sat_block" and "SAT" in caught.value.message
    with pytest.raises(pls.PlsError) as caught:
        response_table(needs)
    assert caught.value.code == "no_items"


@pytest.mark.django_db
def test_known_coefficients_are_recovered_through_storage_extraction_and_fit(
        tree: Tree, personas: Personas, satisfaction: Questionnaire) -> None:
    sample = draw_answers(N, SEED)
    _register(tree, N)
    svc.questionnaire_open(questionnaire=satisfaction, by=personas.staff)
    questionnaire_distribute(questionnaire=satisfaction, by=personas.staff, mode="all")
    invitations = list(Invitation.objects.filter(questionnaire=satisfaction).select_related("questionnaire")
                       .order_by("id"))
    assert len(invitations) == N
    by_code = {q.code: q for q in questions_of(satisfaction)}
    background = full_answers(satisfaction)
    for row, invitation in enumerate(invitations):
        answers = dict(background)
        for column, code in enumerate(sample.items):
            answers[by_code[code].pk] = int(sample.values[row, column])
        paper = row % 5 == 0  # a fifth on paper, entered by staff
        response_submit(invitation=invitation, answers=answers,
                        **({"channel": ResponseChannel.PAPER, "by": personas.staff} if paper else {}))

    model, table = model_data(satisfaction)
    assert table.columns == model.items == sample.items
    assert table.values.shape == (N, len(sample.items))
    # Storage and extraction lose nothing: the same rows, in some order.
    assert sorted(map(tuple, table.values.tolist())) == sorted(map(tuple, sample.values.tolist()))

    result = pls.fit(model, table, bootstrap=200, seed=7)
    assert result.bootstrap is not None
    for (source, target), true in TRUE_PATHS.items():
        estimate = result.paths[(source, target)]
        error = result.bootstrap.paths[pls.path_label(source, target)].std_error
        assert abs(estimate - true) < 3 * error, f"{source}->{target}: {estimate:.3f} vs {true} (se {error:.3f})"
    for item, loading in result.loadings.items():
        assert loading == pytest.approx(LOADING, abs=0.06), item
    # The most important drivers come out on top, as they were drawn.
    drivers = sorted(DRIVERS, key=lambda d: -result.paths[(d, "SAT")])
    assert set(drivers[:2]) == {"RESP", "ENV"}
    # The SAT index is on the item scale: near the plain mean of its items rescaled to 0–100
    # (the outer weights are nearly equal when the loadings are).
    sat = sample.values[:, [sample.items.index(f"SAT{i}") for i in (1, 2, 3)]]
    assert result.index["SAT"] == pytest.approx(float((sat.mean() - 1) / 9 * 100), abs=1.0)


@pytest.mark.django_db
def test_incomplete_rows_are_kept_only_when_complete_enough(tree: Tree, personas: Personas,
                                                            satisfaction: Questionnaire) -> None:
    # Make two items optional, then answer with 0, 1 and 2 of them missing.
    for code in ("COMM1", "RESP1"):
        question = satisfaction.questions.get(code=code)
        svc.question_update(question=question, by=personas.staff,
                            data=svc.QuestionInput(kind=Kind.SCALE_1_10, text=question.text, code=code,
                                                   dimension=question.dimension, required=False))
    _register(tree, 3)
    svc.questionnaire_open(questionnaire=satisfaction, by=personas.staff)
    questionnaire_distribute(questionnaire=satisfaction, by=personas.staff, mode="all")
    by_code = {q.code: q for q in questions_of(satisfaction)}
    for missing, invitation in enumerate(Invitation.objects.filter(questionnaire=satisfaction).order_by("id")):
        answers = full_answers(satisfaction, score=6)
        for code in ("COMM1", "RESP1")[:missing]:
            answers[by_code[code].pk] = None
        response_submit(invitation=invitation, answers=answers)
    items = len(model_blocks(satisfaction)) * 3
    assert response_table(satisfaction).values.shape == (1, items)  # complete rows only
    table = response_table(satisfaction, min_share=(items - 1) / items)
    assert table.values.shape == (2, items)
    assert int(np.isnan(table.values).sum()) == 1
    assert response_table(satisfaction, min_share=0.5).values.shape == (3, items)
    # The engine refuses the gaps with a message naming the column, never a traceback.
    with pytest.raises(pls.PlsError) as caught:
        pls.fit(default_model(satisfaction), table)
    assert caught.value.code == "missing_values"
    with pytest.raises(pls.PlsError):
        response_table(satisfaction, min_share=0)
