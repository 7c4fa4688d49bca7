"""A release worker's entry points, importable before Django is set up.

A ``spawn`` worker unpickles its initializer and tasks by importing their module first; the
release runner's module imports models, which need the app registry that the initializer is
there to load.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tenants.release import BuildingOutcome


def start(database: dict[str, Any]) -> None:
    """Set Django up in a fresh worker, on the parent's database (under pytest that is
    ``test_<name>``, which no environment variable says), with one connection of its own and
    no pool: a worker runs one building at a time."""
    import django
    from django.conf import settings
    from django.db import DEFAULT_DB_ALIAS

    parent_database: dict[str, Any] = settings.DATABASES[DEFAULT_DB_ALIAS]  # type: ignore[assignment]
    parent_database.update(database)
    parent_database.get("OPTIONS", {}).pop("pool", None)
    django.setup()


def migrate(schema: str) -> BuildingOutcome:
    from tenants.release import migrate_building

    return migrate_building(schema)
