"""Webhooks in Django's admin. A robot's address carries its key, so it is sealed in
the database and only ever shown masked; changing it means typing a new one. Saves go
through the services (and so the audit log)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from linli.notifications import services
from linli.notifications.models import Webhook, WebhookKind


class WebhookForm(forms.ModelForm[Webhook]):
    new_url = forms.CharField(
        label=_("地址"), required=False, max_length=services.URL_MAX,
        widget=forms.PasswordInput(attrs={"autocomplete": "off", "size": 80}),
        help_text=_("企业微信：群设置 → 群机器人 → 复制 Webhook 地址（https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…）。"
                    "地址含密钥，保存后只显示部分；修改时留空则不变。"),
    )

    class Meta:
        model = Webhook
        fields = ["name", "place", "kind", "is_active"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        new_url = (cleaned.get("new_url") or "").strip()
        kind = cleaned.get("kind") or WebhookKind.WECOM
        if not new_url and self.instance.pk is None:
            self.add_error("new_url", gettext("请填写地址。"))
            return cleaned
        try:
            services.webhook_url_check(new_url or self.instance.url, kind)
        except ValidationError as exc:
            self.add_error("new_url", exc.message_dict.get("url", exc.messages))
        return cleaned


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin[Webhook]):
    form = WebhookForm
    list_display = ["name", "kind", "place", "masked_url", "is_active", "status", "sent_at"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "place__name", "place__code"]
    list_select_related = ["place"]
    autocomplete_fields = ["place"]
    actions = ["send_test"]

    def get_fields(self, request: HttpRequest, obj: Webhook | None = None) -> tuple[str, ...]:
        if obj is None:
            return ("name", "place", "kind", "new_url", "is_active")
        return ("name", "place", "kind", "masked_url", "new_url", "is_active", "status", "sent_at")

    def get_readonly_fields(self, request: HttpRequest, obj: Webhook | None = None) -> tuple[str, ...]:
        return () if obj is None else ("masked_url", "status", "sent_at")

    @admin.display(description=_("最近状态"))
    def status(self, obj: Webhook) -> str:
        return obj.last_status or "—"

    @admin.display(description=_("最近发送"), ordering="last_sent_at")
    def sent_at(self, obj: Webhook) -> Any:
        return obj.last_sent_at or "—"

    @admin.display(description=_("地址"))
    def masked_url(self, obj: Webhook) -> str:
        return services.webhook_url_masked(obj.url) or "—"

    def save_model(self, request: HttpRequest, obj: Webhook, form: Any, change: bool) -> None:
        data = form.cleaned_data
        if change:
            saved = services.webhook_update(
                webhook=obj, by=request.user, place=data["place"], name=data["name"], kind=data["kind"],
                url=data.get("new_url") or None, is_active=data.get("is_active", False),
            )
        else:
            saved = services.webhook_create(place=data["place"], name=data["name"], kind=data["kind"],
                                            url=data["new_url"], is_active=data.get("is_active", False),
                                            by=request.user)
        obj.pk = saved.pk
        obj.refresh_from_db()
        obj._state.adding = False

    @admin.action(description=_("发送测试消息"))
    def send_test(self, request: HttpRequest, queryset: QuerySet[Webhook]) -> None:
        from linli.notifications.tasks import post_webhook

        for hook in queryset.filter(is_active=True):
            post_webhook.enqueue(webhook_id=hook.pk, text=gettext("【邻里】测试消息：%(name)s 已接通。") % {"name": hook.name})
        self.message_user(request, gettext("已发送测试消息；结果见“最近状态”（后台任务完成后更新）。"), messages.SUCCESS)
