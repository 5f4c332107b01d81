"""Distribution: the sample-size calculator (DOMAIN §7), proportional stratified sampling
that anyone can redo from the recorded seed, invitations and reminders."""

from __future__ import annotations

import hashlib
import random
import re
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from linli.notifications.models import Notification
from linli.surveys import services as svc
from linli.surveys.distribution import (
    CODE_ALPHABET,
    MAX_REMINDERS,
    allocate,
    distribution_plan,
    invitations_remind,
    questionnaire_distribute,
    sample_size,
)
from linli.surveys.models import Distribution, Invitation, Questionnaire
from linli.surveys.responses import response_submit
from linli.surveys.tasks import remind_invitees
from tests.conftest import Personas
from tests.surveys.conftest import Neighbourhood, full_answers

# Sample size ----------------------------------------------------------------------------------


def test_385_for_five_percent_at_95_percent() -> None:
    result = sample_size(margin=0.05, confidence=0.95, proportion=0.5)
    assert result.n == 385
    assert result.z == pytest.approx(1.959964, abs=1e-6)
    assert result.n0 == pytest.approx(384.146, abs=1e-3)
    assert result.corrected is None


@pytest.mark.parametrize(("population", "expected"), [
    # n0 = 1.959964² × 0.25 / 0.0025 = 384.146; n = n0 / (1 + (n0 − 1) / N), rounded up:
    (1000, 278),  # 384.146 / (1 + 383.146 / 1000) = 384.146 / 1.383146 = 277.73
    (500, 218),   # 384.146 / (1 + 383.146 / 500)  = 384.146 / 1.766292 = 217.49
    (100, 80),    # 384.146 / (1 + 383.146 / 100)  = 384.146 / 4.831458 = 79.51
    (10, 10),     # 384.146 / (1 + 383.146 / 10)   = 384.146 / 39.3146  = 9.77
    (1, 1),
    (1_000_000, 384),  # 384.146 / 1.000383 = 383.9988: even a large N corrects a little
])
def test_finite_population_correction_by_hand(population: int, expected: int) -> None:
    assert sample_size(population=population).n == expected


@pytest.mark.parametrize(("kwargs", "expected"), [
    ({"margin": 0.03}, 1068),                       # 3.841459 × 0.25 / 0.0009 = 1067.07
    ({"confidence": 0.99}, 664),                    # 2.575829² × 0.25 / 0.0025 = 663.49
    ({"confidence": 0.90}, 271),                    # 1.644854² × 0.25 / 0.0025 = 270.55
    ({"proportion": 0.2}, 246),                     # 3.841459 × 0.16 / 0.0025 = 245.85
])
def test_other_precisions_by_hand(kwargs: dict[str, float], expected: int) -> None:
    assert sample_size(**kwargs).n == expected


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"margin": 0}, "margin"), ({"margin": "abc"}, "margin"), ({"margin": float("nan")}, "margin"),
    ({"confidence": 1.0}, "confidence"), ({"proportion": 1.0}, "proportion"), ({"proportion": 0}, "proportion"),
    ({"population": 0}, "population"), ({"population": 2.5}, "population"),
])
def test_bad_calculator_input_names_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        sample_size(**kwargs)  # type: ignore[arg-type]
    assert field in caught.value.message_dict


# Allocation -----------------------------------------------------------------------------------

def test_allocation_is_proportional_by_hand() -> None:
    assert allocate([300, 200, 100], 60) == [30, 20, 10]
    # quotas 2, 1.2, 0.8 → floors 2, 1, 0; the one left goes to the largest remainder (0.8).
    assert allocate([5, 3, 2], 4) == [2, 1, 1]
    assert allocate([4, 4, 0], 5) == [3, 2, 0]  # a tie goes to the earlier stratum
    assert allocate([7], 7) == [7]
    with pytest.raises(ValueError, match="larger"):
        allocate([1, 2], 4)


def test_allocation_sums_to_n_and_stays_within_a_unit_of_the_quota() -> None:
    rng = random.Random(20260101)
    for _round in range(300):
        sizes = [rng.randint(0, 400) for _i in range(rng.randint(1, 12))]
        if not sum(sizes):
            continue
        n = rng.randint(1, sum(sizes))
        parts = allocate(sizes, n)
        assert sum(parts) == n
        for size, part in zip(sizes, parts, strict=True):
            quota = n * size / sum(sizes)
            assert quota - 1 < part < quota + 1
            assert 0 <= part <= size


# Distribution -------------------------------------------------------------------------------


@pytest.fixture
def opened(satisfaction: Questionnaire, personas: Personas) -> Questionnaire:
    return svc.questionnaire_open(questionnaire=satisfaction, by=personas.staff)


def test_distribution_needs_an_open_questionnaire(hood: Neighbourhood, satisfaction: Questionnaire,
                                                  personas: Personas) -> None:
    with pytest.raises(ValidationError, match="开始问卷"):
        questionnaire_distribute(questionnaire=satisfaction, by=personas.staff, mode="all")
    assert not Invitation.objects.exists()


def test_everyone_gets_an_invitation_account_holders_a_notice(hood: Neighbourhood, opened: Questionnaire,
                                                               personas: Personas) -> None:
    distribution = questionnaire_distribute(questionnaire=opened, by=personas.staff, mode="all")
    invitations = list(Invitation.objects.filter(questionnaire=opened))
    adults = {r.pk for r in hood.grid1 + hood.grid2}
    assert {i.resident_id for i in invitations} == adults  # no child, nobody from the other community
    assert distribution.invited == len(adults) == distribution.population
    tokens = [i.token for i in invitations]
    assert len(set(tokens)) == len(tokens) and all(len(t) >= 32 and re.fullmatch(r"[\w-]+", t) for t in tokens)
    codes = [i.code for i in invitations]
    assert len(set(codes)) == len(codes) and all(len(c) == 8 and set(c) <= set(CODE_ALPHABET) for c in codes)
    notified = {i.resident_id for i in invitations if i.notified}
    assert notified == {hood.me.pk, hood.neighbour.pk}
    notices = Notification.objects.filter(url=f"/surveys/take/{opened.pk}/")
    assert sorted(n.user_id for n in notices) == sorted([personas.resident.pk, personas.other_resident.pk])
    grids = {i.resident_id: i.grid_id for i in invitations}
    assert {grids[r.pk] for r in hood.grid1} == {Invitation.objects.get(resident=hood.me).grid_id}
    assert grids[hood.grid2[0].pk] != grids[hood.me.pk]
    # A second sending reaches only residents not invited yet.
    with pytest.raises(ValidationError, match="没有可以邀请的居民"):
        questionnaire_distribute(questionnaire=opened, by=personas.staff, mode="all")


def _rank(seed: int, pk: int) -> str:
    return hashlib.sha256(f"{seed}:{pk}".encode()).hexdigest()


def test_stratified_sample_is_proportional_reproducible_and_recorded(hood: Neighbourhood, opened: Questionnaire,
                                                                     personas: Personas) -> None:
    plan = distribution_plan(questionnaire=opened, mode="sample", strata="grid", n=6, seed=42)
    assert plan.population == 12 and plan.n == 6
    assert [(s.population, s.sample) for s in plan.strata] == [(6, 3), (6, 3)]
    again = distribution_plan(questionnaire=opened, mode="sample", strata="grid", n=6, seed=42)
    assert [sorted(_members(s, 42)) for s in again.strata] == [sorted(_members(s, 42)) for s in plan.strata]
    distribution = questionnaire_distribute(questionnaire=opened, by=personas.staff, mode="sample", strata="grid",
                                            n=6, seed=42)
    chosen = set(Invitation.objects.filter(distribution=distribution).values_list("resident_id", flat=True))
    # Anyone can redo the draw: the three smallest SHA-256("42:id") in each grid.
    expected = set()
    for group in (hood.grid1, hood.grid2):
        expected |= set(sorted((r.pk for r in group), key=lambda pk: _rank(42, pk))[:3])
    assert chosen == expected
    recorded = Distribution.objects.get(pk=distribution.pk)
    assert recorded.seed == 42 and recorded.sample_size == 6 and recorded.population == 12
    assert [row["sample"] for row in recorded.allocation] == [3, 3]
    assert sum(row["population"] for row in recorded.allocation) == 12
    assert recorded.margin == 0.05 and recorded.confidence == 0.95 and recorded.proportion == 0.5


def _members(stratum: object, seed: int) -> list[int]:
    from linli.surveys.distribution import draw

    return draw(stratum.members, stratum.sample, seed)  # type: ignore[attr-defined]


def test_sample_by_building_and_calculated_size(hood: Neighbourhood, opened: Questionnaire) -> None:
    plan = distribution_plan(questionnaire=opened, mode="sample", strata="building", seed=7)
    # 12 residents: 384.146 / (1 + 383.146 / 12) = 11.67 → 12, so everyone.
    assert plan.size is not None and plan.size.n == 12 and plan.n == 12
    assert sorted(s.name for s in plan.strata) == ["3号楼", "7号楼"]
    assert plan.with_account == 2


def test_a_seed_is_drawn_when_none_is_given(hood: Neighbourhood, opened: Questionnaire, personas: Personas) -> None:
    distribution = questionnaire_distribute(questionnaire=opened, by=personas.staff, mode="sample", n=4)
    assert distribution.seed is not None and distribution.seed > 0
    assert Invitation.objects.filter(distribution=distribution).count() == 4


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"mode": "some"}, "mode"), ({"mode": "sample", "strata": "unit"}, "strata"),
    ({"mode": "sample", "n": 13}, "n"), ({"mode": "sample", "n": 0}, "n"), ({"mode": "sample", "seed": -1}, "seed"),
])
def test_bad_distribution_input(hood: Neighbourhood, opened: Questionnaire, personas: Personas,
                                kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        questionnaire_distribute(questionnaire=opened, by=personas.staff, **kwargs)  # type: ignore[arg-type]
    assert field in caught.value.message_dict
    assert not Invitation.objects.exists() and not Distribution.objects.exists()


# Reminders ------------------------------------------------------------------------------------

def test_reminders_are_due_spaced_capped_and_idempotent(hood: Neighbourhood, opened: Questionnaire,
                                                        personas: Personas) -> None:
    start = timezone.now()
    questionnaire_distribute(questionnaire=opened, by=personas.staff, mode="all", at=start)
    assert invitations_remind(at=start + timedelta(hours=1)) == 0  # too early
    first = start + timedelta(days=2, seconds=1)
    assert invitations_remind(at=first) == 2  # the two residents with an account
    assert invitations_remind(at=first) == 0  # run again: nothing new
    assert invitations_remind(at=first + timedelta(days=1)) == 0  # not yet due again
    mine = Invitation.objects.get(resident=hood.me)
    response_submit(invitation=mine, answers=full_answers(opened), at=first + timedelta(days=1))
    second = first + timedelta(days=3, seconds=1)
    assert invitations_remind(at=second) == 1  # the neighbour only: I have answered
    assert invitations_remind(at=second + timedelta(days=30)) == 0  # capped
    neighbour = Invitation.objects.get(resident=hood.neighbour)
    assert neighbour.reminders == MAX_REMINDERS and neighbour.reminded_at == second
    titles = list(Notification.objects.filter(user=personas.other_resident).values_list("title", flat=True))
    assert len([t for t in titles if t.startswith("提醒")]) == MAX_REMINDERS


def test_the_recurring_task_reminds(hood: Neighbourhood, opened: Questionnaire, personas: Personas) -> None:
    questionnaire_distribute(questionnaire=opened, by=personas.staff, mode="all",
                             at=timezone.now() - timedelta(days=3))
    assert remind_invitees.call() == 2
    assert remind_invitees.call() == 0


def test_no_reminders_for_a_closed_questionnaire(hood: Neighbourhood, opened: Questionnaire,
                                                 personas: Personas) -> None:
    questionnaire_distribute(questionnaire=opened, by=personas.staff, mode="all",
                             at=timezone.now() - timedelta(days=3))
    svc.questionnaire_close(questionnaire=opened, by=personas.staff)
    assert invitations_remind() == 0
