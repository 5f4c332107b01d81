"""Webhooks in the admin: the address is sealed and only shown masked; bad addresses
are form errors; a test message can be sent from the list."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from linli.accounts.models import User
from linli.audit.models import AuditEvent
from linli.notifications.models import Webhook, WebhookKind
from tests.conftest import Personas, Tree, login

pytestmark = pytest.mark.django_db
KEY_URL = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7aoc-4bc4-97a0-0ec2sifa5aaa"


def add(admin_client: Client, tree: Tree, **overrides: str) -> object:
    data = {"name": "樱花园工作群", "place": str(tree.community.pk), "kind": WebhookKind.WECOM, "new_url": KEY_URL,
            "is_active": "on"}
    data.update(overrides)
    return admin_client.post(reverse("admin:notifications_webhook_add"), data)


def test_add_seals_the_address_and_shows_it_masked(admin_client: Client, tree: Tree, admin_user: User) -> None:
    response = add(admin_client, tree)
    assert response.status_code == 302  # type: ignore[attr-defined]
    robot = Webhook.objects.get()
    assert robot.url == KEY_URL
    assert AuditEvent.objects.filter(action="notifications.webhook_create", actor_id=admin_user.pk).exists()
    for url in (reverse("admin:notifications_webhook_changelist"),
                reverse("admin:notifications_webhook_change", args=[robot.pk])):
        body = admin_client.get(url).content.decode()
        assert "693a91f6" not in body and "https://qyapi.weixin.qq.com/…5aaa" in body
    # Saving without a new address keeps the old one.
    response = admin_client.post(reverse("admin:notifications_webhook_change", args=[robot.pk]), {
        "name": "工作群", "place": str(tree.community.pk), "kind": WebhookKind.WECOM, "new_url": "", "is_active": "on"})
    assert response.status_code == 302
    robot.refresh_from_db()
    assert robot.name == "工作群" and robot.url == KEY_URL


@pytest.mark.parametrize("url", ["", "qyapi.weixin.qq.com/send", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send",
                                 "javascript:alert(1)"])
def test_bad_addresses_are_form_errors(admin_client: Client, tree: Tree, url: str) -> None:
    response = add(admin_client, tree, new_url=url)
    assert response.status_code == 200  # type: ignore[attr-defined]
    assert "new_url" in response.context["adminform"].form.errors  # type: ignore[attr-defined]
    assert not Webhook.objects.exists()


def test_send_test_message_action(admin_client: Client, tree: Tree) -> None:
    add(admin_client, tree, new_url="http://127.0.0.1:9/cgi-bin/webhook/send?key=k")
    robot = Webhook.objects.get()
    response = admin_client.post(reverse("admin:notifications_webhook_changelist"),
                                 {"action": "send_test", "_selected_action": [robot.pk]})
    assert response.status_code == 302
    robot.refresh_from_db()
    assert robot.last_status.startswith("error") and robot.last_sent_at is not None  # nobody on port 9


def test_only_superusers(client: Client, personas: Personas) -> None:
    response = login(client, personas.lead).get(reverse("admin:notifications_webhook_changelist"))
    assert response.status_code == 302 and "login" in response["Location"]
