from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from linli.accounts.models import User


class LoginForm(forms.Form):
    identifier = forms.CharField(
        label=_("手机号或用户名"), max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    password = forms.CharField(
        label=_("密码"), max_length=256, strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("验证码（6 位数字）"), min_length=6, max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )

    def clean_code(self) -> str:
        code = "".join(self.cleaned_data["code"].split())
        if not (code.isdigit() and len(code) == 6):
            raise forms.ValidationError(_("请输入验证器应用显示的 6 位数字。"))
        return code


class EnrolCodeForm(forms.Form):
    """The one-time enrolment code an administrator issued (staff, first sign-in)."""

    enrol_code = forms.CharField(
        label=_("开通码"), max_length=20,
        help_text=_("8 位数字，如 1234-5678。"),
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric", "autofocus": True}),
    )


class PhoneForm(forms.Form):
    """A new sign-in phone number; the current password confirms it is the owner."""

    phone = forms.CharField(
        label=_("手机号"), max_length=20, required=False,
        help_text=_("11 位中国大陆手机号，可用于登录；留空则解除绑定。"),
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel", "type": "tel"}),
    )
    current_password = forms.CharField(
        label=_("当前密码"), max_length=256, strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_current_password(self) -> str:
        password = self.cleaned_data["current_password"]
        if not self.user.check_password(password):
            raise forms.ValidationError(_("当前密码不正确。"))
        return password
