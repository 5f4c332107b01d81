from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _


class LanguageForm(forms.Form):
    language = forms.ChoiceField(label=_("语言"), choices=settings.LANGUAGES, widget=forms.RadioSelect)


class ElderModeForm(forms.Form):
    elder = forms.TypedChoiceField(
        label=_("显示方式"),
        choices=[("0", _("标准版")), ("1", _("长辈版：字更大、按钮更大、导航更简单"))],
        coerce=lambda value: value == "1",
        widget=forms.RadioSelect,
    )
