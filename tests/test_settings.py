"""Production start-up: settings refuse to run without their secrets, and pass Django's
deployment checks when they have them. Each case starts ``manage.py`` in a clean environment."""

from __future__ import annotations

import base64
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

BASE_DIR = Path(__file__).resolve().parent.parent


def new_key(length: int = 32) -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(length)).decode().rstrip("=")


def production_environment(**overrides: str | None) -> dict[str, str]:
    """Everything production needs; an override of None leaves that variable out."""
    environment = {
        "PATH": os.environ["PATH"],
        "HOME": str(Path.home()),
        "DJANGO_SETTINGS_MODULE": "visit_platform.settings",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(64),
        # The servers this run uses, embedded or configured: production must name them.
        "DATABASE_URL": settings.DATABASE_URL,
        "REDIS_URL": settings.REDIS_URL,
        "BASE_DOMAIN": "visits.example.com",
        "FIELD_ENCRYPTION_KEYS": f"2026a={new_key()}",
        "BLIND_INDEX_KEY": new_key(),
    }
    for name, value in overrides.items():
        if value is None:
            environment.pop(name)
        else:
            environment[name] = value
    return environment


def manage(*arguments: str, **overrides: str | None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 (our own interpreter and manage.py)
        [sys.executable, "manage.py", *arguments],
        cwd=BASE_DIR,
        env=production_environment(**overrides),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def last_line(text: str) -> str:
    return text.strip().splitlines()[-1]


def test_production_settings_pass_the_deployment_checks() -> None:
    result = manage("check", "--deploy", "--fail-level", "WARNING")

    assert (result.returncode, result.stdout, result.stderr) == (
        0,
        "System check identified no issues (0 silenced).\n",
        "",
    )


def test_deployment_checks_fail_on_a_weak_secret_key() -> None:
    result = manage("check", "--deploy", "--fail-level", "WARNING", SECRET_KEY="short")

    assert result.returncode == 1
    assert "(security.W009)" in result.stderr


def test_start_up_without_a_secret_names_it() -> None:
    result = manage("check", BLIND_INDEX_KEY=None)

    assert result.returncode == 1
    assert last_line(result.stderr) == (
        "django.core.exceptions.ImproperlyConfigured: DEBUG is off, so these settings must be "
        "set in the environment: BLIND_INDEX_KEY. See docs/deployment.md."
    )


def test_start_up_without_secrets_names_every_missing_one() -> None:
    result = manage("check", SECRET_KEY=None, REDIS_URL=None, FIELD_ENCRYPTION_KEYS="")

    assert result.returncode == 1
    assert last_line(result.stderr) == (
        "django.core.exceptions.ImproperlyConfigured: DEBUG is off, so these settings must be "
        "set in the environment: SECRET_KEY, REDIS_URL, FIELD_ENCRYPTION_KEYS. "
        "See docs/deployment.md."
    )


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ("just-a-key", "FIELD_ENCRYPTION_KEYS must look like 'id=key,id=key'"),
        ("=abc", "FIELD_ENCRYPTION_KEYS must look like 'id=key,id=key'"),
        (",", "FIELD_ENCRYPTION_KEYS names no key"),
        ("k1=not base64!", "FIELD_ENCRYPTION_KEYS[k1] is not valid URL-safe base64"),
        ("k:1=" + "A" * 43, "FIELD_ENCRYPTION_KEYS id 'k:1' must not contain ':'"),
    ],
)
def test_start_up_refuses_malformed_encryption_keys(keys: str, message: str) -> None:
    result = manage("check", FIELD_ENCRYPTION_KEYS=keys)

    assert result.returncode == 1
    assert last_line(result.stderr) == f"django.core.exceptions.ImproperlyConfigured: {message}"


def test_start_up_refuses_an_encryption_key_of_the_wrong_length() -> None:
    result = manage("check", FIELD_ENCRYPTION_KEYS=f"old={new_key()},new={new_key(16)}")

    assert result.returncode == 1
    assert last_line(result.stderr) == (
        "django.core.exceptions.ImproperlyConfigured: "
        "FIELD_ENCRYPTION_KEYS[new] must decode to 32 bytes, not 16"
    )


def test_start_up_refuses_an_encryption_key_id_given_twice() -> None:
    result = manage("check", FIELD_ENCRYPTION_KEYS=f"k1={new_key()},k1={new_key()}")

    assert result.returncode == 1
    assert last_line(result.stderr) == (
        "django.core.exceptions.ImproperlyConfigured: "
        "FIELD_ENCRYPTION_KEYS names the key id 'k1' twice"
    )


def test_start_up_refuses_a_key_with_characters_outside_url_safe_base64() -> None:
    # Stray characters would be skipped by a lenient decoder and the rest accepted.
    key = new_key()
    result = manage("check", BLIND_INDEX_KEY=key[:20] + "*" + key[20:])

    assert result.returncode == 1
    assert last_line(result.stderr) == (
        "django.core.exceptions.ImproperlyConfigured: BLIND_INDEX_KEY is not valid URL-safe base64"
    )


def test_start_up_refuses_a_blind_index_key_of_the_wrong_length() -> None:
    result = manage("check", BLIND_INDEX_KEY=new_key(24))

    assert result.returncode == 1
    assert last_line(result.stderr) == (
        "django.core.exceptions.ImproperlyConfigured: "
        "BLIND_INDEX_KEY must decode to 32 bytes, not 24"
    )


def test_start_up_refuses_a_current_key_id_that_names_no_key() -> None:
    result = manage("check", FIELD_ENCRYPTION_KEY_ID="missing")

    assert result.returncode == 1
    assert last_line(result.stderr) == (
        "django.core.exceptions.ImproperlyConfigured: "
        "FIELD_ENCRYPTION_KEY_ID names no key in FIELD_ENCRYPTION_KEYS"
    )


def test_a_unix_socket_redis_is_given_to_each_client_in_its_own_scheme() -> None:
    # kombu knows no unix:// and TCP keepalive breaks a Unix socket.
    result = manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.conf import settings as s; print(s.CELERY_BROKER_URL); "
        "print(sorted(s.CHANNEL_LAYERS['default']['CONFIG']['hosts'][0]))",
        REDIS_URL="unix:///run/redis/redis.sock",
    )

    assert (result.returncode, result.stdout.splitlines()) == (
        0,
        ["redis+socket:///run/redis/redis.sock", "['address', 'socket_timeout']"],
    )
