"""Email and webhook delivery, run by the task worker.

A webhook that fails (refused, timed out, an error code in the answer) is recorded in
the hook's ``last_status`` and logged; it never raises into whoever queued it, so a
broken group robot can never break a request's transition.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import send_mail
from django.tasks import task
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.accounts.models import User
from linli.notifications.models import Webhook, WebhookKind

logger = logging.getLogger(__name__)
WEBHOOK_TIMEOUT_SECONDS = 10
# The WeCom group robot (企业微信群机器人, https://work.weixin.qq.com/api/doc/90000/90136/91770):
# POST JSON to its address; a text message is at most 2048 bytes of UTF-8, a markdown one
# 4096; it answers {"errcode": 0, "errmsg": "ok"} (an error code also comes with HTTP 200).
WECOM_TEXT_BYTES = 2048
WECOM_MARKDOWN_BYTES = 4096
STATUS_MAX = 200


@task()
def send_email(*, user_ids: list[int], subject: str, body: str, url: str = "") -> int:
    sent = 0
    link = f"\n\n{settings.SITE_URL.rstrip('/')}{url}" if url and getattr(settings, "SITE_URL", "") else ""
    for email in User.objects.filter(pk__in=user_ids, is_active=True).exclude(email="").values_list("email", flat=True):
        sent += send_mail(subject=f"[linli] {subject}", message=f"{body}{link}", from_email=None,
                          recipient_list=[email], fail_silently=False)
    return sent


def _cut(text: str, limit: int) -> str:
    """At most ``limit`` bytes of UTF-8, cut on a character boundary."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode("utf-8", "ignore") + "…"


def _defuse(text: str) -> str:
    # <@userid> in a robot's message mentions a member of the group: text that comes from
    # residents must not be able to ping people.
    return text.replace("<@", "< @")


def _link(url: str) -> str:
    site = getattr(settings, "SITE_URL", "")
    if not url or not site or not url.startswith("/") or url.startswith("//"):
        return ""
    return f"{site.rstrip('/')}{url}"


def webhook_payload(kind: str, text: str, url: str = "") -> dict[str, object]:
    link = _link(url)
    if kind == WebhookKind.WECOM:
        text = _defuse(text)
        if link:
            suffix = f"\n[{_('查看详情')}]({link})"
            room = WECOM_MARKDOWN_BYTES - len(suffix.encode("utf-8"))
            return {"msgtype": "markdown", "markdown": {"content": _cut(text, room) + suffix}}
        return {"msgtype": "text", "text": {"content": _cut(text, WECOM_TEXT_BYTES)}}
    return {"text": text, "url": link, "source": "linli", "sent_at": timezone.now().isoformat()}


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A webhook that redirects is a failure, not a hop to wherever it points."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def _outcome(kind: str, status: int, body: bytes) -> str:
    text = body.decode("utf-8", "replace")
    if kind == WebhookKind.WECOM:
        try:
            answer = json.loads(text)
        except ValueError:
            return f"error: HTTP {status} {text}"
        code = answer.get("errcode") if isinstance(answer, dict) else None
        if code == 0:
            return f"ok: HTTP {status}"
        message = answer.get("errmsg", "") if isinstance(answer, dict) else text
        return f"error: errcode {code} {message}"
    if 200 <= status < 300:
        return f"ok: HTTP {status}"
    return f"error: HTTP {status} {text}"


def _post(hook: Webhook, text: str, url: str) -> str:
    if urlsplit(hook.url).scheme not in ("http", "https"):
        return "refused: not an http(s) address"
    data = json.dumps(webhook_payload(hook.kind, text, url), ensure_ascii=False).encode("utf-8")
    req = urllib.request.Request(hook.url, data=data, method="POST",  # noqa: S310 - scheme checked above
                                 headers={"Content-Type": "application/json; charset=utf-8"})
    try:
        with _opener.open(req, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:
            return _outcome(hook.kind, response.status, response.read(1000))
    except urllib.error.HTTPError as exc:
        try:
            body = exc.read(STATUS_MAX).decode("utf-8", "replace")
        except OSError:
            body = ""
        return f"error: HTTP {exc.code} {body}"
    except Exception as exc:  # noqa: BLE001 - refused, timed out, a bad address: recorded, never raised
        return f"error: {exc.__class__.__name__}: {exc}"


@task()
def post_webhook(*, webhook_id: int, text: str, url: str = "") -> str:
    hook = Webhook.objects.filter(pk=webhook_id, is_active=True).first()
    if hook is None:
        return "inactive"
    status = _post(hook, text, url)
    if not status.startswith("ok"):
        logger.warning("webhook %s failed: %s", hook.pk, status)
    Webhook.objects.filter(pk=hook.pk).update(last_status=status[:STATUS_MAX], last_sent_at=timezone.now())
    return status
