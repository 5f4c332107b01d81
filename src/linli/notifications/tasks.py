"""Email and webhook delivery, run by the task worker."""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import send_mail
from django.tasks import task
from django.utils import timezone

from linli.accounts.models import User
from linli.notifications.models import Webhook, WebhookKind

logger = logging.getLogger(__name__)
WEBHOOK_TIMEOUT_SECONDS = 10


@task()
def send_email(*, user_ids: list[int], subject: str, body: str, url: str = "") -> int:
    sent = 0
    link = f"\n\n{settings.SITE_URL.rstrip('/')}{url}" if url and getattr(settings, "SITE_URL", "") else ""
    for email in User.objects.filter(pk__in=user_ids, is_active=True).exclude(email="").values_list("email", flat=True):
        sent += send_mail(subject=f"[linli] {subject}", message=f"{body}{link}", from_email=None,
                          recipient_list=[email], fail_silently=False)
    return sent


def webhook_payload(kind: str, text: str) -> dict[str, object]:
    if kind == WebhookKind.WECOM:
        # The WeCom group robot's text message (企业微信群机器人, msgtype "text").
        return {"msgtype": "text", "text": {"content": text[:2000]}}
    return {"text": text}


@task()
def post_webhook(*, webhook_id: int, text: str) -> str:
    hook = Webhook.objects.filter(pk=webhook_id, is_active=True).first()
    if hook is None:
        return "inactive"
    if urlsplit(hook.url).scheme not in ("http", "https"):
        status = "refused: not an http(s) address"
    else:
        data = json.dumps(webhook_payload(hook.kind, text), ensure_ascii=False).encode()
        req = urllib.request.Request(hook.url, data=data, method="POST",  # noqa: S310 - scheme checked above
                                     headers={"Content-Type": "application/json; charset=utf-8"})
        try:
            with urllib.request.urlopen(req, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:  # noqa: S310
                status = f"{response.status} {response.read(200).decode('utf-8', 'replace')}"
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            status = f"error: {exc}"
            logger.warning("webhook %s failed: %s", hook.pk, exc)
    Webhook.objects.filter(pk=hook.pk).update(last_status=status[:200], last_sent_at=timezone.now())
    return status
