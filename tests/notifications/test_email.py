"""Email goes out after the transaction commits (the ``send_email`` task), to active
users with an address, and never for a change that rolled back."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.db import transaction
from django.test import override_settings

from linli.accounts.models import User
from linli.notifications.models import Notification
from linli.notifications.services import notify
from linli.requests.services import request_accept
from tests.conftest import Personas
from tests.requests.conftest import Submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def with_email(personas: Personas) -> Personas:
    User.objects.filter(pk=personas.resident.pk).update(email="resident@example.cn")
    User.objects.filter(pk=personas.staff.pk).update(email="staff@example.cn")
    personas.resident.refresh_from_db()
    personas.staff.refresh_from_db()
    return personas


def test_the_locmem_backend_is_what_tests_use() -> None:
    from django.conf import settings

    assert settings.MAILERS["default"]["BACKEND"] == "django.core.mail.backends.locmem.EmailBackend"


@override_settings(SITE_URL="https://linli.example.cn")
def test_email_is_sent_on_commit_with_a_link(with_email: Personas,
                                             django_capture_on_commit_callbacks: Any) -> None:
    p = with_email
    with django_capture_on_commit_callbacks(execute=True):
        rows = notify(users=[p.resident, p.other_resident, p.staff], title="诉求已受理", body="办理时限：12月2日",
                      url="/requests/mine/7/")
        assert mail.outbox == []  # nothing before the commit
    assert len(rows) == 3  # everyone gets the in-app notice
    assert sorted(m.to[0] for m in mail.outbox) == ["resident@example.cn", "staff@example.cn"]
    message = mail.outbox[0]
    assert message.subject == "[linli] 诉求已受理"
    assert "办理时限：12月2日" in message.body and "https://linli.example.cn/requests/mine/7/" in message.body


def test_no_email_for_a_change_that_rolled_back(with_email: Personas,
                                                django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                notify(users=[with_email.resident], title="不会发出")
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
    assert mail.outbox == []
    assert not Notification.objects.filter(title="不会发出").exists()


def test_inactive_users_and_email_false_get_no_email(with_email: Personas,
                                                     django_capture_on_commit_callbacks: Any) -> None:
    User.objects.filter(pk=with_email.staff.pk).update(is_active=False)
    with django_capture_on_commit_callbacks(execute=True):
        notify(users=[User.objects.get(pk=with_email.staff.pk)], title="停用的账号")
        notify(users=[with_email.resident], title="只在站内", email=False)
    assert mail.outbox == []
    assert Notification.objects.filter(user=with_email.resident, title="只在站内").exists()


def test_a_lifecycle_step_emails_the_resident(with_email: Personas, submit: Submit,
                                              django_capture_on_commit_callbacks: Any) -> None:
    req = submit()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        request_accept(request=req, by=with_email.staff)
    assert [m.to for m in mail.outbox] == [["resident@example.cn"]]
    assert f"#{req.pk}" in mail.outbox[0].subject and "已受理" in mail.outbox[0].subject
