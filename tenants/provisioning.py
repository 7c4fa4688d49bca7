"""Provisioning buildings: slug rules, the template schema, and the registry of provisioning steps.

Other packages add what a new building needs (signing keys, default policies, default forms)
by registering a step::

    from tenants.provisioning import provisioning_step

    @provisioning_step(order=20)
    def create_signing_key(context: ProvisioningContext) -> None:
        ...

A step runs inside the new building's schema, in the same transaction as the rest of the
provisioning: if any step fails, no schema, domain or row is left behind.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django_tenants.utils import get_public_schema_name, schema_context, schema_exists

from tenants.cloning import forget_clone_scripts
from tenants.db import tenant_connection

if TYPE_CHECKING:
    from tenants.models import Building, User

# A slug is both the building's sub-domain and its schema name, so it must be a valid host
# name label (no "_": Django refuses such hosts, every page would be a 404) and a PostgreSQL
# identifier that needs no quoting (no "-"). Lower-case letters and digits, a letter first.
SLUG_PATTERN = re.compile(r"^[a-z][a-z0-9]{1,40}$")
# Names that would collide with the public site, infrastructure host names or PostgreSQL.
RESERVED_SLUGS = frozenset(
    {
        "public",
        "www",
        "admin",
        "api",
        "app",
        "static",
        "media",
        "mail",
        "wechat",
        "ws",
        "operator",
        "platform",
        "template",
        "information_schema",
        settings.TENANT_BASE_SCHEMA,
    }
)


@dataclass
class ProvisioningContext:
    """What a provisioning step gets: the new building, its first admin, and a place to
    leave notes for the operator (printed by the command)."""

    building: Building
    admin: User
    options: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


ProvisioningStep = Callable[[ProvisioningContext], None]


@dataclass(frozen=True)
class _RegisteredStep:
    order: int
    name: str
    run: ProvisioningStep


_steps: dict[str, _RegisteredStep] = {}


def provisioning_step(order: int = 100) -> Callable[[ProvisioningStep], ProvisioningStep]:
    """Register a function to run for every new building, lowest ``order`` first."""

    def register(function: ProvisioningStep) -> ProvisioningStep:
        name = f"{function.__module__}.{function.__qualname__}"
        _steps[name] = _RegisteredStep(order, name, function)
        return function

    return register


def registered_steps() -> list[_RegisteredStep]:
    return sorted(_steps.values(), key=lambda step: (step.order, step.name))


def unregister_step(function: ProvisioningStep) -> None:
    """Remove a step (tests register temporary ones)."""
    _steps.pop(f"{function.__module__}.{function.__qualname__}", None)


def slug_problem(slug: str) -> str | None:
    """Why ``slug`` cannot name a new building, or None when it can."""
    from tenants.models import Building

    if slug in RESERVED_SLUGS or slug.startswith("pg_"):
        return "slug_reserved"
    if not SLUG_PATTERN.match(slug):
        return "slug_invalid"
    if Building.objects.filter(schema_name__iexact=slug).exists() or schema_exists(
        slug, case_sensitive=False
    ):
        return "slug_taken"
    return None


def ensure_template_schema() -> None:
    """Create or migrate the template schema that new buildings are cloned from.

    ``migrate_schemas`` only visits schemas that belong to buildings, so the template is
    brought up to date here, right before it is cloned: a clone is never older than the code.
    """
    template = settings.TENANT_BASE_SCHEMA
    if not schema_exists(template):
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE SCHEMA "{template}"')
    elif not _has_unapplied_migrations(template):
        return
    # The cached clone script describes the template as it was: forgotten first, so that even
    # a migration failing halfway leaves no script for a template that has changed.
    forget_clone_scripts()
    call_command(
        "migrate_schemas", schema_name=template, tenant=True, interactive=False, verbosity=0
    )
    tenant_connection().set_schema_to_public()


def migrate_new_schema(schema: str) -> None:
    """Create ``schema`` and run every building migration in it: the slow way, which the
    clone must equal (tests/tenants/test_cloning.py, bench/provision.py)."""
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA "{schema}"')
    call_command("migrate_schemas", schema_name=schema, tenant=True, interactive=False, verbosity=0)
    tenant_connection().set_schema_to_public()


def _has_unapplied_migrations(schema: str) -> bool:
    with schema_context(schema):
        tenant_connection().set_schema(schema, include_public=False)
        try:
            executor = MigrationExecutor(connection)
            targets = executor.loader.graph.leaf_nodes()
            return bool(executor.migration_plan(targets))
        finally:
            tenant_connection().set_schema_to_public()


def ensure_public_site() -> None:
    """The public schema is a "building" row too (django-tenants routes by it): the
    operator's site at ``BASE_DOMAIN``."""
    from tenants.models import Building, Domain

    public = get_public_schema_name()
    building, _created = Building.objects.get_or_create(
        schema_name=public, defaults={"name": "Visitor platform"}
    )
    Domain.objects.get_or_create(
        domain=settings.BASE_DOMAIN, defaults={"tenant": building, "is_primary": True}
    )
