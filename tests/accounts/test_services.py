from __future__ import annotations

import re

import pyotp
import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from linli.accounts.models import LoginAttempt, Role, RoleAssignment, User
from linli.accounts.services import (
    ENROL_CODE_VALID,
    apikey_authenticate,
    apikey_create,
    enrol_code_accept,
    enrol_code_issue,
    needs_enrol_code,
    role_grant,
    role_revoke,
    throttle_blocked,
    throttle_clear,
    throttle_fail,
    throttle_keys,
    totp_begin,
    totp_confirm,
    totp_reset,
    totp_verify,
    user_create,
    user_set_phone,
    user_update,
)
from linli.audit.models import AuditEvent
from linli.core.crypto import lookup_hash
from linli.places.services import place_deactivate
from tests.conftest import PASSWORD, Personas, Tree

pytestmark = pytest.mark.django_db


class TestUsers:
    @pytest.mark.parametrize(
        ("username", "fragment"),
        [("", "不能为空"), ("13900139000", "手机号"), ("has space", "只能包含"), ("Resident", "已被使用")],
    )
    def test_bad_usernames(self, personas: Personas, username: str, fragment: str) -> None:
        with pytest.raises(ValidationError) as exc:
            user_create(username=username, password=PASSWORD)
        assert fragment in exc.value.message_dict["username"][0]

    def test_phone_normalised_and_unique(self, personas: Personas) -> None:
        user = user_create(username="newbie", password=PASSWORD, phone="+86 137-0013-7000")
        assert user.phone == "13700137000"
        with pytest.raises(ValidationError):
            user_create(username="other", password=PASSWORD, phone="13700137000")
        with pytest.raises(ValidationError):
            user_set_phone(user=user, phone="13800138000")
        with pytest.raises(ValidationError):
            user_set_phone(user=user, phone="02012345678")
        # Setting one's own number again is fine.
        user_set_phone(user=user, phone="137 0013 7000")

    def test_update(self, personas: Personas) -> None:
        user = personas.other_resident
        user_update(user=user, display_name="王芳", by=personas.lead)
        assert User.objects.get(pk=user.pk).display_name == "王芳"
        event = AuditEvent.objects.filter(action="user.update").latest("seq")
        assert event.after == {"display_name": "王芳"}
        with pytest.raises(ValidationError):
            user_update(user=user, email="not-an-address")
        with pytest.raises(ValidationError):
            user_update(user=personas.lead, is_active=False, by=personas.lead)
        with pytest.raises(ValueError):
            user_update(user=user, is_superuser=True)


class TestRoles:
    def test_grant_is_idempotent_and_audited(self, tree: Tree, personas: Personas) -> None:
        first = role_grant(user=personas.outsider, role=Role.AUDITOR, place=tree.street)
        second = role_grant(user=personas.outsider, role=Role.AUDITOR, place=tree.street)
        assert first.pk == second.pk
        assert AuditEvent.objects.filter(action="role.grant", object_id=str(first.pk)).count() == 1

    def test_not_on_a_switched_off_place(self, tree: Tree, personas: Personas) -> None:
        place_deactivate(place=tree.other_grid)
        tree.other_grid.refresh_from_db()
        with pytest.raises(ValidationError):
            role_grant(user=personas.outsider, role=Role.GRID_WORKER, place=tree.other_grid)

    def test_revoke_once(self, tree: Tree, personas: Personas) -> None:
        assignment = RoleAssignment.objects.get(user=personas.grid_worker)
        role_revoke(assignment=assignment)
        role_revoke(assignment=assignment)
        assert AuditEvent.objects.filter(action="role.revoke", object_id=str(assignment.pk)).count() == 1
        # A new grant after a revoke is a new row (the uniqueness is over active grants).
        again = role_grant(user=personas.grid_worker, role=Role.GRID_WORKER, place=tree.grid)
        assert again.pk != assignment.pk


class TestThrottle:
    def test_keys_name_the_account_however_it_is_written(self, personas: Personas) -> None:
        keys = {throttle_keys(identifier=name, ip=None)[0] for name in ("resident", "RESIDENT", "13800138000", "+86 138 0013 8000")}
        assert keys == {f"user:{personas.resident.pk}"}
        assert throttle_keys(identifier="ghost", ip="10.0.0.1")[1] == "ip:10.0.0.1"

    def test_blocked_then_cleared(self, personas: Personas) -> None:
        from django.conf import settings

        keys = throttle_keys(identifier="resident", ip="10.0.0.1")
        for _ in range(settings.LOGIN_THROTTLE_ATTEMPTS):
            throttle_fail(keys=keys)
        assert throttle_blocked(keys=keys) > 0
        throttle_clear(keys=keys)
        assert throttle_blocked(keys=keys) == 0
        # The address keeps its count.
        assert LoginAttempt.objects.filter(key="ip:10.0.0.1").count() == settings.LOGIN_THROTTLE_ATTEMPTS


class TestTotp:
    def test_secret_stays_while_unconfirmed(self, personas: Personas) -> None:
        user = personas.resident  # turning it on for themselves: no enrolment code
        uri = totp_begin(user=user)
        secret = user.totp_secret
        assert secret in uri and "issuer=" in uri
        totp_begin(user=User.objects.get(pk=user.pk))
        assert User.objects.get(pk=user.pk).totp_secret == secret
        assert not totp_verify(user=user, code=pyotp.TOTP(secret).now())  # not confirmed yet
        assert totp_confirm(user=user, code=pyotp.TOTP(secret).now())
        assert User.objects.get(pk=user.pk).has_totp


class TestEnrolCode:
    def test_issue_keeps_only_a_keyed_hash_and_audits_no_value(self, personas: Personas) -> None:
        lead = personas.lead
        before = timezone.now()
        code = enrol_code_issue(user=personas.staff, by=lead)
        assert re.fullmatch(r"\d{4}-\d{4}", code)
        user = User.objects.get(pk=personas.staff.pk)
        assert user.enrol_code_hash == lookup_hash(code) and code.replace("-", "") not in user.enrol_code_hash
        assert user.enrol_code_expires_at is not None
        assert before + ENROL_CODE_VALID <= user.enrol_code_expires_at <= timezone.now() + ENROL_CODE_VALID
        event = AuditEvent.objects.get(action="user.enrol_code_issue", object_id=str(user.pk))
        assert event.actor_id == lead.pk
        assert code not in str(event.after) and code.replace("-", "") not in str(event.after)

    def test_staff_need_a_code_residents_do_not(self, personas: Personas) -> None:
        assert needs_enrol_code(personas.staff) and needs_enrol_code(personas.auditor)
        assert not needs_enrol_code(personas.resident) and not needs_enrol_code(personas.outsider)
        outsider = personas.outsider
        outsider.is_staff = True
        assert needs_enrol_code(outsider)

    def test_confirm_needs_the_accepted_code_and_uses_it_up(self, personas: Personas) -> None:
        staff = personas.staff
        totp_begin(user=staff)
        assert not totp_confirm(user=staff, code=pyotp.TOTP(staff.totp_secret).now())
        code = enrol_code_issue(user=staff, by=None)
        assert enrol_code_accept(user=staff, code="0000-000") is None
        token = enrol_code_accept(user=staff, code=code)
        assert token
        assert not totp_confirm(user=staff, code=pyotp.TOTP(staff.totp_secret).now(), enrol_token="x" * 64)
        assert totp_confirm(user=staff, code=pyotp.TOTP(staff.totp_secret).now(), enrol_token=token)
        user = User.objects.get(pk=staff.pk)
        assert user.has_totp and user.enrol_code_hash == "" and user.enrol_code_expires_at is None
        assert enrol_code_accept(user=user, code=code) is None
        with pytest.raises(ValidationError):
            enrol_code_issue(user=user, by=None)

    def test_reset_gives_staff_a_fresh_code(self, personas: Personas) -> None:
        for user in (personas.staff, personas.resident):
            User.objects.filter(pk=user.pk).update(totp_secret=pyotp.random_base32(), totp_confirmed_at=timezone.now())
        staff = User.objects.get(pk=personas.staff.pk)
        code = totp_reset(user=staff, by=personas.lead)
        assert code is not None and enrol_code_accept(user=User.objects.get(pk=staff.pk), code=code)
        assert totp_reset(user=User.objects.get(pk=personas.resident.pk), by=personas.lead) is None
        assert User.objects.get(pk=personas.resident.pk).enrol_code_hash == ""


def test_apikey_authenticate(tree: Tree) -> None:
    key, raw = apikey_create(name="系统", place=tree.community)
    assert apikey_authenticate(raw) == key
    assert apikey_authenticate(raw + "x") is None
    assert apikey_authenticate("") is None
    with pytest.raises(ValidationError):
        apikey_create(name="居民", place=tree.community, role=Role.RESIDENT)
