"""Satisfaction runs: one estimate of the satisfaction model (SATISFACTION-MODEL.md) on
one set of answers, a survey's responses or an uploaded file, computed in the background.

A run keeps what it was asked (the place, the source, the model, the bootstrap settings),
what it found (the engine's result as ``pls_io.result_to_dict`` gives it, and the
analysis the pages draw: indices, key drivers, the importance–performance matrix,
breakdowns) and, when the data could not be estimated, the engine's message in words.
An uploaded file is kept only until its run has been computed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Self

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("排队中")
    RUNNING = "running", _("计算中")
    DONE = "done", _("已完成")
    FAILED = "failed", _("未能计算")


class RunSource(models.TextChoices):
    SURVEY = "survey", _("问卷答卷")
    UPLOAD = "upload", _("上传数据")


class SatisfactionRunQuerySet(models.QuerySet["SatisfactionRun"]):
    def below_any(self, paths: list[str]) -> Self:
        if not paths:
            return self.none()
        query = Q()
        for path in paths:
            query |= Q(place_path__startswith=path)
        return self.filter(query)

    def done(self) -> Self:
        return self.filter(status=RunStatus.DONE)

    def light(self) -> Self:
        """Without the large documents: for lists and trends."""
        return self.defer("result", "analysis", "upload", "model")


class SatisfactionRun(models.Model):
    # A community or a street: where the answers come from.
    place = models.ForeignKey("places.Place", on_delete=models.PROTECT, related_name="+", verbose_name=_("范围"))
    # Denormalised from ``place`` so that scope filters need no join.
    place_path = models.CharField(max_length=64, editable=False, db_index=True)
    community = models.ForeignKey("places.Place", null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+", verbose_name=_("社区"))
    source = models.CharField(_("数据来源"), max_length=8, choices=RunSource.choices)
    questionnaire = models.ForeignKey("surveys.Questionnaire", null=True, blank=True, on_delete=models.CASCADE,
                                      related_name="+", verbose_name=_("问卷"))
    title = models.CharField(_("名称"), max_length=160)
    # The day the answers stand for (a survey round's start, or what the uploader said):
    # the x axis of the trends.
    period_date = models.DateField(_("调查时间"))
    status = models.CharField(_("状态"), max_length=8, choices=RunStatus.choices, default=RunStatus.QUEUED)
    bootstrap = models.PositiveIntegerField(_("自助法重抽样次数"), default=1000)
    seed = models.BigIntegerField(_("随机种子"), null=True, blank=True)
    # The model estimated (``pls_io.model_to_dict``); empty for a survey until computed.
    model: models.JSONField[dict[str, Any]] = models.JSONField(_("模型"), default=dict, blank=True)
    model_given = models.BooleanField(_("使用上传的模型"), default=False)
    # What went in, in a few numbers: {"file", "rows", "responses", "complete", "columns"}.
    inputs: models.JSONField[dict[str, Any]] = models.JSONField(_("输入概要"), default=dict, blank=True)
    # An uploaded file, kept until the run is computed (then emptied: the answers stay
    # with whoever uploaded them, the results here).
    upload = models.BinaryField(null=True, blank=True, editable=False)
    upload_name = models.CharField(_("文件名"), max_length=200, blank=True, default="")
    # The language the run was asked in: the worker writes its messages in it.
    language = models.CharField(max_length=12, default="zh-hans")
    result: models.JSONField[dict[str, Any] | None] = models.JSONField(_("模型结果"), null=True, blank=True)
    analysis: models.JSONField[dict[str, Any] | None] = models.JSONField(_("分析"), null=True, blank=True)
    # A few numbers of the result, for lists and trends without reading the documents:
    # {"n", "fitted", "target", "index": {block: [value, lower, upper]}}.
    summary: models.JSONField[dict[str, Any]] = models.JSONField(default=dict, blank=True)
    error = models.TextField(_("错误说明"), blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("发起人"))
    created_at = models.DateTimeField(_("发起时间"))
    started_at = models.DateTimeField(_("开始计算"), null=True, blank=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    objects = SatisfactionRunQuerySet.as_manager()

    if TYPE_CHECKING:
        place_id: int
        community_id: int | None
        questionnaire_id: int | None
        created_by_id: int | None

    class Meta:
        verbose_name = _("满意度分析")
        verbose_name_plural = _("满意度分析")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["place", "status", "-period_date"], name="satisfaction_run_place"),
            models.Index(fields=["questionnaire", "status"], name="satisfaction_run_survey"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(source="survey") | Q(questionnaire__isnull=False),
                                   name="satisfaction_run_survey_has_questionnaire"),
            models.CheckConstraint(condition=Q(bootstrap=0) | Q(bootstrap__gte=10, bootstrap__lte=100_000),
                                   name="satisfaction_run_bootstrap_range"),
            models.CheckConstraint(condition=~Q(status="done") | Q(analysis__isnull=False),
                                   name="satisfaction_run_done_has_analysis"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def pending(self) -> bool:
        return self.status in (RunStatus.QUEUED, RunStatus.RUNNING)
