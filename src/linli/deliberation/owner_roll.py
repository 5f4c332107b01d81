"""Import the owners' roll from the property register (.xlsx or .csv) and count the
owners as the SPC interpretation on building ownership does (Art. 8–9).

Columns (the header row is found among the first rows; names in Chinese or English):

- 房屋 / 房号 / 坐落 / unit — the unit (专有部分), required, unique in the file;
- 业主 / 权利人 / 产权人 / owner — the owner as registered, required except for the
  developer's unsold units; co-owners written "张三、李四" are one owner of that unit;
- 专有部分面积 / 产权面积 / 建筑面积 / 面积 / area — m², up to four decimals, required;
- 证件号码 / 身份证号 / id_number — optional: groups units by buyer (and links the
  owner to a registered resident); it is hashed and never stored in clear;
- 未售 / 建设单位 / developer — optional flag column: 是, Y, 1, TRUE, √ mark a unit the
  developer has not sold (or not delivered).

Counting: each unit is one owner; units with the same buyer (same ID number if the
column is given, else the same owner name) are ONE owner with their areas summed;
every unit of the developer — flagged in the flag column, or registered under the
developer's name given at import — is together ONE owner.

A roll is imported whole or not at all: a vote counted against a roll with a missing
unit would count against the wrong total area, so any bad row stops the import and
every bad row is reported with its row number.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.core.crypto import lookup_hash
from linli.core.uploads import UploadError, read_table
from linli.deliberation import rules
from linli.deliberation.base import audit, clean_text, community_of, require_role, user_of
from linli.deliberation.models import (
    DELIBERATION_MANAGE_ROLES,
    DEVELOPER_KEY,
    Owner,
    OwnerRoll,
    OwnerUnit,
)
from linli.people.models import Resident
from linli.places.models import Place

MAX_ROWS = 200_000  # a very large estate; the 10 MB upload limit comes first
HEADER_SEARCH_ROWS = 5
MAX_UNIT_AREA = rules.AREA_SCALE * 100_000  # 100,000 m²: beyond any one unit
# Aliases in order of preference: 专有部分面积 is what Art. 8 counts; a register that gives
# both 建筑面积 and 套内面积 is read by its 建筑面积 (the registered 产权面积).
COLUMNS: dict[str, tuple[str, ...]] = {
    "unit": ("房屋", "房号", "房屋坐落", "坐落", "专有部分", "房屋编号", "房间号", "unit"),
    "owner": ("业主", "业主姓名", "权利人", "产权人", "所有权人", "买受人", "owner"),
    "area": ("专有部分面积", "产权面积", "建筑面积", "面积", "area"),
    "id_number": ("证件号码", "身份证号", "身份证号码", "公民身份号码", "id_number"),
    "developer": ("未售", "未售出", "建设单位未售", "建设单位", "开发商", "developer", "unsold"),
}
REQUIRED = ("unit", "area")
TRUE_WORDS = frozenset({"是", "y", "yes", "1", "true", "√", "✓", "未售", "未售出", "未交付"})
CO_OWNER_SPLIT = re.compile(r"[、,，;；/]+")


@dataclass(frozen=True)
class RowError:
    row: int
    reason: str


@dataclass
class RollReport:
    roll: OwnerRoll | None = None
    rows: int = 0
    units: int = 0
    owners: int = 0
    developer_units: int = 0
    linked: int = 0
    errors: list[RowError] = field(default_factory=list)


@dataclass
class _Unit:
    row: int
    unit: str
    owner_name: str
    area: int
    developer: bool
    id_hash: str


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return unicodedata.normalize("NFKC", str(value)).strip().removeprefix("'").strip()


def _area(value: Any) -> int:
    if isinstance(value, float):
        value = Decimal(repr(value))  # the shortest decimal that round-trips: 89.37, not 89.3700000001
    return rules.parse_area(_text(value) if not isinstance(value, (int, Decimal)) else value)


def _header_map(cells: Sequence[Any]) -> dict[str, int] | None:
    labels = [_text(cell).lower().replace(" ", "").replace("*", "").split("(")[0].split("（")[0] for cell in cells]
    mapping: dict[str, int] = {}
    for column, aliases in COLUMNS.items():
        for alias in aliases:
            if alias.lower() in labels:
                mapping[column] = labels.index(alias.lower())
                break
    return mapping if all(column in mapping for column in REQUIRED) and "owner" in mapping else None


def owner_name_key(name: str) -> str:
    """Co-owners in any order are the same owner: split, trim, sort."""
    parts = sorted(part.strip() for part in CO_OWNER_SPLIT.split(unicodedata.normalize("NFKC", name)) if part.strip())
    return "、".join("".join(part.split()) for part in parts)


def _parse(rows: list[tuple[int, list[Any]]], developer_name: str) -> tuple[list[_Unit], list[RowError]]:
    header_at = next(((i, m) for i, (_n, cells) in enumerate(rows[:HEADER_SEARCH_ROWS])
                      if (m := _header_map(cells)) is not None), None)
    if header_at is None:
        raise UploadError(_("找不到表头：须有“房屋”“业主”“面积”三列（可用“房号”“权利人”“建筑面积”等名称）。"))
    index, columns = header_at
    developer_key = owner_name_key(developer_name) if developer_name else ""
    units: list[_Unit] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}

    def cell(cells: list[Any], column: str) -> Any:
        position = columns.get(column)
        return cells[position] if position is not None and position < len(cells) else None

    for number, cells in rows[index + 1:]:
        if not any(_text(value) for value in cells):
            continue
        unit = _text(cell(cells, "unit"))
        owner = _text(cell(cells, "owner"))
        flag = _text(cell(cells, "developer")).lower() in TRUE_WORDS
        developer = flag or bool(developer_key and owner and owner_name_key(owner) == developer_key)
        problems = []
        if not unit:
            problems.append(_("缺少房屋"))
        elif len(unit) > 120:
            problems.append(_("房屋名称过长"))
        elif unit in seen:
            problems.append(_("房屋与第 %(n)d 行重复") % {"n": seen[unit]})
        if not owner and not developer:
            problems.append(_("缺少业主（建设单位未售出的房屋请在“未售”列填“是”）"))
        elif len(owner) > 200:
            problems.append(_("业主名称过长"))
        try:
            area = _area(cell(cells, "area"))
            if area <= 0 or area > MAX_UNIT_AREA:
                problems.append(_("面积须大于 0 且不超过 100000 平方米"))
        except ValueError:
            area = 0
            problems.append(_("面积不是有效数字（最多四位小数）"))
        id_number = _text(cell(cells, "id_number"))
        if problems:
            errors.append(RowError(number, "；".join(problems)))
            continue
        seen[unit] = number
        units.append(_Unit(number, unit, owner, area, developer, lookup_hash(id_number) if id_number else ""))
    if not units and not errors:
        raise UploadError(_("文件中没有房屋数据。"))
    return units, errors


def _owner_key(unit: _Unit) -> str:
    if unit.developer:
        return DEVELOPER_KEY
    if unit.id_hash:
        return f"id:{unit.id_hash}"
    return "name:" + hashlib.sha256(owner_name_key(unit.owner_name).encode("utf-8")).hexdigest()


def _read_register(upload: UploadedFile, developer_name: str) -> tuple[bytes, list[_Unit], list[RowError]]:
    data = upload.read(settings.UPLOAD_MAX_BYTES + 1)
    upload.seek(0)
    _format, rows = read_table(name=upload.name or "", stream=upload, size=upload.size, max_rows=MAX_ROWS)
    units, errors = _parse(rows, developer_name)
    upload.seek(0)
    return data, units, errors


@dataclass
class RollPreview:
    """What an import of this file would store, before anything is stored."""

    sha256: str
    rows: int = 0
    units: int = 0
    owners: int = 0
    developer_units: int = 0
    linked: int = 0
    total_area: int = 0
    errors: list[RowError] = field(default_factory=list)
    sample: list[tuple[int, str, str, int, bool]] = field(default_factory=list)  # row, unit, owner, area, developer

    @property
    def ok(self) -> bool:
        return not self.errors and self.units > 0


PREVIEW_ROWS = 20


def owner_roll_preview(*, place: Place, by: Any, upload: UploadedFile, developer_name: str = "") -> RollPreview:
    """Read the register as ``owner_roll_import`` would and say what it would store (the
    counts as the law counts owners, the first rows, every bad row), storing nothing.
    ``sha256`` names the file, so the import can insist on the file that was previewed."""
    require_role(by, place.path, DELIBERATION_MANAGE_ROLES)
    community = community_of(place)
    developer_name = clean_text(developer_name, field="developer_name", required=False, max_length=120)
    data, units, errors = _read_register(upload, developer_name)
    preview = RollPreview(sha256=hashlib.sha256(data).hexdigest(), rows=len(units) + len(errors), errors=errors)
    grouped: dict[str, list[_Unit]] = {}
    for unit in units:
        grouped.setdefault(_owner_key(unit), []).append(unit)
    hashes = {u.id_hash for u in units if u.id_hash}
    preview.units = len(units)
    preview.owners = len(grouped)
    preview.developer_units = len(grouped.get(DEVELOPER_KEY, []))
    preview.total_area = sum(u.area for u in units)
    preview.linked = Resident.objects.filter(community=community, id_number_hash__in=hashes).count() if hashes else 0
    preview.sample = [(u.row, u.unit, u.owner_name, u.area, u.developer) for u in units[:PREVIEW_ROWS]]
    return preview


def owner_roll_import(
    *, place: Place, by: Any, upload: UploadedFile, name: str = "", developer_name: str = "",
    at: datetime | None = None,
) -> RollReport:
    """Read the register and, if every row is good, store it as a new roll with its
    counted owners. Raises ``UploadError`` when the file as a whole cannot be read."""
    at = at or timezone.now()
    require_role(by, place.path, DELIBERATION_MANAGE_ROLES)
    community = community_of(place)
    developer_name = clean_text(developer_name, field="developer_name", required=False, max_length=120)
    data, units, errors = _read_register(upload, developer_name)
    report = RollReport(rows=len(units) + len(errors), errors=errors)
    if errors:
        return report
    grouped: dict[str, list[_Unit]] = {}
    for unit in units:
        grouped.setdefault(_owner_key(unit), []).append(unit)
    residents = dict(Resident.objects.filter(
        community=community, id_number_hash__in=[u.id_hash for u in units if u.id_hash],
    ).values_list("id_number_hash", "pk"))
    resident_users = dict(Resident.objects.filter(pk__in=residents.values()).values_list("pk", "user_id"))
    title = clean_text(name, field="name", required=False, max_length=120) or _("%(place)s业主名册") % {
        "place": place.name}
    with transaction.atomic():
        roll = OwnerRoll.objects.create(
            community=community, place=place, place_path=place.path, name=title,
            source_name=(upload.name or "")[:200], source_sha256=hashlib.sha256(data).hexdigest(),
            developer_name=developer_name, units_count=len(units), owners_count=len(grouped),
            total_area=sum(u.area for u in units), imported_by=user_of(by), imported_at=at,
        )
        owners = []
        for key, members in grouped.items():
            developer = key == DEVELOPER_KEY
            resident_id = residents.get(members[0].id_hash) if members[0].id_hash else None
            if developer:
                label = developer_name or _("建设单位（未售出房屋）")
            else:
                label = members[0].owner_name
            owners.append(Owner(
                roll=roll, key=key, name=label[:200], is_developer=developer, units_count=len(members),
                area=sum(u.area for u in members), resident_id=resident_id,
                user_id=resident_users.get(resident_id) if resident_id else None,
            ))
        Owner.objects.bulk_create(owners, batch_size=2000)
        owner_ids = dict(Owner.objects.filter(roll=roll).values_list("key", "pk"))
        OwnerUnit.objects.bulk_create([
            OwnerUnit(roll=roll, owner_id=owner_ids[key], row=u.row, unit=u.unit, owner_name=u.owner_name[:200],
                      area=u.area, is_developer=u.developer)
            for key, members in grouped.items() for u in members
        ], batch_size=2000)
        audit(by, "owner_roll_import", roll, community_id=community.pk, units=len(units), owners=len(grouped),
              area=rules.format_area(roll.total_area), sha256=roll.source_sha256)
    report.roll = roll
    report.units = len(units)
    report.owners = len(grouped)
    report.developer_units = len(grouped.get(DEVELOPER_KEY, []))
    report.linked = sum(1 for owner in owners if owner.resident_id)
    return report


def owner_link(*, owner: Owner, by: Any, user: Any) -> Owner:
    """Link an owner to the account they vote with (after staff have checked who they are)."""
    require_role(by, owner.roll.place_path, DELIBERATION_MANAGE_ROLES)
    if user is not None and not getattr(user, "is_active", False):
        raise ValidationError({"user": [_("账号不可用。")]})
    with transaction.atomic():
        Owner.objects.filter(pk=owner.pk).update(user=user)
        owner.user = user
        audit(by, "owner_link", owner, community_id=owner.roll.community_id, user=getattr(user, "pk", None))
    return owner
