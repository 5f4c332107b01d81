"""linli settings: one module, driven by the environment.

Every value comes from a ``LINLI_*`` variable (secrets also from ``LINLI_*_FILE``).
A bad value stops start-up with a message that names the variable, so an operator
never runs with a setting they did not mean.
"""

from __future__ import annotations

import base64
import binascii
import os
import zoneinfo
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent.parent
# Run-time files (SQLite database, collected static files, uploads). A source checkout
# keeps them in ./var; an installed package must be told where (LINLI_VAR_DIR).
VAR_DIR = Path(os.environ.get("LINLI_VAR_DIR") or (PROJECT_DIR / "var" if (PROJECT_DIR / "pyproject.toml").exists() else Path.cwd() / "var"))

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str:
    """A string from ``name``, or from the file named by ``name_FILE``."""
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        try:
            return Path(file_name).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE: cannot read {file_name!r}: {exc}") from exc
    value = os.environ.get(name)
    if value is None:
        if default is None:
            raise ImproperlyConfigured(f"{name} is required (or {name}_FILE naming a file).")
        return default
    return value


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}.")


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}.") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}.")
    return value


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = os.environ.get(name, default).strip()
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, not {value!r}.")
    return value


def env_field_key(name: str) -> bytes:
    raw = env_str(name)
    try:
        key = base64.urlsafe_b64decode(raw.encode("ascii") + b"=" * (-len(raw) % 4))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise ImproperlyConfigured(f"{name} must be 32 bytes in URL-safe base64.") from None
    if len(key) != 32:
        raise ImproperlyConfigured(
            f"{name} must be 32 bytes in URL-safe base64 (got {len(key)} bytes); "
            "`linli genkey` prints one."
        )
    return key


DEBUG = env_bool("LINLI_DEBUG", False)
SECRET_KEY = env_str("LINLI_SECRET_KEY")
if len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("LINLI_SECRET_KEY must be at least 50 characters; `linli genkey` prints one.")
# Encrypts sensitive personal fields at rest (AES-GCM) and keys their lookup hashes.
FIELD_ENCRYPTION_KEY = env_field_key("LINLI_FIELD_KEY")

ALLOWED_HOSTS = env_list("LINLI_ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("LINLI_CSRF_TRUSTED_ORIGINS", "")

_db_url = env_str("LINLI_DATABASE_URL", f"sqlite:///{VAR_DIR / 'linli.sqlite3'}")
try:
    _db: dict[str, Any] = dict(dj_database_url.parse(_db_url, conn_max_age=env_int("LINLI_DB_CONN_MAX_AGE", 60)))
except ValueError as exc:
    raise ImproperlyConfigured(f"LINLI_DATABASE_URL is not a usable database URL: {exc}") from exc
if _db["ENGINE"] not in ("django.db.backends.sqlite3", "django.db.backends.postgresql"):
    raise ImproperlyConfigured("LINLI_DATABASE_URL must point at SQLite or PostgreSQL.")
if not _db.get("NAME"):
    raise ImproperlyConfigured("LINLI_DATABASE_URL must name a database (…/linli or sqlite:///path/to/file).")
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run beside the one writer; IMMEDIATE avoids upgrade deadlocks.
    # Connections are kept (each server thread its own), as on PostgreSQL: opening one
    # costs more than a simple page (the pragmas, Django's SQL functions).
    _db["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
            "PRAGMA foreign_keys=ON; PRAGMA busy_timeout=20000;"
        ),
    }
_db["CONN_HEALTH_CHECKS"] = True
DATABASES: dict[str, dict[str, Any]] = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_tasks_db",
    "ninja",
    "linli.core",
    "linli.audit",
    "linli.places",
    "linli.accounts",
    "linli.people",
    "linli.notifications",
    "linli.requests",
    "linli.insights",
    "linli.deliberation",
    "linli.surveys",
    "linli.web",
    "linli.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "linli.web.middleware.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "linli.core.middleware.RejectNulMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "linli.accounts.middleware.LoginRequiredMiddleware",
    "linli.accounts.middleware.TwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "linli.urls"
WSGI_APPLICATION = "linli.wsgi.application"
ASGI_APPLICATION = "linli.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "linli.web.context_processors.shell",
                "linli.notifications.context.unread_count",
            ],
        },
    },
]

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["linli.accounts.backends.UsernameOrPhoneBackend"]
# One-time messages (an enrolment code shown once) live in the session, not in a cookie.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:home"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Failed sign-ins per account and per address before a pause (DOMAIN §8: no puzzle captchas).
LOGIN_THROTTLE_ATTEMPTS = env_int("LINLI_LOGIN_THROTTLE_ATTEMPTS", 5, minimum=1)
LOGIN_THROTTLE_WINDOW_SECONDS = env_int("LINLI_LOGIN_THROTTLE_WINDOW", 900, minimum=1)
# How many reverse proxies stand in front of linli (0: clients connect directly). The
# sign-in throttle reads the client's address from X-Forwarded-For only this deep.
TRUSTED_PROXIES = env_int("LINLI_TRUSTED_PROXIES", 0)

LANGUAGE_CODE = env_choice("LINLI_LANGUAGE", "zh-hans", ("zh-hans", "en"))
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_NAME = "linli_language"
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
TIME_ZONE = os.environ.get("LINLI_TIME_ZONE", "Asia/Shanghai")
try:
    zoneinfo.ZoneInfo(TIME_ZONE)
except (zoneinfo.ZoneInfoNotFoundError, ValueError):
    raise ImproperlyConfigured(f"LINLI_TIME_ZONE is not a known time zone: {TIME_ZONE!r}.") from None
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "/media/"
# Uploads: nothing over this is accepted (the importers check it before reading).
UPLOAD_MAX_BYTES = env_int("LINLI_UPLOAD_MAX_BYTES", 10 * 1024 * 1024, minimum=1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = UPLOAD_MAX_BYTES + 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# Photos with a request: how many at once, and how large each may be.
REQUEST_PHOTOS_MAX = env_int("LINLI_REQUEST_PHOTOS_MAX", 6, minimum=1)
REQUEST_PHOTO_MAX_BYTES = env_int("LINLI_REQUEST_PHOTO_MAX_BYTES", 8 * 1024 * 1024, minimum=1024)

_task_backend = env_choice("LINLI_TASK_BACKEND", "database", ("database", "immediate", "dummy"))
TASKS = {
    "default": {
        "BACKEND": {
            "database": "django_tasks_db.DatabaseBackend",
            "immediate": "django.tasks.backends.immediate.ImmediateBackend",
            "dummy": "django.tasks.backends.dummy.DummyBackend",
        }[_task_backend],
        "QUEUES": ["default"],
    }
}
# Open311 POSTs are queued and filed by the worker, within a second when idle (the client gets a
# GeoReport token), so bursts from machine clients cost one insert each. Without a
# worker (the immediate backend) requests are filed at once.
OPEN311_QUEUE = env_bool("LINLI_OPEN311_QUEUE", _task_backend == "database")
# The worker writes a heartbeat this often; /healthz calls it stale after three misses.
WORKER_HEARTBEAT_SECONDS = env_int("LINLI_WORKER_HEARTBEAT", 30, minimum=1)

_email = env_choice("LINLI_EMAIL", "console", ("console", "smtp", "locmem"))
_mail_options: dict[str, Any] = {}
if _email == "smtp":
    _mail_options = {
        "host": os.environ.get("LINLI_EMAIL_HOST", "localhost"),
        "port": env_int("LINLI_EMAIL_PORT", 25, minimum=1),
        "username": os.environ.get("LINLI_EMAIL_USER", ""),
        "password": env_str("LINLI_EMAIL_PASSWORD", ""),
        "use_tls": env_bool("LINLI_EMAIL_TLS", False),
        "timeout": 20,
    }
MAILERS = {
    "default": {
        "BACKEND": {
            "console": "django.core.mail.backends.console.EmailBackend",
            "smtp": "django.core.mail.backends.smtp.EmailBackend",
            "locmem": "django.core.mail.backends.locmem.EmailBackend",
        }[_email],
        "OPTIONS": _mail_options,
    }
}
# Open311 GeoReport v2: the jurisdiction_id clients may send ("" means the site's host name).
OPEN311_JURISDICTION_ID = os.environ.get("LINLI_OPEN311_JURISDICTION", "")
# The address people reach linli at, for links in emails and webhook messages ("" leaves them out).
SITE_URL = os.environ.get("LINLI_SITE_URL", "").rstrip("/")
DEFAULT_FROM_EMAIL = os.environ.get("LINLI_EMAIL_FROM", "linli@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "linli_cache",
    }
}
if os.environ.get("LINLI_REDIS_URL"):
    CACHES["default"] = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ["LINLI_REDIS_URL"],
    }

# Security. LINLI_HTTPS=true is production behind TLS: secure cookies, HSTS, redirect.
HTTPS = env_bool("LINLI_HTTPS", False)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS
SECURE_HSTS_SECONDS = 31536000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env_int("LINLI_SESSION_SECONDS", 12 * 3600, minimum=300)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# No inline scripts anywhere: every script is a static file from our own origin.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LINLI_LOG_LEVEL", "INFO")},
    "loggers": {
        # Request bodies can hold personal data: never log them.
        "django.request": {"level": "ERROR", "propagate": True},
        "django.db.backends": {"level": "WARNING"},
    },
}

NINJA_PAGINATION_PER_PAGE = 50
