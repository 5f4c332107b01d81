"""Bulk import of households and residents from .xlsx or .csv into one community.

Rules (issue 2, item 6):
- every bad row is reported with its row number and reason, and skipped;
- good rows are imported; a re-import of the same file changes nothing: a resident is
  matched by the keyed hash of their ID number, else by (household reference, name),
  and a blank cell never overwrites a recorded value;
- nothing is half-imported: all rows are checked before anything is written, and the
  checks and writes run in one transaction that first locks the community's row, so
  two imports into one community run one after the other, the second seeing the first;
- buildings and units are found by name within the community, or created under it;
- one audit event per run (counts), not one per row.

New buildings, units and household nodes are made through ``places.services.place_import``
(one bulk insert per level) without an event of their own: the run's single
``people.import`` event counts them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.accounts.models import User
from linli.audit.services import audit_record
from linli.core.crypto import lookup_hash
from linli.core.uploads import UploadError, read_table
from linli.people.models import Household, HouseholdRole, Resident, SpecialGroupTag
from linli.people.validation import (
    clean_birth_date,
    clean_gender,
    clean_groups,
    clean_household_role,
    clean_id_number,
    clean_name,
    clean_phone,
    id_number_birth_date,
    id_number_gender,
)
from linli.places.models import Place, PlaceKind
from linli.places.services import NewPlace, address_part, place_import
from linli.places.services import clean_name as clean_place_name

MAX_ROWS = 50_000
# A workbook is a zip: refuse one that inflates far beyond any real register (zip bombs).
CHUNK = 500
HEADER_SEARCH_ROWS = 5

COLUMNS: dict[str, tuple[str, ...]] = {
    "household_ref": ("户编号", "户号", "household_ref", "household", "ref"),
    "building": ("楼栋", "楼号", "楼栋号", "building"),
    "unit": ("单元", "单元号", "unit"),
    "room": ("房号", "房间号", "门牌号", "room"),
    "name": ("姓名", "name"),
    "gender": ("性别", "gender", "sex"),
    "birth_date": ("出生日期", "birth_date", "birthday", "date_of_birth"),
    "relation": ("与户主关系", "relation", "household_role"),
    "id_number": ("身份证号", "身份证号码", "公民身份号码", "id_number", "id_card"),
    "phone": ("手机号", "手机号码", "联系电话", "phone", "mobile"),
    "groups": ("特殊群体", "groups", "special_groups"),
}
REQUIRED = ("household_ref", "building", "room", "name")
_HEADER_LOOKUP = {alias.lower(): column for column, aliases in COLUMNS.items() for alias in aliases}


# The file as a whole cannot be imported (type, size, encoding, headers).
ImportFileError = UploadError


@dataclass(frozen=True)
class RowError:
    row: int
    reason: str


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    households_created: int = 0
    places_created: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def imported(self) -> int:
        return self.created + self.updated


# Reading the upload ----------------------------------------------------------------------

def read_upload(upload: UploadedFile) -> tuple[str, list[tuple[int, list[Any]]]]:
    """Check size and type (by extension and by content); return the format and its rows
    as (row number, cells)."""
    return read_table(name=upload.name or "", stream=upload, size=upload.size, max_rows=MAX_ROWS)


def _cell(value: Any) -> Any:
    if isinstance(value, str):
        # A leading apostrophe is how spreadsheets are told "keep this number as text".
        return value.strip().removeprefix("'").strip()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    return str(value).strip()


def _header_map(cells: list[Any]) -> dict[str, int]:
    mapping: dict[str, int] = {}
    for index, cell in enumerate(cells):
        label = _text(cell).lower().replace(" ", "").replace("*", "")
        for bracket in ("(", "（"):
            label = label.split(bracket, 1)[0]
        column = _HEADER_LOOKUP.get(label)
        if column and column not in mapping:
            mapping[column] = index
    missing = [COLUMNS[column][0] for column in REQUIRED if column not in mapping]
    if missing:
        raise ImportFileError(_("缺少必填列：%(columns)s。") % {"columns": "、".join(missing)})
    return mapping


# Checking rows ---------------------------------------------------------------------------

@dataclass
class Row:
    number: int
    ref: str
    building: str
    unit: str
    room: str
    name: str
    gender: str
    birth_date: date | None
    role: str | None  # None: not given, leave a recorded value alone
    id_number: str
    phone: str
    groups: list[tuple[str, str]]

    @property
    def address_key(self) -> tuple[str, str, str]:
        return (self.building, self.unit, self.room)


def _place_name(value: Any, kind: str) -> str:
    """The name as an address shows it ("3" and "3号楼" are the same building)."""
    name = clean_place_name(_text(value))
    return address_part(kind, name) if name else ""


def _parse_row(number: int, cells: list[Any], columns: dict[str, int]) -> Row | list[str]:
    def get(column: str) -> Any:
        index = columns.get(column)
        return _cell(cells[index]) if index is not None and index < len(cells) else None

    problems: list[str] = []

    def check(cleaner: Any, column: str, default: Any = "") -> Any:
        try:
            return cleaner(get(column))
        except ValueError as exc:
            problems.append(str(exc))
            return default

    ref = _text(get("household_ref"))
    building = _place_name(get("building"), PlaceKind.BUILDING)
    unit = _place_name(get("unit"), PlaceKind.UNIT)
    room = _place_name(get("room"), PlaceKind.HOUSEHOLD)
    if not ref:
        problems.append(_("户编号不能为空。"))
    elif len(ref) > 64:
        problems.append(_("户编号不能超过 64 个字符。"))
    if not building:
        problems.append(_("楼栋不能为空。"))
    if not room:
        problems.append(_("房号不能为空。"))
    if max(len(building), len(unit), len(room)) > 60:
        problems.append(_("楼栋、单元、房号不能超过 60 个字。"))
    name = check(clean_name, "name")
    gender = check(clean_gender, "gender")
    birth_date = check(clean_birth_date, "birth_date", None)
    role = check(clean_household_role, "relation", None) if _text(get("relation")) else None
    id_number = check(clean_id_number, "id_number")
    phone = check(clean_phone, "phone")
    groups = check(clean_groups, "groups", [])
    if id_number:
        if birth_date and birth_date != id_number_birth_date(id_number):
            problems.append(_("出生日期与身份证号不一致。"))
        if gender and gender != id_number_gender(id_number):
            problems.append(_("性别与身份证号不一致。"))
        birth_date = birth_date or id_number_birth_date(id_number)
        gender = gender or id_number_gender(id_number)
    if problems:
        return problems
    return Row(number, ref, building, unit, room, name, gender, birth_date, role, id_number, phone, groups)


# Importing -------------------------------------------------------------------------------

def import_file(*, community: Place, upload: UploadedFile, by: User | None) -> ImportReport:
    file_format, rows = read_upload(upload)
    return import_rows(community=community, rows=rows, by=by, file_format=file_format)


def import_rows(
    *, community: Place, rows: Iterable[tuple[int, list[Any]]], by: User | None, file_format: str = "rows",
) -> ImportReport:
    if community.kind != PlaceKind.COMMUNITY:
        raise ImportFileError(_("请选择一个社区。"))
    rows_iter: Iterator[tuple[int, list[Any]]] = iter(rows)
    columns: dict[str, int] | None = None
    first_problem: ImportFileError | None = None
    tried = 0
    # The header is the first row naming the required columns; a title or a note may
    # stand above it, as registers printed for a wall often have.
    for _number, cells in rows_iter:
        if not any(_text(cell) for cell in cells):
            continue
        try:
            columns = _header_map(cells)
            break
        except ImportFileError as exc:
            first_problem = first_problem or exc
            tried += 1
            if tried >= HEADER_SEARCH_ROWS:
                break
    if columns is None:
        raise first_problem or ImportFileError(_("文件中没有数据。"))
    report = ImportReport()
    parsed: list[Row] = []
    for number, cells in rows_iter:
        if not any(_text(cell) for cell in cells):
            continue
        report.rows += 1
        result = _parse_row(number, cells, columns)
        if isinstance(result, Row):
            parsed.append(result)
        else:
            report.errors.append(RowError(number, "；".join(result)))
    try:
        with transaction.atomic():
            # One import into a community at a time: the second waits here, then plans
            # against what the first wrote (so it cannot add the same residents again).
            _lock_community(community)
            plan = _Plan(community)
            good = plan.check(parsed, report)
            plan.write(good, by, report)
            # Last, so the audit chain's head is locked only for the end of the run; the
            # places this import created are counted here (``place_import(audit=False)``).
            audit_record(
                actor=by, action="people.import", obj=community,
                after={
                    "format": file_format, "rows": report.rows, "created": report.created,
                    "updated": report.updated, "unchanged": report.unchanged, "bad_rows": len(report.errors),
                    "households_created": report.households_created, "places_created": report.places_created,
                },
            )
    except IntegrityError:
        # Someone changed the registry at the same moment: nothing was written.
        raise ImportFileError(_("导入时数据被同时修改，未写入任何内容，请重新导入。")) from None
    except ValidationError as exc:
        raise ImportFileError("；".join(exc.messages)) from None
    report.errors.sort(key=lambda error: error.row)
    return report


def _lock_community(community: Place) -> None:
    """Hold the community's row until the import's transaction ends."""
    Place.objects.select_for_update().filter(pk=community.pk).values_list("pk", flat=True).get()


def _code(base: str, taken: set[str]) -> str:
    """A deterministic, unused place code of at most 64 characters, without spaces."""
    base = "_".join(base.split())
    if len(base) > 64:
        base = base[:51] + "-" + hashlib.sha256(base.encode("utf-8")).hexdigest()[:12]
    code, n = base, 1
    while code in taken:
        n += 1
        code = f"{base[:60]}-{n}"
    taken.add(code)
    return code


def _chunks(items: list[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass
class _Existing:
    pk: int
    name: str
    gender: str
    birth_date: date | None
    household_role: str
    household_id: int
    id_number_hash: str | None
    phone_hash: str
    community_id: int


class _Plan:
    """What is in the community now, and what the good rows will change."""

    def __init__(self, community: Place) -> None:
        self.community = community
        self.buildings: dict[str, Place] = {}
        nodes = Place.objects.filter(community=community).active()
        for place in nodes.filter(kind=PlaceKind.BUILDING).order_by("path"):
            self.buildings.setdefault(address_part(place.kind, place.name), place)
        self.units: dict[tuple[int, str], Place] = {}
        for place in nodes.filter(kind=PlaceKind.UNIT).order_by("path"):
            self.units.setdefault((place.parent_id, address_part(place.kind, place.name)), place)  # type: ignore[arg-type]
        # Household nodes: (parent id, room) -> (node id, household ref or None).
        self.rooms: dict[tuple[int, str], tuple[int, str | None]] = {}
        for pk, parent_id, name, ref in nodes.filter(kind=PlaceKind.HOUSEHOLD).values_list(
            "pk", "parent_id", "name", "household__ref"
        ):
            self.rooms.setdefault((parent_id, address_part(PlaceKind.HOUSEHOLD, name)), (pk, ref))
        self.households: dict[str, tuple[int, int, str]] = {
            ref: (pk, place_id, address)
            for pk, ref, place_id, address in Household.objects.filter(community=community).values_list(
                "pk", "ref", "place_id", "place__address"
            )
        }
        self.by_hash: dict[str, _Existing] = {}
        self.by_ref_name: dict[tuple[str, str], list[_Existing]] = {}
        ref_of = {pk: ref for ref, (pk, _place, _address) in self.households.items()}
        for values in Resident.objects.filter(community=community).values_list(
            "pk", "name", "gender", "birth_date", "household_role", "household_id", "id_number_hash", "phone_hash",
            "community_id",
        ):
            existing = _Existing(*values)
            if existing.id_number_hash:
                self.by_hash[existing.id_number_hash] = existing
            household_ref = ref_of.get(existing.household_id)
            if household_ref is not None:
                self.by_ref_name.setdefault((household_ref, existing.name), []).append(existing)

    def _room_place(self, row: Row) -> tuple[int, str | None] | None:
        building = self.buildings.get(row.building)
        if building is None:
            return None
        parent: Place | None = building
        if row.unit:
            parent = self.units.get((building.pk, row.unit))
        if parent is None:
            return None
        return self.rooms.get((parent.pk, row.room))

    def check(self, rows: list[Row], report: ImportReport) -> list[tuple[Row, _Existing | None]]:
        """Cross-row and database checks; bad rows go to the report, good ones come back
        paired with the resident they update (or None for a new one)."""
        hashes = {row.id_number: lookup_hash(row.id_number) for row in rows if row.id_number}
        elsewhere: set[str] = set()
        unknown = [h for h in hashes.values() if h not in self.by_hash]
        for chunk in _chunks(unknown):
            elsewhere.update(
                h for h in Resident.objects.filter(id_number_hash__in=chunk).exclude(community=self.community)
                .values_list("id_number_hash", flat=True) if h
            )
        seen_id: dict[str, int] = {}
        seen_ref_name: dict[tuple[str, str], tuple[int, bool]] = {}
        seen_ref_address: dict[str, tuple[tuple[str, str, str], int]] = {}
        seen_address_ref: dict[tuple[str, str, str], tuple[str, int]] = {}
        matched: dict[int, int] = {}
        good: list[tuple[Row, _Existing | None]] = []
        for row in rows:
            problems: list[str] = []
            if row.id_number:
                if row.id_number in seen_id:
                    problems.append(_("身份证号与第 %(row)d 行重复。") % {"row": seen_id[row.id_number]})
                elif hashes[row.id_number] in elsewhere:
                    problems.append(_("该身份证号已登记在其他社区，请联系街道核实。"))
            key = (row.ref, row.name)
            if key in seen_ref_name:
                first_row, first_has_id = seen_ref_name[key]
                if not (row.id_number and first_has_id):
                    problems.append(_("与第 %(row)d 行重复：同一户中同名。") % {"row": first_row})
            if row.ref in seen_ref_address and seen_ref_address[row.ref][0] != row.address_key:
                problems.append(
                    _("户编号 %(ref)s 在第 %(row)d 行的住址不同。") % {"ref": row.ref, "row": seen_ref_address[row.ref][1]}
                )
            other = seen_address_ref.get(row.address_key)
            if other is not None and other[0] != row.ref:
                problems.append(
                    _("该住址已在第 %(row)d 行登记为户 %(ref)s。") % {"row": other[1], "ref": other[0]}
                )
            room = self._room_place(row)
            recorded = self.households.get(row.ref)
            if recorded is not None and (room is None or room[0] != recorded[1]):
                problems.append(
                    _("户编号 %(ref)s 已登记在 %(address)s。") % {"ref": row.ref, "address": recorded[2]}
                )
            elif recorded is None and room is not None and room[1] is not None:
                problems.append(_("该住址已登记为户 %(ref)s。") % {"ref": room[1]})
            match = self._match(row, hashes.get(row.id_number)) if not problems else None
            if match is not None and match.pk in matched:
                problems.append(_("与第 %(row)d 行是同一位居民。") % {"row": matched[match.pk]})
            if problems:
                report.errors.append(RowError(row.number, "；".join(problems)))
                continue
            if match is not None:
                matched[match.pk] = row.number
            if row.id_number:
                seen_id[row.id_number] = row.number
            seen_ref_name.setdefault(key, (row.number, bool(row.id_number)))
            seen_ref_address.setdefault(row.ref, (row.address_key, row.number))
            seen_address_ref.setdefault(row.address_key, (row.ref, row.number))
            good.append((row, match))
        return good

    def _match(self, row: Row, id_hash: str | None) -> _Existing | None:
        if id_hash and id_hash in self.by_hash:
            return self.by_hash[id_hash]
        for existing in self.by_ref_name.get((row.ref, row.name), []):
            if not existing.id_number_hash or existing.id_number_hash == id_hash:
                return existing
        return None

    # Writing -----------------------------------------------------------------------------

    def write(self, good: list[tuple[Row, _Existing | None]], by: User | None, report: ImportReport) -> None:
        community = self.community
        prefix = f"{community.code}-"
        taken = set(Place.objects.filter(code__startswith=prefix).values_list("code", flat=True))
        creates: list[NewPlace] = []
        # Codes of the buildings and units each row needs, existing or about to be made.
        building_codes: dict[str, str] = {name: place.code for name, place in self.buildings.items()}
        unit_codes: dict[tuple[str, str], str] = {}
        for row, _m in good:
            if row.building not in building_codes:
                code = _code(f"{prefix}b-{row.building}", taken)
                building_codes[row.building] = code
                creates.append(NewPlace(code=code, parent_code=community.code, kind=PlaceKind.BUILDING, name=row.building))
            if row.unit and (row.building, row.unit) not in unit_codes:
                building = self.buildings.get(row.building)
                unit = self.units.get((building.pk, row.unit)) if building is not None else None
                if unit is not None:
                    unit_codes[(row.building, row.unit)] = unit.code
                else:
                    code = _code(f"{prefix}b-{row.building}-u-{row.unit}", taken)
                    unit_codes[(row.building, row.unit)] = code
                    creates.append(NewPlace(
                        code=code, parent_code=building_codes[row.building], kind=PlaceKind.UNIT, name=row.unit,
                    ))
        # One household node per new household reference: an existing empty one, or a new one.
        room_ids: dict[str, int] = {}
        room_codes: dict[str, str] = {}
        for row, _m in good:
            if row.ref in self.households or row.ref in room_ids or row.ref in room_codes:
                continue
            existing_room = self._room_place(row)
            if existing_room is not None:
                room_ids[row.ref] = existing_room[0]
                continue
            code = _code(f"{prefix}h-{row.ref}", taken)
            room_codes[row.ref] = code
            parent_code = unit_codes[(row.building, row.unit)] if row.unit else building_codes[row.building]
            creates.append(NewPlace(code=code, parent_code=parent_code, kind=PlaceKind.HOUSEHOLD, name=row.room))
        if creates:
            place_import(creates=creates, changes=[], by=by, source="people.import", audit=False)
            report.places_created = len(creates)
            by_code = {code: ref for ref, code in room_codes.items()}
            for chunk in _chunks(list(by_code)):
                for code, pk in Place.objects.filter(code__in=chunk).values_list("code", "pk"):
                    room_ids[by_code[code]] = pk
        households = [Household(place_id=pk, community=community, ref=ref) for ref, pk in room_ids.items()]
        Household.objects.bulk_create(households, batch_size=CHUNK)
        report.households_created = len(households)
        household_ids = {ref: pk for ref, (pk, _place, _address) in self.households.items()}
        household_ids.update({h.ref: h.pk for h in households})
        self._write_residents(good, household_ids, report)

    def _write_residents(
        self, good: list[tuple[Row, _Existing | None]], household_ids: dict[str, int], report: ImportReport,
    ) -> None:
        matched_ids = [existing.pk for _row, existing in good if existing is not None]
        open_tags: dict[int, set[tuple[str, str]]] = {}
        for chunk in _chunks(matched_ids):
            for resident_id, group, label in SpecialGroupTag.objects.filter(
                resident_id__in=chunk, ended_on__isnull=True
            ).values_list("resident_id", "group", "label"):
                open_tags.setdefault(resident_id, set()).add((group, label))
        now = timezone.now()
        new: list[tuple[Resident, Row]] = []
        # Updates grouped by the set of fields they touch, so each bulk update writes only those.
        updates: dict[tuple[str, ...], list[Resident]] = {}
        tags: list[SpecialGroupTag] = []
        for row, existing in good:
            household_id = household_ids[row.ref]
            if existing is None:
                resident = Resident(
                    household_id=household_id, community_id=self.community.pk, name=row.name, gender=row.gender,
                    birth_date=row.birth_date, household_role=row.role or HouseholdRole.OTHER,
                    id_number=row.id_number, id_number_hash=lookup_hash(row.id_number) if row.id_number else None,
                    phone=row.phone, phone_hash=lookup_hash(row.phone) if row.phone else "",
                )
                new.append((resident, row))
                continue
            changes: dict[str, Any] = {}
            if row.name != existing.name:
                changes["name"] = row.name
            if row.gender and row.gender != existing.gender:
                changes["gender"] = row.gender
            if row.birth_date and row.birth_date != existing.birth_date:
                changes["birth_date"] = row.birth_date
            if row.role and row.role != existing.household_role:
                changes["household_role"] = row.role
            if household_id != existing.household_id:
                changes["household_id"] = household_id
            if row.id_number and lookup_hash(row.id_number) != existing.id_number_hash:
                changes["id_number"] = row.id_number
                changes["id_number_hash"] = lookup_hash(row.id_number)
            if row.phone and lookup_hash(row.phone) != existing.phone_hash:
                changes["phone"] = row.phone
                changes["phone_hash"] = lookup_hash(row.phone)
            missing_tags = [g for g in row.groups if g not in open_tags.get(existing.pk, set())]
            for group, label in missing_tags:
                tags.append(SpecialGroupTag(resident_id=existing.pk, community_id=self.community.pk, group=group, label=label))
                open_tags.setdefault(existing.pk, set()).add((group, label))
            if changes:
                resident = Resident(pk=existing.pk, updated_at=now, **changes)
                names = sorted("household" if name == "household_id" else name for name in changes)
                updates.setdefault((*names, "updated_at"), []).append(resident)
            if changes or missing_tags:
                report.updated += 1
            else:
                report.unchanged += 1
        Resident.objects.bulk_create([resident for resident, _row in new], batch_size=CHUNK)
        report.created = len(new)
        for resident, row in new:
            tags.extend(
                SpecialGroupTag(resident_id=resident.pk, community_id=self.community.pk, group=group, label=label)
                for group, label in row.groups
            )
        for fields, residents in updates.items():
            Resident.objects.bulk_update(residents, list(fields), batch_size=CHUNK)
        SpecialGroupTag.objects.bulk_create(tags, batch_size=CHUNK)
