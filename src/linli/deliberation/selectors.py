"""Reads of deliberation that are more than a get: whose roll row a user votes with,
turnout (never the results before close), the best time of a poll, the live quorum of a
meeting, and the published results."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from typing import Any

from django.db import connection
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from linli.accounts.models import User
from linli.deliberation import rules
from linli.deliberation.models import (
    Attendance,
    BodyKind,
    Eligibility,
    Meeting,
    MeetingMember,
    PollAnswer,
    Proxy,
    TimeOption,
    Vote,
    VoterRollEntry,
)
from linli.people.models import ADULT_AGE, Household, Resident, ResidentStatus


def adult_cutoff(on: date) -> date:
    """The latest birth date of someone who is 18 on ``on`` (a 29 February birthday
    counts from 28 February in a year without one, as ``Resident.age`` reckons)."""
    year = on.year - ADULT_AGE
    try:
        return on.replace(year=year)
    except ValueError:  # 29 February in a leap year, 18 years back not a leap year
        return date(year, 2, 28)


def adults_in(path: str, on: date) -> QuerySet[Resident]:
    return Resident.objects.filter(status=ResidentStatus.ACTIVE, household__place__path__startswith=path,
                                   birth_date__lte=adult_cutoff(on))


def households_in(path: str, on: date) -> QuerySet[Household]:
    """Households below ``path`` with at least one adult living in them."""
    return Household.objects.filter(place__path__startswith=path, members__in=adults_in(path, on)).distinct()


# Votes ------------------------------------------------------------------------------------

def own_roll_entries(vote: Vote, user: Any) -> QuerySet[VoterRollEntry]:
    """The roll rows ``user`` votes with as themselves (not as a proxy)."""
    if not isinstance(user, User) or not user.is_authenticated:
        return VoterRollEntry.objects.none()
    rows = VoterRollEntry.objects.filter(vote=vote)
    if vote.eligibility == Eligibility.HOUSEHOLDS:
        # Any adult member living there casts the household's one ballot.
        return rows.filter(household__members__user=user, household__members__status=ResidentStatus.ACTIVE,
                           household__members__birth_date__lte=adult_cutoff(timezone.localdate(vote.opens_at)))
    if vote.eligibility == Eligibility.OWNERS:
        return rows.filter(Q(owner__user=user) | Q(owner__resident__user=user)).distinct()
    return rows.filter(resident__user=user)


def own_roll_rows(vote: Vote, user: Any) -> list[tuple[int, int, int]]:
    """(id, area, headcount) of at most two of the user's own roll rows: the first step
    of every web ballot, so for residents' rolls it is one plain indexed join."""
    if not isinstance(user, User) or not user.is_authenticated:
        return []
    if vote.eligibility in (Eligibility.ADULTS, Eligibility.REPRESENTATIVES):
        quote = connection.ops.quote_name
        sql = (f"SELECT r.id, r.area, r.headcount FROM {quote(VoterRollEntry._meta.db_table)} r "  # noqa: S608
               f"JOIN {quote(Resident._meta.db_table)} p ON p.id = r.resident_id "
               "WHERE r.vote_id = %s AND p.user_id = %s ORDER BY r.id LIMIT 2")
        with connection.cursor() as cursor:
            cursor.execute(sql, [vote.pk, user.pk])
            return [(int(a), int(b), int(c)) for a, b, c in cursor.fetchall()]
    return list(own_roll_entries(vote, user).order_by("pk").values_list("pk", "area", "headcount")[:2])


def proxy_roll_entries(vote: Vote, user: Any) -> QuerySet[VoterRollEntry]:
    """The roll rows ``user`` may vote for on the strength of a recorded authorisation."""
    if not isinstance(user, User) or not user.is_authenticated:
        return VoterRollEntry.objects.none()
    principals = Proxy.objects.filter(vote=vote, proxy_user=user, revoked_at__isnull=True).values("principal_id")
    return VoterRollEntry.objects.filter(vote=vote, pk__in=principals)


def may_cast_for(vote: Vote, entry: VoterRollEntry, user: Any) -> Proxy | bool:
    """True when ``entry`` is the user's own row, the Proxy when they hold one for it."""
    if own_roll_entries(vote, user).filter(pk=entry.pk).exists():
        return True
    proxy = Proxy.objects.filter(vote=vote, principal=entry, proxy_user=user, revoked_at__isnull=True).first()
    return proxy if proxy is not None else False


@dataclass(frozen=True)
class Turnout:
    """Who has voted so far (from the roll's flags): never how."""

    eligible: int
    voted: int
    eligible_area: int
    voted_area: int

    @property
    def share(self) -> Fraction:
        return Fraction(self.voted, self.eligible) if self.eligible else Fraction(0)


def vote_turnout(vote: Vote) -> Turnout:
    row = VoterRollEntry.objects.filter(vote=vote).aggregate(
        n_eligible=Count("id"), n_voted=Count("id", filter=Q(voted=True)),
        area_eligible=Sum("area"), area_voted=Sum("area", filter=Q(voted=True)),
    )
    return Turnout(row["n_eligible"] or 0, row["n_voted"] or 0, row["area_eligible"] or 0, row["area_voted"] or 0)


def not_voted_users(vote: Vote) -> QuerySet[User]:
    """Accounts that may still vote (for reminders): the resident, a household's adult
    members, an owner's linked account."""
    pending = VoterRollEntry.objects.filter(vote=vote, voted=False)
    active = User.objects.filter(is_active=True)
    if vote.eligibility == Eligibility.HOUSEHOLDS:
        on = timezone.localdate(vote.opens_at)
        return active.filter(pk__in=Resident.objects.filter(
            household__in=pending.values("household_id"), status=ResidentStatus.ACTIVE,
            birth_date__lte=adult_cutoff(on), user__isnull=False,
        ).values("user_id"))
    if vote.eligibility == Eligibility.OWNERS:
        direct = pending.filter(owner__user__isnull=False).values("owner__user_id")
        through_resident = pending.filter(owner__resident__user__isnull=False).values("owner__resident__user_id")
        return active.filter(Q(pk__in=direct) | Q(pk__in=through_resident))
    return active.filter(pk__in=pending.filter(resident__user__isnull=False).values("resident__user_id"))


def vote_labels(vote: Vote) -> dict[str, str]:
    return {option.key: option.label for option in vote.options.all()}


# Meetings ---------------------------------------------------------------------------------

def poll_summary(meeting: Meeting) -> list[tuple[TimeOption, int, int, int]]:
    """Each candidate time with its yes / maybe / no counts, best first: most yes, then
    most maybe, then the earliest."""
    options = TimeOption.objects.filter(meeting=meeting).annotate(
        yes=Count("answers", filter=Q(answers__answer=PollAnswer.YES)),
        maybe=Count("answers", filter=Q(answers__answer=PollAnswer.MAYBE)),
        no=Count("answers", filter=Q(answers__answer=PollAnswer.NO)),
    )
    rows: list[tuple[TimeOption, int, int, int]] = [(o, o.yes, o.maybe, o.no) for o in options]
    rows.sort(key=lambda r: (-r[1], -r[2], r[0].starts_at, r[0].pk))
    return rows


def meeting_body_size(meeting: Meeting, on: date) -> int:
    if meeting.body_kind == BodyKind.ADULTS:
        return adults_in(meeting.place_path, on).count()
    if meeting.body_kind == BodyKind.HOUSEHOLDS:
        return households_in(meeting.place_path, on).count()
    if meeting.body_kind == BodyKind.REPRESENTATIVES:
        return MeetingMember.objects.filter(meeting=meeting).count()
    return 0


def meeting_present(meeting: Meeting, on: date) -> int:
    """Members of the body signed in: adults, households with a member present, or
    representatives on the list."""
    signed = Attendance.objects.filter(meeting=meeting, resident__isnull=False)
    if meeting.body_kind == BodyKind.ADULTS:
        return adults_in(meeting.place_path, on).filter(pk__in=signed.values("resident_id")).count()
    if meeting.body_kind == BodyKind.HOUSEHOLDS:
        return households_in(meeting.place_path, on).filter(
            members__in=signed.values("resident_id")).distinct().count()
    if meeting.body_kind == BodyKind.REPRESENTATIVES:
        return MeetingMember.objects.filter(meeting=meeting, resident__in=signed.values("resident_id")).count()
    return Attendance.objects.filter(meeting=meeting).count()


@dataclass(frozen=True)
class Quorum:
    applies: bool
    present: int
    body_size: int
    check: rules.Check | None

    @property
    def reached(self) -> bool:
        return bool(self.check and self.check.passed)


def meeting_quorum(meeting: Meeting, on: date | None = None) -> Quorum:
    """The live quorum of a residents' meeting: more than half of its body present."""
    if meeting.present_count is not None and meeting.body_size is not None:
        present, size = meeting.present_count, meeting.body_size
    else:
        on = on or timezone.localdate(meeting.starts_at or timezone.now())
        present, size = meeting_present(meeting, on), meeting_body_size(meeting, on)
    if meeting.body_kind == BodyKind.NONE:
        return Quorum(False, present, size, None)
    check = rules.Check("quorum", Fraction(present), Fraction(size), rules.MEETING_QUORUM, strict=True)
    return Quorum(True, present, size, check)
