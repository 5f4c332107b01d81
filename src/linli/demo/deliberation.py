"""议事协商 for the demo street: in every community, residents' proposals in each state
(gathering support, on the agenda, accepted, merged, not feasible, withdrawn), two
meetings — a residents' representatives' meeting held three weeks ago, with attendance,
its quorum, an agenda, minutes, decisions and their actions at various stages of
progress, and a council still finding its time by poll — and the actions' updates.

Rows are written in bulk, consistent with what the services would have written (counts,
statuses, rolled-up progress, frozen attendance), but without an audit event or a
notification each: the demo build records one audit event for everything. Supporters
are neighbours with an account that cannot sign in (no password), linked to adult
residents of the community, so that every support is a person who lives there.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from linli.accounts.models import RoleAssignment, User
from linli.deliberation.models import (
    Action,
    ActionStatus,
    ActionUpdate,
    AgendaItem,
    AgendaKind,
    Attendance,
    BodyKind,
    Decision,
    Meeting,
    MeetingComment,
    MeetingKind,
    MeetingMember,
    MeetingStatus,
    PollAnswer,
    Proposal,
    ProposalStatus,
    ProposalSupport,
    TimeOption,
    TimePollAnswer,
)
from linli.deliberation.selectors import adult_cutoff
from linli.demo.generator import seeded_rng
from linli.people.models import Resident, ResidentStatus
from linli.places.models import Place, PlaceKind
from linli.requests.models import Request

THRESHOLD = 10  # the built-in default support threshold
NEIGHBOURS = 14  # supporter accounts per community
REPRESENTATIVES = 25  # members of the held representatives' meeting
PRESENT = 19  # of them, present: more than half


@dataclass(frozen=True)
class Idea:
    title: str
    body: str
    status: str
    supports: int
    answer: str = ""


IDEAS = [
    Idea("在小区东门增设快递柜", "东门附近没有快递柜，老人取快递要走到西门，建议在东门物业用房旁增设一组。",
         ProposalStatus.OPEN, 3),
    Idea("楼道加装扶手方便老人上下楼", "老楼没有电梯，楼梯较陡，建议在楼道靠墙一侧加装扶手。", ProposalStatus.OPEN, 7),
    Idea("增设电动自行车充电桩", "楼道里有人私拉电线给电动车充电，很危险。建议在车棚增设集中充电桩。",
         ProposalStatus.AGENDA, THRESHOLD),
    Idea("在中心花园增设休息座椅", "中心花园只有两张长椅，老人散步累了没处歇脚，建议增设几张带靠背的座椅。",
         ProposalStatus.ACCEPTED, 12, "采纳。经居民代表会议议定，年内在中心花园增设 6 张带靠背的座椅，由物业负责安装。"),
    Idea("小花园多放几张长椅", "小花园的长椅不够坐，晚上乘凉的人多。", ProposalStatus.MERGED, 4,
         "与“在中心花园增设休息座椅”是同一件事，已合并一并办理，请关注该提议的进展。"),
    Idea("小区内道路开设停车收费", "外来车辆太多，建议对小区内道路停车收费。", ProposalStatus.NOT_FEASIBLE, 11,
         "暂不可行：小区道路停车收费须经业主大会依法表决并办理收费备案，居委会无权决定。已将意见转业主委员会，"
         "可由业主提议召开业主大会表决。"),
    Idea("周末组织跳蚤市场", "建议每月组织一次跳蚤市场，闲置物品交换。", ProposalStatus.WITHDRAWN, 1),
]


@dataclass
class DeliberationBuilt:
    proposals: int
    meetings: int
    decisions: int
    actions: int
    seconds: float

    def counts(self) -> dict[str, int]:
        return {"proposals": self.proposals, "meetings": self.meetings, "decisions": self.decisions,
                "actions": self.actions}


def _neighbours(community: Place, adults: list[Resident], password: str) -> list[User]:
    users = [User(username=f"neighbour-{community.code}-{k + 1:02d}", display_name=r.name, password=password)
             for k, r in enumerate(adults[:NEIGHBOURS])]
    User.objects.bulk_create(users)
    users = list(User.objects.filter(username__in=[u.username for u in users]).order_by("username"))
    for user, resident in zip(users, adults, strict=False):
        Resident.objects.filter(pk=resident.pk).update(user_id=user.pk)
    return users


def _community_build(community: Place, index: int, now: datetime, rng: random.Random, password: str) -> list[int]:
    roles = {a.role: a.user for a in RoleAssignment.objects.filter(place=community, is_active=True)
             .select_related("user").order_by("user__username")}
    staff, lead = roles.get("community_staff"), roles.get("committee_lead")
    grids = list(Place.objects.filter(parent=community, kind=PlaceKind.GRID).order_by("path"))
    grid_worker = (RoleAssignment.objects.filter(place__in=grids, role="grid_worker").select_related("user")
                   .order_by("place__path").first())
    adults = list(Resident.objects.filter(community=community, status=ResidentStatus.ACTIVE, user__isnull=True,
                                          birth_date__lte=adult_cutoff(now.date())).select_related("household__place")
                  .order_by("pk")[:NEIGHBOURS + REPRESENTATIVES])
    accounts = list(User.objects.filter(resident__community=community).order_by("username"))
    neighbours = _neighbours(community, adults, password)
    people = accounts + neighbours
    if len(people) < 3:
        return [0, 0, 0, 0]

    # Proposals, oldest first.
    proposals: list[Proposal] = []
    for k, idea in enumerate(IDEAS):
        created = now - timedelta(days=50 - 5 * k, hours=rng.randint(0, 10))
        # resident-Na proposes the first, resident-Nb (in elder mode) the one that is accepted.
        proposer = people[{0: 0, 3: 1}.get(k, 2 + k) % len(people)]
        count = min(idea.supports, len(people) - 1)
        answered = idea.status in (ProposalStatus.ACCEPTED, ProposalStatus.MERGED, ProposalStatus.NOT_FEASIBLE)
        reached = count >= THRESHOLD and idea.status != ProposalStatus.WITHDRAWN
        proposals.append(Proposal(
            community=community, place=community, place_path=community.path, title=idea.title, body=idea.body,
            proposer=proposer, status=idea.status if idea.status != ProposalStatus.MERGED else ProposalStatus.OPEN,
            support_threshold=THRESHOLD, supports_count=count, created_at=created,
            agenda_at=created + timedelta(days=6) if reached else None,
            answer=idea.answer if answered else "", answered_at=created + timedelta(days=20) if answered else None,
            answered_by=staff if answered else None,
        ))
    Proposal.objects.bulk_create(proposals)
    by_title = {p.title: p for p in proposals}
    merged = by_title["小花园多放几张长椅"]
    Proposal.objects.filter(pk=merged.pk).update(status=ProposalStatus.MERGED,
                                                 merged_into=by_title["在中心花园增设休息座椅"])
    supports = []
    for proposal in proposals:
        others = [u for u in people if u.pk != proposal.proposer_id]
        for k, user in enumerate(others[: proposal.supports_count]):
            supports.append(ProposalSupport(proposal=proposal, user=user,
                                            created_at=proposal.created_at + timedelta(hours=5 + 7 * k)))
    ProposalSupport.objects.bulk_create(supports)

    # The held representatives' meeting, three weeks ago.
    representatives = adults[NEIGHBOURS:NEIGHBOURS + REPRESENTATIVES] or adults[:REPRESENTATIVES]
    present = min(PRESENT, len(representatives))
    start = (now - timedelta(days=21)).replace(hour=19, minute=0, second=0, microsecond=0)
    held = Meeting.objects.create(
        community=community, place=community, place_path=community.path, kind=MeetingKind.RESIDENTS_MEETING,
        body_kind=BodyKind.REPRESENTATIVES, title=f"{community.name}第三季度居民代表会议",
        description="审议居民提议和居委会动议。", location="社区党群服务中心二楼会议室",
        status=MeetingStatus.HELD, starts_at=start, ends_at=start + timedelta(hours=2), created_by=staff,
        present_count=present, body_size=len(representatives), ended_at=start + timedelta(hours=2),
        minutes=(f"应到居民代表 {len(representatives)} 人，实到 {present} 人，超过半数，会议有效。\n"
                 "一、审议居民提议“在中心花园增设休息座椅”：到会代表一致同意，年内增设 6 张带靠背座椅，由物业负责安装。\n"
                 "二、审议居委会动议“垃圾分类督导”：同意组织志愿者在早晚高峰值守投放点，为期三个月。\n"
                 "三、其他：代表建议下次会议前一周公布议程。"),
        minutes_by=staff, minutes_at=start + timedelta(days=1), minutes_published=True,
    )
    MeetingMember.objects.bulk_create([MeetingMember(meeting=held, resident=r) for r in representatives])
    Attendance.objects.bulk_create([
        Attendance(meeting=held, resident=r, name=r.name, signed_in_by=grid_worker.user if grid_worker and k % 3 else
                   None, signed_in_at=start - timedelta(minutes=20 - k % 20))
        for k, r in enumerate(representatives[:present])
    ])
    seats = by_title["在中心花园增设休息座椅"]
    AgendaItem.objects.bulk_create([
        AgendaItem(meeting=held, order=1, kind=AgendaKind.PROPOSAL, title=seats.title, body=seats.body,
                   proposal=seats, moved_by=staff),
        AgendaItem(meeting=held, order=2, kind=AgendaKind.MOTION, title="垃圾分类督导",
                   body="早晚高峰在投放点安排志愿者值守，指导居民分类投放。", moved_by=lead),
    ])

    # Its decisions and their actions.
    decided = start + timedelta(hours=2)
    seats_decision = Decision.objects.create(
        community=community, place=community, place_path=community.path, title="在中心花园增设休息座椅",
        text="年内在中心花园增设 6 张带靠背的休息座椅，由物业服务企业负责采购和安装，居委会监督。",
        meeting=held, decided_at=decided, recorded_by=staff)
    seats_decision.proposals.set([seats, merged])
    request = Request.objects.filter(community=community).order_by("pk").first()
    if request is not None:
        seats_decision.requests.set([request])
    sort_decision = Decision.objects.create(
        community=community, place=community, place_path=community.path, title="垃圾分类督导值守",
        text="自下月起三个月内，早 7—9 时、晚 6—8 时在各投放点安排志愿者值守督导。", meeting=held,
        decided_at=decided, recorded_by=lead)
    owner_label = "物业服务中心"
    plan = [
        # decision, parent title, title, owner, due (days from now), status, progress
        (seats_decision, None, "采购并安装休息座椅", owner_label, 40, None, None),
        (seats_decision, "采购并安装休息座椅", "选型与采购", owner_label, -5, ActionStatus.DONE, 100),
        (seats_decision, "采购并安装休息座椅", "现场安装", owner_label, 40, ActionStatus.IN_PROGRESS, 50),
        (sort_decision, None, "招募督导志愿者", f"{community.name}居委会", -3, ActionStatus.IN_PROGRESS, 60),
        (sort_decision, None, "投放点值守排班", f"{community.name}居委会", 20, ActionStatus.PLANNED, 0),
    ]
    made: dict[str, Action] = {}
    updates: list[ActionUpdate] = []
    for decision, parent, title, label, due, status, progress in plan:
        action = Action.objects.create(
            decision=decision, parent=made.get(parent or ""), community=community, place_path=community.path,
            title=title, owner=grid_worker.user if grid_worker and decision is sort_decision else None,
            owner_label=label, due_on=(now + timedelta(days=due)).date(), status=status or ActionStatus.PLANNED,
            progress=progress or 0, rolled_progress=Decimal(progress or 0), created_at=decided,
            updated_at=decided, done_at=now - timedelta(days=6) if status == ActionStatus.DONE else None)
        if decision is seats_decision and parent is None:
            action.proposals.set([seats])
        made[title] = action
        if status and status != ActionStatus.PLANNED:
            updates.append(ActionUpdate(
                action=action, by=staff, by_label=staff.username if staff else "system",
                at=now - timedelta(days=6 if status == ActionStatus.DONE else 2), status=status, progress=progress or 0,
                body={"选型与采购": "6 张座椅已到货，验收合格。", "现场安装": "已完成地面硬化，下周安装座椅。",
                      "招募督导志愿者": "已招募 18 名志愿者，还差约 12 名。"}.get(title, "")))
    ActionUpdate.objects.bulk_create(updates)
    parent_action = made["采购并安装休息座椅"]
    Action.objects.filter(pk=parent_action.pk).update(status=ActionStatus.IN_PROGRESS,
                                                      rolled_progress=Decimal("75.00"), progress=50)

    # The council still finding its time, with the proposal on the agenda and a few comments.
    council = Meeting.objects.create(
        community=community, place=community, place_path=community.path, kind=MeetingKind.COUNCIL,
        title="电动自行车充电桩议事会", description="讨论充电桩选址、收费和安全管理，请选择您能参加的时间。",
        location="社区议事厅", status=MeetingStatus.PLANNING, created_by=staff)
    options = [TimeOption(meeting=council, starts_at=(now + timedelta(days=d)).replace(hour=19, minute=0, second=0,
                                                                                       microsecond=0),
                          ends_at=(now + timedelta(days=d)).replace(hour=21, minute=0, second=0, microsecond=0))
               for d in (5 + index, 6 + index, 8 + index)]
    TimeOption.objects.bulk_create(options)
    answers = [TimePollAnswer(option=option, user=user, answered_at=now - timedelta(hours=k + 1),
                              answer=[PollAnswer.YES, PollAnswer.MAYBE, PollAnswer.NO][(k + j + index) % 3])
               for j, option in enumerate(options) for k, user in enumerate(people[:9])]
    TimePollAnswer.objects.bulk_create(answers)
    charging = by_title["增设电动自行车充电桩"]
    AgendaItem.objects.create(meeting=council, order=1, kind=AgendaKind.PROPOSAL, title=charging.title,
                              body=charging.body, proposal=charging, moved_by=staff)
    MeetingComment.objects.bulk_create([
        MeetingComment(meeting=council, author=people[1], author_label=people[1].username,
                       body="建议充电桩装在车棚外侧，远离住宅楼。", created_at=now - timedelta(days=1, hours=3)),
        MeetingComment(meeting=council, author=people[2], author_label=people[2].username,
                       body="希望能按次扫码付费，价格公示。", created_at=now - timedelta(hours=20)),
    ])
    return [len(proposals), 2, 2, len(plan)]


def deliberation_build(*, community_ids: list[int], seed: int, now: datetime | None = None) -> DeliberationBuilt:
    started = time.perf_counter()
    now = timezone.localtime(now or timezone.now())
    password = make_password(None)  # neighbours' accounts cannot sign in
    totals = [0, 0, 0, 0]
    with transaction.atomic():
        for index, community in enumerate(Place.objects.filter(pk__in=community_ids).order_by("path")):
            rng = seeded_rng(seed, f"deliberation-{community.pk}")
            made = _community_build(community, index, now, rng, password)
            totals = [a + b for a, b in zip(totals, made, strict=True)]
    proposals, meetings, decisions, actions = totals
    return DeliberationBuilt(proposals, meetings, decisions, actions, time.perf_counter() - started)
