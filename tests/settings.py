"""Test settings: the real settings module, fed test values through the environment.

``LINLI_TEST_DATABASE_URL`` picks the database (CI runs the suite on SQLite and on
PostgreSQL); everything else is fixed here so tests are fast and deterministic.
"""

import os

os.environ.setdefault("LINLI_SECRET_KEY", "test-secret-key-" + "x" * 48)
os.environ.setdefault("LINLI_FIELD_KEY", "dGVzdC1maWVsZC1rZXktMzItYnl0ZXMtbG9uZy0hISE")
os.environ["LINLI_DATABASE_URL"] = os.environ.get("LINLI_TEST_DATABASE_URL", "sqlite:///:memory:")
os.environ.setdefault("LINLI_TASK_BACKEND", "immediate")
os.environ.setdefault("LINLI_EMAIL", "locmem")
os.environ.setdefault("LINLI_ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")

from linli.settings import *  # noqa: E402,F403
from linli.settings import DATABASES  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": os.environ.get("LINLI_TEST_SQLITE_NAME", "")}
# Static files come from the app directories (no collectstatic in tests).
STATIC_ROOT = None  # type: ignore[assignment]
WHITENOISE_USE_FINDERS = True
