"""Telling people: every notice lands in the in-app inbox; those with an email address
also get it by email, and the webhooks of the place post it to their group chat. Email
and webhooks go out from the task worker after the transaction commits, so a slow mail
server never holds up a page and nothing is sent for a change that rolled back."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.accounts.models import User
from linli.audit.services import audit_record
from linli.notifications.models import Notification, Webhook, WebhookKind
from linli.places.models import Place

URL_MAX = 500
WECOM_HOST = "qyapi.weixin.qq.com"


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

        # robust: a queue that cannot take the email is logged, never a failure of the change itself.
        transaction.on_commit(lambda: send_email.enqueue(user_ids=recipients, subject=title, body=body, url=url),
                              robust=True)
    return rows


def webhooks_announce(*, place_path: str, text: str, url: str = "") -> int:
    """Queue ``text`` for every active webhook whose place covers ``place_path``; ``url``
    (a path on this site) becomes a link when ``SITE_URL`` is set."""
    ids = [
        hook_id for hook_id, path in Webhook.objects.filter(is_active=True).values_list("pk", "place__path")
        if place_path.startswith(path)
    ]
    if ids:
        from linli.notifications.tasks import post_webhook

        def send() -> None:
            for hook_id in ids:
                post_webhook.enqueue(webhook_id=hook_id, text=text, url=url)

        transaction.on_commit(send, robust=True)
    return len(ids)


def notification_mark_read(*, user: User, ids: Iterable[int] | None = None, at: datetime | None = None) -> int:
    """Mark ``user``'s own notices read (all of them without ``ids``); others' are never touched."""
    rows = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        rows = rows.filter(pk__in=list(ids))
    return rows.update(read_at=at or timezone.now())


# Webhooks ---------------------------------------------------------------------------------

def webhook_url_masked(url: str) -> str:
    """Enough of a webhook's address to recognise it, none of its key:
    ``https://qyapi.weixin.qq.com/…5aaa``."""
    if not url:
        return ""
    parts = urlsplit(url)
    host = parts.hostname or ""
    tail = url[-4:] if len(url) > 24 else ""
    return f"{parts.scheme}://{host}/…{tail}" if host else "…"


def webhook_url_check(url: str, kind: str) -> str:
    """A webhook address must be http(s) with a host; a WeCom robot's must carry its key."""
    value = (url or "").strip()
    if not value:
        raise ValidationError({"url": [_("请填写地址。")]})
    if len(value) > URL_MAX:
        raise ValidationError({"url": [_("地址过长（最多 %(n)d 个字符）。") % {"n": URL_MAX}]})
    try:
        parts = urlsplit(value)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise ValidationError({"url": [_("地址格式有误。")]}) from None
    if parts.scheme not in ("http", "https") or not host or any(ch.isspace() for ch in value):
        raise ValidationError({"url": [_("地址应以 http:// 或 https:// 开头，并包含主机名。")]})
    if kind == WebhookKind.WECOM and host == WECOM_HOST and not parse_qs(parts.query).get("key"):
        raise ValidationError({"url": [_("企业微信群机器人的地址应包含 key=…（在群机器人详情中复制完整地址）。")]})
    return value


def _webhook_fields(name: str, kind: str) -> tuple[str, str]:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": [_("请填写名称。")]})
    if len(name) > 60:
        raise ValidationError({"name": [_("名称最多 60 个字。")]})
    if kind not in WebhookKind.values:
        raise ValidationError({"kind": [_("未知的类型。")]})
    return name, kind


def _webhook_state(hook: Webhook) -> dict[str, Any]:
    # The address is a secret: the audit log keeps only its masked form.
    return {"name": hook.name, "kind": hook.kind, "place": hook.place_id, "url": webhook_url_masked(hook.url),
            "is_active": hook.is_active}


def webhook_create(*, place: Place, name: str, kind: str, url: str, is_active: bool = True,
                   by: Any = None) -> Webhook:
    name, kind = _webhook_fields(name, kind)
    url = webhook_url_check(url, kind)
    with transaction.atomic():
        hook = Webhook.objects.create(place=place, name=name, kind=kind, url=url, is_active=is_active)
        audit_record(actor=by, action="notifications.webhook_create", obj=hook, after=_webhook_state(hook),
                     community_id=None)
    return hook


def webhook_update(*, webhook: Webhook, by: Any = None, place: Place | None = None, name: str | None = None,
                   kind: str | None = None, url: str | None = None, is_active: bool | None = None) -> Webhook:
    """Change a webhook; ``None`` leaves a field as it is (so the sealed address stays
    unless a new one is given)."""
    with transaction.atomic():
        hook = Webhook.objects.select_for_update().get(pk=webhook.pk)
        new_name, new_kind = _webhook_fields(hook.name if name is None else name, hook.kind if kind is None else kind)
        replace = url is not None and bool(url.strip())
        new_url = webhook_url_check(url if replace and url is not None else hook.url, new_kind)
        before = _webhook_state(hook)
        changed_url = new_url != hook.url
        hook.name, hook.kind, hook.url = new_name, new_kind, new_url
        if place is not None:
            hook.place = place
        if is_active is not None:
            hook.is_active = is_active
        after = _webhook_state(hook)
        if changed_url:
            after["url_changed"] = True
        if after != before:
            hook.save()
            audit_record(actor=by, action="notifications.webhook_update", obj=hook, before=before, after=after)
    return hook
