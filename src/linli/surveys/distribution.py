"""Sending a questionnaire: to everyone in its place, or to a stratified random sample
by grid or building, with the sample size from the margin of error (DOMAIN §7).

Sample size for a proportion (Cochran), with the finite population correction::

    n0 = z² · p(1 − p) / e²          (±5 % at 95 %, p = 0.5: n0 = 384.15 → 385)
    n  = n0 / (1 + (n0 − 1) / N)

Allocation is proportional to each stratum's size, rounded by largest remainders so
the strata add up to exactly n. Within a stratum residents are ranked by
SHA-256("seed:resident id") and the first n_h are taken: the same seed and the same
register give the same sample on any machine and any version of Python, and the seed
and allocation are recorded with the distribution so anyone can redo the draw.

Every invitation carries an unguessable token (the link works without signing in) and
a short code for paper. Residents with an account are told in the app; the others get
a printed slip with a QR code. Reminders go to those with an account who have not
answered, at most ``MAX_REMINDERS`` times, ``REMIND_EVERY`` apart.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from statistics import NormalDist
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.accounts.models import User
from linli.audit.services import audit_record
from linli.notifications.services import notify
from linli.people.models import ADULT_AGE, Resident
from linli.places.models import SEGMENT, Place, PlaceKind
from linli.requests.calendar import TIME_ZONE
from linli.surveys.models import (
    CODE_LENGTH,
    TOKEN_BYTES,
    Distribution,
    DistributionMode,
    Invitation,
    Questionnaire,
    Status,
    Strata,
)

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud and typed from paper
REMIND_AFTER = timedelta(days=2)
REMIND_EVERY = timedelta(days=3)
MAX_REMINDERS = 2
SEED_MAX = 2**31 - 1


# Sample size --------------------------------------------------------------------------------

@dataclass(frozen=True)
class SampleSize:
    margin: float
    confidence: float
    proportion: float
    population: int | None
    z: float
    n0: float  # before rounding and correction
    corrected: float | None  # n0 / (1 + (n0 − 1) / N), before rounding
    n: int

    @property
    def n0_less_one(self) -> float:
        """n0 − 1, as the correction's formula shows it."""
        return self.n0 - 1


def _fraction(value: Any, *, field: str, low: float, high: float, message: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValidationError({field: [message]}) from None
    if not (math.isfinite(number) and low < number < high):
        raise ValidationError({field: [message]})
    return number


def sample_size(*, margin: float = 0.05, confidence: float = 0.95, proportion: float = 0.5,
                population: int | None = None) -> SampleSize:
    """How many answers estimate a proportion within ±``margin`` at ``confidence``."""
    margin = _fraction(margin, field="margin", low=0.001, high=0.5,
                       message=_("允许误差应在 0.1% 到 50% 之间。"))
    confidence = _fraction(confidence, field="confidence", low=0.5, high=0.9999,
                           message=_("置信水平应在 50% 到 99.99% 之间。"))
    proportion = _fraction(proportion, field="proportion", low=0.0, high=1.0,
                           message=_("预期比例应在 0 到 1 之间（不知道时用 0.5，最保守）。"))
    if population is not None and (isinstance(population, bool) or not isinstance(population, int) or population < 1):
        raise ValidationError({"population": [_("总体人数应为正整数。")]})
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    n0 = z * z * proportion * (1 - proportion) / (margin * margin)
    corrected = n0 / (1 + (n0 - 1) / population) if population else None
    # Rounded up (a fraction of a respondent still needs one more), guarding against
    # float noise such as 278.00000000001.
    n = math.ceil(round(corrected if corrected is not None else n0, 9))
    if population is not None:
        n = min(n, population)
    return SampleSize(margin=margin, confidence=confidence, proportion=proportion, population=population, z=z,
                      n0=n0, corrected=corrected, n=n)


# Strata and allocation ---------------------------------------------------------------------

@dataclass
class Stratum:
    key: int | None  # the grid or building id; None for residents outside any
    name: str
    members: list[int] = field(default_factory=list)  # resident ids
    sample: int = 0

    @property
    def population(self) -> int:
        return len(self.members)


def allocate(sizes: list[int], n: int) -> list[int]:
    """Proportional allocation of ``n`` over strata of ``sizes`` by largest remainders:
    the parts add up to ``n`` and none exceeds its stratum."""
    total = sum(sizes)
    if n > total:
        raise ValueError("sample larger than the population")
    if total == 0:
        return [0 for _size in sizes]
    quotas = [n * size / total for size in sizes]
    parts = [math.floor(q) for q in quotas]
    left = n - sum(parts)
    # Largest remainder first; ties go to the larger stratum, then the earlier one.
    order = sorted(range(len(sizes)), key=lambda i: (-(quotas[i] - parts[i]), -sizes[i], i))
    for i in order[:left]:
        parts[i] += 1
    return parts


def rank_key(seed: int, resident_id: int) -> str:
    return hashlib.sha256(f"{seed}:{resident_id}".encode()).hexdigest()


def draw(members: Iterable[int], count: int, seed: int) -> list[int]:
    """The ``count`` residents with the smallest SHA-256("seed:id"), in that order."""
    return sorted(members, key=lambda pk: rank_key(seed, pk))[:count]


@dataclass(frozen=True)
class Frame:
    """Who may be invited: adults living below the questionnaire's place who have not
    been invited to it yet, each with their grid and building."""

    residents: dict[int, tuple[int | None, int | None, int | None, int]]  # id → (user, grid, building, community)
    names: dict[int, str]  # grid/building id → name
    order: dict[int, str]  # grid/building id → path (tree order)


def _adult_cutoff(today: date) -> date:
    try:
        return today.replace(year=today.year - ADULT_AGE)
    except ValueError:  # 29 February
        return today.replace(year=today.year - ADULT_AGE, day=28)


def sampling_frame(questionnaire: Questionnaire, *, today: date | None = None) -> Frame:
    today = today or timezone.now().astimezone(TIME_ZONE).date()
    places = list(Place.objects.filter(path__startswith=questionnaire.place_path,
                                       kind__in=(PlaceKind.GRID, PlaceKind.BUILDING))
                  .values_list("pk", "path", "kind", "name"))
    grids = {path: pk for pk, path, kind, _name in places if kind == PlaceKind.GRID}
    buildings = {path: pk for pk, path, kind, _name in places if kind == PlaceKind.BUILDING}
    invited = Invitation.objects.filter(questionnaire=questionnaire).values("resident_id")
    rows = (Resident.objects.active()
            .filter(household__place__path__startswith=questionnaire.place_path)
            .filter(Q(birth_date__isnull=True) | Q(birth_date__lte=_adult_cutoff(today)))
            .exclude(pk__in=invited)
            .values_list("pk", "household__place__path", "user_id", "community_id"))
    residents: dict[int, tuple[int | None, int | None, int | None, int]] = {}
    for pk, path, user_id, community_id in rows:
        grid = building = None
        for end in range(SEGMENT, len(path), SEGMENT):
            prefix = path[:end]
            grid = grids.get(prefix, grid)
            building = buildings.get(prefix, building)
        residents[pk] = (user_id, grid, building, community_id)
    return Frame(residents=residents, names={pk: name for pk, _path, _kind, name in places},
                 order={pk: path for pk, path, _kind, _name in places})


def strata_of(frame: Frame, by: str) -> list[Stratum]:
    position = 1 if by == Strata.GRID else 2
    strata: dict[int | None, Stratum] = {}
    for resident_id, values in sorted(frame.residents.items()):
        key = values[position]
        if key not in strata:
            strata[key] = Stratum(key=key, name=frame.names[key] if key is not None else
                                  (_("未划入网格") if by == Strata.GRID else _("未登记楼栋")))
        strata[key].members.append(resident_id)
    return sorted(strata.values(), key=lambda s: (s.key is None, frame.order.get(s.key or 0, "")))


@dataclass(frozen=True)
class Plan:
    """What a distribution will do, shown before it is confirmed."""

    mode: str
    strata_by: str
    population: int
    size: SampleSize | None
    n: int
    seed: int | None
    strata: list[Stratum]
    with_account: int  # of the invited, how many will be told in the app
    frame: Frame


def distribution_plan(*, questionnaire: Questionnaire, mode: str, strata: str = Strata.GRID, margin: float = 0.05,
                      confidence: float = 0.95, proportion: float = 0.5, n: int | None = None,
                      seed: int | None = None, today: date | None = None) -> Plan:
    """Work out a distribution without writing anything. For a sample, ``n`` overrides
    the calculated size (a committee may afford more); the seed is drawn when not given."""
    if mode not in DistributionMode.values:
        raise ValidationError({"mode": [_("请选择发放方式。")]})
    if strata not in Strata.values:
        raise ValidationError({"strata": [_("请选择按网格或按楼栋分层。")]})
    frame = sampling_frame(questionnaire, today=today)
    groups = strata_of(frame, strata)
    population = len(frame.residents)
    size: SampleSize | None = None
    if mode == DistributionMode.ALL:
        for group in groups:
            group.sample = group.population
        chosen_n = population
        seed = None
    else:
        if population == 0:
            raise ValidationError(_("范围内没有可以邀请的居民（已邀请过的居民不会重复抽取）。"))
        size = sample_size(margin=margin, confidence=confidence, proportion=proportion, population=population)
        chosen_n = size.n if n is None else n
        if isinstance(chosen_n, bool) or not isinstance(chosen_n, int) or not 1 <= chosen_n <= population:
            raise ValidationError({"n": [_("样本量应在 1 到 %(n)s（可抽样居民数）之间。") % {"n": population}]})
        if seed is None:
            seed = secrets.randbelow(SEED_MAX) + 1
        elif isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= SEED_MAX:
            raise ValidationError({"seed": [_("随机种子应为 0 到 %(n)s 之间的整数。") % {"n": SEED_MAX}]})
        for group, part in zip(groups, allocate([g.population for g in groups], chosen_n), strict=True):
            group.sample = part
    chosen = _chosen(groups, seed)
    with_account = sum(1 for pk in chosen if frame.residents[pk][0] is not None)
    return Plan(mode=mode, strata_by=strata, population=population, size=size, n=chosen_n, seed=seed,
                strata=groups, with_account=with_account, frame=frame)


def _chosen(groups: list[Stratum], seed: int | None) -> list[int]:
    chosen: list[int] = []
    for group in groups:
        chosen += group.members if seed is None else draw(group.members, group.sample, seed)
    return chosen


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def _new_codes(questionnaire: Questionnaire, count: int) -> list[str]:
    taken = set(Invitation.objects.filter(questionnaire=questionnaire).values_list("code", flat=True))
    codes: list[str] = []
    while len(codes) < count:
        code = "".join(secrets.choice(CODE_ALPHABET) for _i in range(CODE_LENGTH))
        if code not in taken:
            taken.add(code)
            codes.append(code)
    return codes


def questionnaire_distribute(*, questionnaire: Questionnaire, by: User | None, mode: str,
                             strata: str = Strata.GRID, margin: float = 0.05, confidence: float = 0.95,
                             proportion: float = 0.5, n: int | None = None, seed: int | None = None,
                             at: datetime | None = None) -> Distribution:
    """Invite everyone, or a stratified random sample, who has not been invited yet;
    residents with an account are told in the app, the others get a printed slip."""
    at = at or timezone.now()
    with transaction.atomic():
        questionnaire = Questionnaire.objects.select_for_update().get(pk=questionnaire.pk)
        if questionnaire.status != Status.OPEN:
            raise ValidationError(_("请先开始问卷，再发放。"))
        plan = distribution_plan(questionnaire=questionnaire, mode=mode, strata=strata, margin=margin,
                                 confidence=confidence, proportion=proportion, n=n, seed=seed,
                                 today=at.astimezone(TIME_ZONE).date())
        frame = plan.frame
        chosen = _chosen(plan.strata, plan.seed)
        if not chosen:
            raise ValidationError(_("范围内没有可以邀请的居民（已邀请过的居民不会重复邀请）。"))
        distribution = Distribution.objects.create(
            questionnaire=questionnaire, mode=mode, strata=strata, population=plan.population,
            margin=plan.size.margin if plan.size else None, confidence=plan.size.confidence if plan.size else None,
            proportion=plan.size.proportion if plan.size else None, sample_size=plan.n, seed=plan.seed,
            allocation=[{"stratum": s.key, "name": s.name, "population": s.population, "sample": s.sample}
                        for s in plan.strata],
            invited=len(chosen), created_by=by, created_at=at,
        )
        codes = _new_codes(questionnaire, len(chosen))
        invitations = []
        for resident_id, code in zip(chosen, codes, strict=True):
            user_id, grid, building, community = frame.residents[resident_id]
            invitations.append(Invitation(
                questionnaire=questionnaire, resident_id=resident_id, community_id=community, grid_id=grid,
                building_id=building, distribution=distribution, token=new_token(), code=code,
                notified=user_id is not None, sent_at=at,
            ))
        Invitation.objects.bulk_create(invitations, batch_size=500)
        user_ids = [user for user in (frame.residents[pk][0] for pk in chosen) if user is not None]
        if user_ids:
            notify(users=User.objects.filter(pk__in=user_ids), at=at, url=reverse("surveys:take", args=[questionnaire.pk]),
                   title=_("请参加问卷：%(title)s") % {"title": questionnaire.title},
                   body=_invitation_body(questionnaire))
        audit_record(actor=by, action="surveys.distribute", obj=questionnaire, community_id=questionnaire.community_id,
                     after={"distribution": distribution.pk, "mode": mode, "strata": strata, "seed": plan.seed,
                            "population": plan.population, "invited": len(chosen)})
    return distribution


def _invitation_body(questionnaire: Questionnaire) -> str:
    body = _("社区邀请您填写问卷“%(title)s”。") % {"title": questionnaire.title}
    if questionnaire.closes_at:
        body += _("请在 %(day)s 前填写。") % {"day": questionnaire.closes_at.astimezone(TIME_ZONE).strftime("%Y-%m-%d %H:%M")}
    if questionnaire.anonymous:
        body += _("问卷匿名，答卷不会与您的姓名关联。")
    return body


# Reminders -----------------------------------------------------------------------------------

def invitations_remind(*, questionnaire: Questionnaire | None = None, at: datetime | None = None) -> int:
    """Remind residents with an account who have not answered an open questionnaire.

    A reminder goes out only ``REMIND_AFTER`` the invitation, ``REMIND_EVERY`` after the
    last one and at most ``MAX_REMINDERS`` times, so running this again (a second
    worker, a second click) sends nothing new. Rows are claimed under a lock that other
    runs skip, so two runs at once never remind the same resident twice."""
    at = at or timezone.now()
    due = (Q(questionnaire__status=Status.OPEN, answered=False, notified=True, reminders__lt=MAX_REMINDERS,
             sent_at__lte=at - REMIND_AFTER)
           & (Q(reminded_at__isnull=True) | Q(reminded_at__lte=at - REMIND_EVERY))
           & (Q(questionnaire__closes_at__isnull=True) | Q(questionnaire__closes_at__gt=at)))
    rows = Invitation.objects.filter(due)
    if questionnaire is not None:
        rows = rows.filter(questionnaire=questionnaire)
    sent = 0
    with transaction.atomic():
        claimed = list(rows.select_for_update(skip_locked=True, of=("self",))
                       .values_list("pk", "questionnaire_id", "resident__user_id"))
        if not claimed:
            return 0
        Invitation.objects.filter(pk__in=[pk for pk, _q, _u in claimed]).update(
            reminded_at=at, reminders=F("reminders") + 1)
        by_questionnaire: dict[int, list[int]] = {}
        for _pk, questionnaire_id, user_id in claimed:
            if user_id is not None:
                by_questionnaire.setdefault(questionnaire_id, []).append(user_id)
        for item in Questionnaire.objects.filter(pk__in=list(by_questionnaire)):
            users = User.objects.filter(pk__in=by_questionnaire[item.pk])
            sent += len(notify(users=users, at=at, url=reverse("surveys:take", args=[item.pk]),
                               title=_("提醒：问卷“%(title)s”还在等您填写") % {"title": item.title},
                               body=_invitation_body(item)))
    return sent
