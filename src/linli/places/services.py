"""Every write to the place tree."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from linli.audit.services import audit_record
from linli.places.models import ALLOWED_CHILDREN, Place, PlaceKind, encode_segment

def _address(parent: Place | None, kind: str, name: str) -> str:
    """Chinese addresses read from the largest unit to the smallest, without separators
    (北京市朝阳区 + 和平街道 + 樱花园社区 + 3号楼 + 2单元 + 502室); grids are an
    administrative division, not part of a postal address."""
    base = parent.address if parent else ""
    if kind == PlaceKind.GRID:
        return base
    return f"{base}{name}"


def place_create(
    *, parent: Place | None, kind: str, name: str, code: str, households_count: int = 0, by: object = None
) -> Place:
    name = name.strip()
    if not name:
        raise ValidationError({"name": _("名称不能为空。")})
    if kind not in PlaceKind.values:
        raise ValidationError({"kind": _("未知的地点类型：%(kind)s") % {"kind": kind}})
    if parent is None and kind not in (PlaceKind.DISTRICT, PlaceKind.STREET):
        raise ValidationError({"parent": _("只有区或街道可以作为最上级。")})
    if parent is not None and kind not in ALLOWED_CHILDREN[parent.kind]:
        raise ValidationError(
            {"kind": _("%(child)s不能直接设在%(parent)s之下。")
             % {"child": PlaceKind(kind).label, "parent": PlaceKind(parent.kind).label}}
        )
    if Place.objects.filter(code=code).exists():
        raise ValidationError({"code": _("编码 %(code)s 已被使用。") % {"code": code}})
    with transaction.atomic():
        place = Place(
            parent=parent,
            kind=kind,
            name=name,
            code=code,
            households_count=households_count,
            depth=(parent.depth + 1) if parent else 0,
            path="~" + code,  # unique placeholder until the id is known
            address=_address(parent, kind, name),
        )
        place.save()
        place.path = (parent.path if parent else "") + encode_segment(place.pk)
        if kind == PlaceKind.COMMUNITY:
            place.community_id = place.pk
        elif parent is not None:
            place.community_id = parent.community_id
        place.save(update_fields=["path", "community"])
        audit_record(
            actor=by, action="place.create", obj=place, after={"kind": kind, "name": name, "code": code}
        )
    return place


def place_rename(*, place: Place, name: str, by: object = None) -> Place:
    name = name.strip()
    if not name:
        raise ValidationError({"name": _("名称不能为空。")})
    with transaction.atomic():
        before = {"name": place.name}
        place.name = name
        place.address = _address(place.parent, place.kind, name)
        place.save(update_fields=["name", "address"])
        # Addresses below change with the name: rebuild them top-down in path order.
        addresses = {place.pk: place.address}
        for child in Place.objects.below(place, include_self=False).only("pk", "parent_id", "kind", "name"):
            parent_address = addresses[child.parent_id]  # type: ignore[index]
            child.address = parent_address if child.kind == PlaceKind.GRID else f"{parent_address}{child.name}"
            addresses[child.pk] = child.address
            child.save(update_fields=["address"])
        audit_record(actor=by, action="place.rename", obj=place, before=before, after={"name": name})
    return place
