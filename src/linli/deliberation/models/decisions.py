"""Decisions and the actions that carry them out (accountability): each action has an
owner, a due date, a status with a default progress, nested sub-actions whose progress
rolls up, updates with photos, and links back to the proposals and requests behind it."""

from __future__ import annotations

from typing import Self

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class DecisionQuerySet(models.QuerySet["Decision"]):
    def below_any(self, paths: list[str]) -> Self:
        if not paths:
            return self.none()
        query = Q()
        for path in paths:
            query |= Q(place_path__startswith=path)
        return self.filter(query)


class Decision(models.Model):
    community = models.ForeignKey("places.Place", on_delete=models.PROTECT, related_name="+", verbose_name=_("社区"))
    place = models.ForeignKey("places.Place", on_delete=models.PROTECT, related_name="+", verbose_name=_("范围"))
    place_path = models.CharField(max_length=64, editable=False, db_index=True)
    title = models.CharField(_("决定事项"), max_length=200)
    text = models.TextField(_("决定内容"), max_length=8000)
    meeting = models.ForeignKey("deliberation.Meeting", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="decisions", verbose_name=_("会议"))
    vote = models.OneToOneField("deliberation.Vote", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="decision", verbose_name=_("表决"))
    # The vote's published outcome (machine-readable) and its document hash, copied so
    # the decision states the result it rests on.
    result = models.JSONField(_("表决结果"), null=True, blank=True)
    result_sha256 = models.CharField(max_length=64, blank=True, default="")
    decided_at = models.DateTimeField(_("决定时间"))
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                    related_name="+")
    proposals = models.ManyToManyField("deliberation.Proposal", blank=True, related_name="decisions",
                                       verbose_name=_("相关提议"))
    requests = models.ManyToManyField("requests.Request", blank=True, related_name="deliberation_decisions",
                                      verbose_name=_("相关诉求"))

    objects = DecisionQuerySet.as_manager()


    class Meta:
        verbose_name = _("决定")
        verbose_name_plural = _("决定")
        ordering = ["-decided_at", "-id"]

    def __str__(self) -> str:
        return self.title


class ActionStatus(models.TextChoices):
    PLANNED = "planned", _("计划中")
    IN_PROGRESS = "in_progress", _("进行中")
    DONE = "done", _("已完成")


class Action(models.Model):
    decision = models.ForeignKey(Decision, on_delete=models.CASCADE, related_name="actions")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="children",
                               verbose_name=_("上级事项"))
    community = models.ForeignKey("places.Place", on_delete=models.PROTECT, related_name="+")
    place_path = models.CharField(max_length=64, editable=False, db_index=True)
    title = models.CharField(_("事项"), max_length=200)
    description = models.TextField(_("说明"), max_length=4000, blank=True, default="")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="deliberation_actions", verbose_name=_("负责人"))
    owner_label = models.CharField(_("负责人"), max_length=150, help_text=_("公开显示的负责人或负责单位"))
    due_on = models.DateField(_("完成期限"))
    status = models.CharField(_("状态"), max_length=12, choices=ActionStatus.choices, default=ActionStatus.PLANNED)
    # Own progress (from the status's default unless given); ``rolled_progress`` is what
    # the public sees: the own progress of a leaf, or the mean of its children's.
    progress = models.PositiveSmallIntegerField(_("进度（%）"), default=0)
    rolled_progress = models.DecimalField(_("汇总进度（%）"), max_digits=5, decimal_places=2, default=0)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)
    proposals = models.ManyToManyField("deliberation.Proposal", blank=True, related_name="actions",
                                       verbose_name=_("相关提议"))
    requests = models.ManyToManyField("requests.Request", blank=True, related_name="deliberation_actions",
                                      verbose_name=_("相关诉求"))


    class Meta:
        verbose_name = _("落实事项")
        verbose_name_plural = _("落实事项")
        ordering = ["decision", "id"]
        indexes = [models.Index(fields=["community", "status", "due_on"], name="action_due")]
        constraints = [
            models.CheckConstraint(condition=Q(progress__lte=100), name="action_progress_percent"),
            models.CheckConstraint(condition=Q(rolled_progress__gte=0, rolled_progress__lte=100),
                                   name="action_rolled_progress_percent"),
            models.CheckConstraint(condition=~Q(parent=F("pk")), name="action_not_own_parent"),
        ]

    def __str__(self) -> str:
        return self.title


class ActionUpdate(models.Model):
    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="updates")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    by_label = models.CharField(max_length=150)
    at = models.DateTimeField()
    body = models.TextField(_("进展说明"), max_length=4000, blank=True, default="")
    status = models.CharField(max_length=12, choices=ActionStatus.choices)
    progress = models.PositiveSmallIntegerField()


    class Meta:
        verbose_name = _("进展")
        verbose_name_plural = _("进展")
        ordering = ["action", "at", "id"]

    def __str__(self) -> str:
        return f"{self.action_id} {self.at:%Y-%m-%d}"


class ActionPhoto(models.Model):
    """A photo with an update, re-encoded on upload (no EXIF location is kept)."""

    update = models.ForeignKey(ActionUpdate, on_delete=models.CASCADE, related_name="photos")
    file = models.FileField(upload_to="deliberation/actions/%Y/%m/")
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("进展照片")
        verbose_name_plural = _("进展照片")

    def __str__(self) -> str:
        return self.file.name or ""
