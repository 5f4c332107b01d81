from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from linli.accounts.models import ApiKey, Role, RoleAssignment, User
from linli.accounts.services import apikey_create, enrol_code_accept
from linli.audit.models import AuditEvent
from tests.conftest import PASSWORD, Personas, Tree, login

pytestmark = pytest.mark.django_db
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"



@pytest.fixture
def enrolled(personas: Personas) -> User:
    User.objects.filter(pk=personas.resident.pk).update(totp_secret=SECRET, totp_confirmed_at=timezone.now())
    return User.objects.get(pk=personas.resident.pk)


def test_user_pages_show_no_secrets(admin_client: Client, enrolled: User) -> None:
    listing = admin_client.get(reverse("admin:accounts_user_changelist"))
    assert listing.status_code == 200
    page = admin_client.get(reverse("admin:accounts_user_change", args=[enrolled.pk]))
    assert page.status_code == 200
    for response in (listing, page):
        body = response.content.decode()
        assert "138****8000" in body
        assert "13800138000" not in body
        assert SECRET not in body
        assert enrolled.password not in body
        assert enrolled.password.split("$")[-1] not in body
    form = page.context["adminform"].form
    assert not {"password", "totp_secret", "phone", "phone_hash"} & set(form.fields)


def test_search_by_phone(admin_client: Client, personas: Personas) -> None:
    response = admin_client.get(reverse("admin:accounts_user_changelist"), {"q": "+86 138 0013 8000"})
    assert [u.username for u in response.context["cl"].result_list] == ["resident"]


def test_reset_two_factor_action(admin_client: Client, enrolled: User, admin_user: User) -> None:
    response = admin_client.post(reverse("admin:accounts_user_changelist"), {
        "action": "reset_two_factor", "_selected_action": [enrolled.pk],
    })
    assert response.status_code == 302
    user = User.objects.get(pk=enrolled.pk)
    assert not user.has_totp and user.totp_secret == ""
    assert AuditEvent.objects.filter(action="user.2fa_reset", object_id=str(user.pk), actor_id=admin_user.pk).exists()


def test_add_and_change_user_through_services(admin_client: Client, personas: Personas) -> None:
    response = admin_client.post(reverse("admin:accounts_user_add"), {
        "username": "newbie", "display_name": "新人", "email": "", "phone": "13700137000",
        "password1": PASSWORD, "password2": PASSWORD,
    })
    assert response.status_code == 302
    user = User.objects.get(username="newbie")
    assert user.phone == "13700137000" and user.check_password(PASSWORD)
    assert AuditEvent.objects.filter(action="user.create", object_id=str(user.pk)).exists()

    taken = admin_client.post(reverse("admin:accounts_user_add"), {
        "username": "second", "display_name": "", "email": "", "phone": "13700137000",
        "password1": PASSWORD, "password2": PASSWORD,
    })
    assert taken.status_code == 200
    assert "phone" in taken.context["adminform"].form.errors

    url = reverse("admin:accounts_user_change", args=[user.pk])
    response = admin_client.post(url, {"display_name": "新人甲", "email": "a@example.org", "new_phone": "",
                                       "is_active": "on"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert (user.display_name, user.email, user.phone) == ("新人甲", "a@example.org", "13700137000")
    assert AuditEvent.objects.filter(action="user.update", object_id=str(user.pk)).exists()

    response = admin_client.post(url, {"display_name": "新人甲", "email": "", "new_phone": "13800138000",
                                       "is_active": "on"})
    assert response.status_code == 200
    assert "new_phone" in response.context["adminform"].form.errors
    response = admin_client.post(url, {"display_name": "新人甲", "email": "", "new_phone": "13600136000",
                                       "is_active": "on"})
    assert response.status_code == 302
    assert User.objects.get(pk=user.pk).phone == "13600136000"
    assert admin_client.get(reverse("admin:accounts_user_delete", args=[user.pk])).status_code == 403


def test_role_grant_and_revoke(admin_client: Client, tree: Tree, personas: Personas, admin_user: User) -> None:
    response = admin_client.post(reverse("admin:accounts_roleassignment_add"), {
        "user": personas.outsider.pk, "role": Role.GRID_WORKER, "place": tree.other_grid.pk,
    })
    assert response.status_code == 302
    assignment = RoleAssignment.objects.get(user=personas.outsider)
    assert assignment.granted_by == admin_user
    assert AuditEvent.objects.filter(action="role.grant", object_id=str(assignment.pk)).exists()

    again = admin_client.post(reverse("admin:accounts_roleassignment_add"), {
        "user": personas.outsider.pk, "role": Role.GRID_WORKER, "place": tree.other_grid.pk,
    })
    assert again.status_code == 200
    assert again.context["adminform"].form.non_field_errors()

    response = admin_client.post(reverse("admin:accounts_roleassignment_changelist"), {
        "action": "revoke", "_selected_action": [assignment.pk],
    })
    assert response.status_code == 302
    assert not RoleAssignment.objects.get(pk=assignment.pk).is_active
    assert AuditEvent.objects.filter(action="role.revoke", object_id=str(assignment.pk)).exists()
    # Grants are changed only through the services: no edit form, no delete.
    change = admin_client.post(reverse("admin:accounts_roleassignment_change", args=[assignment.pk]), {"role": "auditor"})
    assert change.status_code == 403
    assert RoleAssignment.objects.get(pk=assignment.pk).role == Role.GRID_WORKER


def test_api_keys_listed_and_revoked_only(admin_client: Client, tree: Tree) -> None:
    key, raw = apikey_create(name="物业系统", place=tree.community)
    listing = admin_client.get(reverse("admin:accounts_apikey_changelist"))
    assert listing.status_code == 200
    assert key.prefix in listing.content.decode() and raw not in listing.content.decode()
    assert admin_client.get(reverse("admin:accounts_apikey_add")).status_code == 403
    assert key.key_hash not in admin_client.get(reverse("admin:accounts_apikey_change", args=[key.pk])).content.decode()
    response = admin_client.post(reverse("admin:accounts_apikey_changelist"), {
        "action": "revoke", "_selected_action": [key.pk],
    })
    assert response.status_code == 302
    assert ApiKey.objects.get(pk=key.pk).revoked_at is not None


def test_non_staff_never_reach_the_admin(client: Client, personas: Personas) -> None:
    response = login(client, personas.lead).get(reverse("admin:accounts_user_changelist"))
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_issue_enrol_code_action_shows_the_code_once(admin_client: Client, personas: Personas, admin_user: User) -> None:
    response = admin_client.post(reverse("admin:accounts_user_changelist"), {
        "action": "issue_enrol_code", "_selected_action": [personas.staff.pk, personas.lead.pk],
    }, follow=True)
    assert response.status_code == 200
    shown = [str(m) for m in response.context["messages"]]
    codes = {}
    for text in shown:
        found = re.search(r"^(\w+) 的两步验证开通码：(\d{4}-\d{4})", text)
        if found:
            codes[found.group(1)] = found.group(2)
    assert set(codes) == {"staff", "lead"}
    staff = User.objects.get(pk=personas.staff.pk)
    assert enrol_code_accept(user=staff, code=codes["staff"])
    assert AuditEvent.objects.filter(action="user.enrol_code_issue", object_id=str(staff.pk), actor_id=admin_user.pk).exists()
    # Only once: the next page does not show it again, and nothing stored holds it.
    again = admin_client.get(reverse("admin:accounts_user_changelist"))
    assert codes["staff"] not in again.content.decode()
    assert codes["staff"].replace("-", "") not in (staff.enrol_code_hash or "")


def test_issue_enrol_code_action_refuses_an_enrolled_user(admin_client: Client, enrolled: User) -> None:
    response = admin_client.post(reverse("admin:accounts_user_changelist"), {
        "action": "issue_enrol_code", "_selected_action": [enrolled.pk],
    }, follow=True)
    assert any("请先重置两步验证" in str(m) for m in response.context["messages"])
    assert User.objects.get(pk=enrolled.pk).enrol_code_hash == ""


def test_reset_two_factor_of_staff_shows_a_fresh_code(admin_client: Client, personas: Personas) -> None:
    User.objects.filter(pk=personas.staff.pk).update(totp_secret=SECRET, totp_confirmed_at=timezone.now())
    response = admin_client.post(reverse("admin:accounts_user_changelist"), {
        "action": "reset_two_factor", "_selected_action": [personas.staff.pk],
    }, follow=True)
    found = [re.search(r"staff 的两步验证开通码：(\d{4}-\d{4})", str(m)) for m in response.context["messages"]]
    codes = [m.group(1) for m in found if m]
    assert len(codes) == 1
    assert enrol_code_accept(user=User.objects.get(pk=personas.staff.pk), code=codes[0])
