"""Closing a vote, counting it, publishing its result, verifying it, and the worker's
reminders and closings.

Results stay hidden from everyone until close: ``vote_tally`` refuses while a vote is
not closed, whoever asks. Publishing freezes the result document and writes its
SHA-256 into the audit chain in the same transaction; ``vote_verify`` checks a
published vote against the database and the chain (see docs/votes.md).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.audit.models import AuditEvent
from linli.audit.services import audit_record
from linli.deliberation import published, rules, selectors
from linli.deliberation.base import audit, config_for, require_role, user_of
from linli.deliberation.models import (
    DELIBERATION_MANAGE_ROLES,
    VOTE_RUN_ROLES,
    BodyKind,
    Eligibility,
    OpenBallot,
    PaperBallotEntry,
    PaperEntryStatus,
    PublishedResult,
    SecretBallot,
    Vote,
    VoterRollEntry,
    VoteStatus,
)
from linli.deliberation.voting import ROLL_BATCH, _lock_status, _options
from linli.notifications.services import notify
from linli.places.models import Place

# Which meeting body counts as "present" for a vote of which eligibility.
_MEETING_BODY = {Eligibility.ADULTS: BodyKind.ADULTS, Eligibility.HOUSEHOLDS: BodyKind.HOUSEHOLDS,
                 Eligibility.REPRESENTATIVES: BodyKind.REPRESENTATIVES}


class ResultsHidden(PermissionDenied):
    """Results of a vote stay hidden from everyone until it closes."""


# Closing, counting, publishing ---------------------------------------------------------------------

def _shuffle_secret_ballots(vote: Vote) -> int:
    """Rewrite the secret ballots in random order with fresh random ids, so the order of
    the rows no longer follows the order in which they were cast."""
    rows = list(SecretBallot.objects.filter(vote=vote).values_list("choice", "receipt"))
    secrets.SystemRandom().shuffle(rows)
    SecretBallot.objects.filter(vote=vote).delete()
    SecretBallot.objects.bulk_create([SecretBallot(vote=vote, choice=c, receipt=r) for c, r in rows],
                                     batch_size=ROLL_BATCH)
    return len(rows)


def vote_close(*, vote: Vote, by: Any, at: datetime | None = None) -> Vote:
    """Close at or after the closing time (or early once everyone on the roll has voted):
    nobody can cut a vote short. ``by=None`` is the worker closing votes that are due."""
    at = at or timezone.now()
    if by is not None:
        require_role(by, vote.place_path, VOTE_RUN_ROLES)
    with transaction.atomic():
        vote = _lock_status(vote, [VoteStatus.OPEN])
        pending = VoterRollEntry.objects.filter(vote=vote, voted=False).exists()
        if at < vote.closes_at and pending:
            raise ValidationError(_("投票尚未截止，且仍有人未投票，不能提前结束。"))
        vote.status = VoteStatus.CLOSED
        vote.closed_at = at
        vote.save(update_fields=["status", "closed_at"])
        if vote.secret:
            _shuffle_secret_ballots(vote)
        turnout = selectors.vote_turnout(vote)
        audit(by, "vote_close", vote, community_id=vote.community_id, voted=turnout.voted,
              eligible=turnout.eligible)
    return vote


def _groups(vote: Vote) -> list[rules.Group]:
    if vote.secret:
        counted = SecretBallot.objects.filter(vote=vote).values("choice").annotate(n=Count("id")).order_by("choice")
        return [rules.Group(row["choice"], row["n"], 0) for row in counted]
    summed = (OpenBallot.objects.filter(vote=vote).values("choice")
              .annotate(h=Sum("headcount"), a=Sum("area")).order_by("choice"))
    return [rules.Group(row["choice"], row["h"] or 0, row["a"] or 0) for row in summed]


def _present(vote: Vote, participants: int) -> int | None:
    """Those present at a residents' meeting: everyone who voted, and anyone of the
    vote's body who signed in at the meeting the vote belongs to."""
    if vote.rule != rules.RESIDENTS_MEETING:
        return None
    meeting = vote.meeting
    if meeting is None or meeting.body_kind != _MEETING_BODY.get(Eligibility(vote.eligibility)):
        return participants
    signed = (meeting.present_count if meeting.present_count is not None
              else selectors.meeting_present(meeting, timezone.localdate(vote.opens_at)))
    return min(max(participants, signed), vote.roll_headcount)


def _body(vote: Vote, groups: Sequence[rules.Group]) -> rules.Body:
    participants = sum(g.headcount for g in groups)
    return rules.Body(headcount=vote.roll_headcount, area=vote.roll_area, present=_present(vote, participants))


def vote_tally(*, vote: Vote, by: Any) -> rules.Outcome:
    """Count a closed vote. Refused while the vote is not closed, whoever asks — the
    committee, staff and superusers included."""
    status = Vote.objects.filter(pk=vote.pk).values_list("status", flat=True).first()
    if status not in (VoteStatus.CLOSED, VoteStatus.PUBLISHED):
        raise ResultsHidden(_("表决截止前，任何人（包括工作人员）都不能查看结果。"))
    vote = Vote.objects.select_related("meeting").get(pk=vote.pk)
    groups = _groups(vote)
    return rules.decide(rule=vote.rule, question=vote.question(_options(vote)), body=_body(vote, groups),
                        groups=groups)


def _document(vote: Vote, outcome: rules.Outcome, body: rules.Body, at: datetime) -> dict[str, Any]:
    options = _options(vote)
    if vote.secret:
        lines = [published.BallotLine(r, c) for r, c in
                 SecretBallot.objects.filter(vote=vote).values_list("receipt", "choice")]
    else:
        lines = [published.BallotLine(r, c, h, a) for r, c, h, a in
                 OpenBallot.objects.filter(vote=vote).values_list("receipt", "choice", "headcount", "area")]
    place = Place.objects.filter(pk=vote.place_id).values_list("name", flat=True).get()
    community = Place.objects.filter(pk=vote.community_id).values_list("name", flat=True).get()

    def iso(value: datetime | None) -> str | None:
        return value.astimezone(UTC).isoformat() if value else None

    info = {"id": vote.pk, "title": vote.title, "community": community, "place": place, "secret": vote.secret,
            "eligibility": vote.eligibility, "rule": vote.rule, "opens_at": iso(vote.opens_at),
            "closes_at": iso(vote.closes_at), "closed_at": iso(vote.closed_at)}
    with translation_zh():
        labels = {o.key: o.label for o in options} or {
            rules.FOR: _("赞成"), rules.AGAINST: _("反对"), rules.ABSTAIN: _("弃权")}
        return published.build_document(
            vote=info, question=vote.question(options), labels=labels, body=body,
            ballots=lines, outcome=outcome, weighted=vote.weighted, published_at=iso(at) or "",
        )


def translation_zh() -> Any:
    """The published record is written in Simplified Chinese, whoever publishes it."""
    from django.utils import translation

    return translation.override("zh-hans")


def vote_publish(*, vote: Vote, by: Any, at: datetime | None = None) -> PublishedResult:
    """Count, freeze and publish: the result document (tally, every receipt with its
    choice, the rule's explanation) is stored once and its SHA-256 goes into the
    audit chain in the same transaction."""
    at = at or timezone.now()
    require_role(by, vote.place_path, VOTE_RUN_ROLES)
    with transaction.atomic():
        vote = _lock_status(vote, [VoteStatus.CLOSED])
        pending = PaperBallotEntry.objects.filter(vote=vote, status=PaperEntryStatus.PENDING).count()
        if pending:
            raise ValidationError(_("还有 %(n)d 张纸质选票待复核，复核后才能公布。") % {"n": pending})
        vote = Vote.objects.select_related("meeting").get(pk=vote.pk)
        groups = _groups(vote)
        body = _body(vote, groups)
        outcome = rules.decide(rule=vote.rule, question=vote.question(_options(vote)), body=body, groups=groups)
        document = _document(vote, outcome, body, at)
        data = published.canonical_bytes(document)
        digest = published.sha256_hex(data)
        event = audit_record(
            actor=user_of(by), action="deliberation.vote_published", obj=vote, community_id=vote.community_id,
            after={"sha256": digest, "passed": outcome.passed, "winners": list(outcome.winners),
                   "ballots": len(document["ballots"])}, at=at,
        )
        result = PublishedResult.objects.create(vote=vote, document=data.decode("utf-8"), sha256=digest,
                                                published_at=at, published_by=user_of(by), audit_seq=event.seq)
        vote.status = VoteStatus.PUBLISHED
        vote.published_at = at
        vote.save(update_fields=["status", "published_at"])
    return result


@dataclass
class DatabaseVerification:
    ok: bool
    sha256: str
    problems: list[str]
    document: published.Verification | None = None


def vote_verify(*, vote: Vote) -> DatabaseVerification:
    """Check a published vote against the database: the stored document hashes to the
    digest in the audit chain, recounts to the outcome it states, and lists exactly the
    ballots the database holds, each made by a cast or a paper confirmation recorded in
    the audit chain; the body is the roll that was frozen at opening."""
    problems: list[str] = []
    result = PublishedResult.objects.filter(vote=vote).first()
    if result is None:
        return DatabaseVerification(False, "", [_("该表决尚未公布结果。")])
    data = result.document.encode("utf-8")
    digest = published.sha256_hex(data)
    if digest != result.sha256:
        problems.append(_("存储的结果文件与公布时的哈希值不一致。"))
    event = AuditEvent.objects.filter(seq=result.audit_seq).first()
    if (event is None or event.action != "deliberation.vote_published" or event.object_id != str(vote.pk)
            or not isinstance(event.after, dict) or event.after.get("sha256") != digest):
        problems.append(_("审计链中没有与该结果文件哈希值一致的公布记录。"))
    checked = published.verify_bytes(data)
    problems.extend(checked.problems)
    if checked.problems == [] and checked.outcome is not None:
        document = json.loads(data)
        stored = {(line.receipt, line.choice, line.headcount if vote.weighted else 1, line.area if vote.weighted else 0)
                  for line in published.ballot_lines(document)}
        if vote.secret:
            held = {(r, c, 1, 0) for r, c in SecretBallot.objects.filter(vote=vote).values_list("receipt", "choice")}
        else:
            held = set(OpenBallot.objects.filter(vote=vote).values_list("receipt", "choice", "headcount", "area"))
        if stored != held:
            problems.append(_("结果文件中的选票与数据库中的选票不一致（%(n)d 处差异）。") % {"n": len(stored ^ held)})
        body = document["body"]
        if body["headcount"] != vote.roll_headcount or rules.parse_area(body["area"]) != vote.roll_area:
            problems.append(_("结果文件中的投票人总数或总面积与名册不一致。"))
        # Every counted ballot was made by a web cast or a paper confirmation, each an
        # event in the audit chain: a ballot slipped into the table shows up here.
        casts = AuditEvent.objects.filter(action="deliberation.ballot_cast", object_type="deliberation.vote",
                                          object_id=str(vote.pk)).count()
        confirms = AuditEvent.objects.filter(action="deliberation.paper_confirm", after__vote=vote.pk).count()
        if casts + confirms != len(held):
            problems.append(_("数据库中有 %(n)d 张选票，审计链中记录的投票只有 %(m)d 次。") % {
                "n": len(held), "m": casts + confirms})
    return DatabaseVerification(not problems, digest, problems, checked)


# Reminders and the worker ----------------------------------------------------------------------

def vote_remind(*, vote: Vote, at: datetime | None = None) -> int:
    """Tell everyone who may still vote (the roll's flag says who has, not how)."""
    at = at or timezone.now()
    users = list(selectors.not_voted_users(vote))
    closes = timezone.localtime(vote.closes_at).strftime("%Y-%m-%d %H:%M")
    notify(users=users, title=_("请参加表决：%(t)s") % {"t": vote.title[:80]},
           body=_("投票将于 %(c)s 截止。您可以网上投票，也可以到居委会领取纸质选票。") % {"c": closes}, at=at)
    return len(users)


REMIND_GAP = timedelta(hours=1)


def vote_remind_now(*, vote: Vote, by: Any, at: datetime | None = None) -> int:
    """Staff press "remind those who have not voted": refused while the vote is not open,
    and within an hour of the last reminder (the worker's or anyone's), so nobody is
    reminded twice in a row. Returns how many accounts were told."""
    at = at or timezone.now()
    require_role(by, vote.place_path, DELIBERATION_MANAGE_ROLES)
    with transaction.atomic():
        claimed = Vote.objects.filter(Q(reminded_at__isnull=True) | Q(reminded_at__lte=at - REMIND_GAP),
                                      pk=vote.pk, status=VoteStatus.OPEN, closes_at__gt=at).update(reminded_at=at)
        if not claimed:
            status, closes_at = Vote.objects.filter(pk=vote.pk).values_list("status", "closes_at").get()
            if status != VoteStatus.OPEN or closes_at <= at:
                raise ValidationError(_("只有投票中的表决才能提醒。"))
            raise ValidationError(_("一小时内已经提醒过，请稍后再提醒。"))
        told = vote_remind(vote=vote, at=at)
        audit(by, "vote_remind", vote, community_id=vote.community_id, told=told)
    return told


def votes_remind_due(*, at: datetime | None = None) -> dict[str, int]:
    """Remind the voters of every open vote whose reminder interval has passed."""
    at = at or timezone.now()
    votes = reminded = 0
    for vote in Vote.objects.open_at(at).select_related("place"):
        hours = config_for(vote.place).reminder_hours
        if not hours:
            continue
        since = at - timedelta(hours=hours)
        # Claim this reminder round first, so two workers never remind twice.
        claimed = Vote.objects.filter(Q(reminded_at__isnull=True) | Q(reminded_at__lte=since), pk=vote.pk
                                      ).update(reminded_at=at)
        if claimed:
            votes += 1
            reminded += vote_remind(vote=vote, at=at)
    return {"votes": votes, "reminded": reminded}


def votes_close_due(*, at: datetime | None = None) -> int:
    at = at or timezone.now()
    closed = 0
    for vote in Vote.objects.due_to_close(at):
        try:
            vote_close(vote=vote, by=None, at=at)
        except ValidationError:
            continue  # closed by someone else meanwhile
        closed += 1
    return closed
