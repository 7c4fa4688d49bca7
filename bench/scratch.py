"""A scratch PostgreSQL database for one benchmark run: created fresh, dropped afterwards."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit


def _admin_connection(base_url: str) -> Any:
    import psycopg

    parts = urlsplit(base_url)
    return psycopg.connect(
        host=parts.hostname,
        port=parts.port or 5432,
        user=parts.username or "postgres",
        password=parts.password,
        dbname="postgres",
        autocommit=True,
    )


@contextmanager
def scratch_database(base_url: str, name: str) -> Iterator[str]:
    """Create database ``name`` on the server of ``base_url``; yield its URL; drop it."""
    with _admin_connection(base_url) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(base_url)._replace(path=f"/{name}"))
    finally:
        with _admin_connection(base_url) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def django_on_scratch_database(
    name: str, environment: Callable[[str], dict[str, str]] | None = None
) -> Iterator[dict[str, str]]:
    """A scratch database ``name`` on the server of ``DATABASE_URL``, with this process's
    environment pointed at it (``environment(url)`` when given, else the database URL and the
    defaults); Django's connections are closed before the database is dropped. Yields the
    environment set."""
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    with scratch_database(base, name) as database_url:
        if environment is None:
            os.environ["DATABASE_URL"] = database_url
            os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
            os.environ.setdefault("DJANGO_SETTINGS_MODULE", "visit_platform.settings")
            settings = {"DATABASE_URL": database_url}
        else:
            settings = environment(database_url)
            os.environ.update(settings)
        try:
            yield settings
        finally:
            from django.db import connections

            connections.close_all()
