from __future__ import annotations

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from linli.core.fields import EncryptedTextField


class Role(models.TextChoices):
    RESIDENT = "resident", _("居民")
    GRID_WORKER = "grid_worker", _("网格员")
    COMMUNITY_STAFF = "community_staff", _("社区工作者")
    COMMITTEE_LEAD = "committee_lead", _("居委会负责人")
    STREET_SUPERVISOR = "street_supervisor", _("街道督导")
    PARTNER = "partner", _("合作单位")
    AUDITOR = "auditor", _("监督审计")


# Roles that see and act on other people's data must sign in with a second factor.
STAFF_ROLES = frozenset(
    {Role.GRID_WORKER, Role.COMMUNITY_STAFF, Role.COMMITTEE_LEAD, Role.STREET_SUPERVISOR, Role.PARTNER, Role.AUDITOR}
)
READ_ONLY_ROLES = frozenset({Role.AUDITOR})
# Roles whose holders may reveal a masked sensitive value (each reveal is logged).
REVEAL_ROLES = frozenset({Role.GRID_WORKER, Role.COMMUNITY_STAFF, Role.COMMITTEE_LEAD})


class OrganisationKind(models.TextChoices):
    PROPERTY_MANAGER = "property_manager", _("物业服务企业")
    SOCIAL_ORGANISATION = "social_organisation", _("社会组织")
    RESIDENT_UNIT = "resident_unit", _("驻区单位")
    GOVERNMENT = "government", _("政府职能部门")
    OTHER = "other", _("其他")


class Organisation(models.Model):
    """A partner outside the committee (物业, 社会组织, 驻区单位, a department): requests are
    dispatched to it, and its members (users with the partner role) handle them."""

    name = models.CharField(_("名称"), max_length=120)
    kind = models.CharField(_("类型"), max_length=32, choices=OrganisationKind.choices, default=OrganisationKind.OTHER)
    place = models.ForeignKey("places.Place", on_delete=models.PROTECT, related_name="+", verbose_name=_("服务范围"))
    contact = models.CharField(_("联系方式"), max_length=120, blank=True, default="")
    is_active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("合作单位")
        verbose_name_plural = _("合作单位")
        constraints = [models.UniqueConstraint(fields=["place", "name"], name="organisation_name_per_place")]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.SET_NULL, related_name="members",
        verbose_name=_("所属合作单位"),
    )
    display_name = models.CharField(_("姓名"), max_length=60, blank=True)
    phone = EncryptedTextField(_("手机号"), blank=True, default="")
    phone_hash = models.CharField(max_length=64, null=True, blank=True, unique=True, editable=False)
    elder_mode = models.BooleanField(_("长辈版"), default=False)
    language = models.CharField(_("语言"), max_length=10, blank=True, default="")
    totp_secret = EncryptedTextField(blank=True, default="", editable=False)
    totp_confirmed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The last accepted time step, so one code cannot be used twice.
    totp_last_step = models.BigIntegerField(default=0, editable=False)
    # A staff member's first enrolment needs a one-time code issued out of band by an
    # administrator: only its keyed hash is kept, and it expires.
    enrol_code_hash = models.CharField(max_length=64, blank=True, default="", editable=False)
    enrol_code_expires_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects: UserManager[User] = UserManager()  # type: ignore[assignment,misc]

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def __str__(self) -> str:
        return self.display_name or self.username

    @property
    def has_totp(self) -> bool:
        return bool(self.totp_secret) and self.totp_confirmed_at is not None

    def needs_second_factor(self) -> bool:
        """Staff roles, admin users and anyone who has turned two-factor on give a code."""
        if self.is_superuser or self.is_staff or self.has_totp:
            return True
        # Through the per-request grant cache, so the gate costs no query of its own.
        from linli.accounts.access import is_staff_member

        return is_staff_member(self)


class RoleAssignmentQuerySet(models.QuerySet["RoleAssignment"]):
    def active(self) -> RoleAssignmentQuerySet:
        return self.filter(is_active=True)


class RoleAssignment(models.Model):
    """A role held at a node of the place tree covers every node below it."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="role_assignments", verbose_name=_("用户"))
    role = models.CharField(_("角色"), max_length=32, choices=Role.choices)
    place = models.ForeignKey("places.Place", on_delete=models.PROTECT, related_name="+", verbose_name=_("范围"))
    is_active = models.BooleanField(_("有效"), default=True)
    granted_at = models.DateTimeField(auto_now_add=True)
    granted_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    objects = RoleAssignmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("角色")
        verbose_name_plural = _("角色")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "role", "place"], condition=Q(is_active=True), name="one_active_role_per_place"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} @ {self.place}"


class ApiKey(models.Model):
    """A machine client's key: only a hash is kept; the key itself is shown once."""

    name = models.CharField(_("名称"), max_length=100)
    prefix = models.CharField(max_length=12, unique=True)
    key_hash = models.CharField(max_length=64)
    place = models.ForeignKey("places.Place", on_delete=models.PROTECT, related_name="+", verbose_name=_("范围"))
    role = models.CharField(_("角色"), max_length=32, choices=Role.choices, default=Role.COMMUNITY_STAFF)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API 密钥")
        verbose_name_plural = _("API 密钥")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class LoginAttempt(models.Model):
    """Failed sign-ins, kept in the database so every server process sees them."""

    key = models.CharField(max_length=128, db_index=True)
    at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("登录失败记录")
        verbose_name_plural = _("登录失败记录")

    def __str__(self) -> str:
        return f"{self.key} @ {self.at}"
