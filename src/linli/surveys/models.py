"""Questionnaires, their distribution, and residents' answers (调查问卷, DOMAIN §7).

A ``Questionnaire`` belongs to a community or a street; its ``Question``s are grouped
into ``Dimension``s, each mapped to a community work mechanism, and a question's
``code`` names it as an item of the satisfaction model (SATISFACTION-MODEL.md).

Residents answer through an ``Invitation``: one per resident and questionnaire, with an
unguessable token, so the link works without signing in. A ``Response`` is the answer
sheet; the database holds one per invitation and one per resident. For an anonymous
questionnaire the response carries no resident, invitation, user or time, and a random
id: only the invitation is marked answered, in the same transaction, so one response
per resident still holds while no row links the answers to a person.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, Self

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from linli.accounts.models import Role

# Who sees questionnaires, distribution and results in their scope (auditors read).
SURVEY_VIEW_ROLES = frozenset({Role.COMMUNITY_STAFF, Role.COMMITTEE_LEAD, Role.STREET_SUPERVISOR, Role.AUDITOR})
# Who builds, distributes, closes and enters paper answers.
SURVEY_EDIT_ROLES = frozenset({Role.COMMUNITY_STAFF, Role.COMMITTEE_LEAD, Role.STREET_SUPERVISOR})

TOKEN_BYTES = 24  # 192 bits: secrets.token_urlsafe → 32 characters
CODE_LENGTH = 8  # the short code printed on a paper invitation


class Status(models.TextChoices):
    DRAFT = "draft", _("草稿")
    OPEN = "open", _("进行中")
    CLOSED = "closed", _("已结束")


class Template(models.TextChoices):
    SATISFACTION = "satisfaction", _("社区居民满意度测评")
    NEEDS = "needs", _("居民需求调查")


class Mechanism(models.TextChoices):
    """The community work mechanisms a dimension measures (SATISFACTION-MODEL.md)."""

    COMMUNICATION = "communication", _("沟通渠道与信息发布")
    REQUESTS = "requests", _("接诉即办与结果反馈")
    DEMOCRACY = "democracy", _("民主协商与居民自治")
    SERVICES = "services", _("便民服务与办事")
    ENVIRONMENT = "environment", _("环境维护与平安建设")
    SAFETY = "safety", _("治安与安全")
    ACTIVITIES = "activities", _("社区活动与邻里互助")
    CARE = "care", _("特殊群体关爱")
    STAFF = "staff", _("工作人员队伍建设")
    DISCLOSURE = "disclosure", _("居务公开与监督")
    OVERALL = "overall", _("总体满意度（指数）")
    OUTCOME = "outcome", _("结果：信任与参与")
    OTHER = "other", _("其他")


class Kind(models.TextChoices):
    FIVE_LEVEL = "five_level", _("五级满意度（非常满意…非常不满意）")
    SCALE_1_5 = "scale_1_5", _("1–5 分")
    SCALE_0_10 = "scale_0_10", _("0–10 分")
    SCALE_1_10 = "scale_1_10", _("1–10 分")
    SINGLE = "single", _("单选")
    MULTIPLE = "multiple", _("多选")
    NPS = "nps", _("推荐度（NPS，0–10 分）")
    TEXT = "text", _("文字")


# The answer range of each numeric kind; the kinds that may be items of the model.
SCALES: dict[str, tuple[int, int]] = {
    Kind.FIVE_LEVEL: (1, 5), Kind.SCALE_1_5: (1, 5), Kind.SCALE_0_10: (0, 10), Kind.SCALE_1_10: (1, 10),
    Kind.NPS: (0, 10),
}
MODEL_KINDS = frozenset({Kind.FIVE_LEVEL, Kind.SCALE_1_5, Kind.SCALE_0_10, Kind.SCALE_1_10})
CHOICE_KINDS = frozenset({Kind.SINGLE, Kind.MULTIPLE})


class ResponseChannel(models.TextChoices):
    WEB = "web", _("网页")
    PAPER = "paper", _("纸质问卷（工作人员录入）")


class DistributionMode(models.TextChoices):
    ALL = "all", _("全体居民")
    SAMPLE = "sample", _("分层随机抽样")


class Strata(models.TextChoices):
    GRID = "grid", _("按网格")
    BUILDING = "building", _("按楼栋")


class QuestionnaireQuerySet(models.QuerySet["Questionnaire"]):
    def below_any(self, paths: list[str]) -> Self:
        if not paths:
            return self.none()
        query = Q()
        for path in paths:
            query |= Q(place_path__startswith=path)
        return self.filter(query)

    def open(self) -> Self:
        return self.filter(status=Status.OPEN)


class Questionnaire(models.Model):
    title = models.CharField(_("标题"), max_length=120)
    intro = models.TextField(_("说明"), max_length=2000, blank=True, default="")
    # A community or a street (a street-wide survey covers every community below it).
    place = models.ForeignKey("places.Place", on_delete=models.PROTECT, related_name="+", verbose_name=_("范围"))
    # Denormalised from ``place`` so scope filters need no join.
    place_path = models.CharField(max_length=64, editable=False, db_index=True)
    # The place's community (null for a street-wide questionnaire).
    community = models.ForeignKey("places.Place", null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+", verbose_name=_("社区"))
    status = models.CharField(_("状态"), max_length=8, choices=Status.choices, default=Status.DRAFT)
    anonymous = models.BooleanField(_("匿名问卷"), default=True,
                                    help_text=_("匿名问卷的答卷不与居民的姓名、住址或账号关联。"))
    opens_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    closes_at = models.DateTimeField(_("截止时间"), null=True, blank=True)
    # What residents are told before they answer (PIPL; DOMAIN §6).
    purpose = models.CharField(_("调查目的"), max_length=300, blank=True, default="")
    retention_months = models.PositiveSmallIntegerField(_("答卷保存期限（月）"), default=36)
    template = models.CharField(_("模板"), max_length=16, choices=Template.choices, blank=True, default="")
    copied_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                    verbose_name=_("复制自"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("创建人"))
    created_at = models.DateTimeField(_("创建时间"))
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(_("结束时间"), null=True, blank=True, editable=False)
    # When the retention period ran out and the answers lost every link to a person.
    purged_at = models.DateTimeField(_("到期清理时间"), null=True, blank=True, editable=False)

    objects = QuestionnaireQuerySet.as_manager()

    if TYPE_CHECKING:
        community_id: int | None
        place_id: int

    class Meta:
        verbose_name = _("调查问卷")
        verbose_name_plural = _("调查问卷")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["community", "status"], name="questionnaire_community")]
        constraints = [
            models.CheckConstraint(
                condition=Q(opens_at__isnull=True) | Q(closes_at__isnull=True) | Q(closes_at__gt=models.F("opens_at")),
                name="questionnaire_closes_after_opens",
            ),
            models.CheckConstraint(condition=Q(retention_months__gte=1), name="questionnaire_retention_positive"),
        ]

    def __str__(self) -> str:
        return self.title


class Dimension(models.Model):
    """A group of questions; a block (latent variable) of the model when its questions
    carry item codes."""

    questionnaire = models.ForeignKey(Questionnaire, on_delete=models.CASCADE, related_name="dimensions")
    code = models.CharField(_("编码"), max_length=16, help_text=_("如 COMM、RESP、SAT；模型中潜变量的名称"))
    name = models.CharField(_("名称"), max_length=60)
    mechanism = models.CharField(_("对应工作机制"), max_length=16, choices=Mechanism.choices, default=Mechanism.OTHER)
    # Reflective (A) unless the committee says otherwise (SATISFACTION-MODEL.md).
    mode = models.CharField(_("测量模式"), max_length=1, choices=[("A", _("A（反映型）")), ("B", _("B（形成型）"))],
                            default="A")
    order = models.PositiveSmallIntegerField(_("排序"), default=0)

    class Meta:
        verbose_name = _("维度")
        verbose_name_plural = _("维度")
        ordering = ["order", "id"]
        constraints = [models.UniqueConstraint(fields=["questionnaire", "code"], name="dimension_code_once")]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Question(models.Model):
    questionnaire = models.ForeignKey(Questionnaire, on_delete=models.CASCADE, related_name="questions")
    dimension = models.ForeignKey(Dimension, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="questions", verbose_name=_("维度"))
    kind = models.CharField(_("题型"), max_length=16, choices=Kind.choices)
    # The item code in the model (COMM1 …); blank for questions outside it.
    code = models.CharField(_("题目编码"), max_length=24, blank=True, default="")
    text = models.CharField(_("题目"), max_length=300)
    help = models.CharField(_("提示"), max_length=300, blank=True, default="")
    required = models.BooleanField(_("必答"), default=True)
    order = models.PositiveSmallIntegerField(_("排序"), default=0)
    # Multiple choice: at most this many (0: no limit).
    max_choices = models.PositiveSmallIntegerField(_("最多选几项"), default=0)
    # Scales: what the two ends mean (e.g. 完全不同意 … 完全同意).
    low_label = models.CharField(_("最低分含义"), max_length=30, blank=True, default="")
    high_label = models.CharField(_("最高分含义"), max_length=30, blank=True, default="")

    if TYPE_CHECKING:
        dimension_id: int | None

    class Meta:
        verbose_name = _("题目")
        verbose_name_plural = _("题目")
        ordering = ["order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["questionnaire", "code"], condition=~Q(code=""),
                                    name="question_code_once"),
        ]

    def __str__(self) -> str:
        return self.text

    @property
    def scale(self) -> tuple[int, int] | None:
        return SCALES.get(self.kind)

    @property
    def is_choice(self) -> bool:
        return self.kind in CHOICE_KINDS


class Option(models.Model):
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="options")
    label = models.CharField(_("选项"), max_length=120)
    order = models.PositiveSmallIntegerField(_("排序"), default=0)

    class Meta:
        verbose_name = _("选项")
        verbose_name_plural = _("选项")
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.label


class Distribution(models.Model):
    """One sending of a questionnaire: to everyone, or to a stratified random sample,
    with every number needed to redo the draw (population, allocation, seed)."""

    questionnaire = models.ForeignKey(Questionnaire, on_delete=models.CASCADE, related_name="distributions")
    mode = models.CharField(_("方式"), max_length=8, choices=DistributionMode.choices)
    strata = models.CharField(_("分层"), max_length=8, choices=Strata.choices, blank=True, default="")
    margin = models.FloatField(_("允许误差"), null=True, blank=True)
    confidence = models.FloatField(_("置信水平"), null=True, blank=True)
    proportion = models.FloatField(_("预期比例"), null=True, blank=True)
    population = models.PositiveIntegerField(_("总体（可抽样居民数）"), default=0)
    sample_size = models.PositiveIntegerField(_("样本量"), default=0)
    seed = models.BigIntegerField(_("随机种子"), null=True, blank=True)
    # [{"stratum": id or null, "name": …, "population": Nh, "sample": nh}, …]
    allocation: models.JSONField[list[dict[str, Any]]] = models.JSONField(_("分配"), default=list, blank=True)
    invited = models.PositiveIntegerField(_("发出邀请数"), default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("问卷发放")
        verbose_name_plural = _("问卷发放")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.questionnaire_id} {self.get_mode_display()}"


class Invitation(models.Model):
    questionnaire = models.ForeignKey(Questionnaire, on_delete=models.CASCADE, related_name="invitations")
    resident = models.ForeignKey("people.Resident", on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("居民"))
    community = models.ForeignKey("places.Place", on_delete=models.PROTECT, related_name="+")
    # The resident's grid and building when invited: the strata of the response rates.
    grid = models.ForeignKey("places.Place", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                             verbose_name=_("网格"))
    building = models.ForeignKey("places.Place", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+", verbose_name=_("楼栋"))
    distribution = models.ForeignKey(Distribution, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="invitations")
    token = models.CharField(max_length=64, unique=True, editable=False)
    code = models.CharField(_("纸质问卷编号"), max_length=12, editable=False)
    # True when the resident had an account and was told in the app.
    notified = models.BooleanField(_("已站内通知"), default=False)
    sent_at = models.DateTimeField(_("发出时间"))
    reminded_at = models.DateTimeField(_("最近提醒"), null=True, blank=True)
    reminders = models.PositiveSmallIntegerField(_("提醒次数"), default=0)
    answered = models.BooleanField(_("已作答"), default=False)
    # Left empty for anonymous questionnaires: nothing dates the answer.
    answered_at = models.DateTimeField(_("作答时间"), null=True, blank=True)

    if TYPE_CHECKING:
        resident_id: int
        grid_id: int | None
        building_id: int | None

    class Meta:
        verbose_name = _("问卷邀请")
        verbose_name_plural = _("问卷邀请")
        ordering = ["id"]
        indexes = [models.Index(fields=["questionnaire", "answered"], name="invitation_progress")]
        constraints = [
            models.UniqueConstraint(fields=["questionnaire", "resident"], name="invitation_once_per_resident"),
            models.UniqueConstraint(fields=["questionnaire", "code"], name="invitation_code_once"),
        ]

    def __str__(self) -> str:
        return f"{self.questionnaire_id} · {self.code}"


def _new_id() -> uuid.UUID:
    return uuid.uuid4()


class Response(models.Model):
    """One resident's answer sheet. Random ids, so nothing orders anonymous sheets."""

    id = models.UUIDField(primary_key=True, default=_new_id, editable=False)
    questionnaire = models.ForeignKey(Questionnaire, on_delete=models.PROTECT, related_name="responses")
    community = models.ForeignKey("places.Place", on_delete=models.PROTECT, related_name="+")
    # For breakdowns by grid (a grid holds hundreds of households, so it names nobody).
    grid = models.ForeignKey("places.Place", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    anonymous = models.BooleanField(default=False)
    invitation = models.ForeignKey(Invitation, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    resident = models.ForeignKey("people.Resident", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+")
    channel = models.CharField(_("渠道"), max_length=8, choices=ResponseChannel.choices)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("录入人"))
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("答卷")
        verbose_name_plural = _("答卷")
        indexes = [models.Index(fields=["questionnaire", "grid"], name="response_by_grid")]
        constraints = [
            # One response per resident, whatever the channel.
            models.UniqueConstraint(fields=["questionnaire", "invitation"], condition=Q(invitation__isnull=False),
                                    name="response_once_per_invitation"),
            models.UniqueConstraint(fields=["questionnaire", "resident"], condition=Q(resident__isnull=False),
                                    name="response_once_per_resident"),
            # An anonymous sheet links to nobody and carries no time.
            models.CheckConstraint(
                condition=Q(anonymous=False, invitation__isnull=False)
                | Q(anonymous=True, invitation__isnull=True, resident__isnull=True, submitted_at__isnull=True),
                name="response_anonymous_unlinked",
            ),
            models.CheckConstraint(condition=~Q(channel="paper") | Q(entered_by__isnull=False),
                                   name="response_paper_has_enterer"),
        ]

    def __str__(self) -> str:
        return str(self.pk)


class Answer(models.Model):
    """One answer: a number (scales, NPS), a chosen option (one row per option of a
    multiple choice), or a text."""

    id = models.UUIDField(primary_key=True, default=_new_id, editable=False)
    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="answers")
    # Denormalised so that summaries filter by questionnaire without a join.
    questionnaire = models.ForeignKey(Questionnaire, on_delete=models.PROTECT, related_name="+")
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="answers")
    number = models.SmallIntegerField(null=True, blank=True)
    option = models.ForeignKey(Option, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(max_length=2000, blank=True, default="")

    class Meta:
        verbose_name = _("答案")
        verbose_name_plural = _("答案")
        indexes = [models.Index(fields=["questionnaire", "question"], name="answer_by_question")]
        constraints = [
            models.UniqueConstraint(fields=["response", "question"], condition=Q(option__isnull=True),
                                    name="answer_once_per_question"),
            models.UniqueConstraint(fields=["response", "question", "option"], condition=Q(option__isnull=False),
                                    name="answer_option_once"),
            models.CheckConstraint(condition=Q(number__isnull=True) | Q(number__gte=0, number__lte=10),
                                   name="answer_number_in_range"),
        ]

    def __str__(self) -> str:
        return f"{self.question_id}: {self.number if self.number is not None else self.option_id or self.text[:20]}"
