"""Reads of the people registry, and the masked views that every page and API response uses.

Masking is the default everywhere: ID numbers and phone numbers show only their ends,
health, disability and income status show whether something is recorded, and for a
child under 14 everything beyond name and age is hidden. A plain value leaves the
server only through ``services.sensitive_reveal`` (logged) or the resident's own
download.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db.models import Prefetch, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.accounts.access import scope_paths
from linli.accounts.models import REVEAL_ROLES, User
from linli.core.crypto import lookup_hash, mask, normalise
from linli.people.models import (
    REGISTRY_ROLES,
    SENSITIVE_GROUPS,
    Consent,
    CorrectionRequest,
    Gender,
    Relation,
    Resident,
    ResidentQuerySet,
    SensitiveAccess,
    SpecialGroupTag,
)
from linli.people.services import may_reveal
from linli.people.validation import SENSITIVE_FIELDS
from linli.places.models import Place, PlaceKind

# Exact searches by number, logged as ``SensitiveAccess`` rows with these fields.
SEARCH_FIELDS = {"phone": "search:phone", "id_number": "search:id_number"}


def field_label(field: str) -> str:
    if field == "tags":
        return _("特殊群体")
    if field == SEARCH_FIELDS["phone"]:
        return _("按手机号查找")
    if field == SEARCH_FIELDS["id_number"]:
        return _("按身份证号查找")
    try:
        model_field = Resident._meta.get_field(field)
    except FieldDoesNotExist:
        return field
    return str(getattr(model_field, "verbose_name", field))


def open_tags_prefetch() -> Prefetch[Any]:
    return Prefetch(
        "tags", queryset=SpecialGroupTag.objects.filter(ended_on__isnull=True).order_by("group"), to_attr="open_tags"
    )


def number_query(q: str) -> tuple[str, str]:
    """("phone" or "id_number", the canonical number) when ``q`` is a full phone or ID
    number (full-width digits included), else ("", "")."""
    compact = normalise(q.strip()).removeprefix("+86")
    if compact.isascii():
        if len(compact) == 11 and compact.isdigit():
            return "phone", compact
        if len(compact) == 18 and compact[:17].isdigit():
            return "id_number", compact
    return "", ""


def reveal_paths(principal: Any) -> list[str]:
    """Paths below which the principal may reveal sensitive values (and so find by them)."""
    return scope_paths(principal, roles=REVEAL_ROLES)


def may_search_numbers(principal: Any) -> bool:
    """Exact search by phone or ID number undoes masking: only for those who may reveal."""
    return bool(reveal_paths(principal))


def may_filter_sensitive_groups(principal: Any) -> bool:
    """A sensitive special group (disability, dibao, ...) is itself sensitive data."""
    return bool(reveal_paths(principal))


def may_filter_group(principal: Any, group: str) -> bool:
    return group not in SENSITIVE_GROUPS or may_filter_sensitive_groups(principal)


def resident_search(
    principal: Any, *, q: str = "", place: Place | None = None, group: str = "", status: str = "",
) -> ResidentQuerySet:
    """Residents in the principal's scope, filtered; ready for a list page (tags prefetched).

    A full phone or ID number is matched exactly, and only below the nodes where the
    principal may reveal; for anyone else it is a name search (which finds nobody).
    Likewise a sensitive special group filters only residents the principal may reveal.
    The caller logs an allowed number search (``services.number_search_record``)."""
    residents = Resident.objects.visible_to(principal)
    q = q.strip()
    if q:
        kind, number = number_query(q)
        revealable = reveal_paths(principal) if kind else []
        if kind and revealable:
            residents = residents.below_paths(revealable).filter(**{f"{kind}_hash": lookup_hash(number)})
        else:
            residents = residents.filter(name__icontains=q)
    if place is not None:
        residents = residents.filter(household__place__path__startswith=place.path)
    if group:
        if group in SENSITIVE_GROUPS:
            residents = residents.below_paths(reveal_paths(principal))
        residents = residents.in_group(group)
    if status:
        residents = residents.filter(status=status)
    return (
        residents.select_related("household__place")
        .prefetch_related(open_tags_prefetch())
        .order_by("household__place__path", "pk")
    )


def filter_places(principal: Any) -> list[Place]:
    """Grids and buildings in scope, for the list page's filter."""
    paths = scope_paths(principal, roles=REGISTRY_ROLES)
    return list(
        Place.objects.below_any(paths)
        .filter(kind__in=[PlaceKind.GRID, PlaceKind.BUILDING])
        .only("pk", "kind", "name", "path", "depth")
        .order_by("path")[:1000]
    )


@dataclass
class MaskedField:
    field: str
    label: str
    display: str
    has_value: bool
    value: str = ""  # the plain value, only once revealed
    error: str = ""
    reveal_url: str = ""
    can_reveal: bool = False
    needs_reason: bool = True

    @property
    def revealed(self) -> bool:
        return bool(self.value)


def _recorded(value: str) -> str:
    return _("已登记") if value else ""


def tag_display(tag: SpecialGroupTag, *, revealable: bool) -> str:
    """A tag's name, or "已隐藏" for a sensitive group the viewer may not reveal."""
    if tag.group in SENSITIVE_GROUPS and not revealable:
        return _("已隐藏")
    return str(tag)


def group_names(tags: list[SpecialGroupTag], *, revealable: bool) -> list[str]:
    names: list[str] = []
    for tag in tags:
        name = tag_display(tag, revealable=revealable)
        if name not in names:
            names.append(name)
    return names


def _open_tags(resident: Resident) -> list[SpecialGroupTag]:
    cached = getattr(resident, "open_tags", None)
    if cached is not None:
        return list(cached)
    return list(resident.tags.filter(ended_on__isnull=True).order_by("group"))


def sensitive_items(resident: Resident, *, on: date | None = None) -> list[MaskedField]:
    """The masked fields of one resident, each revealable on its own."""
    hidden = _("已隐藏")
    minor = resident.is_sensitive_minor(on)
    items: list[MaskedField] = []
    if minor:
        tags = _open_tags(resident)
        items += [
            MaskedField("gender", field_label("gender"), hidden, bool(resident.gender)),
            MaskedField("birth_date", field_label("birth_date"), hidden, resident.birth_date is not None),
            MaskedField("household_role", field_label("household_role"), hidden, True),
            MaskedField("tags", field_label("tags"), hidden if tags else "", bool(tags)),
        ]
    for field in SENSITIVE_FIELDS:
        value = getattr(resident, field) or ""
        if field in ("id_number", "phone"):
            display = (hidden if value else "") if minor else mask(value)
        else:
            display = _recorded(value)
        items.append(MaskedField(field, field_label(field), display, bool(value)))
    return items


def resident_public_view(resident: Resident, viewer: Any = None, *, on: date | None = None) -> dict[str, Any]:
    """The masked view of a resident for lists and API responses. Sensitive special
    groups show as "已隐藏" unless ``viewer`` may reveal this resident's values."""
    on = on or timezone.localdate()
    revealable = viewer is not None and may_reveal(viewer, resident)
    tags = _open_tags(resident)
    minor = resident.is_sensitive_minor(on)
    hidden = _("已隐藏")
    masked = {item.field: item.display for item in sensitive_items(resident, on=on)}
    household = resident.household
    return {
        "id": resident.pk,
        "name": resident.name,
        "age": resident.age(on),
        "minor": minor,
        "gender": hidden if minor else str(resident.get_gender_display()) if resident.gender else "",
        "birth_date": hidden if minor else (resident.birth_date.isoformat() if resident.birth_date else ""),
        "household_role": hidden if minor else str(resident.get_household_role_display()),
        "status": resident.status,
        "status_label": str(resident.get_status_display()),
        "household_id": household.pk,
        "household_ref": household.ref,
        "address": household.place.address,
        "community_id": resident.community_id,
        "groups": [hidden] if minor and tags else group_names(tags, revealable=revealable),
        **{field: masked[field] for field in SENSITIVE_FIELDS},
        "can_reveal": revealable,
    }


def household_members(resident: Resident) -> list[Resident]:
    return list(
        Resident.objects.filter(household_id=resident.household_id).exclude(pk=resident.pk).order_by("pk")
        .only("pk", "name", "birth_date", "household_role", "status", "household_id")
    )


@dataclass(frozen=True)
class RelatedPerson:
    relation: str
    name: str
    pk: int | None  # None when the other resident is outside the viewer's scope


def relations_of(resident: Resident, viewer: Any = None) -> list[RelatedPerson]:
    """How each related resident is related, for both directions of each relation.

    With a ``viewer``, a related resident outside their registry scope shows as
    "（辖区外居民）" (no name, no link) — unless the viewer is the resident, whose own
    relatives these are. Without one (the resident's own download) all are named."""
    own = viewer is None or (
        isinstance(viewer, User) and resident.user_id is not None and resident.user_id == viewer.pk
    )
    paths = [] if own else scope_paths(viewer, roles=REGISTRY_ROLES)
    out: list[RelatedPerson] = []
    for relation in Relation.objects.filter(Q(from_resident=resident) | Q(to_resident=resident)).select_related(
        "from_resident__household__place", "to_resident__household__place"
    ):
        if relation.from_resident_id == resident.pk:
            kind, other = _("本人是其%(kind)s") % {"kind": relation.get_kind_display()}, relation.to_resident
        else:
            kind, other = str(relation.get_kind_display()), relation.from_resident
        if own or any(other.household.place.path.startswith(path) for path in paths):
            out.append(RelatedPerson(kind, other.name, other.pk))
        else:
            out.append(RelatedPerson(kind, _("（辖区外居民）"), None))
    return out


def access_log(resident: Resident, limit: int = 50) -> list[SensitiveAccess]:
    return list(SensitiveAccess.objects.filter(resident=resident).order_by("-at")[:limit])


def resident_export_data(resident: Resident) -> dict[str, Any]:
    """Everything linli holds about one resident, in full, for their own download."""
    household = resident.household
    return {
        "format": "linli.people.export/1",
        "exported_at": timezone.now().isoformat(),
        "resident": {
            "name": resident.name,
            "gender": resident.gender,
            "birth_date": resident.birth_date.isoformat() if resident.birth_date else None,
            "household_role": resident.household_role,
            "status": resident.status,
            "id_number": resident.id_number,
            "phone": resident.phone,
            "health": resident.health,
            "disability": resident.disability,
            "income_status": resident.income_status,
            "created_at": resident.created_at.isoformat(),
            "updated_at": resident.updated_at.isoformat(),
        },
        "household": {"ref": household.ref, "address": household.place.address},
        "household_members": [
            {"name": member.name, "household_role": member.household_role} for member in household_members(resident)
        ],
        "relations": [{"relation": other.relation, "name": other.name} for other in relations_of(resident)],
        "special_groups": [
            {"group": tag.group, "label": str(tag), "since": tag.since.isoformat() if tag.since else None,
             "ended_on": tag.ended_on.isoformat() if tag.ended_on else None}
            for tag in resident.tags.order_by("pk")
        ],
        "consents": [
            {"purpose": c.purpose, "basis": c.basis, "given_on": c.given_on.isoformat(), "retention": c.retention,
             "withdrawn_at": c.withdrawn_at.isoformat() if c.withdrawn_at else None}
            for c in Consent.objects.filter(resident=resident).order_by("pk")
        ],
        "corrections": [
            {"field": c.field, "requested_value": c.requested_value, "note": c.note, "status": c.status,
             "answer": c.answer, "created_at": c.created_at.isoformat()}
            for c in CorrectionRequest.objects.filter(resident=resident).order_by("pk")
        ],
        # PIPL Art. 44: the right to know who processed one's sensitive data.
        "sensitive_access_log": [
            {"at": a.at.isoformat(), "field": a.field, "reason": a.reason} for a in access_log(resident, limit=10_000)
        ],
    }


def corrections_in_scope(principal: Any, *, status: str = "") -> Any:
    paths = scope_paths(principal, roles=REGISTRY_ROLES)
    if not paths:
        return CorrectionRequest.objects.none()
    condition = Q()
    for path in paths:
        condition |= Q(resident__household__place__path__startswith=path)
    corrections = CorrectionRequest.objects.filter(condition)
    if status:
        corrections = corrections.filter(status=status)
    return corrections.select_related("resident__household__place").order_by("-created_at", "-pk")


def correction_display(correction: CorrectionRequest) -> str:
    """The requested value, masked like the field it would change."""
    value = correction.requested_value
    if not value:
        return _("（删除该项）")
    field = correction.field
    if field != "name" and correction.resident.is_sensitive_minor():
        return _("已隐藏")
    if field in ("id_number", "phone"):
        return mask(value)
    if field in ("health", "disability", "income_status"):
        return _("已填写（敏感信息）")
    if field == "gender":
        return str(dict(Gender.choices).get(value, value))
    return value
