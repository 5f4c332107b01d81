"""The place tree: district → street → community → grid → building → unit → household.

Each node stores its materialised path (fixed-width base-36 ids of its ancestors and
itself), so "everything below this node" is one indexed prefix query and the tree
order is the path order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Self

from django.db import models
from django.db.models import Count, Q
from django.utils.translation import gettext_lazy as _

SEGMENT = 7  # base-36 characters per level: 78 billion ids


class PlaceKind(models.TextChoices):
    DISTRICT = "district", _("区")
    STREET = "street", _("街道")
    COMMUNITY = "community", _("社区")
    GRID = "grid", _("网格")
    BUILDING = "building", _("楼栋")
    UNIT = "unit", _("单元")
    HOUSEHOLD = "household", _("户")


KIND_ORDER = [kind.value for kind in PlaceKind]
# Kinds that may stand at the top of a tree (a deployment may start at a street).
ROOT_KINDS = frozenset({PlaceKind.DISTRICT.value, PlaceKind.STREET.value})
# Which kinds may hang directly below which (a building may skip units, a grid may
# be skipped by buildings that a community files directly).
ALLOWED_CHILDREN: dict[str, set[str]] = {
    "district": {"street"},
    "street": {"community"},
    "community": {"grid", "building"},
    "grid": {"building"},
    "building": {"unit", "household"},
    "unit": {"household"},
    "household": set(),
}


def encode_segment(pk: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while pk:
        pk, rem = divmod(pk, 36)
        out = digits[rem] + out
    return out.rjust(SEGMENT, "0")


def path_ids(path: str) -> list[int]:
    return [int(path[i : i + SEGMENT], 36) for i in range(0, len(path), SEGMENT)]


class PlaceQuerySet(models.QuerySet["Place"]):
    def below(self, node: Place, *, include_self: bool = True) -> Self:
        qs = self.filter(path__startswith=node.path)
        return qs if include_self else qs.exclude(pk=node.pk)

    def below_any(self, paths: list[str]) -> Self:
        if not paths:
            return self.none()
        condition = Q()
        for path in paths:
            condition |= Q(path__startswith=path)
        return self.filter(condition)

    def children_of(self, node: Place) -> Self:
        return self.filter(parent=node)

    def with_children_count(self) -> Self:
        return self.annotate(children_count=Count("children"))

    def of_kind(self, kind: str) -> Self:
        return self.filter(kind=kind)

    def communities(self) -> Self:
        return self.filter(kind=PlaceKind.COMMUNITY)

    def active(self) -> Self:
        return self.filter(is_active=True)


class Place(models.Model):
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children", verbose_name=_("上级")
    )
    kind = models.CharField(_("类型"), max_length=16, choices=PlaceKind.choices)
    name = models.CharField(_("名称"), max_length=120)
    # Stable external identifier (e.g. the civil-affairs code, or one an import gives).
    code = models.CharField(_("编码"), max_length=64, unique=True)
    path = models.CharField(max_length=SEGMENT * len(KIND_ORDER), unique=True, editable=False)
    depth = models.PositiveSmallIntegerField(editable=False)
    # Denormalised: the community this node belongs to (itself for a community), so every
    # large table can carry a community key and hot queries can filter by it.
    community = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("所属社区")
    )
    # Only on a root: the larger divisions above it that an address starts with
    # (北京市 above 朝阳区; 浙江省杭州市西湖区 above a street that is its own root).
    region = models.CharField(_("所在省市"), max_length=60, blank=True, default="")
    address = models.CharField(_("地址"), max_length=300, blank=True, editable=False)
    households_count = models.PositiveIntegerField(_("户数"), default=0, help_text=_("仅网格与社区：规划户数"))
    is_active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = PlaceQuerySet.as_manager()

    class Meta:
        verbose_name = _("地点")
        verbose_name_plural = _("地点")
        ordering = ["path"]
        indexes = [models.Index(fields=["kind", "path"]), models.Index(fields=["community", "kind"])]
        constraints = [
            models.CheckConstraint(condition=Q(depth__gte=0), name="place_depth_nonnegative"),
            # A node is a root exactly when it sits at depth 0.
            models.CheckConstraint(
                condition=Q(parent__isnull=True, depth=0) | Q(parent__isnull=False, depth__gt=0),
                name="place_root_iff_depth_zero",
            ),
        ]

    if TYPE_CHECKING:
        children: models.Manager[Place]
        children_count: int

    def __str__(self) -> str:
        return self.name

    def is_below(self, other: Place) -> bool:
        return self.path.startswith(other.path)

    def ancestor_ids(self) -> list[int]:
        return path_ids(self.path)[:-1]

    def ancestors(self) -> PlaceQuerySet:
        return Place.objects.filter(pk__in=self.ancestor_ids()).order_by("path")
