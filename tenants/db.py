"""The database connection as django-tenants extends it, typed for the rest of the code."""

from __future__ import annotations

from typing import cast

from django.db import connection
from django_tenants.postgresql_backend.base import DatabaseWrapper


def tenant_connection() -> DatabaseWrapper:
    """``django.db.connection`` with django-tenants' schema methods visible to type checkers."""
    return cast(DatabaseWrapper, connection)


def current_schema() -> str:
    """The schema the default connection works in now: a building's, or ``public``."""
    return str(tenant_connection().schema_name)
