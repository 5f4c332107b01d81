"""What people are told: an in-app inbox, email, and webhooks (a WeCom group robot,
or any endpoint that takes JSON) for a place's staff group."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from linli.core.fields import EncryptedTextField


class Notification(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    title = models.CharField(_("标题"), max_length=120)
    body = models.TextField(_("内容"), max_length=2000, blank=True, default="")
    url = models.CharField(max_length=300, blank=True, default="")
    created_at = models.DateTimeField(db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("通知")
        verbose_name_plural = _("通知")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at", "-created_at"], name="notification_inbox")]

    def __str__(self) -> str:
        return self.title


class WebhookKind(models.TextChoices):
    WECOM = "wecom", _("企业微信群机器人")
    JSON = "json", _("通用 JSON")


class Webhook(models.Model):
    """Posts a line for each event of the requests below ``place`` to a group chat."""

    place = models.ForeignKey("places.Place", on_delete=models.CASCADE, related_name="+", verbose_name=_("范围"))
    name = models.CharField(_("名称"), max_length=60)
    kind = models.CharField(_("类型"), max_length=16, choices=WebhookKind.choices, default=WebhookKind.WECOM)
    # The robot's address carries its key, so it is kept sealed.
    url = EncryptedTextField(_("地址"))
    is_active = models.BooleanField(_("启用"), default=True)
    last_status = models.CharField(max_length=200, blank=True, default="", editable=False)
    last_sent_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("Webhook")
        verbose_name_plural = _("Webhook")

    def __str__(self) -> str:
        return self.name
