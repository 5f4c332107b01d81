"""Residents' requests (诉求) handled within deadlines (接诉即办, DOMAIN §1).

A ``Request`` moves through the states of ``Status``; every move is a service in
``services.py`` that appends a ``RequestEvent`` (the request's history, which is also
the resident's timeline where ``public`` is set). Deadlines come from an ``SlaPolicy``
counted on the working calendar (``calendar.py``). ``RequestRollup`` rows keep the
counts behind the three rates current as events happen, so dashboards never scan
the requests themselves.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Self

from django.conf import settings
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from linli.accounts.models import Role
from linli.core.fields import EncryptedTextField

# Who works on requests: they see the queue of their scope.
HANDLER_ROLES = frozenset({Role.GRID_WORKER, Role.COMMUNITY_STAFF, Role.COMMITTEE_LEAD})
# Who sees requests in their scope (read-only for auditors; street supervisors oversee
# and escalate, and may act, since escalation ends with them).
REQUEST_VIEW_ROLES = frozenset(
    {Role.GRID_WORKER, Role.COMMUNITY_STAFF, Role.COMMITTEE_LEAD, Role.STREET_SUPERVISOR, Role.AUDITOR}
)
REQUEST_WORK_ROLES = frozenset({Role.GRID_WORKER, Role.COMMUNITY_STAFF, Role.COMMITTEE_LEAD, Role.STREET_SUPERVISOR})
# Who assigns, dispatches, closes without dispatch and merges.
REQUEST_MANAGE_ROLES = frozenset({Role.COMMUNITY_STAFF, Role.COMMITTEE_LEAD, Role.STREET_SUPERVISOR})
# Who reads the three rates and the ranking.
RATES_ROLES = frozenset({Role.COMMUNITY_STAFF, Role.COMMITTEE_LEAD, Role.STREET_SUPERVISOR, Role.AUDITOR})


class Priority(models.TextChoices):
    URGENT = "urgent", _("紧急")  # danger to life or property
    HIGH = "high", _("加急")  # water, power, gas, heating
    NORMAL = "normal", _("一般")
    COMPLEX = "complex", _("复杂")


class TimeUnit(models.TextChoices):
    HOURS = "hours", _("小时（自然时间）")
    WORKING_HOURS = "working_hours", _("工作小时")
    WORKING_DAYS = "working_days", _("工作日")


class Status(models.TextChoices):
    SUBMITTED = "submitted", _("已提交")
    ACCEPTED = "accepted", _("已受理")
    ASSIGNED = "assigned", _("已分派")
    DISPATCHED = "dispatched", _("已派往合作单位")
    IN_PROGRESS = "in_progress", _("办理中")
    WAITING = "waiting", _("等待居民补充")
    RESOLVED = "resolved", _("已办结待回访")
    CLOSED = "closed", _("已关闭")


OPEN_STATUSES = frozenset({
    Status.SUBMITTED, Status.ACCEPTED, Status.ASSIGNED, Status.DISPATCHED, Status.IN_PROGRESS, Status.WAITING,
})
# States in which a handler holds the request (it has been accepted and is not done).
ACTIVE_STATUSES = frozenset({Status.ACCEPTED, Status.ASSIGNED, Status.DISPATCHED, Status.IN_PROGRESS, Status.WAITING})


class Channel(models.TextChoices):
    WEB = "web", _("网页")
    API = "api", _("接口")
    OPEN311 = "open311", _("Open311")
    PHONE = "phone", _("电话")
    VISIT = "visit", _("入户走访")
    SUGGESTION_BOX = "suggestion_box", _("意见箱")
    FORUM = "forum", _("居民议事会/论坛")
    HOTLINE = "hotline", _("12345 热线转办")


STAFF_ENTRY_CHANNELS = (Channel.PHONE, Channel.VISIT, Channel.SUGGESTION_BOX, Channel.FORUM, Channel.HOTLINE)


class CloseReason(models.TextChoices):
    """Why a request closed. Only ``RESOLVED`` follows handling; the others are the
    recorded answers for requests that are not dispatched (Art. 11)."""

    RESOLVED = "resolved", _("已办结")
    EMERGENCY = "emergency", _("紧急事项，已转 110/119/120/122")
    LEGAL_CHANNEL = "legal_channel", _("已进入诉讼、仲裁或信访程序")
    DUPLICATE = "duplicate", _("重复诉求，已合并")
    PRIVACY = "privacy", _("涉及隐私或秘密事项")
    OUTSIDE_DUTY = "outside_duty", _("不属于任何单位职责，建议通过市场或社会渠道")
    UNLAWFUL = "unlawful", _("诉求违法，不予办理")
    WITHDRAWN = "withdrawn", _("居民撤回")


NOT_DISPATCHED_REASONS = (
    CloseReason.EMERGENCY, CloseReason.LEGAL_CHANNEL, CloseReason.DUPLICATE, CloseReason.PRIVACY,
    CloseReason.OUTSIDE_DUTY, CloseReason.UNLAWFUL, CloseReason.WITHDRAWN,
)


class Rating(models.IntegerChoices):
    """The national five-level scale (好差评, 国办发〔2019〕51号)."""

    VERY_SATISFIED = 5, _("非常满意")
    SATISFIED = 4, _("满意")
    BASICALLY_SATISFIED = 3, _("基本满意")
    DISSATISFIED = 2, _("不满意")
    VERY_DISSATISFIED = 1, _("非常不满意")


class VisitChannel(models.TextChoices):
    ONLINE = "online", _("线上")
    PHONE = "phone", _("电话")
    SMS = "sms", _("短信")
    IN_PERSON = "in_person", _("当面")


class EventKind(models.TextChoices):
    SUBMITTED = "submitted", _("提交")
    ACCEPTED = "accepted", _("受理")
    ASSIGNED = "assigned", _("分派")
    DISPATCHED = "dispatched", _("派往合作单位")
    TRANSFERRED = "transferred", _("转办")
    RETURNED = "returned", _("退回")
    CONTESTED = "contested", _("对退回/转办提出异议")
    STARTED = "started", _("开始办理")
    CONTACTED = "contacted", _("联系居民")
    REPLIED = "replied", _("答复")
    NOTED = "noted", _("内部备注")
    WAITING = "waiting", _("等待居民补充")
    RESUMED = "resumed", _("恢复办理")
    PRIORITY = "priority", _("调整紧急程度")
    RESOLVED = "resolved", _("办结")
    RATED = "rated", _("回访评价")
    REOPENED = "reopened", _("重新办理")
    REVIEW = "review", _("转复核")
    CLOSED = "closed", _("关闭")
    MERGED = "merged", _("合并")
    FOLLOWED = "followed", _("补充诉求人")
    WARNED = "warned", _("临期提醒")
    ESCALATED = "escalated", _("超时升级")


class Category(models.Model):
    """A kind of request (an Open311 service): its extra questions, default handler and priority."""

    code = models.SlugField(_("编码"), max_length=40, unique=True, help_text=_("Open311 service_code"))
    name = models.CharField(_("名称"), max_length=60)
    name_en = models.CharField(_("英文名称"), max_length=80, blank=True, default="")
    group = models.CharField(_("分组"), max_length=40, blank=True, default="")
    description = models.CharField(_("说明"), max_length=300, blank=True, default="")
    keywords = models.CharField(_("关键词"), max_length=200, blank=True, default="",
                                help_text=_("以逗号分隔，Open311 keywords"))
    # Extra questions, as Open311 attributes: [{"code", "datatype", "required",
    # "description", "order", "datatype_description", "values": [{"key", "name"}]}].
    attributes = models.JSONField(_("补充问题"), default=list, blank=True)
    default_priority = models.CharField(_("默认紧急程度"), max_length=16, choices=Priority.choices,
                                        default=Priority.NORMAL)
    default_handler_role = models.CharField(
        _("默认承办角色"), max_length=32, choices=[(r.value, r.label) for r in Role if r in HANDLER_ROLES],
        default=Role.GRID_WORKER,
    )
    default_organisation_kind = models.CharField(
        _("默认派往的合作单位类型"), max_length=32, blank=True, default="",
        help_text=_("如物业服务企业：受理后建议派往所在社区的该类合作单位"),
    )
    allow_anonymous = models.BooleanField(_("允许匿名"), default=False)
    # Mediation and enforcement cases may be left out of the satisfaction rate (DOMAIN §1).
    excluded_from_satisfaction = models.BooleanField(_("不计入满意率"), default=False)
    is_active = models.BooleanField(_("启用"), default=True)
    order = models.PositiveSmallIntegerField(_("排序"), default=100)

    class Meta:
        verbose_name = _("诉求类别")
        verbose_name_plural = _("诉求类别")
        ordering = ["order", "code"]

    def __str__(self) -> str:
        return self.name


class SlaPolicy(models.Model):
    """Targets for one priority: accept, first contact and resolve, in working time.

    The most specific policy wins: (community, category) → (community, any category)
    → (any place, category) → the default (any place, any category)."""

    place = models.ForeignKey("places.Place", null=True, blank=True, on_delete=models.CASCADE, related_name="+",
                              verbose_name=_("适用社区"), help_text=_("留空则适用所有社区"))
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.CASCADE, related_name="policies",
                                 verbose_name=_("诉求类别"), help_text=_("留空则适用所有类别"))
    priority = models.CharField(_("紧急程度"), max_length=16, choices=Priority.choices)
    accept_amount = models.PositiveIntegerField(_("受理时限"))
    accept_unit = models.CharField(_("受理时限单位"), max_length=16, choices=TimeUnit.choices)
    contact_amount = models.PositiveIntegerField(_("首次联系时限"))
    contact_unit = models.CharField(_("首次联系时限单位"), max_length=16, choices=TimeUnit.choices)
    resolve_amount = models.PositiveIntegerField(_("办结时限"))
    resolve_unit = models.CharField(_("办结时限单位"), max_length=16, choices=TimeUnit.choices)
    # A warning goes out when this share of the time to a deadline has passed.
    warn_at_percent = models.PositiveSmallIntegerField(_("提醒节点（已用时百分比）"), default=80)
    # After a breach the lead is told at once, the street after this many more working days.
    street_after_days = models.PositiveSmallIntegerField(_("超时后升级到街道（工作日）"), default=2)

    class Meta:
        verbose_name = _("时限标准")
        verbose_name_plural = _("时限标准")
        constraints = [
            # Coalesce: NULL means "any", and NULLs are distinct in a plain unique index.
            models.UniqueConstraint(Coalesce("place", Value(0)), Coalesce("category", Value(0)), F("priority"),
                                    name="one_sla_per_scope"),
            models.CheckConstraint(condition=Q(accept_amount__gt=0, contact_amount__gt=0, resolve_amount__gt=0),
                                   name="sla_targets_positive"),
            models.CheckConstraint(condition=Q(warn_at_percent__gt=0, warn_at_percent__lt=100),
                                   name="sla_warn_between_0_and_100"),
        ]

    def __str__(self) -> str:
        return f"{self.category or _('全部类别')} · {self.get_priority_display()}"


class WorkingHours(models.Model):
    """The weekly working windows of a community (or, with no place, the default)."""

    place = models.ForeignKey("places.Place", null=True, blank=True, on_delete=models.CASCADE, related_name="+",
                              verbose_name=_("社区"))
    # {"0": [["09:00", "12:00"], ["13:30", "17:30"]], ..., "6": []}; 0 is Monday.
    windows = models.JSONField(_("每周工作时段"))
    # Holidays and adjusted working days (调休) replace the weekly pattern on those dates;
    # an adjusted working day uses this weekday's windows.
    workday_template = models.PositiveSmallIntegerField(_("调休上班日按星期几的时段"), default=0)

    class Meta:
        verbose_name = _("工作时间")
        verbose_name_plural = _("工作时间")
        constraints = [models.UniqueConstraint(Coalesce("place", Value(0)), name="one_working_hours_per_place")]

    def __str__(self) -> str:
        return str(self.place) if self.place_id else str(_("默认工作时间"))


class DayKind(models.TextChoices):
    HOLIDAY = "holiday", _("放假")
    WORKDAY = "workday", _("上班（调休）")


class CalendarDay(models.Model):
    """A date that differs from the weekly pattern: a public holiday, or a weekend made a
    working day (调休). Rows without a place are the national schedule, loaded from the
    maintained library or corrected by an administrator when the State Council publishes
    a year; rows with a place override it for one community."""

    place = models.ForeignKey("places.Place", null=True, blank=True, on_delete=models.CASCADE, related_name="+",
                              verbose_name=_("社区"))
    date = models.DateField(_("日期"))
    kind = models.CharField(_("类型"), max_length=16, choices=DayKind.choices)
    name = models.CharField(_("名称"), max_length=40, blank=True, default="")

    class Meta:
        verbose_name = _("节假日与调休")
        verbose_name_plural = _("节假日与调休")
        ordering = ["date"]
        constraints = [models.UniqueConstraint(Coalesce("place", Value(0)), F("date"),
                                               name="one_calendar_day_per_place")]

    def __str__(self) -> str:
        return f"{self.date} {self.get_kind_display()} {self.name}".strip()


class RequestQuerySet(models.QuerySet["Request"]):
    def below_any(self, paths: list[str]) -> Self:
        if not paths:
            return self.none()
        query = Q()
        for path in paths:
            query |= Q(place_path__startswith=path)
        return self.filter(query)

    def open(self) -> Self:
        return self.filter(status__in=OPEN_STATUSES)

    def active(self) -> Self:
        return self.filter(status__in=ACTIVE_STATUSES)

    def overdue(self, at: datetime) -> Self:
        return self.active().filter(resolve_due_at__lt=at, paused_at__isnull=True)

    def due_soon(self, at: datetime, until: datetime) -> Self:
        return self.active().filter(resolve_due_at__gte=at, resolve_due_at__lt=until, paused_at__isnull=True)

    def not_merged(self) -> Self:
        return self.filter(merged_into__isnull=True)


class Request(models.Model):
    """诉求: one problem, complaint, suggestion or question a resident raised."""

    community = models.ForeignKey("places.Place", on_delete=models.PROTECT, related_name="+",
                                  verbose_name=_("社区"))
    place = models.ForeignKey("places.Place", on_delete=models.PROTECT, related_name="+", verbose_name=_("地点"))
    # Denormalised from ``place`` so that scope filters need no join (and the grid for
    # the workbench filter and the rollups).
    place_path = models.CharField(max_length=64, editable=False, db_index=True)
    grid = models.ForeignKey("places.Place", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                             verbose_name=_("网格"))
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="requests",
                                 verbose_name=_("类别"))
    priority = models.CharField(_("紧急程度"), max_length=16, choices=Priority.choices, default=Priority.NORMAL)
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.SUBMITTED)
    channel = models.CharField(_("渠道"), max_length=16, choices=Channel.choices)
    title = models.CharField(_("标题"), max_length=120)
    description = models.TextField(_("描述"), max_length=4000)
    address = models.CharField(_("具体位置"), max_length=200, blank=True, default="")
    lat = models.DecimalField(_("纬度"), max_digits=9, decimal_places=6, null=True, blank=True)
    long = models.DecimalField(_("经度"), max_digits=9, decimal_places=6, null=True, blank=True)
    # Answers to the category's extra questions.
    attributes = models.JSONField(_("补充信息"), default=dict, blank=True)

    # Who raised it. ``reporter`` is the signed-in resident; staff entering a request on
    # someone's behalf, and Open311 clients, give a name and contact instead.
    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="requests_reported", verbose_name=_("诉求人"))
    anonymous = models.BooleanField(_("匿名"), default=False)
    contact_name = EncryptedTextField(_("联系人"), blank=True, default="")
    contact_phone = EncryptedTextField(_("联系电话"), blank=True, default="")
    contact_email = EncryptedTextField(_("电子邮箱"), blank=True, default="")
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("代录人员"))
    # Open311 clients' own identifiers.
    device_id = models.CharField(max_length=100, blank=True, default="")
    account_id = models.CharField(max_length=100, blank=True, default="")
    client_ref = models.CharField(max_length=64, blank=True, default="", help_text=_("API 客户端的幂等键"))

    # Who holds it. The community that first received it stays responsible until it is
    # handed over explicitly (首接负责).
    handler = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="requests_handled", verbose_name=_("承办人"))
    organisation = models.ForeignKey("accounts.Organisation", null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="requests", verbose_name=_("承办合作单位"))
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="duplicates", verbose_name=_("合并至"))

    submitted_at = models.DateTimeField(_("提交时间"), db_index=True)
    accepted_at = models.DateTimeField(_("受理时间"), null=True, blank=True)
    first_contact_at = models.DateTimeField(_("首次联系时间"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("关闭时间"), null=True, blank=True)
    accept_due_at = models.DateTimeField(_("受理时限"), null=True, blank=True)
    contact_due_at = models.DateTimeField(_("联系时限"), null=True, blank=True)
    resolve_due_at = models.DateTimeField(_("办结时限"), null=True, blank=True, db_index=True)
    # While the request waits on the resident the clock stops; on resumption the
    # deadlines move by the working time that passed.
    paused_at = models.DateTimeField(null=True, blank=True)
    warned_at = models.DateTimeField(null=True, blank=True)
    # 0 none, 1 handler warned, 2 breached and the lead told, 3 the street told.
    escalation = models.PositiveSmallIntegerField(_("升级级别"), default=0)
    breached_at = models.DateTimeField(null=True, blank=True)

    resolution = models.TextField(_("办理结果"), max_length=4000, blank=True, default="")
    close_reason = models.CharField(_("关闭原因"), max_length=20, choices=CloseReason.choices, blank=True,
                                    default="")
    answer = models.TextField(_("给居民的答复"), max_length=4000, blank=True, default="")
    rating = models.PositiveSmallIntegerField(_("满意度"), choices=Rating.choices, null=True, blank=True)
    solved = models.BooleanField(_("问题已解决"), null=True, blank=True)
    rated_at = models.DateTimeField(null=True, blank=True)
    reopen_count = models.PositiveSmallIntegerField(_("重新办理次数"), default=0)
    # Set when a "not satisfied" rating sends the request to the committee for review.
    needs_review = models.BooleanField(_("待复核"), default=False)
    # The rollup key this request was counted under when it closed, so a reopen can
    # take exactly that contribution back.
    counted = models.JSONField(null=True, blank=True, editable=False)
    # Optimistic lock: every transition bumps it, so two staff cannot both win one.
    version = models.PositiveIntegerField(default=0, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = RequestQuerySet.as_manager()

    if TYPE_CHECKING:
        events: models.Manager[RequestEvent]
        attachments: models.Manager[Attachment]
        followers: models.Manager[Follower]
        duplicates: models.Manager[Request]
        handler_id: int | None
        organisation_id: int | None
        grid_id: int | None
        reporter_id: int | None

    class Meta:
        verbose_name = _("诉求")
        verbose_name_plural = _("诉求")
        ordering = ["-submitted_at", "-id"]
        indexes = [
            models.Index(fields=["community", "status", "-submitted_at"], name="request_queue"),
            # A community's newest requests, read straight off the index (Open311 lists, the queue).
            models.Index(fields=["community", "-submitted_at", "-id"], name="request_community_recent"),
            models.Index(fields=["community", "category", "status"], name="request_similar"),
            models.Index(fields=["status", "resolve_due_at"], name="request_due"),
            models.Index(fields=["handler", "status"], name="request_handler"),
            models.Index(fields=["organisation", "status"], name="request_organisation"),
            models.Index(fields=["reporter", "-submitted_at"], name="request_reporter"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(accepted_at__isnull=True) | Q(accepted_at__gte=F("submitted_at")),
                                   name="request_accepted_after_submitted"),
            models.CheckConstraint(condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5),
                                   name="request_rating_in_scale"),
            models.CheckConstraint(condition=~Q(status="closed") | ~Q(close_reason=""),
                                   name="request_closed_has_reason"),
            models.UniqueConstraint(fields=["reporter", "client_ref"], condition=~Q(client_ref=""),
                                    name="request_client_ref_once"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def reporter_label(self) -> str:
        if self.anonymous:
            return str(_("匿名"))
        if self.reporter_id and self.reporter is not None:
            return str(self.reporter)
        return self.contact_name or str(_("未留名"))


class RequestEvent(models.Model):
    """One step in a request's history. ``public`` steps are the resident's timeline;
    the others (internal notes, escalations) stay with staff."""

    request = models.ForeignKey(Request, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=EventKind.choices)
    at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    actor_label = models.CharField(max_length=150, blank=True, default="")
    public = models.BooleanField(default=True)
    body = models.TextField(max_length=4000, blank=True, default="")
    status = models.CharField(max_length=16, choices=Status.choices)
    data: models.JSONField[dict[str, Any]] = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("诉求记录")
        verbose_name_plural = _("诉求记录")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["request", "at"], name="request_event_timeline")]

    def __str__(self) -> str:
        return f"{self.request_id} {self.kind} @ {self.at}"


class Attachment(models.Model):
    """A photo with a request (at intake, or with a reply or the resolution). Photos are
    re-encoded on upload, so no EXIF location travels with them."""

    request = models.ForeignKey(Request, on_delete=models.CASCADE, related_name="attachments")
    event = models.ForeignKey(RequestEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="attachments")
    file = models.FileField(upload_to="requests/%Y/%m/")
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    public = models.BooleanField(default=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("附件")
        verbose_name_plural = _("附件")
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return self.file.name or ""


class Follower(models.Model):
    """Someone kept informed of a request: its reporter, and the reporters of duplicates
    merged into it."""

    request = models.ForeignKey(Request, on_delete=models.CASCADE, related_name="followers")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                             related_name="+")
    email = EncryptedTextField(blank=True, default="")
    from_request = models.ForeignKey(Request, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("关注人")
        verbose_name_plural = _("关注人")
        constraints = [models.UniqueConstraint(fields=["request", "user"], condition=Q(user__isnull=False),
                                               name="follower_once_per_user")]

    def __str__(self) -> str:
        return f"{self.request_id} → {self.user_id or '…'}"


class ReplyTemplate(models.Model):
    """A ready answer staff can start a reply from."""

    place = models.ForeignKey("places.Place", null=True, blank=True, on_delete=models.CASCADE, related_name="+",
                              verbose_name=_("社区"), help_text=_("留空则所有社区可用"))
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.CASCADE, related_name="+",
                                 verbose_name=_("类别"))
    title = models.CharField(_("标题"), max_length=60)
    body = models.TextField(_("内容"), max_length=2000)

    class Meta:
        verbose_name = _("答复模板")
        verbose_name_plural = _("答复模板")
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class RatesConfig(models.Model):
    """Weights of the composite score (DOMAIN §1), per place or the default."""

    place = models.ForeignKey("places.Place", null=True, blank=True, on_delete=models.CASCADE, related_name="+",
                              verbose_name=_("地点"))
    response_weight = models.DecimalField(_("响应率权重"), max_digits=4, decimal_places=3, default=0.1)
    resolution_weight = models.DecimalField(_("解决率权重"), max_digits=4, decimal_places=3, default=0.5)
    satisfaction_weight = models.DecimalField(_("满意率权重"), max_digits=4, decimal_places=3, default=0.4)
    basic_weight = models.DecimalField(_("“基本满意”计入满意率的系数"), max_digits=4, decimal_places=3, default=0.9)

    class Meta:
        verbose_name = _("考核权重")
        verbose_name_plural = _("考核权重")
        constraints = [
            models.UniqueConstraint(Coalesce("place", Value(0)), name="one_rates_config_per_place"),
            models.CheckConstraint(
                condition=Q(response_weight__gte=0, resolution_weight__gte=0, satisfaction_weight__gte=0,
                            basic_weight__gte=0, basic_weight__lte=1),
                name="rates_weights_nonnegative",
            ),
        ]

    def __str__(self) -> str:
        return str(self.place) if self.place_id else str(_("默认权重"))


class RollupBase(models.Model):
    """What every level of the request rollups has: the community (and its copied path,
    for scope queries), the grid, the day, and the counters. Zero stands for "none" in
    the id columns so that the unique keys hold on every database."""

    community = models.ForeignKey("places.Place", on_delete=models.CASCADE, related_name="+")
    community_path = models.CharField(max_length=64, db_index=True)
    grid_id = models.IntegerField(default=0)
    day = models.DateField()

    submitted = models.IntegerField(default=0)
    # Over closed, valid cases (accepted and handled, not duplicates or withdrawals).
    valid = models.IntegerField(default=0)
    responded_in_time = models.IntegerField(default=0)
    resolved_in_time = models.IntegerField(default=0)
    solved = models.IntegerField(default=0)
    rated = models.IntegerField(default=0)
    very_satisfied = models.IntegerField(default=0)
    satisfied = models.IntegerField(default=0)
    basically_satisfied = models.IntegerField(default=0)
    dissatisfied = models.IntegerField(default=0)
    very_dissatisfied = models.IntegerField(default=0)
    # Rated cases of categories left out of the satisfaction rate.
    rated_excluded = models.IntegerField(default=0)
    not_dispatched = models.IntegerField(default=0)
    breached = models.IntegerField(default=0)
    reopened = models.IntegerField(default=0)

    # The columns that make a row's key, in order (``community_id`` … ``day``).
    KEY: ClassVar[tuple[str, ...]] = ()

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.community_id} {self.day}"


class RequestRollup(RollupBase):
    """Counts per (community, grid, category, handler, partner, day), kept current by the
    services as events happen. Intake counts by the day of submission; the rate counts
    by the day a request closed. The finest level: a dashboard filtered by category and
    by handler or partner at once reads it; the coarser levels below serve the rest."""

    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="+")
    handler_id = models.IntegerField(default=0)
    organisation_id = models.IntegerField(default=0)

    KEY = ("community_id", "grid_id", "category_id", "handler_id", "organisation_id", "day")

    class Meta:
        verbose_name = _("诉求统计")
        verbose_name_plural = _("诉求统计")
        constraints = [
            models.UniqueConstraint(
                fields=["community", "grid_id", "category", "handler_id", "organisation_id", "day"],
                name="one_rollup_per_key",
            )
        ]
        indexes = [models.Index(fields=["community_path", "day"], name="rollup_scope_day")]

    def __str__(self) -> str:
        return f"{self.community_id}/{self.category_id} {self.day}"


class PlaceRollup(RollupBase):
    """The same counts per (community, grid, category, day): what the dashboards and
    rankings read when no handler or partner is chosen (ARCHITECTURE: rollups per place,
    category and day). A street's year is tens of thousands of rows here, against about
    one row per request at the finest level."""

    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="+")

    KEY = ("community_id", "grid_id", "category_id", "day")

    class Meta:
        verbose_name = _("诉求统计（按地点与类别）")
        verbose_name_plural = _("诉求统计（按地点与类别）")
        constraints = [
            models.UniqueConstraint(fields=["community", "grid_id", "category", "day"], name="one_place_rollup_per_key")
        ]
        indexes = [models.Index(fields=["community_path", "day"], name="place_rollup_scope_day")]


class PeopleRollup(RollupBase):
    """The same counts per (community, grid, handler, partner, day): the dashboards'
    handler and partner tables when no category is chosen."""

    handler_id = models.IntegerField(default=0)
    organisation_id = models.IntegerField(default=0)

    KEY = ("community_id", "grid_id", "handler_id", "organisation_id", "day")

    class Meta:
        verbose_name = _("诉求统计（按经办人与单位）")
        verbose_name_plural = _("诉求统计（按经办人与单位）")
        constraints = [
            models.UniqueConstraint(fields=["community", "grid_id", "handler_id", "organisation_id", "day"],
                                    name="one_people_rollup_per_key")
        ]
        indexes = [models.Index(fields=["community_path", "day"], name="people_rollup_scope_day")]


# Every level, finest first; each coarser level is the finest summed over the columns it leaves out.
ROLLUP_LEVELS: tuple[type[RollupBase], ...] = (RequestRollup, PlaceRollup, PeopleRollup)


ROLLUP_COUNTERS = (
    "submitted", "valid", "responded_in_time", "resolved_in_time", "solved", "rated", "very_satisfied", "satisfied",
    "basically_satisfied", "dissatisfied", "very_dissatisfied", "rated_excluded", "not_dispatched", "breached",
    "reopened",
)


class Submission(models.Model):
    """A request received through Open311 and queued for the worker, which files it
    (GeoReport's ``token``: the client asks later for the request's number).

    The POST checks everything it can (key, category, place, attributes, text) before
    queueing, so a queued submission is refused afterwards only if something changed in
    between (the category or place was closed). What the resident wrote is kept
    encrypted, and only until it is filed."""

    class State(models.TextChoices):
        QUEUED = "queued", _("排队中")
        FILED = "filed", _("已建单")
        REFUSED = "refused", _("未能建单")

    api_key = models.ForeignKey("accounts.ApiKey", on_delete=models.PROTECT, related_name="+")
    received_at = models.DateTimeField(_("收到时间"))
    state = models.CharField(_("状态"), max_length=8, choices=State.choices, default=State.QUEUED)
    # The checked fields as JSON, encrypted; emptied once the request is filed or refused.
    payload = EncryptedTextField(blank=True, default="")
    request = models.ForeignKey(Request, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    error = models.TextField(blank=True, default="")
    # Filing failed for an unexpected reason (the database busy, a fault): tried again
    # from ``retry_at`` on, waiting longer each time.
    attempts = models.PositiveSmallIntegerField(default=0)
    retry_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("排队的 Open311 诉求")
        verbose_name_plural = _("排队的 Open311 诉求")
        indexes = [models.Index(fields=["id"], condition=Q(state="queued"), name="submission_queued")]

    def __str__(self) -> str:
        return f"{self.pk} {self.state}"
