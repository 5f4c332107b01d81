"""Who does what in deliberation, and the settings a community may change."""

from __future__ import annotations

from django.db import models
from django.db.models import Q, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from linli.accounts.models import Role

# Who sees proposals, meetings, votes (turnout, never results before close) in scope.
DELIBERATION_VIEW_ROLES = frozenset(
    {Role.GRID_WORKER, Role.COMMUNITY_STAFF, Role.COMMITTEE_LEAD, Role.STREET_SUPERVISOR, Role.AUDITOR}
)
# Who signs people in at meetings and enters paper ballots (the first or second hand).
DELIBERATION_WORK_ROLES = frozenset({Role.GRID_WORKER, Role.COMMUNITY_STAFF, Role.COMMITTEE_LEAD})
# Who convenes meetings, answers proposals, imports owners' rolls, records proxies,
# drafts votes and tracks actions.
DELIBERATION_MANAGE_ROLES = frozenset({Role.COMMUNITY_STAFF, Role.COMMITTEE_LEAD})
# Who opens, closes and publishes votes (ARCHITECTURE: the committee lead runs votes).
VOTE_RUN_ROLES = frozenset({Role.COMMITTEE_LEAD})


class DeliberationConfig(models.Model):
    """Per place (or, with no place, the default): the numbers a community may change."""

    place = models.ForeignKey("places.Place", null=True, blank=True, on_delete=models.CASCADE, related_name="+",
                              verbose_name=_("地点"), help_text=_("留空则为默认设置"))
    support_threshold = models.PositiveIntegerField(
        _("列入议程所需附议人数"), default=10, help_text=_("居民提议获得这么多附议后列入居委会议程"))
    progress_planned = models.PositiveSmallIntegerField(_("“计划中”默认进度（%）"), default=0)
    progress_in_progress = models.PositiveSmallIntegerField(_("“进行中”默认进度（%）"), default=50)
    progress_done = models.PositiveSmallIntegerField(_("“已完成”默认进度（%）"), default=100)
    reminder_hours = models.PositiveIntegerField(
        _("投票提醒间隔（小时）"), default=24, help_text=_("表决期间，向尚未投票的人每隔多久提醒一次；0 为不提醒"))

    class Meta:
        verbose_name = _("议事设置")
        verbose_name_plural = _("议事设置")
        constraints = [
            models.UniqueConstraint(Coalesce("place", Value(0)), name="one_deliberation_config_per_place"),
            models.CheckConstraint(
                condition=Q(progress_planned__lte=100, progress_in_progress__lte=100, progress_done__lte=100),
                name="deliberation_progress_percent",
            ),
            models.CheckConstraint(condition=Q(support_threshold__gte=1), name="deliberation_threshold_positive"),
        ]

    def __str__(self) -> str:
        return str(self.place) if self.place_id else str(_("默认议事设置"))
