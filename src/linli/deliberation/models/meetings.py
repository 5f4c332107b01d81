"""Consultations and meetings (议事会, 座谈会, 居民会议, 业主大会): a time poll, the agenda,
sign-in (residents themselves, or staff for them), comments and the minutes."""

from __future__ import annotations

from typing import Self

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class MeetingKind(models.TextChoices):
    COUNCIL = "council", _("议事会")
    FORUM = "forum", _("座谈会")
    RESIDENTS_MEETING = "residents_meeting", _("居民会议")
    OWNERS_ASSEMBLY = "owners_assembly", _("业主大会")


class BodyKind(models.TextChoices):
    """Who makes up the meeting, for its quorum (居民委员会组织法: all adult residents,
    one representative per household, or representatives of the residents' groups)."""

    NONE = "none", _("不计法定人数")
    ADULTS = "adults", _("年满十八周岁的居民")
    HOUSEHOLDS = "households", _("每户派代表")
    REPRESENTATIVES = "representatives", _("居民代表")


class MeetingStatus(models.TextChoices):
    PLANNING = "planning", _("征集时间")
    SCHEDULED = "scheduled", _("已确定时间")
    HELD = "held", _("已召开")
    CANCELLED = "cancelled", _("已取消")


class MeetingQuerySet(models.QuerySet["Meeting"]):
    def below_any(self, paths: list[str]) -> Self:
        if not paths:
            return self.none()
        query = Q()
        for path in paths:
            query |= Q(place_path__startswith=path)
        return self.filter(query)

    def upcoming(self) -> Self:
        return self.filter(status__in=[MeetingStatus.PLANNING, MeetingStatus.SCHEDULED])


class Meeting(models.Model):
    community = models.ForeignKey("places.Place", on_delete=models.PROTECT, related_name="+", verbose_name=_("社区"))
    place = models.ForeignKey("places.Place", on_delete=models.PROTECT, related_name="+", verbose_name=_("范围"))
    place_path = models.CharField(max_length=64, editable=False, db_index=True)
    kind = models.CharField(_("会议类型"), max_length=20, choices=MeetingKind.choices)
    body_kind = models.CharField(_("参会范围"), max_length=20, choices=BodyKind.choices, default=BodyKind.NONE)
    title = models.CharField(_("名称"), max_length=120)
    description = models.TextField(_("说明"), max_length=4000, blank=True, default="")
    location = models.CharField(_("地点"), max_length=200, blank=True, default="")
    status = models.CharField(_("状态"), max_length=16, choices=MeetingStatus.choices, default=MeetingStatus.PLANNING)
    starts_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    ends_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+",
                                   verbose_name=_("召集人"))
    created_at = models.DateTimeField(auto_now_add=True)
    # Frozen when the meeting ends: the quorum as it stood.
    present_count = models.PositiveIntegerField(_("到会人数"), null=True, blank=True)
    body_size = models.PositiveIntegerField(_("应到人数"), null=True, blank=True)
    ended_at = models.DateTimeField(_("结束记录时间"), null=True, blank=True)
    minutes = models.TextField(_("会议纪要"), max_length=20000, blank=True, default="")
    minutes_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("纪要记录人"))
    minutes_at = models.DateTimeField(_("纪要时间"), null=True, blank=True)
    minutes_published = models.BooleanField(_("纪要已公开"), default=False)

    objects = MeetingQuerySet.as_manager()


    class Meta:
        verbose_name = _("会议")
        verbose_name_plural = _("会议")
        ordering = ["-starts_at", "-id"]
        indexes = [models.Index(fields=["community", "status"], name="meeting_queue")]
        constraints = [
            models.CheckConstraint(
                condition=Q(starts_at__isnull=True) | Q(ends_at__isnull=True) | Q(ends_at__gt=F("starts_at")),
                name="meeting_ends_after_start",
            ),
            models.CheckConstraint(condition=~Q(status="scheduled") | Q(starts_at__isnull=False),
                                   name="meeting_scheduled_has_time"),
        ]

    def __str__(self) -> str:
        return self.title


class TimeOption(models.Model):
    """A candidate time of the poll (约时间)."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="time_options")
    starts_at = models.DateTimeField(_("开始时间"))
    ends_at = models.DateTimeField(_("结束时间"))


    class Meta:
        verbose_name = _("备选时间")
        verbose_name_plural = _("备选时间")
        ordering = ["starts_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="time_option_ends_after_start"),
            models.UniqueConstraint(fields=["meeting", "starts_at", "ends_at"], name="time_option_once"),
        ]

    def __str__(self) -> str:
        return f"{self.starts_at:%Y-%m-%d %H:%M}"


class PollAnswer(models.TextChoices):
    YES = "yes", _("可以参加")
    MAYBE = "maybe", _("也许可以")
    NO = "no", _("不能参加")


class TimePollAnswer(models.Model):
    option = models.ForeignKey(TimeOption, on_delete=models.CASCADE, related_name="answers")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    answer = models.CharField(_("回答"), max_length=8, choices=PollAnswer.choices)
    answered_at = models.DateTimeField()

    class Meta:
        verbose_name = _("时间投票")
        verbose_name_plural = _("时间投票")
        constraints = [models.UniqueConstraint(fields=["option", "user"], name="poll_answer_once")]

    def __str__(self) -> str:
        return f"{self.option_id} {self.user_id} {self.answer}"


class AgendaKind(models.TextChoices):
    PROPOSAL = "proposal", _("居民提议")
    MOTION = "motion", _("居委会动议")


class AgendaItem(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="agenda")
    order = models.PositiveSmallIntegerField(_("顺序"))
    kind = models.CharField(_("来源"), max_length=12, choices=AgendaKind.choices)
    title = models.CharField(_("议题"), max_length=120)
    body = models.TextField(_("说明"), max_length=4000, blank=True, default="")
    proposal = models.ForeignKey("deliberation.Proposal", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="agenda_items", verbose_name=_("居民提议"))
    moved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+", verbose_name=_("提出人"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("议程")
        verbose_name_plural = _("议程")
        ordering = ["meeting", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["meeting", "proposal"], condition=Q(proposal__isnull=False),
                                    name="agenda_proposal_once"),
            models.CheckConstraint(condition=~Q(kind="proposal") | Q(proposal__isnull=False),
                                   name="agenda_proposal_item_names_it"),
        ]

    def __str__(self) -> str:
        return self.title


class MeetingMember(models.Model):
    """A member of a representatives' meeting (the body is the list)."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="members")
    resident = models.ForeignKey("people.Resident", on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("居民"))

    class Meta:
        verbose_name = _("参会代表")
        verbose_name_plural = _("参会代表")
        constraints = [models.UniqueConstraint(fields=["meeting", "resident"], name="meeting_member_once")]

    def __str__(self) -> str:
        return f"{self.meeting_id} {self.resident_id}"


class Attendance(models.Model):
    """签到: a resident signed themselves in, or staff signed them in."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="attendances")
    resident = models.ForeignKey("people.Resident", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+", verbose_name=_("居民"))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+", verbose_name=_("账号"))
    name = models.CharField(_("姓名"), max_length=60)
    signed_in_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+", verbose_name=_("代签人"))
    signed_in_at = models.DateTimeField(_("签到时间"))

    class Meta:
        verbose_name = _("签到")
        verbose_name_plural = _("签到")
        ordering = ["signed_in_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["meeting", "resident"], condition=Q(resident__isnull=False),
                                    name="sign_in_once_per_resident"),
            models.UniqueConstraint(fields=["meeting", "user"], condition=Q(user__isnull=False),
                                    name="sign_in_once_per_user"),
            models.CheckConstraint(condition=Q(resident__isnull=False) | Q(user__isnull=False),
                                   name="sign_in_names_someone"),
        ]

    def __str__(self) -> str:
        return self.name


class MeetingComment(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    author_label = models.CharField(max_length=150)
    body = models.TextField(_("意见"), max_length=2000)
    created_at = models.DateTimeField()
    hidden_at = models.DateTimeField(null=True, blank=True)
    hidden_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")

    class Meta:
        verbose_name = _("会议意见")
        verbose_name_plural = _("会议意见")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.meeting_id}: {self.body[:20]}"
