"""Every write of deliberation: proposals, meetings, decisions and actions here; votes in
``voting.py`` (up to close) and ``counting.py`` (close, tally, publish, verify), the
owners' roll in ``owner_roll.py`` — all re-exported below, so callers import every
service from this module.

Each service validates, writes inside one transaction with its audit event, and tells
the people concerned (the in-app inbox; email and webhooks go out after commit).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.accounts.models import User
from linli.deliberation.base import (
    audit,
    clean_text,
    community_of,
    config_for,
    has_role,
    label,
    lives_in,
    require_role,
    user_of,
)
from linli.deliberation.counting import (
    ResultsHidden,
    vote_close,
    vote_publish,
    vote_remind,
    vote_tally,
    vote_verify,
)
from linli.deliberation.models import (
    DELIBERATION_MANAGE_ROLES,
    DELIBERATION_WORK_ROLES,
    VOTE_RUN_ROLES,
    Action,
    ActionPhoto,
    ActionStatus,
    ActionUpdate,
    AgendaItem,
    AgendaKind,
    Attendance,
    BodyKind,
    Decision,
    DeliberationConfig,
    Meeting,
    MeetingComment,
    MeetingKind,
    MeetingMember,
    MeetingStatus,
    PollAnswer,
    Proposal,
    ProposalStatus,
    ProposalSupport,
    PublishedResult,
    TimeOption,
    TimePollAnswer,
    Vote,
    VoteStatus,
)
from linli.deliberation.models.proposals import ANSWER_STATUSES, PENDING_STATUSES
from linli.deliberation.owner_roll import owner_link, owner_roll_import
from linli.deliberation.selectors import meeting_quorum
from linli.deliberation.voting import (
    AlreadyVoted,
    CastReceipt,
    paper_entry_confirm,
    paper_entry_create,
    paper_entry_reject,
    paper_issue,
    proxy_record,
    proxy_revoke,
    vote_cancel,
    vote_cast,
    vote_create,
    vote_open,
    vote_paper_codes,
)
from linli.notifications.services import notify
from linli.people.models import Resident, ResidentStatus
from linli.places.models import Place, PlaceKind
from linli.requests.models import Request
from linli.requests.photos import photo_clean, photos_check_count
from linli.requests.services import holders

__all__ = [
    "AlreadyVoted", "CastReceipt", "ResultsHidden", "action_create", "action_update", "config_save", "decision_record",
    "meeting_agenda_add", "meeting_cancel", "meeting_comment", "meeting_comment_hide", "meeting_create",
    "meeting_end", "meeting_minutes_save", "meeting_poll_answer", "meeting_schedule", "meeting_sign_in",
    "meeting_time_option_add", "owner_link", "owner_roll_import", "paper_entry_confirm", "paper_entry_create",
    "paper_entry_reject", "paper_issue", "proposal_answer", "proposal_create", "proposal_support",
    "proposal_withdraw", "proxy_record", "proxy_revoke", "vote_cancel", "vote_cast", "vote_close", "vote_create",
    "vote_open", "vote_paper_codes", "vote_publish", "vote_remind", "vote_tally", "vote_verify",
]


def _place(pk: int) -> Place:
    return Place.objects.get(pk=pk)


# Proposals ----------------------------------------------------------------------------------

def _staff_of(place: Place) -> list[User]:
    return holders(place, DELIBERATION_MANAGE_ROLES)


def _supporters(proposal: Proposal) -> list[User]:
    ids = list(ProposalSupport.objects.filter(proposal=proposal).values_list("user_id", flat=True))
    if proposal.proposer_id:
        ids.append(proposal.proposer_id)
    return list(User.objects.filter(pk__in=ids))


def proposal_create(*, by: Any, place: Place, title: str, body: str, at: datetime | None = None) -> Proposal:
    """A resident proposes something for their community (居民提议)."""
    at = at or timezone.now()
    community = community_of(place)
    if not lives_in(by, community):
        raise PermissionDenied(_("只有本社区的居民可以提出提议。"))
    title = clean_text(title, field="title", max_length=120)
    body = clean_text(body, field="body")
    with transaction.atomic():
        proposal = Proposal.objects.create(
            community=community, place=place, place_path=place.path, title=title, body=body, proposer=user_of(by),
            support_threshold=config_for(place).support_threshold, created_at=at,
        )
        audit(by, "proposal_create", proposal, community_id=community.pk, threshold=proposal.support_threshold)
        notify(users=[by], title=_("您的提议“%(t)s”已提交") % {"t": title[:60]},
               body=_("获得 %(n)d 位居民附议后将列入居委会议程。") % {"n": proposal.support_threshold}, at=at)
    return proposal


def proposal_support(*, proposal: Proposal, by: Any, at: datetime | None = None) -> Proposal:
    """附议. The support that reaches the threshold puts the proposal on the committee's
    agenda (exactly once, however many support at the same moment)."""
    at = at or timezone.now()
    community = _place(proposal.community_id)
    if not lives_in(by, community):
        raise PermissionDenied(_("只有本社区的居民可以附议。"))
    if proposal.proposer_id == getattr(by, "pk", None):
        raise ValidationError(_("不能附议自己的提议。"))
    if proposal.status not in PENDING_STATUSES:
        raise ValidationError(_("该提议已答复或撤回，不能再附议。"))
    with transaction.atomic():
        try:
            with transaction.atomic():
                ProposalSupport.objects.create(proposal=proposal, user=by, created_at=at)
        except IntegrityError:
            raise ValidationError(_("您已经附议过该提议。")) from None
        Proposal.objects.filter(pk=proposal.pk).update(supports_count=F("supports_count") + 1)
        reached = Proposal.objects.filter(
            pk=proposal.pk, status=ProposalStatus.OPEN, supports_count__gte=F("support_threshold"),
        ).update(status=ProposalStatus.AGENDA, agenda_at=at)
        proposal.refresh_from_db()
        audit(by, "proposal_support", proposal, community_id=proposal.community_id, supports=proposal.supports_count)
        if reached:
            audit(None, "proposal_agenda", proposal, community_id=proposal.community_id,
                  supports=proposal.supports_count)
            notify(users=_supporters(proposal), title=_("提议“%(t)s”已列入居委会议程") % {"t": proposal.title[:60]},
                   body=_("已有 %(n)d 位居民附议。") % {"n": proposal.supports_count}, at=at)
            notify(users=_staff_of(_place(proposal.place_id)),
                   title=_("居民提议达到附议人数：%(t)s") % {"t": proposal.title[:60]}, at=at)
    return proposal


def proposal_withdraw(*, proposal: Proposal, by: Any, at: datetime | None = None) -> Proposal:
    at = at or timezone.now()
    if proposal.proposer_id != getattr(by, "pk", None):
        raise PermissionDenied(_("只有提议人可以撤回提议。"))
    with transaction.atomic():
        if not Proposal.objects.filter(pk=proposal.pk, status=ProposalStatus.OPEN).update(
                status=ProposalStatus.WITHDRAWN):
            raise ValidationError(_("已列入议程或已答复的提议不能撤回。"))
        proposal.refresh_from_db()
        audit(by, "proposal_withdraw", proposal, community_id=proposal.community_id)
    return proposal


def proposal_answer(*, proposal: Proposal, by: Any, outcome: str, answer: str,
                    merged_into: Proposal | None = None, at: datetime | None = None) -> Proposal:
    """The committee's public answer: accepted, merged into another proposal, or not
    feasible — always with the reason. The proposer and supporters are told."""
    at = at or timezone.now()
    require_role(by, proposal.place_path, DELIBERATION_MANAGE_ROLES)
    if outcome not in [s.value for s in ANSWER_STATUSES]:
        raise ValidationError({"outcome": [_("请选择采纳、合并或暂不可行。")]})
    answer = clean_text(answer, field="answer")
    if outcome == ProposalStatus.MERGED:
        if merged_into is None or merged_into.pk == proposal.pk or merged_into.community_id != proposal.community_id:
            raise ValidationError({"merged_into": [_("请选择本社区的另一项提议。")]})
        if merged_into.status in (ProposalStatus.MERGED, ProposalStatus.WITHDRAWN):
            raise ValidationError({"merged_into": [_("不能合并到已合并或已撤回的提议。")]})
    else:
        merged_into = None
    with transaction.atomic():
        updated = Proposal.objects.filter(pk=proposal.pk, status__in=PENDING_STATUSES).update(
            status=outcome, answer=answer, answered_at=at, answered_by=by, merged_into=merged_into)
        if not updated:
            raise ValidationError(_("该提议已经答复或撤回。"))
        proposal.refresh_from_db()
        audit(by, "proposal_answer", proposal, community_id=proposal.community_id, outcome=outcome,
              merged_into=merged_into.pk if merged_into else None)
        notify(users=_supporters(proposal),
               title=_("提议“%(t)s”已答复：%(o)s") % {"t": proposal.title[:60], "o": proposal.get_status_display()},
               body=answer, at=at)
    return proposal


# Meetings -------------------------------------------------------------------------------------

def _check_times(starts_at: datetime, ends_at: datetime) -> None:
    if timezone.is_naive(starts_at) or timezone.is_naive(ends_at):
        raise ValueError("aware datetimes only")
    if ends_at <= starts_at:
        raise ValidationError({"ends_at": [_("结束时间须晚于开始时间。")]})


def meeting_create(
    *, by: Any, place: Place, kind: str, title: str, description: str = "", location: str = "",
    body_kind: str | None = None, starts_at: datetime | None = None, ends_at: datetime | None = None,
    time_options: Sequence[tuple[datetime, datetime]] = (), members: Sequence[Resident] = (),
) -> Meeting:
    """Convene a meeting: at a set time, or with candidate times for a poll.

    A residents' meeting has a body for its quorum (all adults by default, or one per
    household, or listed representatives); an owners' assembly decides by the Art. 278
    participation of its vote; councils and forums have no quorum."""
    require_role(by, place.path, DELIBERATION_MANAGE_ROLES)
    community = community_of(place)
    if kind not in MeetingKind.values:
        raise ValidationError({"kind": [_("未知的会议类型。")]})
    if body_kind is None:
        body_kind = BodyKind.ADULTS if kind == MeetingKind.RESIDENTS_MEETING else BodyKind.NONE
    if body_kind not in BodyKind.values:
        raise ValidationError({"body_kind": [_("未知的参会范围。")]})
    if kind == MeetingKind.RESIDENTS_MEETING and body_kind == BodyKind.NONE:
        raise ValidationError({"body_kind": [_("居民会议须确定参会范围，以计算法定人数。")]})
    if body_kind == BodyKind.REPRESENTATIVES:
        if not members:
            raise ValidationError({"members": [_("请列出参会的居民代表。")]})
        paths = Resident.objects.filter(pk__in=[m.pk for m in members], status=ResidentStatus.ACTIVE
                                        ).values_list("household__place__path", flat=True)
        if len(paths) != len({m.pk for m in members}) or not all(p.startswith(place.path) for p in paths):
            raise ValidationError({"members": [_("代表须是本范围内在住的居民。")]})
    title = clean_text(title, field="title", max_length=120)
    description = clean_text(description, field="description", required=False)
    location = clean_text(location, field="location", required=False, max_length=200)
    if starts_at is not None:
        ends_at = ends_at or starts_at + timedelta(hours=2)
        _check_times(starts_at, ends_at)
    elif not time_options:
        raise ValidationError({"starts_at": [_("请确定会议时间，或给出几个备选时间供居民选择。")]})
    for start, end in time_options:
        _check_times(start, end)
    with transaction.atomic():
        meeting = Meeting.objects.create(
            community=community, place=place, place_path=place.path, kind=kind, body_kind=body_kind, title=title,
            description=description, location=location, created_by=user_of(by),
            status=MeetingStatus.SCHEDULED if starts_at else MeetingStatus.PLANNING,
            starts_at=starts_at, ends_at=ends_at if starts_at else None,
        )
        TimeOption.objects.bulk_create([TimeOption(meeting=meeting, starts_at=s, ends_at=e)
                                        for s, e in dict.fromkeys(time_options)])
        if body_kind == BodyKind.REPRESENTATIVES:
            MeetingMember.objects.bulk_create([MeetingMember(meeting=meeting, resident=m)
                                               for m in {m.pk: m for m in members}.values()])
        audit(by, "meeting_create", meeting, community_id=community.pk, kind=kind, body=body_kind,
              options=len(time_options))
    return meeting


def meeting_time_option_add(*, meeting: Meeting, by: Any, starts_at: datetime, ends_at: datetime) -> TimeOption:
    require_role(by, meeting.place_path, DELIBERATION_MANAGE_ROLES)
    if meeting.status != MeetingStatus.PLANNING:
        raise ValidationError(_("会议时间已确定，不能再添加备选时间。"))
    _check_times(starts_at, ends_at)
    with transaction.atomic():
        option, created = TimeOption.objects.get_or_create(meeting=meeting, starts_at=starts_at, ends_at=ends_at)
        if created:
            audit(by, "meeting_time_option", meeting, community_id=meeting.community_id, option=option.pk)
    return option


def _may_take_part(by: Any, meeting: Meeting) -> bool:
    return lives_in(by, _place(meeting.community_id)) or has_role(by, meeting.place_path, DELIBERATION_WORK_ROLES)


def meeting_poll_answer(*, option: TimeOption, by: Any, answer: str, at: datetime | None = None) -> TimePollAnswer:
    """A resident says whether a candidate time suits them (changing an earlier answer)."""
    at = at or timezone.now()
    meeting = option.meeting
    if not _may_take_part(by, meeting):
        raise PermissionDenied(_("只有本社区的居民可以参加时间投票。"))
    if meeting.status != MeetingStatus.PLANNING:
        raise ValidationError(_("会议时间已确定。"))
    if answer not in PollAnswer.values:
        raise ValidationError({"answer": [_("请选择可以、也许或不能参加。")]})
    with transaction.atomic():
        row, _created = TimePollAnswer.objects.update_or_create(option=option, user=by,
                                                                defaults={"answer": answer, "answered_at": at})
        audit(by, "meeting_poll_answer", meeting, community_id=meeting.community_id, option=option.pk, answer=answer)
    return row


def meeting_schedule(*, meeting: Meeting, by: Any, option: TimeOption | None = None,
                     starts_at: datetime | None = None, ends_at: datetime | None = None,
                     at: datetime | None = None) -> Meeting:
    """Fix the time (a poll option, or another time); those who answered the poll are told."""
    at = at or timezone.now()
    require_role(by, meeting.place_path, DELIBERATION_MANAGE_ROLES)
    if option is not None:
        if option.meeting_id != meeting.pk:
            raise ValidationError({"option": [_("备选时间不属于该会议。")]})
        starts_at, ends_at = option.starts_at, option.ends_at
    if starts_at is None or ends_at is None:
        raise ValidationError({"starts_at": [_("请选择会议时间。")]})
    _check_times(starts_at, ends_at)
    with transaction.atomic():
        if not Meeting.objects.filter(pk=meeting.pk, status__in=[MeetingStatus.PLANNING, MeetingStatus.SCHEDULED]
                                      ).update(status=MeetingStatus.SCHEDULED, starts_at=starts_at, ends_at=ends_at):
            raise ValidationError(_("会议已召开或已取消。"))
        meeting.refresh_from_db()
        audit(by, "meeting_schedule", meeting, community_id=meeting.community_id, starts_at=starts_at.isoformat())
        answered = User.objects.filter(pk__in=TimePollAnswer.objects.filter(option__meeting=meeting
                                                                           ).values("user_id"))
        when = timezone.localtime(starts_at).strftime("%Y-%m-%d %H:%M")
        notify(users=list(answered), title=_("“%(t)s”定于 %(w)s 召开") % {"t": meeting.title[:60], "w": when},
               body=meeting.location, at=at)
    return meeting


def meeting_agenda_add(*, meeting: Meeting, by: Any, title: str = "", body: str = "",
                       proposal: Proposal | None = None) -> AgendaItem:
    """An agenda item: a residents' proposal, or the committee's own motion."""
    require_role(by, meeting.place_path, DELIBERATION_MANAGE_ROLES)
    if meeting.status in (MeetingStatus.HELD, MeetingStatus.CANCELLED):
        raise ValidationError(_("会议已召开或已取消。"))
    if proposal is not None:
        if proposal.community_id != meeting.community_id:
            raise ValidationError({"proposal": [_("该提议不属于本社区。")]})
        if proposal.status not in PENDING_STATUSES:
            raise ValidationError({"proposal": [_("该提议已答复或撤回。")]})
        title = title or proposal.title
        body = body or proposal.body
    title = clean_text(title, field="title", max_length=120)
    body = clean_text(body, field="body", required=False)
    with transaction.atomic():
        order = (AgendaItem.objects.filter(meeting=meeting).aggregate(n=Max("order"))["n"] or 0) + 1
        try:
            with transaction.atomic():
                item = AgendaItem.objects.create(
                    meeting=meeting, order=order, title=title, body=body, proposal=proposal, moved_by=user_of(by),
                    kind=AgendaKind.PROPOSAL if proposal else AgendaKind.MOTION,
                )
        except IntegrityError:
            raise ValidationError({"proposal": [_("该提议已在本次会议议程中。")]}) from None
        audit(by, "meeting_agenda_add", meeting, community_id=meeting.community_id, item=item.pk,
              proposal=proposal.pk if proposal else None)
        if proposal is not None:
            notify(users=_supporters(proposal),
                   title=_("提议“%(t)s”列入会议“%(m)s”议程") % {"t": proposal.title[:50], "m": meeting.title[:40]})
    return item


def meeting_sign_in(*, meeting: Meeting, by: Any, resident: Resident | None = None,
                    at: datetime | None = None) -> Attendance:
    """签到: a resident signs themselves in, or staff sign a resident in (a resident
    without a phone, an older neighbour at the door)."""
    at = at or timezone.now()
    if meeting.status != MeetingStatus.SCHEDULED:
        raise ValidationError(_("会议不在签到阶段。"))
    if resident is None:
        if not isinstance(by, User):
            raise PermissionDenied(_("请先登录。"))
        resident = Resident.objects.filter(user=by, status=ResidentStatus.ACTIVE).first()
        if resident is None and not lives_in(by, _place(meeting.community_id)):
            raise PermissionDenied(_("只有本社区的居民可以签到。"))
        user: User | None = by
        signed_by = None
    else:
        require_role(by, meeting.place_path, DELIBERATION_WORK_ROLES)
        if resident.community_id != meeting.community_id or resident.status != ResidentStatus.ACTIVE:
            raise ValidationError({"resident": [_("该居民不是本社区在住居民。")]})
        user = resident.user
        signed_by = user_of(by)
    if resident is not None:
        household_path = Place.objects.filter(pk=resident.household.place_id).values_list("path", flat=True).get()
        if not household_path.startswith(meeting.place_path):
            raise ValidationError({"resident": [_("该居民不在本次会议的范围内。")]})
    name = resident.name if resident is not None else str(by)
    with transaction.atomic():
        try:
            with transaction.atomic():
                attendance = Attendance.objects.create(meeting=meeting, resident=resident, user=user, name=name[:60],
                                                       signed_in_by=signed_by, signed_in_at=at)
        except IntegrityError:
            raise ValidationError(_("已经签到。")) from None
        audit(by, "meeting_sign_in", meeting, community_id=meeting.community_id, attendance=attendance.pk,
              by_staff=signed_by is not None)
    return attendance


def meeting_comment(*, meeting: Meeting, by: Any, body: str, at: datetime | None = None) -> MeetingComment:
    at = at or timezone.now()
    if not _may_take_part(by, meeting):
        raise PermissionDenied(_("只有本社区的居民可以发表意见。"))
    if meeting.status == MeetingStatus.CANCELLED:
        raise ValidationError(_("会议已取消。"))
    body = clean_text(body, field="body", max_length=2000)
    with transaction.atomic():
        comment = MeetingComment.objects.create(meeting=meeting, author=user_of(by), author_label=label(by),
                                                body=body, created_at=at)
        audit(by, "meeting_comment", meeting, community_id=meeting.community_id, comment=comment.pk)
    return comment


def meeting_comment_hide(*, comment: MeetingComment, by: Any, at: datetime | None = None) -> MeetingComment:
    at = at or timezone.now()
    require_role(by, comment.meeting.place_path, DELIBERATION_MANAGE_ROLES)
    with transaction.atomic():
        MeetingComment.objects.filter(pk=comment.pk).update(hidden_at=at, hidden_by=by)
        comment.refresh_from_db()
        audit(by, "meeting_comment_hide", comment, community_id=comment.meeting.community_id)
    return comment


def meeting_end(*, meeting: Meeting, by: Any, at: datetime | None = None) -> Meeting:
    """The meeting is over: attendance and the body size are frozen with it."""
    at = at or timezone.now()
    require_role(by, meeting.place_path, DELIBERATION_MANAGE_ROLES)
    with transaction.atomic():
        meeting = Meeting.objects.select_for_update().get(pk=meeting.pk)
        if meeting.status != MeetingStatus.SCHEDULED:
            raise ValidationError(_("只有已确定时间的会议可以结束。"))
        quorum = meeting_quorum(meeting)
        meeting.status = MeetingStatus.HELD
        meeting.present_count = quorum.present
        meeting.body_size = quorum.body_size
        meeting.ended_at = at
        meeting.save(update_fields=["status", "present_count", "body_size", "ended_at"])
        audit(by, "meeting_end", meeting, community_id=meeting.community_id, present=quorum.present,
              body=quorum.body_size, quorum=quorum.reached if quorum.applies else None)
    return meeting


def meeting_minutes_save(*, meeting: Meeting, by: Any, text: str, publish: bool = False,
                         at: datetime | None = None) -> Meeting:
    at = at or timezone.now()
    require_role(by, meeting.place_path, DELIBERATION_MANAGE_ROLES)
    text = clean_text(text, field="minutes", max_length=20000)
    if publish and meeting.status != MeetingStatus.HELD:
        raise ValidationError(_("会议结束后才能公开纪要。"))
    with transaction.atomic():
        Meeting.objects.filter(pk=meeting.pk).update(minutes=text, minutes_by=by, minutes_at=at,
                                                     minutes_published=publish)
        meeting.refresh_from_db()
        audit(by, "meeting_minutes", meeting, community_id=meeting.community_id, published=publish,
              length=len(text))
    return meeting


def meeting_cancel(*, meeting: Meeting, by: Any, reason: str, at: datetime | None = None) -> Meeting:
    at = at or timezone.now()
    require_role(by, meeting.place_path, DELIBERATION_MANAGE_ROLES)
    reason = clean_text(reason, field="reason", max_length=200)
    with transaction.atomic():
        if not Meeting.objects.filter(pk=meeting.pk, status__in=[MeetingStatus.PLANNING, MeetingStatus.SCHEDULED]
                                      ).update(status=MeetingStatus.CANCELLED):
            raise ValidationError(_("会议已召开或已取消。"))
        meeting.refresh_from_db()
        audit(by, "meeting_cancel", meeting, community_id=meeting.community_id, reason=reason)
        attendees = User.objects.filter(pk__in=TimePollAnswer.objects.filter(option__meeting=meeting
                                                                            ).values("user_id"))
        notify(users=list(attendees), title=_("“%(t)s”已取消") % {"t": meeting.title[:60]}, body=reason, at=at)
    return meeting


# Decisions and actions ----------------------------------------------------------------------------

def decision_record(
    *, by: Any, title: str, text: str, place: Place | None = None, meeting: Meeting | None = None,
    vote: Vote | None = None, proposals: Sequence[Proposal] = (), requests: Sequence[Request] = (),
    at: datetime | None = None,
) -> Decision:
    """Record a decision, with the published result of its vote when it was voted on."""
    at = at or timezone.now()
    if vote is not None:
        place = _place(vote.place_id)
    elif meeting is not None:
        place = place or _place(meeting.place_id)
    if place is None:
        raise ValidationError({"place": [_("请选择范围。")]})
    require_role(by, place.path, DELIBERATION_MANAGE_ROLES)
    community = community_of(place)
    title = clean_text(title, field="title", max_length=200)
    text = clean_text(text, field="text", max_length=8000)
    result: dict[str, Any] | None = None
    digest = ""
    if vote is not None:
        vote = Vote.objects.select_related("meeting").get(pk=vote.pk)
        if vote.status != VoteStatus.PUBLISHED:
            raise ValidationError({"vote": [_("表决结果公布后才能据此记录决定。")]})
        published = PublishedResult.objects.get(vote=vote)
        result = json.loads(published.document)["outcome"]
        digest = published.sha256
        if not result.get("passed"):
            raise ValidationError({"vote": [_("该表决未通过，不能据此作出决定。")]})
    if meeting is not None and meeting.community_id != community.pk:
        raise ValidationError({"meeting": [_("会议不属于本社区。")]})
    if any(p.community_id != community.pk for p in proposals) or any(
            r.community_id != community.pk for r in requests):
        raise ValidationError({"proposals": [_("关联的提议和诉求须属于本社区。")]})
    with transaction.atomic():
        try:
            with transaction.atomic():
                decision = Decision.objects.create(
                    community=community, place=place, place_path=place.path, title=title, text=text,
                    meeting=meeting or (vote.meeting if vote else None), vote=vote, result=result,
                    result_sha256=digest, decided_at=at, recorded_by=user_of(by),
                )
        except IntegrityError:
            raise ValidationError({"vote": [_("该表决已经记录了决定。")]}) from None
        decision.proposals.set(proposals)
        decision.requests.set(requests)
        audit(by, "decision_record", decision, community_id=community.pk, vote=vote.pk if vote else None,
              sha256=digest or None, proposals=[p.pk for p in proposals], requests=[r.pk for r in requests])
        users = [u for p in proposals for u in _supporters(p)]
        notify(users=users, title=_("居委会已作出决定：%(t)s") % {"t": title[:60]}, body=text[:500], at=at)
    return decision


def default_progress(place: Place, status: str) -> int:
    config = config_for(place)
    return {ActionStatus.PLANNED: config.progress_planned, ActionStatus.IN_PROGRESS: config.progress_in_progress,
            ActionStatus.DONE: config.progress_done}[ActionStatus(status)]


def _percent(value: Fraction) -> Decimal:
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal("0.01"), ROUND_HALF_UP)


def _roll_up(action: Action) -> None:
    """Recompute the rolled-up progress of an action and of everything above it: a leaf
    shows its own progress, a parent the mean of its children's (each child counts once)."""
    node: Action | None = action
    while node is not None:
        children = list(Action.objects.filter(parent=node).values_list("rolled_progress", flat=True))
        if children:
            mean = sum((Fraction(value) for value in children), Fraction(0)) / len(children)
        else:
            mean = Fraction(Action.objects.filter(pk=node.pk).values_list("progress", flat=True).get())
        Action.objects.filter(pk=node.pk).update(rolled_progress=_percent(mean))
        node = Action.objects.filter(pk=node.parent_id).first() if node.parent_id else None


def action_create(
    *, decision: Decision, by: Any, title: str, due_on: date, owner: User | None = None, owner_label: str = "",
    description: str = "", parent: Action | None = None, proposals: Sequence[Proposal] = (),
    requests: Sequence[Request] = (), at: datetime | None = None,
) -> Action:
    """An action that carries out a decision, with an owner and a due date; nested under
    ``parent`` when it is a step of a larger action."""
    at = at or timezone.now()
    require_role(by, decision.place_path, DELIBERATION_MANAGE_ROLES)
    if parent is not None and parent.decision_id != decision.pk:
        raise ValidationError({"parent": [_("上级事项须属于同一决定。")]})
    title = clean_text(title, field="title", max_length=200)
    description = clean_text(description, field="description", required=False)
    owner_label = clean_text(owner_label or (str(owner) if owner else ""), field="owner_label", max_length=150)
    if any(p.community_id != decision.community_id for p in proposals) or any(
            r.community_id != decision.community_id for r in requests):
        raise ValidationError({"proposals": [_("关联的提议和诉求须属于本社区。")]})
    progress = default_progress(_place(decision.place_id), ActionStatus.PLANNED)
    with transaction.atomic():
        action = Action.objects.create(
            decision=decision, parent=parent, community_id=decision.community_id, place_path=decision.place_path,
            title=title, description=description, owner=owner, owner_label=owner_label, due_on=due_on,
            progress=progress, rolled_progress=progress, created_at=at, updated_at=at,
        )
        action.proposals.set(proposals)
        action.requests.set(requests)
        _roll_up(action)
        audit(by, "action_create", action, community_id=decision.community_id, decision=decision.pk,
              parent=parent.pk if parent else None, due_on=due_on.isoformat())
        if owner is not None:
            notify(users=[owner], title=_("新的落实事项：%(t)s") % {"t": title[:60]},
                   body=_("完成期限：%(d)s") % {"d": due_on.isoformat()}, at=at)
    action.refresh_from_db()
    return action


def action_update(
    *, action: Action, by: Any, status: str | None = None, progress: int | None = None, body: str = "",
    photos: Sequence[UploadedFile] = (), at: datetime | None = None,
) -> ActionUpdate:
    """Report progress: a new status takes its default progress unless one is given;
    photos are re-encoded without their location data."""
    at = at or timezone.now()
    if getattr(by, "pk", None) != action.owner_id or action.owner_id is None:
        require_role(by, action.place_path, DELIBERATION_MANAGE_ROLES)
    body = clean_text(body, field="body", required=False)
    if status is not None and status not in ActionStatus.values:
        raise ValidationError({"status": [_("未知的状态。")]})
    if progress is not None and not 0 <= progress <= 100:
        raise ValidationError({"progress": [_("进度须在 0 到 100 之间。")]})
    if status is None and progress is None and not body and not photos:
        raise ValidationError(_("请填写进展、状态或进度。"))
    photos_check_count(list(photos))
    cleaned = [photo_clean(upload) for upload in photos]
    new_status = status or action.status
    if progress is None:
        progress = (default_progress(_place(action.decision.place_id), new_status) if status is not None
                    else action.progress)
    with transaction.atomic():
        done_at = at if new_status == ActionStatus.DONE else None
        Action.objects.filter(pk=action.pk).update(status=new_status, progress=progress, updated_at=at,
                                                    done_at=done_at)
        update = ActionUpdate.objects.create(action=action, by=user_of(by), by_label=label(by), at=at, body=body,
                                             status=new_status, progress=progress)
        for photo in cleaned:
            ActionPhoto.objects.create(update=update, file=photo.content, content_type=photo.content_type,
                                       size=photo.content.size, width=photo.width, height=photo.height)
        _roll_up(action)
        audit(by, "action_update", action, community_id=action.community_id, status=new_status, progress=progress,
              photos=len(cleaned))
    action.refresh_from_db()
    return update


# Settings -----------------------------------------------------------------------------------------

CONFIG_FIELDS = ("support_threshold", "progress_planned", "progress_in_progress", "progress_done", "reminder_hours")


def config_save(*, place: Place, by: Any, values: dict[str, int]) -> DeliberationConfig:
    """A community's own numbers (the support threshold, the default progress of each
    status, the vote reminder interval). Proposals keep the threshold they were made
    with; actions take the new defaults at their next change of status."""
    require_role(by, place.path, VOTE_RUN_ROLES)
    if place.kind != PlaceKind.COMMUNITY:
        raise ValidationError({"place": [_("请选择社区。")]})
    unknown = set(values) - set(CONFIG_FIELDS)
    if unknown:
        raise ValueError(f"unknown settings: {sorted(unknown)}")
    current = config_for(place)
    merged = {name: int(values.get(name, getattr(current, name))) for name in CONFIG_FIELDS}
    if merged["support_threshold"] < 1:
        raise ValidationError({"support_threshold": [_("至少需要 1 人附议。")]})
    for name in ("progress_planned", "progress_in_progress", "progress_done"):
        if not 0 <= merged[name] <= 100:
            raise ValidationError({name: [_("进度须在 0 到 100 之间。")]})
    if not merged["progress_planned"] <= merged["progress_in_progress"] <= merged["progress_done"]:
        raise ValidationError({"progress_in_progress": [_("进度须按“计划中 ≤ 进行中 ≤ 已完成”设置。")]})
    if merged["reminder_hours"] < 0:
        raise ValidationError({"reminder_hours": [_("不能小于 0。")]})
    with transaction.atomic():
        config, _created = DeliberationConfig.objects.update_or_create(place=place, defaults=merged)
        audit(by, "config_save", config, community_id=place.pk, **merged)
    return config
