"""Every write to the people registry.

Audit events name the fields that changed, never their values: the event log is
readable by auditors and must not become a second copy of sensitive data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.accounts.access import can_reveal
from linli.accounts.models import ApiKey, User
from linli.audit.services import audit_record
from linli.core.crypto import lookup_hash
from linli.people.models import (
    Consent,
    ConsentBasis,
    CorrectionRequest,
    CorrectionStatus,
    Household,
    HouseholdRole,
    Relation,
    RelationKind,
    Resident,
    ResidentStatus,
    SensitiveAccess,
    SpecialGroup,
    SpecialGroupTag,
)
from linli.people.validation import (
    CLEANERS,
    CORRECTABLE_FIELDS,
    SENSITIVE_FIELDS,
    id_number_birth_date,
    id_number_gender,
)
from linli.places.models import Place, PlaceKind
from linli.places.services import place_create

# What a reveal may show: the sensitive fields, and for children under 14 everything
# beyond name and age (PIPL Art. 28 and 31).
MINOR_HIDDEN_FIELDS = ("gender", "birth_date", "household_role", "tags")
REVEALABLE_FIELDS = (*SENSITIVE_FIELDS, *MINOR_HIDDEN_FIELDS)
# Consent can be withdrawn only where consent is the lawful basis (PIPL Art. 15).
WITHDRAWABLE_BASES = frozenset({ConsentBasis.CONSENT, ConsentBasis.SEPARATE_CONSENT, ConsentBasis.GUARDIAN_CONSENT})
REASON_MAX = 200


def _actor(principal: Any) -> tuple[User | None, str]:
    """The user to attribute an action to, and a label that survives the account."""
    if isinstance(principal, User):
        return principal, principal.username
    if isinstance(principal, ApiKey):
        return None, f"apikey:{principal.prefix}"
    return None, "system"


def _audit_actor(principal: Any) -> User | None:
    # An API key is not a user: recording its id as the actor would name the wrong person.
    return principal if isinstance(principal, User) else None


# Households ----------------------------------------------------------------------------

def household_code(community: Place, ref: str) -> str:
    return f"{community.code}-h-{ref}"


def household_create(
    *, ref: str, by: User | None, parent: Place | None = None, room: str = "", place: Place | None = None,
) -> Household:
    """A household at an existing household node (``place``), or at a new one named
    ``room`` under a building or unit (``parent``)."""
    ref = ref.strip()
    if not ref:
        raise ValidationError({"ref": _("户编号不能为空。")})
    if len(ref) > 64:
        raise ValidationError({"ref": _("户编号不能超过 64 个字符。")})
    if place is None:
        if parent is None or parent.kind not in (PlaceKind.BUILDING, PlaceKind.UNIT):
            raise ValidationError({"parent": _("户应设在楼栋或单元之下。")})
        if not room.strip():
            raise ValidationError({"room": _("房号不能为空。")})
        community = Place.objects.get(pk=parent.community_id or 0)
    else:
        if place.kind != PlaceKind.HOUSEHOLD:
            raise ValidationError({"place": _("请选择一户的地点。")})
        if Household.objects.filter(place=place).exists():
            raise ValidationError({"place": _("该地点已登记为一户。")})
        community = Place.objects.get(pk=place.community_id or 0)
    if Household.objects.filter(community=community, ref=ref).exists():
        raise ValidationError({"ref": _("户编号 %(ref)s 在本社区已被使用。") % {"ref": ref}})
    with transaction.atomic():
        if place is None:
            assert parent is not None  # noqa: S101 - checked above; narrows the type
            place = place_create(
                parent=parent, kind=PlaceKind.HOUSEHOLD, name=room, code=household_code(community, ref), by=by,
            )
        household = Household.objects.create(place=place, community=community, ref=ref)
        audit_record(actor=by, action="household.create", obj=household, after={"ref": ref, "place": place.pk})
    return household


# Residents -----------------------------------------------------------------------------

def _clean_fields(values: Mapping[str, Any]) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for field, raw in values.items():
        cleaner = CLEANERS.get(field)
        if cleaner is None:
            errors.setdefault(field, []).append(_("不能修改该字段。"))
            continue
        try:
            cleaned[field] = cleaner(raw)
        except ValueError as exc:
            errors.setdefault(field, []).append(str(exc))
    if errors:
        raise ValidationError(errors)
    return cleaned


def _check_identity(values: dict[str, Any], *, exclude_pk: int | None = None) -> None:
    """The ID number must be unique and agree with the birth date and gender given."""
    id_number = values.get("id_number") or ""
    if not id_number:
        return
    errors: dict[str, str] = {}
    if values.get("birth_date") and values["birth_date"] != id_number_birth_date(id_number):
        errors["birth_date"] = _("出生日期与身份证号不一致。")
    if values.get("gender") and values["gender"] != id_number_gender(id_number):
        errors["gender"] = _("性别与身份证号不一致。")
    taken = Resident.objects.filter(id_number_hash=lookup_hash(id_number))
    if exclude_pk is not None:
        taken = taken.exclude(pk=exclude_pk)
    if taken.exists():
        errors["id_number"] = _("该身份证号已登记。")
    if errors:
        raise ValidationError(errors)


def resident_create(
    *, household: Household, name: str, by: User | None, gender: str = "", birth_date: date | str | None = None,
    household_role: str = HouseholdRole.OTHER, id_number: str = "", phone: str = "", health: str = "",
    disability: str = "", income_status: str = "", user: User | None = None,
) -> Resident:
    values = _clean_fields({
        "name": name, "gender": gender, "birth_date": birth_date, "household_role": household_role,
        "id_number": id_number, "phone": phone, "health": health, "disability": disability,
        "income_status": income_status,
    })
    if values["id_number"]:
        # The ID number carries the birth date and gender: fill them when not given.
        values["birth_date"] = values["birth_date"] or id_number_birth_date(values["id_number"])
        values["gender"] = values["gender"] or id_number_gender(values["id_number"])
    _check_identity(values)
    if user is not None and Resident.objects.filter(user=user).exists():
        raise ValidationError({"user": _("该账号已关联其他居民。")})
    with transaction.atomic():
        resident = Resident(household=household, community_id=household.community_id, user=user, **values)
        resident.id_number_hash = lookup_hash(values["id_number"]) if values["id_number"] else None
        resident.phone_hash = lookup_hash(values["phone"]) if values["phone"] else ""
        resident.save()
        audit_record(
            actor=by, action="resident.create", obj=resident,
            after={"household": household.pk, "fields": sorted(k for k, v in values.items() if v)},
        )
    return resident


def resident_update(*, resident: Resident, changes: Mapping[str, Any], by: User | None) -> Resident:
    """Change any of ``validation.CLEANERS``' fields; the audit event names them only."""
    cleaned = _clean_fields(changes)
    changed = {field: value for field, value in cleaned.items() if getattr(resident, field) != value}
    if not changed:
        return resident
    if changed.keys() & {"id_number", "birth_date", "gender"}:
        merged = {field: getattr(resident, field) for field in ("id_number", "birth_date", "gender")} | changed
        _check_identity(merged, exclude_pk=resident.pk)
    with transaction.atomic():
        for field, value in changed.items():
            setattr(resident, field, value)
        update_fields = [*changed, "updated_at"]
        if "id_number" in changed:
            resident.id_number_hash = lookup_hash(changed["id_number"]) if changed["id_number"] else None
            update_fields.append("id_number_hash")
        if "phone" in changed:
            resident.phone_hash = lookup_hash(changed["phone"]) if changed["phone"] else ""
            update_fields.append("phone_hash")
        resident.save(update_fields=update_fields)
        audit_record(actor=by, action="resident.update", obj=resident, after={"changed": sorted(changed)})
    return resident


def resident_move_out(*, resident: Resident, by: User | None, on: date | None = None) -> Resident:
    if resident.status != ResidentStatus.ACTIVE:
        raise ValidationError({"status": _("该居民已不在住。")})
    with transaction.atomic():
        resident.status = ResidentStatus.MOVED_OUT
        resident.save(update_fields=["status", "updated_at"])
        audit_record(
            actor=by, action="resident.move_out", obj=resident, before={"status": ResidentStatus.ACTIVE},
            after={"status": ResidentStatus.MOVED_OUT, "on": (on or timezone.localdate()).isoformat()},
        )
    return resident


def relation_add(*, from_resident: Resident, to_resident: Resident, kind: str, by: User | None) -> Relation:
    if kind not in RelationKind.values:
        raise ValidationError({"kind": _("未知的关系。")})
    if from_resident.pk == to_resident.pk:
        raise ValidationError({"to_resident": _("不能与本人建立关系。")})
    if Relation.objects.filter(from_resident=from_resident, to_resident=to_resident, kind=kind).exists():
        raise ValidationError({"kind": _("该关系已登记。")})
    with transaction.atomic():
        relation = Relation.objects.create(
            from_resident=from_resident, to_resident=to_resident, kind=kind, community_id=from_resident.community_id
        )
        audit_record(
            actor=by, action="relation.add", obj=relation,
            after={"from": from_resident.pk, "to": to_resident.pk, "kind": kind},
        )
    return relation


def tag_add(
    *, resident: Resident, group: str, by: User | None, label: str = "", since: date | None = None,
) -> SpecialGroupTag:
    label = label.strip()
    if group not in SpecialGroup.values:
        raise ValidationError({"group": _("未知的特殊群体。")})
    if group == SpecialGroup.OTHER and not label:
        raise ValidationError({"label": _("“其他”群体请写明名称。")})
    if group != SpecialGroup.OTHER:
        label = ""
    if len(label) > 60:
        raise ValidationError({"label": _("名称不能超过 60 个字。")})
    if SpecialGroupTag.objects.filter(resident=resident, group=group, label=label, ended_on__isnull=True).exists():
        raise ValidationError({"group": _("该居民已有此标签。")})
    with transaction.atomic():
        tag = SpecialGroupTag.objects.create(
            resident=resident, community_id=resident.community_id, group=group, label=label, since=since
        )
        audit_record(actor=by, action="tag.add", obj=tag, after={"resident": resident.pk, "group": group})
    return tag


def tag_end(*, tag: SpecialGroupTag, by: User | None, on: date | None = None) -> SpecialGroupTag:
    on = on or timezone.localdate()
    if tag.ended_on is not None:
        raise ValidationError({"ended_on": _("该标签已结束。")})
    if tag.since is not None and on < tag.since:
        raise ValidationError({"ended_on": _("结束日期不能早于起始日期。")})
    with transaction.atomic():
        tag.ended_on = on
        tag.save(update_fields=["ended_on"])
        audit_record(actor=by, action="tag.end", obj=tag, after={"ended_on": on.isoformat()})
    return tag


# Consent -------------------------------------------------------------------------------

def consent_give(
    *, resident: Resident, purpose: str, basis: str, by: User | None, given_on: date | None = None,
    retention: str = "",
) -> Consent:
    purpose, retention = purpose.strip(), retention.strip()
    errors: dict[str, str] = {}
    if not purpose:
        errors["purpose"] = _("请写明处理目的。")
    elif len(purpose) > 200:
        errors["purpose"] = _("目的不能超过 200 个字。")
    if basis not in ConsentBasis.values:
        errors["basis"] = _("未知的处理依据。")
    elif resident.is_sensitive_minor() and basis in (ConsentBasis.CONSENT, ConsentBasis.SEPARATE_CONSENT):
        errors["basis"] = _("不满十四周岁的居民须由监护人同意。")
    if len(retention) > 100:
        errors["retention"] = _("保存期限不能超过 100 个字。")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        consent = Consent.objects.create(
            resident=resident, community_id=resident.community_id, purpose=purpose, basis=basis,
            given_on=given_on or timezone.localdate(), retention=retention, recorded_by=by,
        )
        audit_record(actor=by, action="consent.give", obj=consent, after={"resident": resident.pk, "basis": basis})
    return consent


def consent_withdraw(*, consent: Consent, by: User | None, at: datetime | None = None) -> Consent:
    if consent.withdrawn_at is not None:
        raise ValidationError({"withdrawn_at": _("该同意已撤回。")})
    if consent.basis not in WITHDRAWABLE_BASES:
        raise ValidationError({"basis": _("此项处理不以同意为依据，不能撤回。")})
    with transaction.atomic():
        consent.withdrawn_at = at or timezone.now()
        consent.save(update_fields=["withdrawn_at"])
        audit_record(actor=by, action="consent.withdraw", obj=consent, after={"resident": consent.resident_id})
    return consent


# Corrections (PIPL Art. 46) ------------------------------------------------------------

def correction_request_create(
    *, resident: Resident, field: str, requested_value: Any, by: User | None, note: str = "",
) -> CorrectionRequest:
    if field not in CORRECTABLE_FIELDS:
        raise ValidationError({"field": _("不能申请更正该项。")})
    try:
        value = CLEANERS[field](requested_value)
    except ValueError as exc:
        raise ValidationError({"requested_value": str(exc)}) from None
    note = note.strip()
    if len(note) > 1000:
        raise ValidationError({"note": _("说明不能超过 1000 个字。")})
    if CorrectionRequest.objects.filter(resident=resident, field=field, status=CorrectionStatus.OPEN).exists():
        raise ValidationError({"field": _("该项已有待处理的更正申请。")})
    stored = value.isoformat() if isinstance(value, date) else str(value or "")
    with transaction.atomic():
        correction = CorrectionRequest.objects.create(
            resident=resident, community_id=resident.community_id, field=field, requested_value=stored, note=note,
        )
        audit_record(actor=by, action="correction.create", obj=correction, after={"field": field})
    return correction


def correction_resolve(
    *, correction: CorrectionRequest, accept: bool, by: User | None, answer: str = "",
) -> CorrectionRequest:
    answer = answer.strip()
    if correction.status != CorrectionStatus.OPEN:
        raise ValidationError({"status": _("该申请已处理。")})
    if not accept and not answer:
        raise ValidationError({"answer": _("不予更正时请写明理由。")})
    if len(answer) > 1000:
        raise ValidationError({"answer": _("答复不能超过 1000 个字。")})
    with transaction.atomic():
        if accept:
            resident_update(
                resident=correction.resident, changes={correction.field: correction.requested_value}, by=by
            )
        correction.status = CorrectionStatus.ACCEPTED if accept else CorrectionStatus.REJECTED
        correction.answer = answer
        correction.handled_at = timezone.now()
        correction.handled_by = by
        correction.save(update_fields=["status", "answer", "handled_at", "handled_by"])
        audit_record(
            actor=by, action="correction.resolve", obj=correction,
            before={"status": CorrectionStatus.OPEN}, after={"status": correction.status, "field": correction.field},
        )
    return correction


# Reveal and export ---------------------------------------------------------------------

def plain_value(resident: Resident, field: str) -> str:
    if field == "tags":
        return "、".join(str(tag) for tag in resident.tags.filter(ended_on__isnull=True))
    if field == "birth_date":
        return resident.birth_date.isoformat() if resident.birth_date else ""
    if field == "gender":
        return str(resident.get_gender_display()) if resident.gender else ""
    if field == "household_role":
        return str(resident.get_household_role_display())
    return str(getattr(resident, field) or "")


def may_reveal(principal: Any, resident: Resident) -> bool:
    """A resident may always see their own values; staff need a reveal role over the household."""
    if isinstance(principal, User) and resident.user_id is not None and resident.user_id == principal.pk:
        return True
    return can_reveal(principal, resident.household.place.path)


def sensitive_reveal(*, user: Any, resident: Resident, field: str, reason: str) -> str:
    """Return one plain value, after checking the permission and logging who, what and why."""
    if not may_reveal(user, resident):
        raise PermissionDenied
    reason = " ".join((reason or "").split())
    errors: dict[str, str] = {}
    if field not in REVEALABLE_FIELDS:
        errors["field"] = _("该字段不能查看。")
    if not reason:
        errors["reason"] = _("请填写查看事由。")
    elif len(reason) > REASON_MAX:
        errors["reason"] = _("事由不能超过 %(n)d 个字。") % {"n": REASON_MAX}
    if errors:
        raise ValidationError(errors)
    account, label = _actor(user)
    with transaction.atomic():
        SensitiveAccess.objects.create(
            at=timezone.now(), user=account, actor_label=label, resident=resident,
            community_id=resident.community_id, field=field, reason=reason,
        )
        audit_record(
            actor=account, action="resident.reveal", obj=resident,
            after={"field": field, "reason": reason, "by": label},
        )
        return plain_value(resident, field)


SEARCH_REASON = "按号码查找居民"


def number_search_record(*, field: str, hits: Sequence[Resident], by: Any) -> SensitiveAccess:
    """Log one allowed exact search by phone or ID number: a ``SensitiveAccess`` row
    (``resident`` is the hit when there is exactly one) and an audit event naming the
    field, never the number searched for."""
    if field not in ("phone", "id_number"):
        raise ValidationError({"field": _("该字段不能查看。")})
    account, label = _actor(by)
    one = hits[0] if len(hits) == 1 else None
    communities = {hit.community_id for hit in hits}
    community_id = communities.pop() if len(communities) == 1 else None
    with transaction.atomic():
        access = SensitiveAccess.objects.create(
            at=timezone.now(), user=account, actor_label=label, resident=one, community_id=community_id,
            field=f"search:{field}", reason=SEARCH_REASON,
        )
        audit_record(
            actor=account, action="resident.search_by_number", obj=one, community_id=community_id,
            object_type="" if one is not None else "people.resident",
            after={"field": field, "hits": len(hits), "by": label},
        )
    return access


def resident_data_export(*, resident: Resident, by: User | None) -> dict[str, Any]:
    """A resident's copy of their own data (PIPL Art. 45), values in full; the export is logged."""
    from linli.people.selectors import resident_export_data

    data = resident_export_data(resident)
    with transaction.atomic():
        audit_record(actor=by, action="resident.data_export", obj=resident)
    return data
