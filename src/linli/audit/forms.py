from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _


class EventFilterForm(forms.Form):
    action = forms.CharField(label=_("动作"), required=False, max_length=80, help_text=_("前缀匹配，如 people."))
    object_type = forms.CharField(label=_("对象类型"), required=False, max_length=80)
    actor = forms.CharField(label=_("操作人"), required=False, max_length=150)
    since = forms.DateField(label=_("起始日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("截止日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", _("截止日期不能早于起始日期。"))
        return data
