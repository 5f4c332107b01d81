from __future__ import annotations

import json
from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from linli.audit.models import AuditEvent
from linli.audit.services import audit_verify
from linli.core.crypto import lookup_hash
from linli.people.models import (
    ConsentBasis,
    CorrectionStatus,
    Household,
    RelationKind,
    Resident,
    ResidentStatus,
    SensitiveAccess,
    SpecialGroup,
)
from linli.people.services import (
    consent_give,
    consent_withdraw,
    correction_request_create,
    correction_resolve,
    household_create,
    relation_add,
    resident_create,
    resident_move_out,
    resident_update,
    sensitive_reveal,
    tag_add,
    tag_end,
)
from linli.places.models import Place, PlaceKind
from tests.conftest import Personas, Tree
from tests.people.conftest import MY_HEALTH, MY_ID, MY_PHONE, People, make_id

pytestmark = pytest.mark.django_db


def _all_audit_text() -> str:
    return json.dumps(list(AuditEvent.objects.values("before", "after", "action")), ensure_ascii=False)


def test_sensitive_fields_are_encrypted_at_rest(people: People) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id_number, phone, health, id_number_hash, phone_hash FROM people_resident WHERE id = %s",
            [people.me.pk],
        )
        raw = cursor.fetchone()
    stored = " ".join(str(value) for value in raw)
    for plain in (MY_ID, MY_PHONE, MY_HEALTH, "高血压"):
        assert plain not in stored
    assert raw[0].startswith("v1:") and raw[1].startswith("v1:") and raw[2].startswith("v1:")
    fresh = Resident.objects.get(pk=people.me.pk)
    assert (fresh.id_number, fresh.phone, fresh.health) == (MY_ID, MY_PHONE, MY_HEALTH)


def test_lookup_by_hash_finds_the_resident(people: People) -> None:
    assert Resident.objects.get(id_number_hash=lookup_hash(MY_ID.lower())) == people.me
    assert list(Resident.objects.filter(phone_hash=lookup_hash("139 1234 5678"))) == [people.me]


def test_audit_names_fields_never_values(people: People, personas: Personas) -> None:
    resident_update(resident=people.me, changes={"phone": "13598765432", "disability": "肢体三级"}, by=personas.staff)
    sensitive_reveal(user=personas.staff, resident=people.me, field="health", reason="入户走访核实")
    text = _all_audit_text()
    for plain in (MY_ID, MY_PHONE, MY_HEALTH, "13598765432", "肢体三级"):
        assert plain not in text
    update = AuditEvent.objects.filter(action="resident.update").get()
    assert update.after == {"changed": ["disability", "phone"]}
    assert audit_verify()[1] == []


def test_resident_create_fills_birth_date_and_gender_from_the_id_number(people: People) -> None:
    assert people.me.birth_date == date(1949, 12, 31)
    assert people.me.gender == "F"


def test_resident_create_refuses_bad_values_with_field_errors(people: People) -> None:
    with pytest.raises(ValidationError) as info:
        resident_create(household=people.household, name="", id_number="110105194912310021", phone="123", by=None)
    assert set(info.value.message_dict) == {"name", "id_number", "phone"}
    with pytest.raises(ValidationError) as info:
        resident_create(household=people.household, name="重复", id_number=MY_ID, by=None)
    assert info.value.message_dict["id_number"] == ["该身份证号已登记。"]
    with pytest.raises(ValidationError) as info:
        resident_create(household=people.household, name="张三", id_number=make_id(date(1990, 1, 1)),
                        birth_date="1990-01-02", by=None)
    assert "birth_date" in info.value.message_dict


def test_resident_update_keeps_hashes_in_step(people: People) -> None:
    new_id = make_id(date(1949, 12, 31), 5, male=False)
    resident_update(resident=people.me, changes={"id_number": new_id, "phone": ""}, by=None)
    people.me.refresh_from_db()
    assert people.me.id_number_hash == lookup_hash(new_id)
    assert people.me.phone_hash == "" and people.me.phone == ""
    with pytest.raises(ValidationError) as info:
        resident_update(resident=people.me, changes={"id_number": people.neighbour.id_number}, by=None)
    assert "id_number" in info.value.message_dict
    with pytest.raises(ValidationError):
        resident_update(resident=people.me, changes={"status": "deceased"}, by=None)


def test_household_create_makes_the_place_node(tree: Tree) -> None:
    household = household_create(ref="N-1", parent=tree.unit, room="702室", by=None)
    assert household.place.kind == PlaceKind.HOUSEHOLD
    assert household.place.parent_id == tree.unit.pk
    assert household.place.address.endswith("3号楼2单元702室")
    assert household.community_id == tree.community.pk
    with pytest.raises(ValidationError) as info:
        household_create(ref="N-1", parent=tree.unit, room="703室", by=None)
    assert "ref" in info.value.message_dict
    with pytest.raises(ValidationError):
        household_create(ref="N-2", parent=tree.grid, room="1室", by=None)
    # The same reference may be used again in another community.
    far_building = Place.objects.get(code="b3")
    assert household_create(ref="N-1", parent=far_building, room="201室", by=None).community_id == tree.other_community.pk
    assert Household.objects.filter(ref="N-1").count() == 2


def test_move_out_relation_and_tags(people: People, personas: Personas) -> None:
    resident_move_out(resident=people.child, by=personas.staff)
    assert Resident.objects.get(pk=people.child.pk).status == ResidentStatus.MOVED_OUT
    with pytest.raises(ValidationError):
        resident_move_out(resident=people.child, by=personas.staff)

    relation = relation_add(from_resident=people.me, to_resident=people.child, kind=RelationKind.GUARDIAN_OF, by=None)
    assert str(relation) == "王秀英 监护人 王小明"
    with pytest.raises(ValidationError):
        relation_add(from_resident=people.me, to_resident=people.child, kind=RelationKind.GUARDIAN_OF, by=None)
    with pytest.raises(ValidationError):
        relation_add(from_resident=people.me, to_resident=people.me, kind=RelationKind.SPOUSE, by=None)

    tag = tag_add(resident=people.me, group=SpecialGroup.ELDERLY_ALONE, since=date(2020, 1, 1), by=None)
    with pytest.raises(ValidationError):
        tag_add(resident=people.me, group=SpecialGroup.ELDERLY_ALONE, by=None)
    with pytest.raises(ValidationError):
        tag_add(resident=people.me, group=SpecialGroup.OTHER, by=None)
    with pytest.raises(ValidationError):
        tag_end(tag=tag, on=date(2019, 1, 1), by=None)
    tag_end(tag=tag, on=date(2024, 1, 1), by=None)
    # Ended, the group may be tagged again.
    tag_add(resident=people.me, group=SpecialGroup.ELDERLY_ALONE, by=None)
    with pytest.raises(ValidationError):
        tag_end(tag=tag, by=None)


def test_consent_give_and_withdraw(people: People, personas: Personas) -> None:
    consent = consent_give(resident=people.me, purpose="上门探访", basis=ConsentBasis.SEPARATE_CONSENT, by=personas.staff)
    consent_withdraw(consent=consent, by=personas.resident)
    assert consent.withdrawn_at is not None
    with pytest.raises(ValidationError):
        consent_withdraw(consent=consent, by=personas.resident)
    duty = consent_give(resident=people.me, purpose="人口普查", basis=ConsentBasis.LEGAL_DUTY, by=personas.staff)
    with pytest.raises(ValidationError):
        consent_withdraw(consent=duty, by=personas.resident)
    # A child under 14 is consented for by a guardian (PIPL Art. 31).
    with pytest.raises(ValidationError) as info:
        consent_give(resident=people.child, purpose="兴趣班", basis=ConsentBasis.CONSENT, by=personas.staff)
    assert "basis" in info.value.message_dict
    consent_give(resident=people.child, purpose="兴趣班", basis=ConsentBasis.GUARDIAN_CONSENT, by=personas.staff)


def test_correction_flow_accept_applies_the_change(people: People, personas: Personas) -> None:
    correction = correction_request_create(
        resident=people.me, field="phone", requested_value="13511112222", note="换号了", by=personas.resident
    )
    with pytest.raises(ValidationError):  # one open request per field
        correction_request_create(resident=people.me, field="phone", requested_value="13511113333", by=personas.resident)
    correction_resolve(correction=correction, accept=True, by=personas.staff)
    people.me.refresh_from_db()
    assert people.me.phone == "13511112222"
    assert people.me.phone_hash == lookup_hash("13511112222")
    assert correction.status == CorrectionStatus.ACCEPTED and correction.handled_by == personas.staff
    with pytest.raises(ValidationError):
        correction_resolve(correction=correction, accept=False, answer="x", by=personas.staff)
    assert "13511112222" not in _all_audit_text()


def test_correction_flow_reject_needs_an_answer(people: People, personas: Personas) -> None:
    with pytest.raises(ValidationError) as info:
        correction_request_create(resident=people.me, field="id_number", requested_value="123", by=personas.resident)
    assert "requested_value" in info.value.message_dict
    with pytest.raises(ValidationError):
        correction_request_create(resident=people.me, field="status", requested_value="x", by=personas.resident)
    correction = correction_request_create(resident=people.me, field="name", requested_value="王秀瑛", by=personas.resident)
    with pytest.raises(ValidationError) as info:
        correction_resolve(correction=correction, accept=False, by=personas.staff)
    assert "answer" in info.value.message_dict
    correction_resolve(correction=correction, accept=False, answer="与户口簿一致，无需更正", by=personas.staff)
    people.me.refresh_from_db()
    assert people.me.name == "王秀英"
    assert correction.status == CorrectionStatus.REJECTED


def test_reveal_checks_the_role_and_logs(people: People, personas: Personas) -> None:
    value = sensitive_reveal(user=personas.grid_worker, resident=people.me, field="id_number", reason="办理高龄津贴")
    assert value == MY_ID
    access = SensitiveAccess.objects.get()
    assert (access.user, access.resident, access.field, access.reason, access.actor_label) == (
        personas.grid_worker, people.me, "id_number", "办理高龄津贴", "grid_worker"
    )
    event = AuditEvent.objects.filter(action="resident.reveal").get()
    assert event.actor_id == personas.grid_worker.pk and event.after["field"] == "id_number"
    assert MY_ID not in _all_audit_text()
    for user in (personas.auditor, personas.street_supervisor, personas.partner, personas.outside_staff,
                 personas.other_resident, personas.outsider):
        with pytest.raises(PermissionDenied):
            sensitive_reveal(user=user, resident=people.me, field="id_number", reason="想看看")
    with pytest.raises(ValidationError):
        sensitive_reveal(user=personas.staff, resident=people.me, field="phone", reason="  ")
    with pytest.raises(ValidationError):
        sensitive_reveal(user=personas.staff, resident=people.me, field="password", reason="x")
    assert SensitiveAccess.objects.count() == 1


def test_a_resident_may_reveal_their_own_values(people: People, personas: Personas) -> None:
    assert sensitive_reveal(user=personas.resident, resident=people.me, field="phone", reason="本人查看") == MY_PHONE
    with pytest.raises(PermissionDenied):
        sensitive_reveal(user=personas.resident, resident=people.neighbour, field="phone", reason="本人查看")


def test_minor_fields_are_revealable(people: People, personas: Personas) -> None:
    tag_add(resident=people.child, group=SpecialGroup.LEFT_BEHIND, by=None)
    assert sensitive_reveal(user=personas.staff, resident=people.child, field="tags", reason="关爱服务") == "留守人员"
    assert sensitive_reveal(user=personas.staff, resident=people.child, field="birth_date", reason="关爱服务").endswith("-03-01")
