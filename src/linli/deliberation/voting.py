"""Every write of a vote up to its close: create, open (the roll), cast (web, proxy),
paper ballots under two-person control. Closing, counting, publishing, verifying and
reminding are in ``counting.py``.

Single counting. Every channel makes the same claim before a ballot counts: a
conditional ``UPDATE roll SET voted = true WHERE id = … AND voted = false`` in the
transaction that stores the ballot. On PostgreSQL a second claim waits for the first
to commit and then matches no row; on SQLite writers take turns. Named votes add a
unique constraint (one ``OpenBallot`` per roll row), and secret paper ballots can only
be counted against papers handed out against the roll (``paper_counted ≤ paper_issued``
is a check constraint, raised by a conditional update).

Secrecy. A secret ballot row holds the vote, the choice and the receipt, nothing
else; the audit event of a cast names who voted, never the ballot; the ballots are
rewritten in random order at close. Results stay hidden from everyone until close:
``vote_tally`` refuses while a vote is open, whoever asks.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, connection, models, transaction
from django.db.models import Count, F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.deliberation import rules, selectors
from linli.deliberation.base import (
    audit,
    clean_text,
    community_of,
    label,
    require_role,
    user_of,
)
from linli.deliberation.models import (
    DELIBERATION_MANAGE_ROLES,
    DELIBERATION_WORK_ROLES,
    VOTE_RUN_ROLES,
    AgendaItem,
    BallotChannel,
    Eligibility,
    Meeting,
    OpenBallot,
    OpenBallotRevision,
    OutcomeRule,
    Owner,
    OwnerRoll,
    PaperBallotEntry,
    PaperCode,
    PaperEntryStatus,
    Proxy,
    QuestionKind,
    SecretBallot,
    Vote,
    VoteOption,
    VoterRollEntry,
    VoteStatus,
)
from linli.people.models import Resident, ResidentStatus
from linli.places.models import Place
from linli.requests.photos import photo_clean

MAX_OPTIONS = 60
OPTION_MAX = 200
ROLL_BATCH = 2000
MAX_PAPER_CODES = 20_000
# Crockford's base-32 alphabet: no I, L, O or U to misread. 16 characters = 80 bits.
RECEIPT_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RECEIPT_LENGTH = 16


class AlreadyVoted(ValidationError):
    """This voter already has a counted ballot; nothing was written."""


@dataclass(frozen=True)
class CastReceipt:
    """What the voter is shown once: the receipt code to find their ballot in the
    published list."""

    vote_id: int
    code: str
    changed: bool = False


def new_receipt() -> str:
    raw = "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(RECEIPT_LENGTH))
    return "-".join(raw[i:i + 4] for i in range(0, RECEIPT_LENGTH, 4))


def normalise_receipt(text: str) -> str:
    """What a person types (lower case, O for 0, spaces) → the canonical code."""
    raw = "".join(ch for ch in (text or "").upper() if ch.isalnum())
    raw = raw.translate(str.maketrans("OIL", "011"))
    if len(raw) != RECEIPT_LENGTH or any(ch not in RECEIPT_ALPHABET for ch in raw):
        return ""
    return "-".join(raw[i:i + 4] for i in range(0, RECEIPT_LENGTH, 4))


def _options(vote: Vote) -> list[VoteOption]:
    return list(VoteOption.objects.filter(vote=vote).order_by("order"))


def _question(vote: Vote) -> rules.Question:
    """The vote's question; kept on the instance, since options never change once made."""
    question = getattr(vote, "_linli_question", None)
    if question is None:
        question = vote.question(_options(vote))
        vote._linli_question = question  # type: ignore[attr-defined]
    return question


def _choice(vote: Vote, value: Any) -> str:
    try:
        return rules.choice_key(_question(vote), value)
    except rules.ChoiceError as exc:
        raise ValidationError({"choice": [str(exc)]}) from None


def _lock_status(vote: Vote, allowed: Sequence[str]) -> Vote:
    """Re-read the vote under a row lock and refuse if its state moved on meanwhile
    (opening, closing, publishing: the transitions of the vote itself)."""
    fresh = Vote.objects.select_for_update().get(pk=vote.pk)
    if fresh.status not in allowed:
        raise ValidationError(_("表决当前为“%(s)s”，不能进行此操作。") % {"s": fresh.get_status_display()})
    return fresh


def _hold_status(vote: Vote, allowed: Sequence[str]) -> datetime:
    """A ballot's check that the vote is still in a state that takes it, under a SHARE
    lock on PostgreSQL: ballots do not wait for each other, but ``vote_close`` (FOR
    UPDATE) waits for every ballot in flight and every later ballot sees it closed.
    Taken last in a cast, so it is held only until the commit. Returns the closing time."""
    table = connection.ops.quote_name(Vote._meta.db_table)
    lock = " FOR SHARE" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT status, closes_at FROM {table} WHERE id = %s{lock}", [vote.pk])  # noqa: S608
        row = cursor.fetchone()
    if row is None or row[0] not in allowed:
        status = VoteStatus(row[0]).label if row else "-"
        raise ValidationError(_("表决当前为“%(s)s”，不能进行此操作。") % {"s": status})
    closes_at = row[1]
    if isinstance(closes_at, str):  # SQLite hands back text for a raw query
        closes_at = datetime.fromisoformat(closes_at)
    if timezone.is_naive(closes_at):
        closes_at = timezone.make_aware(closes_at, UTC)
    return closes_at


def _raw_insert(model: type[models.Model], values: dict[str, Any]) -> None:
    """INSERT one row without building a model instance and an ORM query: casting is the
    hot path, and ORM query compilation was most of its cost. Values are prepared by
    each field, exactly as the ORM would."""
    fields = [cast("models.Field[Any, Any]", model._meta.get_field(name)) for name in values]
    columns = ", ".join(connection.ops.quote_name(str(f.column)) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    params = [f.get_db_prep_save(values[f.name], connection) for f in fields]
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", params)  # noqa: S608


_CLAIM_SQL = "UPDATE {table} SET voted = %s, channel = %s WHERE id = %s AND voted = %s"


def _claim(entry: VoterRollEntry, channel: str) -> None:
    """The single claim of every channel: mark the roll row voted, once.

    ``UPDATE … WHERE id = … AND voted = false``: on PostgreSQL a concurrent claim of the
    same row waits for this transaction and then matches nothing."""
    sql = _CLAIM_SQL.format(table=connection.ops.quote_name(VoterRollEntry._meta.db_table))
    with connection.cursor() as cursor:
        cursor.execute(sql, [True, channel, entry.pk, False])
        claimed = cursor.rowcount
    if claimed != 1:
        raise AlreadyVoted(_("该投票人已经投过票，同一人只能有一张有效选票。"))


def _in_window(vote: Vote, at: datetime) -> None:
    if vote.status != VoteStatus.OPEN:
        raise ValidationError(_("表决当前为“%(s)s”，不能投票。") % {"s": vote.get_status_display()})
    if at < vote.opens_at:
        raise ValidationError(_("投票尚未开始。"))
    if at >= vote.closes_at:
        raise ValidationError(_("投票已经截止。"))


def _create_secret_ballot(vote: Vote, choice: str, receipt: str | None = None) -> str:
    """80 random bits: a receipt never repeats in practice; if it ever did, the unique
    constraint refuses and the whole cast rolls back (the voter simply tries again)."""
    code = receipt or new_receipt()
    _raw_insert(SecretBallot, {"id": uuid.uuid4(), "vote": vote.pk, "choice": choice, "receipt": code})
    return code


def _create_open_ballot(vote: Vote, entry: VoterRollEntry, choice: str, *, channel: str, by: Any,
                        proxy: Proxy | None, at: datetime) -> str:
    code = new_receipt()
    cast_by = user_of(by)
    _raw_insert(OpenBallot, {
        "vote": vote.pk, "entry": entry.pk, "choice": choice, "receipt": code, "area": entry.area,
        "headcount": entry.headcount, "channel": channel, "proxy": proxy.pk if proxy else None,
        "cast_by": cast_by.pk if cast_by else None, "cast_by_label": label(by), "cast_at": at, "revision": 1,
    })
    return code


# Creating and opening -----------------------------------------------------------------------

def vote_create(
    *, by: Any, place: Place, title: str, question_kind: str, eligibility: str, rule: str, opens_at: datetime,
    closes_at: datetime, secret: bool = True, description: str = "", options: Sequence[str] = (),
    min_choices: int = 1, max_choices: int = 1, seats: int | None = None, meeting: Meeting | None = None,
    agenda_item: AgendaItem | None = None, owner_roll: OwnerRoll | None = None,
    representatives: Sequence[Resident] = (),
) -> Vote:
    """A draft vote. Its roll is built when it opens (representatives are listed now)."""
    require_role(by, place.path, DELIBERATION_MANAGE_ROLES)
    errors: dict[str, list[str]] = {}
    title = clean_text(title, field="title", max_length=200)
    description = clean_text(description, field="description", required=False, max_length=8000)
    community = community_of(place)
    if question_kind not in QuestionKind.values:
        errors.setdefault("question_kind", []).append(_("未知的表决方式。"))
    if eligibility not in Eligibility.values:
        errors.setdefault("eligibility", []).append(_("未知的投票资格。"))
    if rule not in OutcomeRule.values:
        errors.setdefault("rule", []).append(_("未知的表决规则。"))
    if errors:
        raise ValidationError(errors)
    weighted = eligibility == Eligibility.OWNERS
    if not rules.rule_fits(rule, question_kind, weighted=weighted):
        if rule in rules.CIVIL_CODE_RULES:
            message = _("《民法典》第二百七十八条的规则只适用于业主按面积和人数表决，且不能用排序选择。")
        elif weighted:
            message = _("业主表决须按《民法典》第二百七十八条的一般事项或特别事项规则计票。")
        elif rule == rules.INSTANT_RUNOFF or question_kind == QuestionKind.RANKED:
            message = _("排序选择只能按即时决选规则计票，即时决选也只用于排序选择。")
        else:
            message = _("该表决规则不适用于这种表决方式。")
        errors.setdefault("rule", []).append(message)
    if secret and weighted:
        errors.setdefault("secret", []).append(
            _("业主按面积表决时，每张选票须载明面积，面积足以识别业主，因此业主表决一律记名投票。"))
    if timezone.is_naive(opens_at) or timezone.is_naive(closes_at):
        raise ValueError("aware datetimes only")
    if closes_at <= opens_at:
        errors.setdefault("closes_at", []).append(_("截止时间须晚于开始时间。"))
    labels = [clean_text(o, field="options", max_length=OPTION_MAX) for o in options]
    if question_kind == QuestionKind.YES_NO:
        labels = []
    else:
        if len(labels) < 2 or len(set(labels)) != len(labels):
            errors.setdefault("options", []).append(_("请至少填写两个互不相同的选项。"))
        if len(labels) > MAX_OPTIONS:
            errors.setdefault("options", []).append(_("选项最多 %(n)d 个。") % {"n": MAX_OPTIONS})
    if question_kind == QuestionKind.MULTIPLE:
        seats = max_choices if seats is None else seats
        if not 1 <= min_choices <= max_choices <= max(len(labels), 1):
            errors.setdefault("max_choices", []).append(_("须满足 1 ≤ 至少选择 ≤ 至多选择 ≤ 选项数。"))
        if not 1 <= seats <= max(len(labels), 1):
            errors.setdefault("seats", []).append(_("当选名额须在 1 与选项数之间。"))
    else:
        min_choices = max_choices = 1
        seats = 1
    if weighted:
        if owner_roll is None:
            errors.setdefault("owner_roll", []).append(_("业主表决须选择业主名册。"))
        elif owner_roll.community_id != community.pk or not owner_roll.place_path.startswith(place.path):
            errors.setdefault("owner_roll", []).append(_("该业主名册不属于本次表决的范围。"))
    else:
        owner_roll = None
    if eligibility == Eligibility.REPRESENTATIVES:
        if not representatives:
            errors.setdefault("representatives", []).append(_("请列出有投票资格的居民代表。"))
        elif len({r.pk for r in representatives}) != len(representatives):
            errors.setdefault("representatives", []).append(_("代表名单中有重复的人。"))
        else:
            household_paths = dict(Resident.objects.filter(pk__in=[r.pk for r in representatives],
                                                           status=ResidentStatus.ACTIVE)
                                   .values_list("pk", "household__place__path"))
            if len(household_paths) != len(representatives) or not all(
                    path.startswith(place.path) for path in household_paths.values()):
                errors.setdefault("representatives", []).append(_("代表须是本范围内在住的居民。"))
    if meeting is not None and meeting.community_id != community.pk:
        errors.setdefault("meeting", []).append(_("会议不属于本社区。"))
    if agenda_item is not None and (meeting is None or agenda_item.meeting_id != meeting.pk):
        errors.setdefault("agenda_item", []).append(_("议程不属于所选会议。"))
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        vote = Vote.objects.create(
            community=community, place=place, place_path=place.path, title=title, description=description,
            question_kind=question_kind, min_choices=min_choices, max_choices=max_choices, seats=seats,
            eligibility=eligibility, secret=secret, rule=rule, opens_at=opens_at, closes_at=closes_at,
            meeting=meeting, agenda_item=agenda_item, owner_roll=owner_roll, created_by=user_of(by),
        )
        VoteOption.objects.bulk_create([
            VoteOption(vote=vote, key=str(i), label=text, order=i) for i, text in enumerate(labels, start=1)
        ])
        if eligibility == Eligibility.REPRESENTATIVES:
            VoterRollEntry.objects.bulk_create([VoterRollEntry(vote=vote, resident=r, label=r.name)
                                                for r in representatives])
        audit(by, "vote_create", vote, community_id=community.pk, rule=rule, eligibility=eligibility,
              secret=secret, kind=question_kind, options=labels)
    return vote


def _build_roll(vote: Vote) -> None:
    on = timezone.localdate(vote.opens_at)
    rows: list[VoterRollEntry] = []
    if vote.eligibility == Eligibility.ADULTS:
        for pk, name in selectors.adults_in(vote.place_path, on).order_by("pk").values_list("pk", "name"):
            rows.append(VoterRollEntry(vote=vote, resident_id=pk, label=name))
    elif vote.eligibility == Eligibility.HOUSEHOLDS:
        households = selectors.households_in(vote.place_path, on).order_by("pk")
        for pk, address, ref in households.values_list("pk", "place__address", "ref"):
            rows.append(VoterRollEntry(vote=vote, household_id=pk, label=(address or ref)[:200]))
    elif vote.eligibility == Eligibility.OWNERS:
        owners = Owner.objects.filter(roll_id=vote.owner_roll_id).order_by("pk")
        for pk, name, area in owners.values_list("pk", "name", "area"):
            rows.append(VoterRollEntry(vote=vote, owner_id=pk, label=name[:200], area=area))
    VoterRollEntry.objects.bulk_create(rows, batch_size=ROLL_BATCH)


def vote_open(*, vote: Vote, by: Any, at: datetime | None = None) -> Vote:
    """Open a draft: the roll is built now from the registry (or the owners' roll), and
    its size and area are frozen as the body the rule counts against."""
    at = at or timezone.now()
    require_role(by, vote.place_path, VOTE_RUN_ROLES)
    with transaction.atomic():
        vote = _lock_status(vote, [VoteStatus.DRAFT])
        if at >= vote.closes_at:
            raise ValidationError(_("截止时间已过，请先修改时间。"))
        if vote.eligibility != Eligibility.REPRESENTATIVES:
            _build_roll(vote)
        totals = VoterRollEntry.objects.filter(vote=vote).aggregate(n=Count("id"), area=Sum("area"))
        if not totals["n"]:
            raise ValidationError(_("投票人名册为空：本范围内没有符合资格的人。"))
        if vote.eligibility == Eligibility.OWNERS and not totals["area"]:
            raise ValidationError(_("业主名册的专有部分总面积为零。"))
        vote.status = VoteStatus.OPEN
        vote.opened_at = at
        vote.roll_headcount = totals["n"]
        vote.roll_area = totals["area"] or 0
        vote.save(update_fields=["status", "opened_at", "roll_headcount", "roll_area"])
        audit(by, "vote_open", vote, community_id=vote.community_id, roll=vote.roll_headcount,
              area=rules.format_area(vote.roll_area))
    return vote


def vote_cancel(*, vote: Vote, by: Any, reason: str, at: datetime | None = None) -> Vote:
    at = at or timezone.now()
    require_role(by, vote.place_path, VOTE_RUN_ROLES)
    reason = clean_text(reason, field="reason", max_length=200)
    with transaction.atomic():
        vote = _lock_status(vote, [VoteStatus.DRAFT, VoteStatus.OPEN])
        vote.status = VoteStatus.CANCELLED
        vote.closed_at = at
        vote.save(update_fields=["status", "closed_at"])
        audit(by, "vote_cancel", vote, community_id=vote.community_id, reason=reason)
    return vote


# Casting -------------------------------------------------------------------------------------

def _resolve_entry(vote: Vote, by: Any, entry: VoterRollEntry | None) -> tuple[VoterRollEntry, Proxy | None]:
    if entry is None:
        own = [VoterRollEntry(pk=pk, vote_id=vote.pk, area=area, headcount=headcount)
               for pk, area, headcount in selectors.own_roll_rows(vote, by)]
        if not own:
            raise PermissionDenied(_("您不在本次表决的投票人名册中。"))
        if len(own) > 1:
            raise ValidationError(_("您可代表多名投票人投票，请选择代表哪一位。"))
        return own[0], None
    if entry.vote_id != vote.pk:
        raise PermissionDenied(_("您不在本次表决的投票人名册中。"))
    allowed = selectors.may_cast_for(vote, entry, by)
    if allowed is False:
        raise PermissionDenied(_("您不能代表该投票人投票：须本人投票或有登记的授权委托。"))
    return entry, allowed if isinstance(allowed, Proxy) else None


def vote_cast(*, vote: Vote, by: Any, choice: Any, entry: VoterRollEntry | None = None,
              at: datetime | None = None) -> CastReceipt:
    """Cast a ballot on the web, for oneself or (with ``entry``) as a recorded proxy.

    A named ballot may be changed until the vote closes (the earlier one is kept in
    its history); a secret ballot cannot be changed, since nothing links it to its voter.
    The receipt code is returned once; for a secret ballot it cannot be shown again."""
    at = at or timezone.now()
    _in_window(vote, at)
    key = _choice(vote, choice)
    entry, proxy = _resolve_entry(vote, by, entry)
    try:
        with transaction.atomic():
            try:
                _claim(entry, BallotChannel.WEB)
            except AlreadyVoted:
                if vote.secret:
                    raise
                return _change_open_ballot(vote, entry, key, by=by, proxy=proxy, at=at)
            if vote.secret:
                code = _create_secret_ballot(vote, key)
            else:
                code = _create_open_ballot(vote, entry, key, channel=BallotChannel.WEB, by=by, proxy=proxy, at=at)
            if at >= _hold_status(vote, [VoteStatus.OPEN]):
                raise ValidationError(_("投票已经截止。"))
            # Who voted is on the roll anyway; the ballot is never named here.
            audit(by, "ballot_cast", vote, community_id=vote.community_id, channel=BallotChannel.WEB,
                  proxy=proxy.pk if proxy else None, entry=None if vote.secret else entry.pk)
    except IntegrityError:
        # The unique constraints (one named ballot per voter, unique receipts) are the
        # last guard behind the claim.
        raise AlreadyVoted(_("该投票人已经投过票，同一人只能有一张有效选票。")) from None
    return CastReceipt(vote.pk, code)


def _change_open_ballot(vote: Vote, entry: VoterRollEntry, key: str, *, by: Any, proxy: Proxy | None,
                        at: datetime) -> CastReceipt:
    ballot = OpenBallot.objects.select_for_update().filter(vote=vote, entry=entry).first()
    if ballot is None:
        # Claimed by a paper ballot still being entered, or by a secret paper issue.
        raise AlreadyVoted(_("该投票人已经投过票，同一人只能有一张有效选票。"))
    if at >= _hold_status(vote, [VoteStatus.OPEN]):
        raise ValidationError(_("投票已经截止。"))
    if ballot.choice == key:
        return CastReceipt(vote.pk, ballot.receipt)
    OpenBallotRevision.objects.create(
        ballot=ballot, revision=ballot.revision, choice=ballot.choice, channel=ballot.channel,
        cast_by=ballot.cast_by, cast_by_label=ballot.cast_by_label, cast_at=ballot.cast_at, replaced_at=at,
    )
    OpenBallot.objects.filter(pk=ballot.pk).update(
        choice=key, channel=BallotChannel.WEB, proxy=proxy, cast_by=user_of(by), cast_by_label=label(by),
        cast_at=at, revision=F("revision") + 1,
    )
    audit(by, "ballot_change", vote, community_id=vote.community_id, entry=entry.pk, revision=ballot.revision + 1)
    return CastReceipt(vote.pk, ballot.receipt, changed=True)


def open_ballot_receipt(*, vote: Vote, user: Any) -> str | None:
    """A named ballot's receipt may be shown again to its voter (it is named anyway)."""
    if vote.secret:
        return None
    entries = selectors.own_roll_entries(vote, user)
    return OpenBallot.objects.filter(vote=vote, entry__in=entries).values_list("receipt", flat=True).first()


# Proxies ---------------------------------------------------------------------------------------

def proxy_record(
    *, vote: Vote, principal: VoterRollEntry, by: Any, authorisation_ref: str, proxy_user: Any = None,
    proxy_name: str = "", authorisation_file: UploadedFile | None = None, at: datetime | None = None,
) -> Proxy:
    """Record a written authorisation (授权委托书) that staff have seen: its reference and,
    if given, a photo of it (re-encoded, so no location data is kept)."""
    at = at or timezone.now()
    require_role(by, vote.place_path, DELIBERATION_MANAGE_ROLES)
    if user_of(by) is None:
        raise PermissionDenied(_("授权委托须由看过委托书的工作人员本人登记。"))
    if vote.status not in (VoteStatus.DRAFT, VoteStatus.OPEN):
        raise ValidationError(_("表决已截止，不能再登记委托。"))
    if principal.vote_id != vote.pk:
        raise ValidationError({"principal": [_("委托人不在本次表决的名册中。")]})
    if VoterRollEntry.objects.filter(pk=principal.pk, voted=True).exists():
        raise ValidationError({"principal": [_("委托人已经投票。")]})
    reference = clean_text(authorisation_ref, field="authorisation_ref", max_length=100)
    name = clean_text(proxy_name or (str(proxy_user) if proxy_user is not None else ""), field="proxy_name",
                      max_length=60)
    if proxy_user is not None and selectors.own_roll_entries(vote, proxy_user).filter(pk=principal.pk).exists():
        raise ValidationError({"proxy_user": [_("受托人不能是委托人本人。")]})
    photo = photo_clean(authorisation_file) if authorisation_file is not None else None
    with transaction.atomic():
        if Proxy.objects.filter(vote=vote, principal=principal, revoked_at__isnull=True).exists():
            raise ValidationError({"principal": [_("该投票人已有有效的委托，请先撤销。")]})
        proxy = Proxy(vote=vote, principal=principal, proxy_user=user_of(proxy_user), proxy_name=name,
                      authorisation_ref=reference, recorded_by=by, recorded_at=at)
        if photo is not None:
            proxy.authorisation_file.save(photo.content.name or "authorisation.jpg", photo.content, save=False)
        try:
            with transaction.atomic():
                proxy.save()
        except IntegrityError:
            raise ValidationError({"principal": [_("该投票人已有有效的委托，请先撤销。")]}) from None
        audit(by, "proxy_record", proxy, community_id=vote.community_id, vote=vote.pk, principal=principal.pk,
              reference=reference)
    return proxy


def proxy_revoke(*, proxy: Proxy, by: Any, at: datetime | None = None) -> Proxy:
    at = at or timezone.now()
    require_role(by, proxy.vote.place_path, DELIBERATION_MANAGE_ROLES)
    with transaction.atomic():
        if not Proxy.objects.filter(pk=proxy.pk, revoked_at__isnull=True).update(revoked_at=at, revoked_by=by):
            raise ValidationError(_("该委托已撤销。"))
        proxy.refresh_from_db()
        audit(by, "proxy_revoke", proxy, community_id=proxy.vote.community_id)
    return proxy


# Paper ballots -----------------------------------------------------------------------------------

def vote_paper_codes(*, vote: Vote, by: Any, count: int) -> list[str]:
    """Receipt codes to print on secret paper ballots and their stubs. Made in one batch
    in random order and never linked to whoever receives a paper."""
    require_role(by, vote.place_path, DELIBERATION_MANAGE_ROLES)
    if not vote.secret:
        raise ValidationError(_("记名表决的纸质选票写明投票人，不需要预印编码。"))
    if vote.status not in (VoteStatus.DRAFT, VoteStatus.OPEN):
        raise ValidationError(_("表决已截止，不能再印制选票。"))
    if not 1 <= count <= MAX_PAPER_CODES:
        raise ValidationError({"count": [_("一次可生成 1 至 %(n)d 个编码。") % {"n": MAX_PAPER_CODES}]})
    codes: set[str] = set()
    while len(codes) < count:
        codes.add(new_receipt())
    ordered = list(codes)
    secrets.SystemRandom().shuffle(ordered)
    with transaction.atomic():
        PaperCode.objects.bulk_create([PaperCode(vote=vote, code=code) for code in ordered], batch_size=ROLL_BATCH)
        audit(by, "paper_codes", vote, community_id=vote.community_id, count=count)
    return ordered


def paper_issue(*, vote: Vote, entry: VoterRollEntry, by: Any, proxy: Proxy | None = None,
                at: datetime | None = None) -> VoterRollEntry:
    """A secret paper ballot is handed to a voter on the roll: this is their claim (the
    same claim a web ballot makes). What they mark on it is entered after close."""
    at = at or timezone.now()
    require_role(by, vote.place_path, DELIBERATION_WORK_ROLES)
    if user_of(by) is None:
        raise PermissionDenied(_("纸质选票须由工作人员本人发放。"))
    if not vote.secret:
        raise ValidationError(_("记名表决的纸质选票直接录入，不需要发放登记。"))
    _in_window(vote, at)
    if entry.vote_id != vote.pk:
        raise ValidationError({"entry": [_("该投票人不在本次表决的名册中。")]})
    if proxy is not None and (proxy.principal_id != entry.pk or not proxy.is_active):
        raise ValidationError({"proxy": [_("该委托不是此投票人的有效委托。")]})
    with transaction.atomic():
        _claim(entry, BallotChannel.PAPER)
        # The counter update locks the vote row and checks it is still open in one step.
        if not Vote.objects.filter(pk=vote.pk, status=VoteStatus.OPEN).update(paper_issued=F("paper_issued") + 1):
            raise ValidationError(_("投票已经截止。"))
        audit(by, "paper_issue", vote, community_id=vote.community_id, entry=entry.pk,
              proxy=proxy.pk if proxy else None)
    entry.voted, entry.channel = True, BallotChannel.PAPER
    return entry


def paper_entry_create(*, vote: Vote, by: Any, choice: Any, entry: VoterRollEntry | None = None, code: str = "",
                       proxy: Proxy | None = None, at: datetime | None = None) -> PaperBallotEntry:
    """The first hand: type in a paper ballot. It counts only once a second person
    confirms it. Secret paper ballots are entered after the vote closes (when the
    ballot box is opened), by the code printed on them."""
    at = at or timezone.now()
    require_role(by, vote.place_path, DELIBERATION_WORK_ROLES)
    if user_of(by) is None:
        raise PermissionDenied(_("纸质选票须由工作人员本人录入。"))
    key = _choice(vote, choice)
    if vote.secret:
        if vote.status != VoteStatus.CLOSED:
            raise ValidationError(_("无记名纸质选票在投票截止、开箱后录入。"))
        code = normalise_receipt(code)
        if not code or not PaperCode.objects.filter(vote=vote, code=code).exists():
            raise ValidationError({"code": [_("选票编码不正确。")]})
        if PaperCode.objects.filter(vote=vote, code=code, used=True).exists():
            raise ValidationError({"code": [_("该编码的选票已经计入。")]})
        entry = None
        proxy = None
    else:
        if vote.status not in (VoteStatus.OPEN, VoteStatus.CLOSED):
            raise ValidationError(_("表决当前为“%(s)s”，不能录入选票。") % {"s": vote.get_status_display()})
        if entry is None or entry.vote_id != vote.pk:
            raise ValidationError({"entry": [_("请选择名册中的投票人。")]})
        if VoterRollEntry.objects.filter(pk=entry.pk, voted=True).exists():
            raise AlreadyVoted(_("该投票人已经投过票，同一人只能有一张有效选票。"))
        if proxy is not None and (proxy.principal_id != entry.pk or not proxy.is_active):
            raise ValidationError({"proxy": [_("该委托不是此投票人的有效委托。")]})
        code = ""
    with transaction.atomic():
        paper = PaperBallotEntry.objects.create(vote=vote, entry=entry, code=code, choice=key, proxy=proxy,
                                                entered_by=by, entered_at=at)
        audit(by, "paper_enter", paper, community_id=vote.community_id, vote=vote.pk)
    return paper


def paper_entry_confirm(*, paper: PaperBallotEntry, by: Any, at: datetime | None = None) -> PaperBallotEntry:
    """The second hand: a different member of staff checks the paper against the entry
    and confirms it; only now does it count."""
    at = at or timezone.now()
    vote = Vote.objects.get(pk=paper.vote_id)
    require_role(by, vote.place_path, DELIBERATION_WORK_ROLES)
    if user_of(by) is None or by.pk == paper.entered_by_id:
        raise PermissionDenied(_("复核须由录入人以外的另一名工作人员进行。"))
    try:
        with transaction.atomic():
            _confirm(vote, paper, by, at)
    except IntegrityError:
        # The partial unique indexes (one confirmed paper per voter and per code) are the
        # last guard; the claims below normally refuse first.
        raise AlreadyVoted(_("该投票人已经投过票，同一人只能有一张有效选票。")) from None
    paper.refresh_from_db()
    return paper


def _confirm(vote: Vote, paper: PaperBallotEntry, by: Any, at: datetime) -> None:
    if PaperBallotEntry.objects.filter(pk=paper.pk).values_list("status", flat=True).get() != PaperEntryStatus.PENDING:
        raise ValidationError(_("该选票已经复核或退回。"))
    # Claim first (the roll row, or the printed code), so concurrent confirmations of
    # papers for one voter queue on that claim and all but one are refused by it.
    entry: VoterRollEntry | None = None
    if vote.secret:
        if not PaperCode.objects.filter(vote=vote, code=paper.code, used=False).update(used=True):
            raise ValidationError({"code": [_("该编码的选票已经计入。")]})
        if not Vote.objects.filter(pk=vote.pk, status=VoteStatus.CLOSED, paper_counted__lt=F("paper_issued")).update(
                paper_counted=F("paper_counted") + 1):
            raise ValidationError(_("计入的纸质选票不能多于发出的纸质选票。"))
    else:
        entry = paper.entry
        if entry is None:  # the check constraint forbids it; never trust a row blindly
            raise ValidationError(_("纸质选票没有写明投票人。"))
        _claim(entry, BallotChannel.PAPER)
    if not PaperBallotEntry.objects.filter(pk=paper.pk, status=PaperEntryStatus.PENDING).update(
            status=PaperEntryStatus.CONFIRMED, decided_by=by, decided_at=at):
        raise ValidationError(_("该选票已经复核或退回。"))
    if entry is None:
        _create_secret_ballot(vote, paper.choice, receipt=paper.code)
        _hold_status(vote, [VoteStatus.CLOSED])
    else:
        _create_open_ballot(vote, entry, paper.choice, channel=BallotChannel.PAPER, by=by, proxy=paper.proxy, at=at)
        _hold_status(vote, [VoteStatus.OPEN, VoteStatus.CLOSED])
    audit(by, "paper_confirm", paper, community_id=vote.community_id, vote=vote.pk)


def paper_entry_reject(*, paper: PaperBallotEntry, by: Any, reason: str, at: datetime | None = None
                       ) -> PaperBallotEntry:
    """A second person sends an entry back (a typing error, an invalid paper)."""
    at = at or timezone.now()
    vote = Vote.objects.get(pk=paper.vote_id)
    require_role(by, vote.place_path, DELIBERATION_WORK_ROLES)
    if user_of(by) is None or by.pk == paper.entered_by_id:
        raise PermissionDenied(_("复核须由录入人以外的另一名工作人员进行。"))
    reason = clean_text(reason, field="reason", max_length=200)
    with transaction.atomic():
        if not PaperBallotEntry.objects.filter(pk=paper.pk, status=PaperEntryStatus.PENDING).update(
                status=PaperEntryStatus.REJECTED, decided_by=by, decided_at=at, reason=reason):
            raise ValidationError(_("该选票已经复核或退回。"))
        paper.refresh_from_db()
        audit(by, "paper_reject", paper, community_id=vote.community_id, vote=vote.pk, reason=reason)
    return paper
