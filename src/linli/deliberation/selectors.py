"""Reads of deliberation that are more than a get: whose roll row a user votes with,
turnout (never the results before close), the best time of a poll, the live quorum of a
meeting, and the published results."""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import (
    Avg,
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    When,
)
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.accounts.access import scope_paths
from linli.accounts.models import User
from linli.deliberation import rules
from linli.deliberation.base import resident_paths
from linli.deliberation.models import (
    DELIBERATION_VIEW_ROLES,
    DELIBERATION_WORK_ROLES,
    Action,
    ActionStatus,
    Attendance,
    BodyKind,
    Decision,
    Eligibility,
    Meeting,
    MeetingMember,
    MeetingStatus,
    OpenBallotRevision,
    PollAnswer,
    Proposal,
    ProposalStatus,
    ProposalSupport,
    Proxy,
    PublishedResult,
    TimeOption,
    Vote,
    VoterRollEntry,
    VoteStatus,
)
from linli.people.models import ADULT_AGE, Household, Resident, ResidentStatus
from linli.places.models import SEGMENT, Place, PlaceKind


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


@dataclass(frozen=True)
class VoterVote:
    """A vote a user may cast (or has cast) a ballot in: for themselves, or for someone
    on the roll as their recorded proxy."""

    vote: Vote
    entry: VoterRollEntry
    proxy: bool


def voter_votes(user: Any, *, limit: int = 100) -> list[VoterVote]:
    """Every roll row ``user`` votes with, in votes that have opened: their own (as a
    resident, a household's adult member or a linked owner) and those they hold a
    recorded proxy for. Two queries, however many votes."""
    if not isinstance(user, User) or not user.is_authenticated:
        return []
    own = Q(resident__user=user) | Q(owner__user=user) | Q(owner__resident__user=user)
    resident = (Resident.objects.filter(user=user, status=ResidentStatus.ACTIVE)
                .values_list("household_id", "birth_date").first())
    if resident is not None:
        own |= Q(household_id=resident[0])
    proxies = Proxy.objects.filter(proxy_user=user, revoked_at__isnull=True, principal=OuterRef("pk"))
    rows = (VoterRollEntry.objects.filter(own | Q(Exists(proxies)))
            .filter(vote__status__in=[VoteStatus.OPEN, VoteStatus.CLOSED, VoteStatus.PUBLISHED])
            .annotate(by_proxy=Exists(proxies)).select_related("vote", "vote__place")
            .order_by("-vote__opens_at", "-vote_id", "pk")[:limit])
    found = []
    for entry in rows:
        proxy = bool(entry.by_proxy)
        if entry.household_id is not None and not proxy:
            # A household's ballot is cast by an adult member (adult on the opening day).
            born = resident[1] if resident is not None else None
            if born is None or born > adult_cutoff(timezone.localdate(entry.vote.opens_at)):
                continue
        found.append(VoterVote(entry.vote, entry, proxy))
    return found


def ballot_changes(vote: Vote) -> QuerySet[OpenBallotRevision]:
    """The history of a named vote's changed ballots: each earlier version, newest first."""
    return (OpenBallotRevision.objects.filter(ballot__vote=vote)
            .select_related("ballot", "ballot__entry").order_by("-replaced_at", "-id"))


_DOCUMENTS: OrderedDict[str, dict[str, Any]] = OrderedDict()
DOCUMENTS_KEPT = 16


def result_document(result: PublishedResult) -> dict[str, Any]:
    """The published document, parsed once per process and kept by its hash (it never
    changes: the row is frozen). Includes ``_by_receipt`` for the receipt lookup. Load
    the result with its document deferred: the text is read only when not kept."""
    found = _DOCUMENTS.get(result.sha256)
    if found is not None:
        _DOCUMENTS.move_to_end(result.sha256)
        return found
    data: dict[str, Any] = json.loads(result.document)
    data["_by_receipt"] = {line["receipt"]: line for line in data.get("ballots", [])}
    _DOCUMENTS[result.sha256] = data
    while len(_DOCUMENTS) > DOCUMENTS_KEPT:
        _DOCUMENTS.popitem(last=False)
    return data


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


# Pages ------------------------------------------------------------------------------------

def quorum_needed(quorum: Quorum) -> int:
    """How many of the body must be present for the quorum: the least ``n`` with
    ``n / size`` above the threshold (or at it, for an inclusive rule)."""
    if quorum.check is None or quorum.body_size == 0:
        return 0
    bar = quorum.check.threshold * quorum.body_size
    whole = bar.numerator // bar.denominator
    if quorum.check.strict or bar.denominator != 1:
        return whole + 1
    return whole


def member_places(principal: Any) -> list[Place]:
    """The communities (and buildings) a signed-in resident lives in, in tree order:
    where they may propose and take part."""
    prefixes = {path[:i] for path in resident_paths(principal) for i in range(SEGMENT, len(path) + 1, SEGMENT)}
    if not prefixes:
        return []
    return list(Place.objects.filter(path__in=prefixes, kind__in=[PlaceKind.COMMUNITY, PlaceKind.BUILDING])
                .order_by("path"))


def member_communities(principal: Any) -> list[Place]:
    return [p for p in member_places(principal) if p.kind == PlaceKind.COMMUNITY]


def seen_paths(principal: Any, communities: list[Place]) -> list[str]:
    """Below these paths the caller sees proposals and meetings: their deliberation
    scope as staff, and the communities they live in."""
    staff = scope_paths(principal, roles=DELIBERATION_VIEW_ROLES)
    return sorted(set(staff) | {c.path for c in communities})


def proposals_seen(principal: Any, paths: list[str], status: str = "") -> QuerySet[Proposal]:
    """Proposals below ``paths``, newest first, each marked with whether the caller
    supports it (one query for a page)."""
    rows = Proposal.objects.below_any(paths).select_related("community", "place")
    if status == "answered":
        rows = rows.answered()
    elif status in ProposalStatus.values:
        rows = rows.filter(status=status)
    user_id = principal.pk if isinstance(principal, User) else None
    return rows.annotate(supported=Exists(ProposalSupport.objects.filter(proposal=OuterRef("pk"), user_id=user_id or 0)))


def meetings_seen(paths: list[str]) -> QuerySet[Meeting]:
    """Meetings below ``paths``: those still to come first (by time), then the rest,
    latest first."""
    return (Meeting.objects.below_any(paths).select_related("community", "place")
            .annotate(coming=Case(When(status__in=[MeetingStatus.PLANNING, MeetingStatus.SCHEDULED], then=0),
                                  default=1, output_field=IntegerField()))
            .order_by("coming", F("starts_at").asc(nulls_first=True), "-id"))


def with_progress(decisions: QuerySet[Decision]) -> QuerySet[Decision]:
    """Each decision with the mean progress of its top-level actions and their count."""
    top = Q(actions__parent__isnull=True)
    return decisions.annotate(progress=Avg("actions__rolled_progress", filter=top),
                              actions_count=Count("actions", filter=top)).order_by("-decided_at", "-id")


def action_tree(actions: list[Action]) -> list[tuple[Action, int]]:
    """Actions in tree order (each followed by its sub-actions) with their depth. Each
    gets ``shown_status``: its own status, or for an action with steps the state of its
    steps (done when all are, in progress when any has begun), as its bar shows."""
    children: dict[int | None, list[Action]] = {}
    for action in actions:
        children.setdefault(action.parent_id, []).append(action)

    def state(action: Action) -> str:
        steps = [state(child) for child in children.get(action.pk, [])]
        if not steps:
            shown = action.status
        elif all(step == ActionStatus.DONE for step in steps):
            shown = ActionStatus.DONE
        elif any(step != ActionStatus.PLANNED for step in steps) or action.status != ActionStatus.PLANNED:
            shown = ActionStatus.IN_PROGRESS
        else:
            shown = ActionStatus.PLANNED
        action.shown_status = shown  # type: ignore[attr-defined]
        action.shown_status_label = ActionStatus(shown).label  # type: ignore[attr-defined]
        return shown

    for action in actions:
        if not hasattr(action, "shown_status"):
            state(action)
    known = {a.pk for a in actions}
    out: list[tuple[Action, int]] = []

    def walk(parent: int | None, depth: int) -> None:
        for action in children.get(parent, []):
            out.append((action, depth))
            walk(action.pk, depth + 1)

    walk(None, 0)
    # A sub-action whose parent is not in the list still shows, at the top.
    for action in actions:
        if action.parent_id is not None and action.parent_id not in known:
            out.append((action, 0))
            walk(action.pk, 1)
    return out


def sign_in_candidates(meeting: Meeting, text: str, *, limit: int = 20) -> list[Resident]:
    """Residents living within the meeting's place whose name or home matches ``text``,
    each marked ``signed`` when already signed in."""
    text = text.strip()
    if not text:
        return []
    return list(
        Resident.objects.filter(status=ResidentStatus.ACTIVE, community_id=meeting.community_id,
                                household__place__path__startswith=meeting.place_path)
        .filter(Q(name__contains=text) | Q(household__place__name__contains=text)
                | Q(household__place__address__contains=text))
        .select_related("household__place")
        .annotate(signed=Exists(Attendance.objects.filter(meeting=meeting, resident=OuterRef("pk"))))
        .order_by("household__place__path", "name", "pk")[:limit]
    )


def overdue_actions(paths: list[str], today: date) -> QuerySet[Action]:
    query = Q()
    for path in paths:
        query |= Q(place_path__startswith=path)
    if not paths:
        return Action.objects.none()
    return (Action.objects.filter(query, due_on__lt=today).exclude(status=ActionStatus.DONE)
            .select_related("decision").order_by("due_on", "pk"))


def sign_in_resident(meeting: Meeting, pk: int) -> Resident | None:
    """The resident staff are signing in, if they live within the meeting's place."""
    return (Resident.objects.filter(pk=pk, status=ResidentStatus.ACTIVE, community_id=meeting.community_id,
                                    household__place__path__startswith=meeting.place_path)
            .select_related("household").first())


def action_owners(place: Place) -> list[User]:
    """Who may own an action of a decision at ``place``: staff, leads and grid workers
    of its community (at it, above it or below it)."""
    community = Place.objects.filter(pk=place.community_id or place.pk).values_list("path", flat=True).first() or place.path
    above = [community[:i] for i in range(SEGMENT, len(community) + 1, SEGMENT)]
    return list(User.objects.filter(is_active=True, role_assignments__is_active=True,
                                    role_assignments__role__in=list(DELIBERATION_WORK_ROLES))
                .filter(Q(role_assignments__place__path__in=above)
                        | Q(role_assignments__place__path__startswith=community))
                .distinct().order_by("username"))


def residents_named(place: Place, lines: list[str]) -> list[Resident]:
    """Each line names one resident living below ``place``: a name, or a name and a
    piece of the address when two share the name (the representatives of a vote or a
    meeting). Every line that names nobody, or several, is one error on
    ``representatives``."""
    found: list[Resident] = []
    problems: list[str] = []
    residents = (Resident.objects.filter(status=ResidentStatus.ACTIVE, household__place__path__startswith=place.path)
                 .select_related("household__place"))
    names = {line.split()[0] for line in lines}
    by_name: dict[str, list[Resident]] = {}
    for resident in residents.filter(name__in=names):
        by_name.setdefault(resident.name, []).append(resident)
    for line in lines:
        name, _sep, hint = line.partition(" ")
        matches = by_name.get(name, [])
        if hint.strip():
            matches = [r for r in matches if hint.strip() in (r.household.place.address or r.household.place.name)
                       or hint.strip() == r.household.ref]
        if len(matches) == 1:
            found.append(matches[0])
        elif not matches:
            problems.append(_("找不到“%(line)s”（须是本范围内在住的居民）") % {"line": line})
        else:
            problems.append(_("“%(line)s”有 %(n)d 人同名，请在姓名后空一格写门牌") % {"line": line, "n": len(matches)})
    if problems:
        raise ValidationError({"representatives": problems})
    return found
