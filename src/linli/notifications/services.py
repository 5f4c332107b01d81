"""Telling people: every notice lands in the in-app inbox; those with an email address
also get it by email, and the webhooks of the place post it to their group chat. Email
and webhooks go out from the task worker after the transaction commits, so a slow mail
server never holds up a page and nothing is sent for a change that rolled back."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from linli.accounts.models import User
from linli.notifications.models import Notification, Webhook


def notify(*, users: Iterable[User], title: str, body: str = "", url: str = "", email: bool = True,
           at: datetime | None = None) -> list[Notification]:
    at = at or timezone.now()
    unique = {user.pk: user for user in users if user is not None and user.is_active}
    if not unique:
        return []
    rows = Notification.objects.bulk_create([
        Notification(user=user, title=title[:120], body=body[:2000], url=url[:300], created_at=at)
        for user in unique.values()
    ])
    recipients = [user.pk for user in unique.values() if user.email]
    if email and recipients:
        from linli.notifications.tasks import send_email

        transaction.on_commit(lambda: send_email.enqueue(user_ids=recipients, subject=title, body=body, url=url))
    return rows


def webhooks_announce(*, place_path: str, text: str) -> int:
    """Queue ``text`` for every active webhook whose place covers ``place_path``."""
    ids = [
        hook_id for hook_id, path in Webhook.objects.filter(is_active=True).values_list("pk", "place__path")
        if place_path.startswith(path)
    ]
    if ids:
        from linli.notifications.tasks import post_webhook

        def send() -> None:
            for hook_id in ids:
                post_webhook.enqueue(webhook_id=hook_id, text=text)

        transaction.on_commit(send)
    return len(ids)


def notification_mark_read(*, user: User, ids: Iterable[int] | None = None, at: datetime | None = None) -> int:
    rows = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        rows = rows.filter(pk__in=list(ids))
    return rows.update(read_at=at or timezone.now())
