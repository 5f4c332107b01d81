"""The owners' roll, imported from the property register (不动产登记 / 房产登记清册).

``OwnerUnit`` is a row of the register: a unit (专有部分), its owner and its area.
``Owner`` is an owner *as the law counts them* (SPC interpretation on building
ownership, Art. 8–9): one unit is one owner; several units of one buyer are one
owner whose areas add up; every unit the developer has not sold (or not delivered)
counts together as one owner. Votes weighted by area take their roll from ``Owner``.

Each import makes a new roll; a roll is never changed in place, so a vote's roll
stays what it was when the vote opened.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

# The key of the one owner that stands for all of the developer's unsold units.
DEVELOPER_KEY = "developer"


class OwnerRoll(models.Model):
    community = models.ForeignKey("places.Place", on_delete=models.PROTECT, related_name="+", verbose_name=_("社区"))
    place = models.ForeignKey("places.Place", on_delete=models.PROTECT, related_name="+",
                              verbose_name=_("物业管理区域"), help_text=_("本名册覆盖的小区或楼栋"))
    place_path = models.CharField(max_length=64, editable=False, db_index=True)
    name = models.CharField(_("名称"), max_length=120)
    source_name = models.CharField(_("来源文件"), max_length=200)
    source_sha256 = models.CharField(max_length=64)
    developer_name = models.CharField(_("建设单位名称"), max_length=120, blank=True, default="",
                                      help_text=_("登记册中“业主”为此名称的房屋视为建设单位未售出房屋"))
    units_count = models.PositiveIntegerField(_("专有部分数"), default=0)
    owners_count = models.PositiveIntegerField(_("业主人数"), default=0)
    total_area = models.BigIntegerField(_("专有部分总面积（万分之一平方米）"), default=0)
    imported_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                    related_name="+", verbose_name=_("导入人"))
    imported_at = models.DateTimeField(_("导入时间"))


    class Meta:
        verbose_name = _("业主名册")
        verbose_name_plural = _("业主名册")
        ordering = ["-imported_at", "-id"]

    def __str__(self) -> str:
        return self.name


class Owner(models.Model):
    """One owner as counted for Art. 278: their units' areas summed, one head."""

    roll = models.ForeignKey(OwnerRoll, on_delete=models.CASCADE, related_name="owners")
    # How the units were grouped: the keyed hash of the ID number when the register
    # gives one, else the owner's name as written; ``DEVELOPER_KEY`` for the developer.
    key = models.CharField(max_length=80)
    name = models.CharField(_("业主"), max_length=200)
    is_developer = models.BooleanField(_("建设单位（未售出房屋）"), default=False)
    units_count = models.PositiveIntegerField(_("专有部分数"))
    area = models.BigIntegerField(_("专有部分面积（万分之一平方米）"))
    # Who votes for this owner on the web: linked by staff (or by the ID number at import).
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+", verbose_name=_("账号"))
    resident = models.ForeignKey("people.Resident", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+", verbose_name=_("居民"))

    class Meta:
        verbose_name = _("业主")
        verbose_name_plural = _("业主")
        ordering = ["roll", "id"]
        constraints = [
            models.UniqueConstraint(fields=["roll", "key"], name="owner_once_per_roll"),
            models.UniqueConstraint(fields=["roll"], condition=Q(is_developer=True), name="one_developer_per_roll"),
            models.CheckConstraint(condition=Q(area__gte=0, units_count__gte=1), name="owner_has_units"),
        ]

    def __str__(self) -> str:
        return self.name


class OwnerUnit(models.Model):
    """A row of the register."""

    roll = models.ForeignKey(OwnerRoll, on_delete=models.CASCADE, related_name="units")
    owner = models.ForeignKey(Owner, on_delete=models.CASCADE, related_name="units")
    row = models.PositiveIntegerField(_("行号"))
    unit = models.CharField(_("房屋"), max_length=120)
    owner_name = models.CharField(_("登记业主"), max_length=200)
    area = models.BigIntegerField(_("面积（万分之一平方米）"))
    is_developer = models.BooleanField(_("建设单位未售出"), default=False)

    class Meta:
        verbose_name = _("专有部分")
        verbose_name_plural = _("专有部分")
        ordering = ["roll", "row"]
        constraints = [
            models.UniqueConstraint(fields=["roll", "unit"], name="unit_once_per_roll"),
            models.CheckConstraint(condition=Q(area__gt=0), name="unit_area_positive"),
        ]

    def __str__(self) -> str:
        return self.unit
