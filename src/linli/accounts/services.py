"""Every write to accounts: users, roles, second factors, API keys, sign-in throttling."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from datetime import datetime, timedelta

import pyotp
from django.conf import settings
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.accounts.access import forget_grants
from linli.accounts.backends import find_user, looks_like_phone
from linli.accounts.models import ApiKey, LoginAttempt, Role, RoleAssignment, User
from linli.audit.services import audit_record
from linli.core.crypto import lookup_hash, normalise
from linli.places.models import Place
from linli.places.signals import place_switched

TOTP_ISSUER = "linli 邻里"
# Enrolment codes: 8 digits, shown as 1234-5678, usable once within 72 hours.
ENROL_CODE_DIGITS = 8
ENROL_CODE_VALID = timedelta(hours=72)


def _phone_fields(phone: str) -> tuple[str, str | None]:
    phone = normalise(phone).removeprefix("+86") if phone else ""
    if phone and not looks_like_phone(phone):
        raise ValidationError({"phone": _("请输入 11 位手机号码。")})
    return phone, (lookup_hash(phone) if phone else None)


def validate_phone(phone: str, *, user: User | None = None) -> tuple[str, str | None]:
    """The phone as stored and its lookup hash; refused when another account has it."""
    phone, phone_hash = _phone_fields(phone)
    others = User.objects.filter(phone_hash=phone_hash)
    if user is not None:
        others = others.exclude(pk=user.pk)
    if phone_hash and others.exists():
        raise ValidationError({"phone": _("该手机号已绑定其他账号。")})
    return phone, phone_hash


def validate_username(username: str) -> str:
    username = (username or "").strip()
    if not username:
        raise ValidationError({"username": _("用户名不能为空。")})
    if len(username) > 150:
        raise ValidationError({"username": _("用户名不能超过 150 个字符。")})
    try:
        UnicodeUsernameValidator()(username)
    except ValidationError:
        raise ValidationError({"username": _("用户名只能包含字母、数字和 @/./+/-/_ 符号。")}) from None
    if looks_like_phone(username):
        # Sign-in tries a phone number first; a username that looks like one would be shadowed.
        raise ValidationError({"username": _("用户名不能是手机号码。")})
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": _("用户名已被使用。")})
    return username


def user_create(
    *, username: str, password: str | None, display_name: str = "", phone: str = "", email: str = "",
    by: User | None = None, is_superuser: bool = False,
) -> User:
    username = validate_username(username)
    phone, phone_hash = validate_phone(phone)
    with transaction.atomic():
        user = User(
            username=username, display_name=display_name, phone=phone, phone_hash=phone_hash, email=email,
            is_superuser=is_superuser, is_staff=is_superuser,
        )
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save()
        audit_record(actor=by, action="user.create", obj=user, after={"username": username})
    return user


def user_set_phone(*, user: User, phone: str, by: User | None = None) -> User:
    phone, phone_hash = validate_phone(phone, user=user)
    with transaction.atomic():
        user.phone, user.phone_hash = phone, phone_hash
        user.save(update_fields=["phone", "phone_hash"])
        audit_record(actor=by, action="user.phone_change", obj=user)
    return user


def user_set_password(*, user: User, password: str, by: User | None = None) -> User:
    """Set a new password (already validated by the caller's form)."""
    if not password:
        raise ValidationError({"password": _("密码不能为空。")})
    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password"])
        audit_record(actor=by, action="user.password_change", obj=user)
    return user


USER_EDITABLE = ("display_name", "email", "is_active", "is_staff")


def user_update(*, user: User, by: User | None = None, **changes: object) -> User:
    """Change plain account fields (name, e-mail, active, staff); phone and password
    have their own services."""
    unknown = set(changes) - set(USER_EDITABLE)
    if unknown:
        raise ValueError(f"user_update cannot change {sorted(unknown)}")
    before = {name: getattr(user, name) for name in changes}
    changed = {name: value for name, value in changes.items() if before[name] != value}
    if not changed:
        return user
    if changed.get("is_active") is False and by is not None and by.pk == user.pk:
        raise ValidationError({"is_active": _("不能停用自己的账号。")})
    with transaction.atomic():
        for name, value in changed.items():
            setattr(user, name, value)
        user.full_clean(validate_unique=False, exclude=[f.name for f in User._meta.fields if f.name not in changed])
        user.save(update_fields=list(changed))
        audit_record(actor=by, action="user.update", obj=user,
                     before={k: before[k] for k in changed}, after=changed)
    return user


def user_set_preferences(*, user: User, elder_mode: bool | None = None, language: str | None = None) -> User:
    fields = []
    if elder_mode is not None:
        user.elder_mode = elder_mode
        fields.append("elder_mode")
    if language is not None:
        user.language = language
        fields.append("language")
    if fields:
        user.save(update_fields=fields)
    return user


def role_grant(*, user: User, role: str, place: Place, by: User | None = None) -> RoleAssignment:
    if role not in Role.values:
        raise ValidationError({"role": _("未知角色。")})
    if not place.is_active:
        raise ValidationError({"place": _("该地点已停用。")})
    with transaction.atomic():
        assignment, created = RoleAssignment.objects.get_or_create(
            user=user, role=role, place=place, is_active=True, defaults={"granted_by": by}
        )
        if created:
            audit_record(actor=by, action="role.grant", obj=assignment, community_id=place.community_id,
                         after={"user": user.pk, "role": role, "place": place.pk})
    forget_grants(user)
    return assignment


def role_revoke(*, assignment: RoleAssignment, by: User | None = None) -> None:
    if not assignment.is_active:
        return
    with transaction.atomic():
        assignment.is_active = False
        assignment.save(update_fields=["is_active"])
        audit_record(actor=by, action="role.revoke", obj=assignment, community_id=assignment.place.community_id)
    forget_grants(assignment.user)


# Two-factor sign-in (TOTP, RFC 6238) -------------------------------------------------

def totp_begin(*, user: User) -> str:
    """Start enrolment, or show the same secret again while it is unconfirmed (a page
    reload must not invalidate what the person has just scanned); returns the
    otpauth:// URI."""
    if not user.totp_secret:
        user.totp_secret = pyotp.random_base32()
        user.totp_confirmed_at = None
        user.save(update_fields=["totp_secret", "totp_confirmed_at"])
    return pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.username, issuer_name=TOTP_ISSUER)


def _totp_accept(user: User, code: str, at: float | None = None) -> bool:
    code = "".join(code.split())
    if not (code.isdigit() and len(code) == 6) or not user.totp_secret:
        return False
    totp = pyotp.TOTP(user.totp_secret)
    now = at if at is not None else time.time()
    current_step = int(now // totp.interval)
    # Accept one step either side for clock drift, never a step already used.
    for step in (current_step - 1, current_step, current_step + 1):
        if step <= user.totp_last_step:
            continue
        if hmac.compare_digest(totp.at(step * totp.interval), code):
            updated = User.objects.filter(pk=user.pk, totp_last_step__lt=step).update(totp_last_step=step)
            if updated:
                user.totp_last_step = step
                return True
    return False


def needs_enrol_code(user: User) -> bool:
    """Whether binding an authenticator needs an enrolment code issued out of band:
    yes for anyone who must give a second factor (staff roles, admin users) and has
    not enrolled, so a password alone can never bind someone else's authenticator.
    A resident who turns two-factor on for themselves needs none."""
    return not user.has_totp and user.needs_second_factor()


def _enrol_code_new() -> str:
    digits = f"{secrets.randbelow(10**ENROL_CODE_DIGITS):0{ENROL_CODE_DIGITS}d}"
    return f"{digits[:4]}-{digits[4:]}"


def enrol_code_issue(*, user: User, by: User | None) -> str:
    """A new one-time enrolment code for ``user`` (any earlier one stops working),
    valid for ENROL_CODE_VALID. Only its keyed hash is kept: the caller shows it once."""
    if user.has_totp:
        raise ValidationError(_("该用户已绑定验证器应用；如需重新绑定，请先重置两步验证。"))
    code = _enrol_code_new()
    with transaction.atomic():
        user.enrol_code_hash = lookup_hash(code)
        user.enrol_code_expires_at = timezone.now() + ENROL_CODE_VALID
        user.save(update_fields=["enrol_code_hash", "enrol_code_expires_at"])
        audit_record(actor=by, action="user.enrol_code_issue", obj=user,
                     after={"expires_at": user.enrol_code_expires_at})
    return code


def _enrol_token_valid(user: User, token: str) -> bool:
    return (
        bool(token) and bool(user.enrol_code_hash)
        and user.enrol_code_expires_at is not None and user.enrol_code_expires_at > timezone.now()
        and hmac.compare_digest(user.enrol_code_hash, token)
    )


def enrol_token_valid(*, user: User, token: str) -> bool:
    """Whether a token from ``enrol_code_accept`` still stands (the code has not been
    used, replaced or expired since)."""
    return _enrol_token_valid(user, token)


def enrol_code_accept(*, user: User, code: str) -> str | None:
    """Check an enrolment code typed by the person. When it holds, enrolment starts
    afresh (a new secret, so nothing shown before the code was given can be bound)
    and a token is returned for the session: ``totp_confirm`` takes it as proof. The
    code itself is used up only when enrolment completes."""
    code = normalise(code or "")
    if not (code.isascii() and code.isdigit() and len(code) == ENROL_CODE_DIGITS):
        return None
    token = lookup_hash(code)
    if not _enrol_token_valid(user, token):
        return None
    with transaction.atomic():
        user.totp_secret = pyotp.random_base32()
        user.totp_confirmed_at = None
        user.save(update_fields=["totp_secret", "totp_confirmed_at"])
    return token


def totp_confirm(*, user: User, code: str, enrol_token: str = "") -> bool:
    """Finish enrolment with the first code from the authenticator. Whoever needs an
    enrolment code (``needs_enrol_code``) must also bring the token of an accepted,
    unexpired one; success uses it up."""
    needs_code = needs_enrol_code(user)
    if needs_code and not _enrol_token_valid(user, enrol_token):
        return False
    if not _totp_accept(user, code):
        return False
    now = timezone.now()
    with transaction.atomic():
        if needs_code:
            # Conditional, so two sessions racing with the same code cannot both enrol.
            used = User.objects.filter(
                pk=user.pk, enrol_code_hash=enrol_token, enrol_code_expires_at__gt=now
            ).update(enrol_code_hash="", enrol_code_expires_at=None)
            if not used:
                return False
            user.enrol_code_hash, user.enrol_code_expires_at = "", None
        user.totp_confirmed_at = now
        user.save(update_fields=["totp_confirmed_at"])
        audit_record(actor=user, action="user.2fa_enrolled", obj=user)
    return True


def totp_verify(*, user: User, code: str, at: float | None = None) -> bool:
    return user.has_totp and _totp_accept(user, code, at)


def totp_reset(*, user: User, by: User) -> str | None:
    """Unbind the authenticator. Someone who must give a second factor gets a fresh
    enrolment code, returned for the administrator to hand over (shown once)."""
    with transaction.atomic():
        user.totp_secret = ""
        user.totp_confirmed_at = None
        user.enrol_code_hash, user.enrol_code_expires_at = "", None
        user.save(update_fields=["totp_secret", "totp_confirmed_at", "enrol_code_hash", "enrol_code_expires_at"])
        audit_record(actor=by, action="user.2fa_reset", obj=user)
        return enrol_code_issue(user=user, by=by) if needs_enrol_code(user) else None


# Sign-in throttling -----------------------------------------------------------------

def _window_start(now: datetime) -> datetime:
    return now - timedelta(seconds=settings.LOGIN_THROTTLE_WINDOW_SECONDS)


def throttle_keys(*, identifier: str, ip: str | None) -> list[str]:
    """Failures count per account (whichever way it is named: username, phone with or
    without +86) and per address; an unknown name counts by its text."""
    user = find_user(identifier)
    if user is not None:
        keys = [f"user:{user.pk}"]
    else:
        # Keyed, so the table does not hold a crackable hash of whatever was typed.
        keys = ["id:" + lookup_hash(normalise(identifier).lower())[:40]]
    if ip:
        keys.append("ip:" + ip[:100])
    return keys


def throttle_blocked(*, keys: list[str], now: datetime | None = None) -> int:
    """Seconds until sign-in may be tried again (0 when not blocked)."""
    now = now or timezone.now()
    limit = settings.LOGIN_THROTTLE_ATTEMPTS
    # An address gets more room than an account: a whole office may share one.
    wait = 0
    for key in keys:
        allowed = limit * 10 if key.startswith("ip:") else limit
        recent = list(LoginAttempt.objects.filter(key=key, at__gte=_window_start(now)).order_by("-at").values_list("at", flat=True)[:allowed])
        if len(recent) >= allowed:
            oldest = recent[-1]
            wait = max(wait, int((oldest - _window_start(now)).total_seconds()) + 1)
    return wait


def throttle_attempt(*, keys: list[str], now: datetime | None = None) -> tuple[int, list[int]]:
    """Record this attempt first, then count, so concurrent attempts see each other and
    no more than the allowed number ever reach the password (or code) check.

    Returns (seconds to wait, ids of this attempt's rows). When blocked, this attempt's
    rows are removed again, so hammering a blocked account does not extend the pause.
    After a success, pass the ids to ``throttle_succeeded``; after a failure they stay."""
    now = now or timezone.now()
    own = [LoginAttempt.objects.create(key=key, at=now).pk for key in keys]
    limit = settings.LOGIN_THROTTLE_ATTEMPTS
    window = _window_start(now)
    wait = 0
    for key in keys:
        allowed = limit * 10 if key.startswith("ip:") else limit
        if LoginAttempt.objects.filter(key=key, at__gte=window).count() > allowed:
            earlier = list(
                LoginAttempt.objects.filter(key=key, at__gte=window).exclude(pk__in=own)
                .order_by("-at").values_list("at", flat=True)[:allowed]
            )
            oldest = earlier[-1] if earlier else now
            wait = max(wait, int((oldest - window).total_seconds()) + 1)
    if wait:
        LoginAttempt.objects.filter(pk__in=own).delete()
        return wait, []
    LoginAttempt.objects.filter(at__lt=now - timedelta(days=1)).delete()
    return 0, own


def throttle_succeeded(*, keys: list[str], attempt: list[int]) -> None:
    """A success is not a failure: drop this attempt's rows and the account's count
    (the address keeps its earlier failures: one good password must not reset a spray)."""
    LoginAttempt.objects.filter(pk__in=attempt).delete()
    throttle_clear(keys=keys)


def throttle_fail(*, keys: list[str], now: datetime | None = None) -> None:
    now = now or timezone.now()
    LoginAttempt.objects.bulk_create([LoginAttempt(key=key, at=now) for key in keys])
    LoginAttempt.objects.filter(at__lt=now - timedelta(days=1)).delete()


def throttle_clear(*, keys: list[str]) -> None:
    # The address keeps its count: one good password must not reset a spray from it.
    LoginAttempt.objects.filter(key__in=[k for k in keys if not k.startswith("ip:")]).delete()


# API keys ---------------------------------------------------------------------------

API_KEY_PREFIX = "lk_"


def _api_key_hash(secret: str) -> str:
    # The key is 256 random bits, so a fast hash is safe; a slow one would tax every call.
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def apikey_create(*, name: str, place: Place, role: str = Role.COMMUNITY_STAFF, by: User | None = None) -> tuple[ApiKey, str]:
    name = name.strip()
    if not name:
        raise ValidationError({"name": _("名称不能为空。")})
    if role not in Role.values or role == Role.RESIDENT:
        raise ValidationError({"role": _("API 密钥不能使用该角色。")})
    if not place.is_active:
        raise ValidationError({"place": _("该地点已停用。")})
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    full = f"{API_KEY_PREFIX}{prefix}_{secret}"
    with transaction.atomic():
        key = ApiKey.objects.create(name=name, prefix=prefix, key_hash=_api_key_hash(full), place=place, role=role, created_by=by)
        audit_record(actor=by, action="apikey.create", obj=key, community_id=place.community_id,
                     after={"name": name, "place": place.pk, "role": role})
    return key, full


def apikey_revoke(*, key: ApiKey, by: User | None = None) -> ApiKey:
    with transaction.atomic():
        if key.revoked_at is None:
            key.revoked_at = timezone.now()
            key.save(update_fields=["revoked_at"])
            audit_record(actor=by, action="apikey.revoke", obj=key, community_id=key.place.community_id)
    return key


# Keys verified in this process are kept briefly: a machine client calls many times a
# second, and each check was a query. A key revoked (or its place closed) stops working
# in every server process within API_KEY_CACHE_SECONDS (in the process that made the
# change, as soon as it commits).
API_KEY_CACHE_SECONDS = 10.0
_API_KEY_CACHE_MAX = 1000
_verified: dict[str, tuple[float, ApiKey]] = {}


def apikey_cache_clear(**_kwargs: object) -> None:
    _verified.clear()
    # Again once the change commits: a thread that read the old row meanwhile may have
    # put it back.
    transaction.on_commit(_verified.clear, robust=True)


def apikey_authenticate(raw: str) -> ApiKey | None:
    raw = raw.strip()
    if not raw.isascii() or not raw.startswith(API_KEY_PREFIX) or raw.count("_") < 2:
        return None
    digest = _api_key_hash(raw)
    hit = _verified.get(digest)
    if hit is not None and hit[0] > time.monotonic():
        key = hit[1]
    else:
        prefix = raw[len(API_KEY_PREFIX):].split("_", 1)[0]
        # A slice without ordering, not .first(): the prefix is unique, and ordering costs
        # the SQL compiler's time for nothing.
        rows = ApiKey.objects.select_related("place").filter(prefix=prefix, revoked_at__isnull=True).order_by()
        found = next(iter(rows[:1]), None)
        if found is None or not hmac.compare_digest(found.key_hash, digest):
            return None
        key = found
        if len(_verified) >= _API_KEY_CACHE_MAX:
            _verified.clear()
        _verified[digest] = (time.monotonic() + API_KEY_CACHE_SECONDS, key)
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > timedelta(minutes=5):
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


place_switched.connect(apikey_cache_clear, weak=False, dispatch_uid="apikey-cache-place-switched")
for _model in (ApiKey, Place):
    post_save.connect(apikey_cache_clear, sender=_model, weak=False, dispatch_uid=f"apikey-cache-{_model.__name__}")
    post_delete.connect(apikey_cache_clear, sender=_model, weak=False,
                        dispatch_uid=f"apikey-cache-del-{_model.__name__}")
