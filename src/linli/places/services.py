"""Every write to the place tree.

Paths, depths, community keys and addresses are derived data: only these services
set them, so they stay consistent with the parent links they come from.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from linli.audit.services import audit_record
from linli.places.models import (
    ALLOWED_CHILDREN,
    ROOT_KINDS,
    SEGMENT,
    Place,
    PlaceKind,
    encode_segment,
)
from linli.places.signals import place_moved, place_switched

if TYPE_CHECKING:
    from linli.accounts.models import User

NAME_MAX = Place._meta.get_field("name").max_length or 120
CODE_MAX = Place._meta.get_field("code").max_length or 64
REGION_MAX = Place._meta.get_field("region").max_length or 60
ADDRESS_MAX = Place._meta.get_field("address").max_length or 300

# A building, unit or household named only by its number ("3", "A2", "502") reads
# as "3号楼", "A2单元", "502室" in an address, as people write it on an envelope.
_NUMBER_ONLY = re.compile(r"^[0-9A-Za-z]+(?:-[0-9A-Za-z]+)*$")
_ADDRESS_SUFFIX = {PlaceKind.BUILDING: "号楼", PlaceKind.UNIT: "单元", PlaceKind.HOUSEHOLD: "室"}


def clean_name(name: str) -> str:
    return " ".join((name or "").split())


def address_part(kind: str, name: str) -> str:
    """What a node adds to the postal address below its parent's.

    Grids are an administrative division, not part of a postal address; a number on
    its own gets the word that makes it readable (3 → 3号楼)."""
    if kind == PlaceKind.GRID:
        return ""
    suffix = _ADDRESS_SUFFIX.get(kind)  # type: ignore[call-overload]
    if suffix and _NUMBER_ONLY.match(name):
        return f"{name}{suffix}"
    return name


def _address(parent: Place | None, kind: str, name: str, region: str = "") -> str:
    """Chinese addresses read from the largest unit to the smallest, without separators
    (北京市 + 朝阳区 + 和平街道 + 樱花园社区 + 3号楼 + 2单元 + 502室)."""
    base = parent.address if parent is not None else region
    return f"{base}{address_part(kind, name)}"[:ADDRESS_MAX]


def _provisional_path() -> str:
    # Unique and never a real path (real paths are base-36 digits only).
    return "~" + uuid.uuid4().hex[: SEGMENT * 2]


def validate_name(name: str) -> str:
    name = clean_name(name)
    if not name:
        raise ValidationError({"name": _("名称不能为空。")})
    if len(name) > NAME_MAX:
        raise ValidationError({"name": _("名称不能超过 %(max)d 个字。") % {"max": NAME_MAX}})
    return name


def validate_code(code: str) -> str:
    code = (code or "").strip()
    if not code:
        raise ValidationError({"code": _("编码不能为空。")})
    if len(code) > CODE_MAX:
        raise ValidationError({"code": _("编码不能超过 %(max)d 个字符。") % {"max": CODE_MAX}})
    if any(ch.isspace() for ch in code):
        raise ValidationError({"code": _("编码中不能有空格。")})
    return code


def validate_kind(kind: str, parent: Place | None) -> str:
    if kind not in PlaceKind.values:
        raise ValidationError({"kind": _("未知的地点类型：%(kind)s") % {"kind": kind}})
    if parent is None and kind not in ROOT_KINDS:
        raise ValidationError({"parent": _("只有区或街道可以作为最上级。")})
    if parent is not None and kind not in ALLOWED_CHILDREN[parent.kind]:
        raise ValidationError(
            {"kind": _("%(child)s不能直接设在%(parent)s之下。")
             % {"child": PlaceKind(kind).label, "parent": PlaceKind(parent.kind).label}}
        )
    return kind


def validate_region(region: str, parent: Place | None) -> str:
    region = clean_name(region).replace(" ", "")
    if region and parent is not None:
        raise ValidationError({"region": _("只有最上级地点需要填写所在省市。")})
    if len(region) > REGION_MAX:
        raise ValidationError({"region": _("所在省市不能超过 %(max)d 个字。") % {"max": REGION_MAX}})
    return region


# A planned household count beyond this is a typing slip, not a community.
MAX_HOUSEHOLDS = 1_000_000


def validate_households(value: int) -> int:
    if value < 0:
        raise ValidationError({"households_count": _("户数不能为负数。")})
    if value > MAX_HOUSEHOLDS:
        raise ValidationError({"households_count": _("户数不能超过 %(max)d。") % {"max": MAX_HOUSEHOLDS}})
    return value


def validate_place(
    *, parent: Place | None, kind: str, name: str, code: str, region: str = "", households_count: int = 0
) -> dict[str, Any]:
    """Check a new node; return its cleaned values or raise field errors."""
    cleaned = {
        "name": validate_name(name),
        "code": validate_code(code),
        "kind": validate_kind(kind, parent),
        "region": validate_region(region, parent),
        "households_count": validate_households(households_count),
    }
    if parent is not None and not parent.is_active:
        raise ValidationError({"parent": _("上级地点已停用。")})
    if Place.objects.filter(code=cleaned["code"]).exists():
        raise ValidationError({"code": _("编码 %(code)s 已被使用。") % {"code": cleaned["code"]}})
    return cleaned


def _community_for(parent: Place | None, kind: str, own_pk: int) -> int | None:
    if kind == PlaceKind.COMMUNITY:
        return own_pk
    return parent.community_id if parent is not None else None


def place_create(
    *, parent: Place | None, kind: str, name: str, code: str, households_count: int = 0, region: str = "",
    by: User | None = None,
) -> Place:
    cleaned = validate_place(
        parent=parent, kind=kind, name=name, code=code, region=region, households_count=households_count
    )
    try:
        with transaction.atomic():
            if parent is not None:
                parent = _lock_for_child(parent)
            place = Place(
                parent=parent,
                depth=(parent.depth + 1) if parent else 0,
                path=_provisional_path(),
                address=_address(parent, cleaned["kind"], cleaned["name"], cleaned["region"]),
                **cleaned,
            )
            place.save()
            place.path = (parent.path if parent else "") + encode_segment(place.pk)
            place.community_id = _community_for(parent, place.kind, place.pk)
            place.save(update_fields=["path", "community"])
            audit_record(actor=by, action="place.create", obj=place, after=_snapshot(place))
    except IntegrityError:
        # Another request took the code between the check and the insert.
        raise ValidationError({"code": _("编码 %(code)s 已被使用。") % {"code": cleaned["code"]}}) from None
    return place


def _snapshot(place: Place) -> dict[str, Any]:
    return {
        "kind": place.kind, "name": place.name, "code": place.code, "parent": place.parent_id,
        "households_count": place.households_count, "region": place.region, "is_active": place.is_active,
    }


def rebuild_below(place: Place) -> int:
    """Recompute address, depth and community of every node below ``place`` from its
    parent links, top-down in path order; returns how many rows changed."""
    state: dict[int, tuple[str, int, int | None]] = {place.pk: (place.address, place.depth, place.community_id)}
    changed: list[Place] = []
    for node in Place.objects.below(place, include_self=False).only(
        "pk", "parent", "kind", "name", "address", "depth", "community"
    ):
        parent_address, parent_depth, parent_community = state[node.parent_id]  # type: ignore[index]
        address = f"{parent_address}{address_part(node.kind, node.name)}"[:ADDRESS_MAX]
        depth = parent_depth + 1
        community = node.pk if node.kind == PlaceKind.COMMUNITY else parent_community
        if (address, depth, community) != (node.address, node.depth, node.community_id):
            node.address, node.depth, node.community_id = address, depth, community
            changed.append(node)
        state[node.pk] = (address, depth, community)
    Place.objects.bulk_update(changed, ["address", "depth", "community"], batch_size=500)
    return len(changed)


def _lock(place: Place) -> Place:
    # of=("self",): PostgreSQL cannot lock the nullable side of the join to the parent.
    return Place.objects.select_for_update(of=("self",)).select_related("parent").get(pk=place.pk)


def place_rename(*, place: Place, name: str, region: str | None = None, by: User | None = None) -> Place:
    """Rename a node (and, for a root, change the region its address starts with);
    every address below follows."""
    name = validate_name(name)
    with transaction.atomic():
        current = _lock(place)
        new_region = current.region if region is None else validate_region(region, current.parent)
        if (name, new_region) == (current.name, current.region):
            return place
        before = {"name": current.name, "region": current.region}
        current.name, current.region = name, new_region
        current.address = _address(current.parent, current.kind, name, new_region)
        current.save(update_fields=["name", "region", "address"])
        rebuild_below(current)
        audit_record(actor=by, action="place.rename", obj=current, before=before,
                     after={"name": name, "region": new_region})
    _copy(current, place)
    return place


def place_set_households(*, place: Place, households_count: int, by: User | None = None) -> Place:
    households_count = validate_households(households_count)
    with transaction.atomic():
        current = _lock(place)
        if current.households_count == households_count:
            return place
        before = {"households_count": current.households_count}
        current.households_count = households_count
        current.save(update_fields=["households_count"])
        audit_record(actor=by, action="place.households", obj=current, before=before,
                     after={"households_count": households_count})
    _copy(current, place)
    return place


def validate_move(place: Place, parent: Place) -> None:
    if parent.path.startswith(place.path):
        raise ValidationError({"parent": _("不能移到它自己或它的下级之下。")})
    if not parent.is_active:
        raise ValidationError({"parent": _("上级地点已停用。")})
    validate_kind(place.kind, parent)
    if place.kind not in (PlaceKind.DISTRICT, PlaceKind.STREET, PlaceKind.COMMUNITY) and (
        parent.community_id != place.community_id
    ):
        raise ValidationError({"parent": _("社区以下的地点只能在本社区内移动。")})


def _lock_for_child(parent: Place) -> Place:
    """Lock the parent's ancestor chain (as the caller saw it) and return the parent as
    it is now. A concurrent move of any ancestor locks that ancestor first, so a new
    child is either created before the move (and moved with the subtree) or after it
    (under the parent's new path), never with a stale prefix."""
    chain = [*parent.ancestor_ids(), parent.pk]
    list(Place.objects.select_for_update().filter(pk__in=chain).order_by("pk").values_list("pk", flat=True))
    return Place.objects.get(pk=parent.pk)


def place_move(*, place: Place, parent: Place, by: User | None = None) -> Place:
    """Hang a node (and everything below it) under another parent.

    Records elsewhere carry a node's community key, so a node below community level
    may only move within its community."""
    with transaction.atomic():
        current = _lock(place)
        new_parent = Place.objects.select_for_update().get(pk=parent.pk)
        if new_parent.pk == current.parent_id:
            return place
        validate_move(current, new_parent)
        before = {"parent": current.parent_id, "path": current.path}
        old_path = current.path
        new_path = new_parent.path + encode_segment(current.pk)
        current.parent = new_parent
        current.path = new_path
        current.depth = new_parent.depth + 1
        current.address = _address(new_parent, current.kind, current.name)
        current.region = ""
        current.save(update_fields=["parent", "path", "depth", "address", "region"])
        below = list(Place.objects.filter(path__startswith=old_path).exclude(pk=current.pk).only("pk", "path"))
        for node in below:
            node.path = new_path + node.path[len(old_path):]
        Place.objects.bulk_update(below, ["path"], batch_size=500)
        rebuild_below(current)
        place_moved.send(sender=Place, old_path=old_path, new_path=new_path)
        audit_record(actor=by, action="place.move", obj=current, before=before,
                     after={"parent": new_parent.pk, "path": new_path})
    _copy(current, place)
    return place


def place_deactivate(*, place: Place, by: User | None = None) -> Place:
    """Switch off a node and everything below it; roles held there stop granting access."""
    with transaction.atomic():
        current = _lock(place)
        count = Place.objects.below(current).active().update(is_active=False)
        if count:
            audit_record(actor=by, action="place.deactivate", obj=current, after={"deactivated": count})
    place_switched.send(sender=Place, place=current)
    _copy(current, place)
    return place


def place_activate(*, place: Place, by: User | None = None) -> Place:
    """Switch a node back on (only the node itself: what lies below is switched on one by one)."""
    with transaction.atomic():
        current = _lock(place)
        if current.is_active:
            return place
        if current.parent is not None and not current.parent.is_active:
            raise ValidationError({"parent": _("上级地点已停用，请先启用上级。")})
        current.is_active = True
        current.save(update_fields=["is_active"])
        audit_record(actor=by, action="place.activate", obj=current)
    place_switched.send(sender=Place, place=current)
    _copy(current, place)
    return place


def _copy(source: Place, target: Place) -> None:
    """Bring the caller's instance up to date with what the service wrote."""
    if source is not target:
        target.refresh_from_db()


# Bulk import ---------------------------------------------------------------------------

@dataclass(frozen=True)
class NewPlace:
    """A node to create; its parent is an existing place or an earlier ``NewPlace``."""

    code: str
    parent_code: str  # "" for a root
    kind: str
    name: str
    households_count: int = 0
    region: str = ""


@dataclass(frozen=True)
class PlaceChange:
    """New values for an existing node (``None``: leave as it is)."""

    code: str
    name: str | None = None
    households_count: int | None = None
    region: str | None = None


@dataclass
class ImportOutcome:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)


def place_import(
    *, creates: list[NewPlace], changes: list[PlaceChange], by: User | None = None, source: str = "",
    audit: bool = True,
) -> ImportOutcome:
    """Create and update many nodes in one transaction, with one audit event.

    A caller that imports places as part of a larger import passes ``audit=False`` and
    records the outcome in its own event, written last so the audit chain is locked
    only for the end of the transaction.

    ``creates`` must list parents before their children (the importer sorts them).
    Each level of the tree is one bulk insert, so a street of 3,000 households takes
    a handful of queries rather than tens of thousands."""
    outcome = ImportOutcome()
    if not creates and not changes:
        return outcome
    try:
        with transaction.atomic():
            if changes:
                outcome.updated = _apply_changes(changes)
            if creates:
                outcome.created = _create_levels(creates)
            if audit:
                audit_record(
                    actor=by, action="place.import", object_type="places.place",
                    after={"source": source, "created": outcome.created, "updated": outcome.updated},
                )
    except IntegrityError:
        raise ValidationError(_("导入时编码与刚刚新增的地点冲突，请重新导入。")) from None
    return outcome


def _apply_changes(changes: list[PlaceChange]) -> list[str]:
    nodes = {p.code: p for p in Place.objects.select_for_update().filter(code__in=[c.code for c in changes])}
    touched: list[Place] = []
    renamed: list[Place] = []
    for change in changes:
        node = nodes.get(change.code)
        if node is None:
            raise ValidationError({"code": _("编码 %(code)s 不存在。") % {"code": change.code}})
        before = (node.name, node.households_count, node.region)
        if change.name is not None:
            node.name = validate_name(change.name)
        if change.households_count is not None:
            node.households_count = validate_households(change.households_count)
        if change.region is not None:
            node.region = validate_region(change.region, node.parent if node.parent_id else None)
        if (node.name, node.households_count, node.region) != before:
            touched.append(node)
            if (node.name, node.region) != (before[0], before[2]):
                renamed.append(node)
    Place.objects.bulk_update(touched, ["name", "households_count", "region"], batch_size=500)
    # Addresses: recompute each topmost renamed node from its parent, then all below it.
    kept: list[Place] = []
    for node in sorted(renamed, key=lambda n: n.path):
        if not any(node.path.startswith(k.path) for k in kept):
            kept.append(node)
    parents = {p.pk: p for p in Place.objects.filter(pk__in=[n.parent_id for n in kept if n.parent_id])}
    for node in kept:
        node.address = _address(parents.get(node.parent_id or 0), node.kind, node.name, node.region)
        Place.objects.filter(pk=node.pk).update(address=node.address)
        rebuild_below(node)
    return [n.code for n in touched]


def _create_levels(creates: list[NewPlace]) -> list[str]:
    wanted_parents = {c.parent_code for c in creates if c.parent_code} - {c.code for c in creates}
    known: dict[str, Place] = {p.code: p for p in Place.objects.filter(code__in=wanted_parents)}
    pending = list(creates)
    created: list[str] = []
    while pending:
        level = [c for c in pending if not c.parent_code or c.parent_code in known]
        if not level:
            raise ValidationError(_("有地点的上级既不存在，也不在本次导入中。"))
        level_codes = {c.code for c in level}
        pending = [c for c in pending if c.code not in level_codes]
        nodes: list[Place] = []
        for item in level:
            parent = known.get(item.parent_code) if item.parent_code else None
            validate_kind(item.kind, parent)
            if parent is not None and not parent.is_active:
                raise ValidationError({"parent": _("上级地点已停用。")})
            name = validate_name(item.name)
            region = validate_region(item.region, parent)
            nodes.append(Place(
                parent=parent, kind=item.kind, name=name, code=validate_code(item.code),
                households_count=validate_households(item.households_count), region=region,
                depth=(parent.depth + 1) if parent else 0, path=_provisional_path(),
                address=_address(parent, item.kind, name, region),
            ))
        Place.objects.bulk_create(nodes, batch_size=500)
        for node in nodes:
            parent = node.parent
            node.path = (parent.path if parent else "") + encode_segment(node.pk)
            node.community_id = _community_for(parent, node.kind, node.pk)
            known[node.code] = node
            created.append(node.code)
        Place.objects.bulk_update(nodes, ["path", "community"], batch_size=500)
    return created
