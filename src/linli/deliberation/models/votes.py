"""Votes, their roll, their ballots and their published result (DOMAIN §2, ballot integrity).

The roll (``VoterRollEntry``) is who may vote; its ``voted`` flag is claimed once, by a
conditional ``UPDATE … WHERE voted = false`` in the same transaction that stores the
ballot, whatever the channel (web, proxy, paper), so one voter never has two counted
ballots. Open (named) votes also keep one ``OpenBallot`` per roll row, enforced by a
unique constraint, and its earlier versions in ``OpenBallotRevision``.

Secret votes keep the roll and the ballots apart: a ``SecretBallot`` row has a random
primary key, the vote, the choice and the receipt code — no voter, no timestamp, no
channel — and the ballots are rewritten in random order when the vote closes, so not
even the order of the rows follows the order of voting. See docs/votes.md.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, NoReturn, Self

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from linli.deliberation import rules


class QuestionKind(models.TextChoices):
    YES_NO = rules.YES_NO, _("赞成/反对/弃权")
    SINGLE = rules.SINGLE, _("单选")
    MULTIPLE = rules.MULTIPLE, _("多选")
    RANKED = rules.RANKED, _("排序选择")


class Eligibility(models.TextChoices):
    ADULTS = "adults", _("年满十八周岁的居民（每人一票）")
    HOUSEHOLDS = "households", _("每户一票")
    REPRESENTATIVES = "representatives", _("居民代表")
    OWNERS = "owners", _("业主（按专有部分面积和人数）")


class OutcomeRule(models.TextChoices):
    CIVIL_CODE_ORDINARY = rules.CIVIL_CODE_ORDINARY, _("业主共同决定：一般事项（民法典第278条）")
    CIVIL_CODE_SPECIAL = rules.CIVIL_CODE_SPECIAL, _("业主共同决定：特别事项（民法典第278条）")
    RESIDENTS_MEETING = rules.RESIDENTS_MEETING, _("居民会议：到会过半数，到会人员过半数通过")
    SIMPLE_MAJORITY = rules.SIMPLE_MAJORITY, _("简单多数")
    INSTANT_RUNOFF = rules.INSTANT_RUNOFF, _("排序复选（即时决选）")


class VoteStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    OPEN = "open", _("投票中")
    CLOSED = "closed", _("已截止，待公布")
    PUBLISHED = "published", _("结果已公布")
    CANCELLED = "cancelled", _("已取消")


class BallotChannel(models.TextChoices):
    WEB = "web", _("网上投票")
    PAPER = "paper", _("纸质选票")


class VoteQuerySet(models.QuerySet["Vote"]):
    def below_any(self, paths: list[str]) -> Self:
        if not paths:
            return self.none()
        query = Q()
        for path in paths:
            query |= Q(place_path__startswith=path)
        return self.filter(query)

    def open_at(self, at: datetime) -> Self:
        return self.filter(status=VoteStatus.OPEN, opens_at__lte=at, closes_at__gt=at)

    def due_to_close(self, at: datetime) -> Self:
        return self.filter(status=VoteStatus.OPEN, closes_at__lte=at)

    def public(self) -> Self:
        return self.filter(status=VoteStatus.PUBLISHED)


class Vote(models.Model):
    community = models.ForeignKey("places.Place", on_delete=models.PROTECT, related_name="+", verbose_name=_("社区"))
    place = models.ForeignKey("places.Place", on_delete=models.PROTECT, related_name="+", verbose_name=_("范围"))
    place_path = models.CharField(max_length=64, editable=False, db_index=True)
    title = models.CharField(_("表决事项"), max_length=200)
    description = models.TextField(_("说明"), max_length=8000, blank=True, default="")
    question_kind = models.CharField(_("表决方式"), max_length=12, choices=QuestionKind.choices)
    min_choices = models.PositiveSmallIntegerField(_("至少选择"), default=1)
    max_choices = models.PositiveSmallIntegerField(_("至多选择"), default=1)
    seats = models.PositiveSmallIntegerField(_("当选名额"), default=1)
    eligibility = models.CharField(_("投票资格"), max_length=20, choices=Eligibility.choices)
    secret = models.BooleanField(_("无记名投票"), default=True)
    rule = models.CharField(_("表决规则"), max_length=24, choices=OutcomeRule.choices)
    opens_at = models.DateTimeField(_("开始时间"))
    closes_at = models.DateTimeField(_("截止时间"))
    status = models.CharField(_("状态"), max_length=12, choices=VoteStatus.choices, default=VoteStatus.DRAFT)
    meeting = models.ForeignKey("deliberation.Meeting", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="votes", verbose_name=_("所属会议"))
    agenda_item = models.ForeignKey("deliberation.AgendaItem", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="votes", verbose_name=_("议程"))
    owner_roll = models.ForeignKey("deliberation.OwnerRoll", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="votes", verbose_name=_("业主名册"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    # The body, frozen when the roll is built: how many may vote, and their area.
    roll_headcount = models.PositiveIntegerField(_("有投票资格的人数"), default=0)
    roll_area = models.BigIntegerField(_("专有部分总面积（万分之一平方米）"), default=0)
    # Secret paper ballots: papers handed to voters on the roll, and papers counted.
    # A paper ballot can only be counted against a paper handed out.
    paper_issued = models.PositiveIntegerField(default=0, editable=False)
    paper_counted = models.PositiveIntegerField(default=0, editable=False)
    reminded_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = VoteQuerySet.as_manager()


    class Meta:
        verbose_name = _("表决")
        verbose_name_plural = _("表决")
        ordering = ["-opens_at", "-id"]
        indexes = [models.Index(fields=["community", "status"], name="vote_queue"),
                   models.Index(fields=["status", "closes_at"], name="vote_closing")]
        constraints = [
            models.CheckConstraint(condition=Q(closes_at__gt=F("opens_at")), name="vote_closes_after_opening"),
            models.CheckConstraint(condition=Q(min_choices__gte=1, min_choices__lte=F("max_choices"), seats__gte=1),
                                   name="vote_choice_limits"),
            models.CheckConstraint(condition=Q(paper_counted__lte=F("paper_issued")),
                                   name="vote_paper_counted_within_issued"),
            # Area weights identify owners, so an owners' vote is always named (记名).
            models.CheckConstraint(condition=~Q(secret=True, eligibility="owners"), name="vote_owners_named"),
            models.CheckConstraint(condition=~Q(eligibility="owners") | Q(owner_roll__isnull=False),
                                   name="vote_owners_have_roll"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def weighted(self) -> bool:
        return self.eligibility == Eligibility.OWNERS

    @property
    def results_visible(self) -> bool:
        return self.status in (VoteStatus.CLOSED, VoteStatus.PUBLISHED)

    def question(self, options: list[VoteOption] | None = None) -> rules.Question:
        keys = tuple(o.key for o in (options if options is not None else self.options.all()))
        return rules.Question(kind=self.question_kind, options=keys if self.question_kind != rules.YES_NO else (),
                              min_choices=self.min_choices, max_choices=self.max_choices, seats=self.seats)


class VoteOption(models.Model):
    vote = models.ForeignKey(Vote, on_delete=models.CASCADE, related_name="options")
    key = models.CharField(max_length=8)  # "1", "2", … as printed on the ballot
    label = models.CharField(_("选项"), max_length=200)
    order = models.PositiveSmallIntegerField()

    class Meta:
        verbose_name = _("选项")
        verbose_name_plural = _("选项")
        ordering = ["vote", "order"]
        constraints = [models.UniqueConstraint(fields=["vote", "key"], name="option_key_once")]

    def __str__(self) -> str:
        return self.label


class VoterRollEntry(models.Model):
    """One eligible voter: a resident, a household, or an owner as Art. 278 counts them.

    ``voted`` is the single claim every channel makes before a ballot counts."""

    vote = models.ForeignKey(Vote, on_delete=models.CASCADE, related_name="roll")
    resident = models.ForeignKey("people.Resident", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+")
    household = models.ForeignKey("people.Household", null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")
    owner = models.ForeignKey("deliberation.Owner", null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+")
    label = models.CharField(_("投票人"), max_length=200)
    area = models.BigIntegerField(_("面积（万分之一平方米）"), default=0)
    headcount = models.PositiveSmallIntegerField(_("人数"), default=1)
    voted = models.BooleanField(_("已投票"), default=False)
    channel = models.CharField(_("投票方式"), max_length=8, choices=BallotChannel.choices, blank=True, default="")

    class Meta:
        verbose_name = _("投票人名册")
        verbose_name_plural = _("投票人名册")
        ordering = ["vote", "id"]
        indexes = [models.Index(fields=["vote", "voted"], name="roll_turnout")]
        constraints = [
            models.UniqueConstraint(fields=["vote", "resident"], condition=Q(resident__isnull=False),
                                    name="roll_resident_once"),
            models.UniqueConstraint(fields=["vote", "household"], condition=Q(household__isnull=False),
                                    name="roll_household_once"),
            models.UniqueConstraint(fields=["vote", "owner"], condition=Q(owner__isnull=False),
                                    name="roll_owner_once"),
            models.CheckConstraint(
                condition=Q(resident__isnull=False) | Q(household__isnull=False) | Q(owner__isnull=False),
                name="roll_names_a_voter",
            ),
            models.CheckConstraint(condition=Q(area__gte=0), name="roll_area_nonnegative"),
            models.CheckConstraint(condition=Q(voted=True) | Q(channel=""), name="roll_channel_only_when_voted"),
        ]

    def __str__(self) -> str:
        return self.label


def _new_id() -> uuid.UUID:
    return uuid.uuid4()


class SecretBallot(models.Model):
    """A secret ballot: the vote, the choice and the receipt code. Nothing else — no
    voter, no time, no channel — and a random id, so nothing orders or names it."""

    id = models.UUIDField(primary_key=True, default=_new_id, editable=False)
    vote = models.ForeignKey(Vote, on_delete=models.PROTECT, related_name="secret_ballots")
    choice = models.CharField(max_length=400)
    receipt = models.CharField(max_length=24)

    class Meta:
        verbose_name = _("无记名选票")
        verbose_name_plural = _("无记名选票")
        constraints = [models.UniqueConstraint(fields=["vote", "receipt"], name="secret_receipt_once")]

    def __str__(self) -> str:
        return self.receipt


class OpenBallot(models.Model):
    """A named ballot: at most one per roll row, changed in place with its history kept."""

    vote = models.ForeignKey(Vote, on_delete=models.PROTECT, related_name="open_ballots")
    entry = models.ForeignKey(VoterRollEntry, on_delete=models.PROTECT, related_name="+")
    choice = models.CharField(max_length=400)
    receipt = models.CharField(max_length=24)
    area = models.BigIntegerField(default=0)
    headcount = models.PositiveSmallIntegerField(default=1)
    channel = models.CharField(max_length=8, choices=BallotChannel.choices)
    proxy = models.ForeignKey("deliberation.Proxy", null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+")
    cast_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    cast_by_label = models.CharField(max_length=150)
    cast_at = models.DateTimeField()
    revision = models.PositiveSmallIntegerField(default=1)


    class Meta:
        verbose_name = _("记名选票")
        verbose_name_plural = _("记名选票")
        constraints = [
            models.UniqueConstraint(fields=["vote", "entry"], name="open_ballot_once_per_voter"),
            models.UniqueConstraint(fields=["vote", "receipt"], name="open_receipt_once"),
        ]

    def __str__(self) -> str:
        return self.receipt


class OpenBallotRevision(models.Model):
    """An earlier version of a named ballot, kept when the voter changed it."""

    ballot = models.ForeignKey(OpenBallot, on_delete=models.PROTECT, related_name="revisions")
    revision = models.PositiveSmallIntegerField()
    choice = models.CharField(max_length=400)
    channel = models.CharField(max_length=8, choices=BallotChannel.choices)
    cast_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    cast_by_label = models.CharField(max_length=150)
    cast_at = models.DateTimeField()
    replaced_at = models.DateTimeField()

    class Meta:
        verbose_name = _("选票修改记录")
        verbose_name_plural = _("选票修改记录")
        ordering = ["ballot", "revision"]
        constraints = [models.UniqueConstraint(fields=["ballot", "revision"], name="ballot_revision_once")]

    def __str__(self) -> str:
        return f"{self.ballot_id} r{self.revision}"


class PaperCode(models.Model):
    """A receipt code printed on a secret paper ballot and on the stub the voter keeps.

    Codes are made in a batch, in random order, before the ballot papers are handed
    out, and are never linked to whoever received the paper."""

    id = models.UUIDField(primary_key=True, default=_new_id, editable=False)
    vote = models.ForeignKey(Vote, on_delete=models.CASCADE, related_name="paper_codes")
    code = models.CharField(max_length=24)
    used = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("纸质选票编码")
        verbose_name_plural = _("纸质选票编码")
        constraints = [models.UniqueConstraint(fields=["vote", "code"], name="paper_code_once")]

    def __str__(self) -> str:
        return self.code


class PaperEntryStatus(models.TextChoices):
    PENDING = "pending", _("待复核")
    CONFIRMED = "confirmed", _("已复核计入")
    REJECTED = "rejected", _("已退回")


class PaperBallotEntry(models.Model):
    """A paper ballot typed in by one member of staff and confirmed by a second, different
    one (two-person control). Only a confirmed entry becomes a counted ballot.

    A named paper ballot names its roll row (``entry``); a secret one carries only the
    code printed on it."""

    vote = models.ForeignKey(Vote, on_delete=models.PROTECT, related_name="paper_entries")
    entry = models.ForeignKey(VoterRollEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    code = models.CharField(_("选票编码"), max_length=24, blank=True, default="")
    choice = models.CharField(max_length=400)
    proxy = models.ForeignKey("deliberation.Proxy", null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+")
    status = models.CharField(max_length=12, choices=PaperEntryStatus.choices, default=PaperEntryStatus.PENDING)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    entered_at = models.DateTimeField()
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(_("退回原因"), max_length=200, blank=True, default="")

    class Meta:
        verbose_name = _("纸质选票录入")
        verbose_name_plural = _("纸质选票录入")
        ordering = ["vote", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("entered_by")),
                                   name="paper_second_person"),
            models.CheckConstraint(condition=Q(status="pending") | Q(decided_by__isnull=False),
                                   name="paper_decided_by_someone"),
            models.CheckConstraint(condition=Q(entry__isnull=False) | ~Q(code=""), name="paper_names_entry_or_code"),
            models.UniqueConstraint(fields=["vote", "entry"], condition=Q(status="confirmed", entry__isnull=False),
                                    name="paper_confirmed_once_per_voter"),
            models.UniqueConstraint(fields=["vote", "code"], condition=Q(status="confirmed") & ~Q(code=""),
                                    name="paper_confirmed_once_per_code"),
        ]

    def __str__(self) -> str:
        return f"{self.vote_id} #{self.pk}"


class Proxy(models.Model):
    """委托投票: someone votes for a voter on the roll, on the strength of a written
    authorisation that staff have seen and recorded."""

    vote = models.ForeignKey(Vote, on_delete=models.CASCADE, related_name="proxies")
    principal = models.ForeignKey(VoterRollEntry, on_delete=models.PROTECT, related_name="+",
                                  verbose_name=_("委托人"))
    proxy_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("受托人账号"))
    proxy_name = models.CharField(_("受托人"), max_length=60)
    authorisation_ref = models.CharField(_("授权委托书编号"), max_length=100)
    authorisation_file = models.FileField(_("授权委托书照片"), upload_to="deliberation/proxies/%Y/%m/", blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")

    class Meta:
        verbose_name = _("委托投票")
        verbose_name_plural = _("委托投票")
        constraints = [
            models.UniqueConstraint(fields=["vote", "principal"], condition=Q(revoked_at__isnull=True),
                                    name="one_active_proxy_per_voter"),
            models.CheckConstraint(condition=~Q(authorisation_ref=""), name="proxy_has_authorisation"),
        ]

    def __str__(self) -> str:
        return f"{self.proxy_name} → {self.principal_id}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class PublishedResult(models.Model):
    """The frozen result document (JSON, UTF-8, canonical form). Its SHA-256 is written
    into the audit chain when it is published; the row is never changed."""

    vote = models.OneToOneField(Vote, on_delete=models.PROTECT, related_name="published")
    document = models.TextField()
    sha256 = models.CharField(max_length=64)
    published_at = models.DateTimeField()
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                     related_name="+")
    audit_seq = models.BigIntegerField()

    class Meta:
        verbose_name = _("公布的表决结果")
        verbose_name_plural = _("公布的表决结果")

    def __str__(self) -> str:
        return f"{self.vote_id} {self.sha256[:12]}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise RuntimeError("a published result is frozen")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise RuntimeError("a published result is frozen")
