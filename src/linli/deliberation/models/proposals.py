"""Residents' proposals (居民提议, 意见箱): supported by neighbours, put on the committee's
agenda at a threshold, and answered publicly."""

from __future__ import annotations

from typing import Self

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class ProposalStatus(models.TextChoices):
    OPEN = "open", _("征集附议")
    AGENDA = "agenda", _("已列入议程")
    ACCEPTED = "accepted", _("已采纳")
    MERGED = "merged", _("已合并")
    NOT_FEASIBLE = "not_feasible", _("暂不可行")
    WITHDRAWN = "withdrawn", _("已撤回")


# The committee's public answers.
ANSWER_STATUSES = (ProposalStatus.ACCEPTED, ProposalStatus.MERGED, ProposalStatus.NOT_FEASIBLE)
# A proposal still gathering support or waiting for its answer.
PENDING_STATUSES = (ProposalStatus.OPEN, ProposalStatus.AGENDA)


class ProposalQuerySet(models.QuerySet["Proposal"]):
    def below_any(self, paths: list[str]) -> Self:
        if not paths:
            return self.none()
        query = Q()
        for path in paths:
            query |= Q(place_path__startswith=path)
        return self.filter(query)

    def on_agenda(self) -> Self:
        return self.filter(status=ProposalStatus.AGENDA)

    def answered(self) -> Self:
        return self.filter(status__in=ANSWER_STATUSES)


class Proposal(models.Model):
    community = models.ForeignKey("places.Place", on_delete=models.PROTECT, related_name="+", verbose_name=_("社区"))
    place = models.ForeignKey("places.Place", on_delete=models.PROTECT, related_name="+", verbose_name=_("涉及地点"))
    place_path = models.CharField(max_length=64, editable=False, db_index=True)
    title = models.CharField(_("标题"), max_length=120)
    body = models.TextField(_("内容"), max_length=4000)
    proposer = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                 related_name="proposals", verbose_name=_("提议人"))
    status = models.CharField(_("状态"), max_length=16, choices=ProposalStatus.choices, default=ProposalStatus.OPEN)
    # Copied from the configuration when the proposal is made, so a later change of the
    # setting does not move a proposal's goal under it.
    support_threshold = models.PositiveIntegerField(_("列入议程所需附议人数"))
    supports_count = models.PositiveIntegerField(_("附议人数"), default=0)
    created_at = models.DateTimeField(_("提出时间"), db_index=True)
    agenda_at = models.DateTimeField(_("列入议程时间"), null=True, blank=True)
    answer = models.TextField(_("答复"), max_length=4000, blank=True, default="")
    answered_at = models.DateTimeField(_("答复时间"), null=True, blank=True)
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+", verbose_name=_("答复人"))
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="merged", verbose_name=_("合并至"))

    objects = ProposalQuerySet.as_manager()


    class Meta:
        verbose_name = _("居民提议")
        verbose_name_plural = _("居民提议")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["community", "status", "-created_at"], name="proposal_queue")]
        constraints = [
            models.CheckConstraint(condition=Q(support_threshold__gte=1), name="proposal_threshold_positive"),
            # An answer is public and says why.
            models.CheckConstraint(
                condition=~Q(status__in=[s.value for s in ANSWER_STATUSES]) | ~Q(answer=""),
                name="proposal_answer_has_reason",
            ),
            models.CheckConstraint(condition=~Q(status="merged") | Q(merged_into__isnull=False),
                                   name="proposal_merged_has_target"),
            models.CheckConstraint(condition=~Q(merged_into=F("pk")), name="proposal_not_merged_into_self"),
        ]

    def __str__(self) -> str:
        return self.title


class ProposalSupport(models.Model):
    """附议: one resident's support; once per person and proposal."""

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="supports")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("附议")
        verbose_name_plural = _("附议")
        constraints = [models.UniqueConstraint(fields=["proposal", "user"], name="support_once_per_person")]

    def __str__(self) -> str:
        return f"{self.proposal_id} ← {self.user_id}"
