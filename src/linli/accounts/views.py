from __future__ import annotations

from urllib.parse import urlencode

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout, update_session_auth_hash
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import PasswordChangeForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from linli.accounts import services
from linli.accounts.forms import CodeForm, EnrolCodeForm, LoginForm, PhoneForm
from linli.accounts.middleware import SESSION_2FA
from linli.accounts.models import RoleAssignment, User
from linli.core.crypto import mask


def _client_ip(request: HttpRequest) -> str | None:
    """The client's address. Behind N trusted reverse proxies (LINLI_TRUSTED_PROXIES)
    it is the N-th address from the right of X-Forwarded-For: entries further left
    were written by the client and cannot be trusted."""
    proxies = settings.TRUSTED_PROXIES
    if proxies:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR")


def _safe_next(request: HttpRequest, default: str = "/") -> str:
    target = request.POST.get("next") or request.GET.get("next") or default
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return default


def _minutes(seconds: int) -> int:
    return max(1, (seconds + 59) // 60)


@login_not_required
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        keys = services.throttle_keys(identifier=form.cleaned_data["identifier"], ip=_client_ip(request))
        wait, attempt = services.throttle_attempt(keys=keys)
        if wait:
            form.add_error(None, _("登录失败次数过多，请 %(minutes)d 分钟后再试。") % {"minutes": _minutes(wait)})
        else:
            user = authenticate(request, username=form.cleaned_data["identifier"], password=form.cleaned_data["password"])
            if user is None:
                form.add_error(None, _("手机号/用户名或密码不正确。"))
            else:
                services.throttle_succeeded(keys=keys, attempt=attempt)
                login(request, user)
                request.session[SESSION_2FA] = False
                if user.language:
                    request.session["linli_language"] = user.language
                return redirect(_safe_next(request))
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/login.html", {"form": form, "next": _safe_next(request)}, status=status)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("web:home")


def _qr_data_uri(uri: str) -> str:
    # svg_data_uri carries the SVG namespace; without it browsers draw nothing.
    return segno.make(uri, error="m").svg_data_uri(scale=5, dark="#111", light="#fff")


# "The enrolment code was accepted for user X in this session": {"user": pk, "token": ...}.
SESSION_ENROL = "linli_enrol"


def _enrol_code_accepted(request: HttpRequest, user: User) -> str | None:
    """The token of an enrolment code this session has given for ``user``, while it
    still stands (not used, replaced or expired since)."""
    held = request.session.get(SESSION_ENROL)
    if not isinstance(held, dict) or held.get("user") != user.pk:
        return None
    token = str(held.get("token") or "")
    return token if services.enrol_token_valid(user=user, token=token) else None


def _enrol_code_step(request: HttpRequest, user: User) -> HttpResponse:
    """Staff, first sign-in: the enrolment code an administrator issued comes before
    any QR code or secret is shown."""
    wrong = _("开通码不正确或已过期，请联系管理员重新发放。")
    posted = request.method == "POST"
    form = EnrolCodeForm(request.POST if posted else None)
    if posted and "enrol_code" not in request.POST:
        # The authenticator's code, posted after this session's enrolment code stopped working.
        form.is_valid()
        form.add_error(None, wrong)
    elif posted and form.is_valid():
        keys = [f"enrol:{user.pk}"]
        wait, attempt = services.throttle_attempt(keys=keys)
        if wait:
            form.add_error(None, _("尝试次数过多，请 %(minutes)d 分钟后再试。") % {"minutes": _minutes(wait)})
        else:
            token = services.enrol_code_accept(user=user, code=form.cleaned_data["enrol_code"])
            if token:
                services.throttle_succeeded(keys=keys, attempt=attempt)
                request.session[SESSION_ENROL] = {"user": user.pk, "token": token}
                return redirect(reverse("accounts:two_factor") + "?" + urlencode({"next": _safe_next(request)}))
            form.add_error("enrol_code", wrong)
    context = {"form": form, "enrol_code_step": True, "enrolling": True, "next": _safe_next(request)}
    return render(request, "accounts/two_factor.html", context, status=400 if posted else 200)


@never_cache  # the enrolment page shows the secret: no cache may keep it
@require_http_methods(["GET", "POST"])
def two_factor_view(request: HttpRequest) -> HttpResponse:
    """Enrol (first time) or give the one-time code (every sign-in)."""
    user: User = request.user  # type: ignore[assignment]
    # Someone already through (or not asked) may still come here to turn two-factor on.
    if request.session.get(SESSION_2FA) and user.has_totp:
        return redirect(_safe_next(request))
    enrolling = not user.has_totp
    enrol_token = ""
    if enrolling and services.needs_enrol_code(user):
        accepted = _enrol_code_accepted(request, user)
        if accepted is None:
            return _enrol_code_step(request, user)
        enrol_token = accepted
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        keys = [f"totp:{user.pk}"]
        wait, attempt = services.throttle_attempt(keys=keys)
        if wait:
            form.add_error(None, _("尝试次数过多，请 %(minutes)d 分钟后再试。") % {"minutes": _minutes(wait)})
        else:
            code = form.cleaned_data["code"]
            if enrolling:
                ok = services.totp_confirm(user=user, code=code, enrol_token=enrol_token)
            else:
                ok = services.totp_verify(user=user, code=code)
            if ok:
                services.throttle_succeeded(keys=keys, attempt=attempt)
                request.session.cycle_key()
                request.session.pop(SESSION_ENROL, None)
                request.session[SESSION_2FA] = True
                return redirect(_safe_next(request))
            form.add_error("code", _("验证码不正确或已使用，请输入验证器应用中最新的 6 位数字。"))
    context: dict[str, object] = {"form": form, "enrolling": enrolling, "next": _safe_next(request)}
    if enrolling:
        uri = services.totp_begin(user=user)
        context.update(qr=_qr_data_uri(uri), secret=user.totp_secret, uri=uri)
    return render(request, "accounts/two_factor.html", context, status=400 if request.method == "POST" else 200)


@require_http_methods(["GET", "POST"])
def profile_view(request: HttpRequest) -> HttpResponse:
    """My account: password, sign-in phone, roles and scopes, two-factor status."""
    user: User = request.user  # type: ignore[assignment]
    which = request.POST.get("form") if request.method == "POST" else None
    # Both forms check the current password: guesses there are throttled like sign-ins,
    # so a borrowed session cannot be used to find the password.
    keys = [f"pw:{user.pk}"]
    attempt: list[int] = []
    if which in ("password", "phone"):
        wait, attempt = services.throttle_attempt(keys=keys)
        if wait:
            messages.error(request, _("尝试次数过多，请 %(minutes)d 分钟后再试。") % {"minutes": _minutes(wait)})
            which = None
    password_form = PasswordChangeForm(user, request.POST if which == "password" else None)
    phone_form = PhoneForm(request.POST if which == "phone" else None, user=user)
    bound = password_form if which == "password" else phone_form if which == "phone" else None
    if bound is not None and not bound.is_valid() and not ({"old_password", "current_password"} & set(bound.errors)):
        services.throttle_succeeded(keys=[], attempt=attempt)  # not a password guess: does not count
    elif bound is not None and bound.is_valid():
        services.throttle_succeeded(keys=keys, attempt=attempt)
    if which == "password" and password_form.is_valid():
        services.user_set_password(user=user, password=password_form.cleaned_data["new_password1"], by=user)
        # Keep this session (and its second factor) signed in; other sessions end.
        update_session_auth_hash(request, user)
        messages.success(request, _("密码已修改。"))
        return redirect("accounts:profile")
    if which == "phone" and phone_form.is_valid():
        try:
            services.user_set_phone(user=user, phone=phone_form.cleaned_data["phone"], by=user)
        except ValidationError as exc:
            phone_form.add_error(None, exc)
        else:
            messages.success(request, _("手机号已更新。") if user.phone else _("已解除手机号绑定。"))
            return redirect("accounts:profile")
    roles = (
        RoleAssignment.objects.active().filter(user=user).select_related("place").order_by("place__path", "role")
    )
    context = {
        "password_form": password_form,
        "phone_form": phone_form,
        "masked_phone": mask(user.phone),
        "roles": roles,
        "two_factor_required": user.needs_second_factor(),
    }
    return render(request, "accounts/profile.html", context, status=400 if request.method == "POST" else 200)
