"""Start-up configuration: every bad value stops the process and names its variable.

Each case imports ``linli.settings`` in a fresh interpreter with a clean environment
(the test process has its own test values in ``os.environ``), exactly as an operator
would start linli.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest

GOOD_SECRET = "s" * 60
GOOD_FIELD_KEY = base64.urlsafe_b64encode(b"k" * 32).decode("ascii").rstrip("=")


def linli_command() -> list[str]:
    """The installed `linli` console script, or the same entry point through -m."""
    script = Path(sys.executable).with_name("linli")
    return [str(script)] if script.exists() else [sys.executable, "-m", "linli.cli"]


def clean_env(tmp_path: Path, **values: str | None) -> dict[str, str]:
    """The caller's environment without any linli or Django setting, plus ``values``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LINLI_", "DJANGO_"))}
    var_dir = tmp_path / "var"
    var_dir.mkdir(exist_ok=True)
    env.update(
        LINLI_VAR_DIR=str(var_dir),
        LINLI_SECRET_KEY=GOOD_SECRET,
        LINLI_FIELD_KEY=GOOD_FIELD_KEY,
    )
    for name, value in values.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def import_settings(env: dict[str, str], code: str = "import linli.settings") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=env["LINLI_VAR_DIR"], capture_output=True, text=True,
        timeout=60, check=False,
    )


def test_good_environment_starts(tmp_path: Path) -> None:
    result = import_settings(clean_env(tmp_path), "import linli.settings as s; print(s.TIME_ZONE, s.LANGUAGE_CODE)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["Asia/Shanghai", "zh-hans"]


BAD_VALUES: list[tuple[str, dict[str, str | None], str]] = [
    ("missing secret key", {"LINLI_SECRET_KEY": None}, "LINLI_SECRET_KEY"),
    ("short secret key", {"LINLI_SECRET_KEY": "too-short"}, "LINLI_SECRET_KEY"),
    ("missing field key", {"LINLI_FIELD_KEY": None}, "LINLI_FIELD_KEY"),
    ("field key of 16 bytes", {"LINLI_FIELD_KEY": base64.urlsafe_b64encode(b"k" * 16).decode()}, "LINLI_FIELD_KEY"),
    ("field key of 48 bytes", {"LINLI_FIELD_KEY": base64.urlsafe_b64encode(b"k" * 48).decode()}, "LINLI_FIELD_KEY"),
    ("field key not base64", {"LINLI_FIELD_KEY": "this is not base64 at all!"}, "LINLI_FIELD_KEY"),
    ("field key not ASCII", {"LINLI_FIELD_KEY": "密钥密钥密钥密钥密钥密钥密钥密钥密钥密钥密钥"}, "LINLI_FIELD_KEY"),
    ("debug neither true nor false", {"LINLI_DEBUG": "maybe"}, "LINLI_DEBUG"),
    ("https neither true nor false", {"LINLI_HTTPS": "sometimes"}, "LINLI_HTTPS"),
    ("MySQL database", {"LINLI_DATABASE_URL": "mysql://linli@db.example.org/linli"}, "LINLI_DATABASE_URL"),
    ("garbage database URL", {"LINLI_DATABASE_URL": "garbage"}, "LINLI_DATABASE_URL"),
    ("unknown time zone", {"LINLI_TIME_ZONE": "Mars/Base"}, "LINLI_TIME_ZONE"),
    ("unknown task backend", {"LINLI_TASK_BACKEND": "nope"}, "LINLI_TASK_BACKEND"),
    ("unknown language", {"LINLI_LANGUAGE": "fr"}, "LINLI_LANGUAGE"),
    ("unknown email backend", {"LINLI_EMAIL": "pigeon"}, "LINLI_EMAIL"),
    ("heartbeat not a number", {"LINLI_WORKER_HEARTBEAT": "often"}, "LINLI_WORKER_HEARTBEAT"),
    ("heartbeat of zero", {"LINLI_WORKER_HEARTBEAT": "0"}, "LINLI_WORKER_HEARTBEAT"),
    ("tiny upload limit", {"LINLI_UPLOAD_MAX_BYTES": "10"}, "LINLI_UPLOAD_MAX_BYTES"),
    ("secret key file missing", {"LINLI_SECRET_KEY_FILE": "/nonexistent/linli/secret_key"}, "LINLI_SECRET_KEY_FILE"),
    ("field key file missing", {"LINLI_FIELD_KEY_FILE": "/nonexistent/linli/field_key"}, "LINLI_FIELD_KEY_FILE"),
]


@pytest.mark.parametrize(("change", "variable"), [(c, v) for _, c, v in BAD_VALUES], ids=[i for i, _, _ in BAD_VALUES])
def test_bad_value_stops_start_up_naming_the_variable(tmp_path: Path, change: dict[str, str | None], variable: str) -> None:
    result = import_settings(clean_env(tmp_path, **change))
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert variable in result.stderr


def test_secrets_can_come_from_files(tmp_path: Path) -> None:
    secret_file = tmp_path / "secret_key"
    field_file = tmp_path / "field_key"
    secret = "f" * 70
    field_key = base64.urlsafe_b64encode(bytes(range(32))).decode("ascii").rstrip("=")
    secret_file.write_text(secret + "\n", encoding="utf-8")
    field_file.write_text(field_key + "\n", encoding="utf-8")
    env = clean_env(
        tmp_path, LINLI_SECRET_KEY=None, LINLI_FIELD_KEY=None,
        LINLI_SECRET_KEY_FILE=str(secret_file), LINLI_FIELD_KEY_FILE=str(field_file),
    )
    result = import_settings(env, "import linli.settings as s; print(s.SECRET_KEY); print(s.FIELD_ENCRYPTION_KEY.hex())")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [secret, bytes(range(32)).hex()]


def test_file_wins_over_the_plain_variable(tmp_path: Path) -> None:
    secret_file = tmp_path / "secret_key"
    secret_file.write_text("g" * 55, encoding="utf-8")
    env = clean_env(tmp_path, LINLI_SECRET_KEY_FILE=str(secret_file))
    result = import_settings(env, "import linli.settings as s; print(s.SECRET_KEY)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "g" * 55


def test_database_url_choices(tmp_path: Path) -> None:
    code = "import linli.settings as s; d = s.DATABASES['default']; print(d['ENGINE'], d['NAME'])"
    sqlite = import_settings(clean_env(tmp_path, LINLI_DATABASE_URL=f"sqlite:///{tmp_path}/x.sqlite3"), code)
    postgres = import_settings(clean_env(tmp_path, LINLI_DATABASE_URL="postgres://linli@db.example.org:5432/linli"), code)
    assert sqlite.stdout.split() == ["django.db.backends.sqlite3", f"{tmp_path}/x.sqlite3"]
    assert postgres.stdout.split() == ["django.db.backends.postgresql", "linli"]


def run_linli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*linli_command(), *args], env=env, cwd=env["LINLI_VAR_DIR"], capture_output=True, text=True,
        timeout=120, check=False,
    )


def test_genkey_prints_keys_the_settings_accept(tmp_path: Path) -> None:
    env = clean_env(tmp_path, LINLI_SECRET_KEY=None, LINLI_FIELD_KEY=None)
    secret = run_linli(["genkey", "secret"], env)
    field = run_linli(["genkey", "field"], env)
    again = run_linli(["genkey", "secret"], env)
    assert secret.returncode == field.returncode == 0
    assert len(secret.stdout.strip()) >= 50
    assert secret.stdout != again.stdout
    assert len(base64.urlsafe_b64decode(field.stdout.strip() + "==")) == 32
    env.update(LINLI_SECRET_KEY=secret.stdout.strip(), LINLI_FIELD_KEY=field.stdout.strip())
    assert import_settings(env).returncode == 0


def test_genkey_rejects_unknown_kinds(tmp_path: Path) -> None:
    result = run_linli(["genkey", "password"], clean_env(tmp_path))
    assert result.returncode == 2
    assert "usage: linli genkey secret|field" in result.stderr


def test_linli_reports_configuration_errors_without_a_traceback(tmp_path: Path) -> None:
    result = run_linli(["check"], clean_env(tmp_path, LINLI_DEBUG="maybe"))
    assert result.returncode == 2
    assert "linli: configuration error: LINLI_DEBUG" in result.stderr
    assert "Traceback" not in result.stderr


def production_env(tmp_path: Path, **values: str) -> dict[str, str]:
    env = clean_env(
        tmp_path,
        LINLI_SECRET_KEY=run_linli(["genkey", "secret"], clean_env(tmp_path)).stdout.strip(),
        LINLI_FIELD_KEY=run_linli(["genkey", "field"], clean_env(tmp_path)).stdout.strip(),
        LINLI_HTTPS="true",
        LINLI_DEBUG="false",
        LINLI_ALLOWED_HOSTS="linli.example.org",
        LINLI_EMAIL="smtp",
        LINLI_DATABASE_URL=f"sqlite:///{tmp_path}/deploy.sqlite3",
    )
    env.update(values)
    return env


def test_production_settings_pass_the_deployment_check(tmp_path: Path) -> None:
    result = run_linli(["check", "--deploy", "--fail-level", "WARNING"], production_env(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_deployment_check_fails_without_https(tmp_path: Path) -> None:
    # Proves the check above can fail: plain HTTP leaves cookies insecure and no HSTS.
    result = run_linli(["check", "--deploy", "--fail-level", "WARNING"], production_env(tmp_path, LINLI_HTTPS="false"))
    assert result.returncode != 0
    assert "security.W004" in result.stderr  # SECURE_HSTS_SECONDS
    assert "security.W012" in result.stderr  # SESSION_COOKIE_SECURE
