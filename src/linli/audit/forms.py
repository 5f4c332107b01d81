from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

# Dates outside this range overflow when turned into the day's first and last instant.
MIN_DAY = date(1900, 1, 1)
MAX_DAY = date(9998, 12, 31)


class EventFilterForm(forms.Form):
    action = forms.CharField(label=_("动作"), required=False, max_length=80, help_text=_("前缀匹配，如 people."))
    object_type = forms.CharField(label=_("对象类型"), required=False, max_length=80)
    actor = forms.CharField(label=_("操作人"), required=False, max_length=150)
    since = forms.DateField(label=_("起始日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("截止日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def _clean_day(self, name: str) -> date | None:
        day: date | None = self.cleaned_data.get(name)
        if day is not None and not (MIN_DAY <= day <= MAX_DAY):
            raise forms.ValidationError(_("请输入 1900 年至 9998 年之间的日期。"))
        return day

    def clean_since(self) -> date | None:
        return self._clean_day("since")

    def clean_until(self) -> date | None:
        return self._clean_day("until")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", _("截止日期不能早于起始日期。"))
        return data
