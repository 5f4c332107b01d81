"""Residents, households, relations, special-group tags and consent (DOMAIN §4, §6).

Sensitive fields (PIPL Art. 28: ID number, phone, health, disability, income status)
are ``EncryptedTextField``s; those that must be found by exact value carry a keyed
``*_hash`` beside them. Pages and API responses show them masked unless the viewer
holds a reveal role, and every reveal writes a ``SensitiveAccess`` row.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from linli.accounts.models import Role
from linli.core.fields import EncryptedTextField

# Age below which all of a child's data is sensitive (PIPL Art. 28).
MINOR_SENSITIVE_AGE = 14
ADULT_AGE = 18

# Who sees the people registry (partners never do); auditors only read it.
REGISTRY_ROLES = frozenset(
    {Role.GRID_WORKER, Role.COMMUNITY_STAFF, Role.COMMITTEE_LEAD, Role.STREET_SUPERVISOR, Role.AUDITOR}
)
# Who changes it (street supervisors oversee, they do not edit residents' records).
REGISTRY_EDIT_ROLES = frozenset({Role.GRID_WORKER, Role.COMMUNITY_STAFF, Role.COMMITTEE_LEAD})
# Who imports households and residents into a community.
IMPORT_ROLES = frozenset({Role.COMMUNITY_STAFF, Role.COMMITTEE_LEAD})


class Household(models.Model):
    place = models.OneToOneField(
        "places.Place", on_delete=models.PROTECT, related_name="household", verbose_name=_("住址")
    )
    community = models.ForeignKey("places.Place", on_delete=models.PROTECT, related_name="+", verbose_name=_("社区"))
    # The household registration number or any stable reference an import gives;
    # communities number their households independently, so it is unique per community.
    ref = models.CharField(_("户编号"), max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    if TYPE_CHECKING:
        members: models.Manager[Resident]

    class Meta:
        verbose_name = _("户")
        verbose_name_plural = _("户")
        constraints = [models.UniqueConstraint(fields=["community", "ref"], name="household_ref_per_community")]

    def __str__(self) -> str:
        return self.place.address if self.place_id else self.ref


class Gender(models.TextChoices):
    FEMALE = "F", _("女")
    MALE = "M", _("男")
    UNSTATED = "", _("未填")


class ResidentStatus(models.TextChoices):
    ACTIVE = "active", _("在住")
    MOVED_OUT = "moved_out", _("已迁出")
    DECEASED = "deceased", _("已故")


class HouseholdRole(models.TextChoices):
    HEAD = "head", _("户主")
    SPOUSE = "spouse", _("配偶")
    CHILD = "child", _("子女")
    PARENT = "parent", _("父母")
    GRANDCHILD = "grandchild", _("孙辈")
    GRANDPARENT = "grandparent", _("祖辈")
    TENANT = "tenant", _("租户")
    OTHER = "other", _("其他")


class ResidentQuerySet(models.QuerySet["Resident"]):
    def active(self) -> ResidentQuerySet:
        return self.filter(status=ResidentStatus.ACTIVE)

    def visible_to(self, principal: Any) -> ResidentQuerySet:
        """Residents below the nodes where ``principal`` holds a registry role."""
        from linli.accounts.access import scope_paths

        return self.below_paths(scope_paths(principal, roles=REGISTRY_ROLES))

    def in_group(self, group: str) -> ResidentQuerySet:
        open_tag = SpecialGroupTag.objects.filter(resident=models.OuterRef("pk"), group=group, ended_on__isnull=True)
        return self.filter(models.Exists(open_tag))

    def below_paths(self, paths: list[str]) -> ResidentQuerySet:
        if not paths:
            return self.none()
        condition = Q()
        for path in paths:
            condition |= Q(household__place__path__startswith=path)
        return self.filter(condition)


class Resident(models.Model):
    household = models.ForeignKey(
        Household, on_delete=models.PROTECT, related_name="members", verbose_name=_("户")
    )
    community = models.ForeignKey("places.Place", on_delete=models.PROTECT, related_name="+", verbose_name=_("社区"))
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="resident",
        verbose_name=_("账号"),
    )
    name = models.CharField(_("姓名"), max_length=60)
    gender = models.CharField(_("性别"), max_length=1, choices=Gender.choices, blank=True, default="")
    birth_date = models.DateField(_("出生日期"), null=True, blank=True)
    household_role = models.CharField(_("与户主关系"), max_length=16, choices=HouseholdRole.choices, default=HouseholdRole.OTHER)
    status = models.CharField(_("状态"), max_length=16, choices=ResidentStatus.choices, default=ResidentStatus.ACTIVE)
    # Sensitive personal information, sealed at rest.
    id_number = EncryptedTextField(_("身份证号"), blank=True, default="")
    id_number_hash = models.CharField(max_length=64, null=True, blank=True, unique=True, editable=False)
    phone = EncryptedTextField(_("手机号"), blank=True, default="")
    phone_hash = models.CharField(max_length=64, blank=True, default="", db_index=True, editable=False)
    health = EncryptedTextField(_("健康状况"), blank=True, default="")
    disability = EncryptedTextField(_("残疾情况"), blank=True, default="")
    income_status = EncryptedTextField(_("收入与救助状况"), blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ResidentQuerySet.as_manager()

    class Meta:
        verbose_name = _("居民")
        verbose_name_plural = _("居民")
        indexes = [models.Index(fields=["community", "status"]), models.Index(fields=["household"])]

    def __str__(self) -> str:
        return self.name

    def age(self, on: date | None = None) -> int | None:
        if self.birth_date is None:
            return None
        on = on or date.today()  # noqa: DTZ011 - a calendar date, not an instant
        years = on.year - self.birth_date.year
        if (on.month, on.day) < (self.birth_date.month, self.birth_date.day):
            years -= 1
        return years

    def is_sensitive_minor(self, on: date | None = None) -> bool:
        age = self.age(on)
        return age is not None and age < MINOR_SENSITIVE_AGE


class RelationKind(models.TextChoices):
    SPOUSE = "spouse", _("配偶")
    PARENT_OF = "parent_of", _("父母")
    GUARDIAN_OF = "guardian_of", _("监护人")
    CARER_OF = "carer_of", _("照护人")
    EMERGENCY_CONTACT_OF = "emergency_contact_of", _("紧急联系人")


class Relation(models.Model):
    """``from_resident`` is the ``kind`` of ``to_resident`` (A parent_of B)."""

    from_resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="relations_from")
    to_resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="relations_to")
    kind = models.CharField(_("关系"), max_length=32, choices=RelationKind.choices)
    community = models.ForeignKey("places.Place", on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("亲属关系")
        verbose_name_plural = _("亲属关系")
        constraints = [
            models.UniqueConstraint(fields=["from_resident", "to_resident", "kind"], name="relation_once"),
            models.CheckConstraint(condition=~Q(from_resident=models.F("to_resident")), name="relation_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.from_resident} {self.get_kind_display()} {self.to_resident}"


class SpecialGroup(models.TextChoices):
    """DOMAIN §4. Communities add their own with ``OTHER`` and a label."""

    ELDERLY_ALONE = "elderly_alone", _("独居老人")
    EMPTY_NEST = "empty_nest", _("空巢老人")
    LEFT_BEHIND = "left_behind", _("留守人员")
    DISABLED = "disabled", _("残疾人")
    DIBAO = "dibao", _("低保")
    TEKUN = "tekun", _("特困")
    FAMILY_PLANNING_SPECIAL = "family_planning_special", _("计生特殊家庭")
    OTHER = "other", _("其他")


# Tags that themselves reveal health, disability or income (PIPL Art. 28).
SENSITIVE_GROUPS = frozenset({SpecialGroup.DISABLED, SpecialGroup.DIBAO, SpecialGroup.TEKUN, SpecialGroup.FAMILY_PLANNING_SPECIAL})


class SpecialGroupTag(models.Model):
    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="tags", verbose_name=_("居民"))
    community = models.ForeignKey("places.Place", on_delete=models.PROTECT, related_name="+")
    group = models.CharField(_("群体"), max_length=32, choices=SpecialGroup.choices)
    label = models.CharField(_("说明"), max_length=60, blank=True, help_text=_("“其他”群体的名称"))
    since = models.DateField(_("起始日期"), null=True, blank=True)
    ended_on = models.DateField(_("结束日期"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("特殊群体标签")
        verbose_name_plural = _("特殊群体标签")
        constraints = [
            models.UniqueConstraint(
                fields=["resident", "group", "label"], condition=Q(ended_on__isnull=True), name="one_open_tag_per_group"
            )
        ]
        indexes = [models.Index(fields=["community", "group"])]

    def __str__(self) -> str:
        return self.label or self.get_group_display()


class ConsentBasis(models.TextChoices):
    """PIPL Art. 13 lawful bases."""

    CONSENT = "consent", _("个人同意")
    SEPARATE_CONSENT = "separate_consent", _("单独同意（敏感信息）")
    GUARDIAN_CONSENT = "guardian_consent", _("监护人同意（不满十四周岁）")
    LEGAL_DUTY = "legal_duty", _("履行法定职责或义务")
    PUBLIC_HEALTH = "public_health", _("应对突发公共卫生事件或紧急情况")
    PUBLIC_INTEREST = "public_interest", _("公共利益（新闻报道、舆论监督等）")


class Consent(models.Model):
    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="consents", verbose_name=_("居民"))
    community = models.ForeignKey("places.Place", on_delete=models.PROTECT, related_name="+")
    purpose = models.CharField(_("目的"), max_length=200)
    basis = models.CharField(_("依据"), max_length=32, choices=ConsentBasis.choices)
    given_on = models.DateField(_("日期"))
    retention = models.CharField(_("保存期限"), max_length=100, blank=True)
    withdrawn_at = models.DateTimeField(_("撤回时间"), null=True, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("同意记录")
        verbose_name_plural = _("同意记录")

    def __str__(self) -> str:
        return f"{self.resident} · {self.purpose}"

    @property
    def is_active(self) -> bool:
        return self.withdrawn_at is None


class SensitiveAccess(models.Model):
    """Who revealed which sensitive value of whom, when and why (PIPL; kept >= 3 years)."""

    at = models.DateTimeField(_("时间"), db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("查看人"))
    resident = models.ForeignKey(Resident, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("居民"))
    # Null for a search by number that found nobody, or residents in several communities.
    community = models.ForeignKey("places.Place", null=True, on_delete=models.PROTECT, related_name="+")
    # Who it was, kept even if the account goes: a username, or "apikey:<prefix>".
    actor_label = models.CharField(_("查看人"), max_length=150, blank=True)
    # A field name, or "search:phone" / "search:id_number" for an exact search by number
    # (``resident`` is then the one hit, or null).
    field = models.CharField(_("字段"), max_length=40)
    reason = models.CharField(_("事由"), max_length=200)

    class Meta:
        verbose_name = _("敏感信息查看记录")
        verbose_name_plural = _("敏感信息查看记录")
        indexes = [models.Index(fields=["community", "at"])]

    def __str__(self) -> str:
        return f"{self.user} → {self.resident}.{self.field}"


class CorrectionStatus(models.TextChoices):
    OPEN = "open", _("待处理")
    ACCEPTED = "accepted", _("已更正")
    REJECTED = "rejected", _("未更正")


class CorrectionRequest(models.Model):
    """A resident asks for their data to be corrected (PIPL Art. 46)."""

    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="corrections", verbose_name=_("居民"))
    community = models.ForeignKey("places.Place", on_delete=models.PROTECT, related_name="+")
    field = models.CharField(_("字段"), max_length=40)
    # May itself hold sensitive data (a corrected ID number), so sealed.
    requested_value = EncryptedTextField(_("应改为"))
    note = models.TextField(_("说明"), blank=True)
    status = models.CharField(_("状态"), max_length=16, choices=CorrectionStatus.choices, default=CorrectionStatus.OPEN)
    answer = models.TextField(_("答复"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    handled_at = models.DateTimeField(null=True, blank=True)
    handled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("更正申请")
        verbose_name_plural = _("更正申请")

    def __str__(self) -> str:
        return f"{self.resident} · {self.field}"
