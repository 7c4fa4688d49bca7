"""Periodic jobs that do the same work in every building, one schema after the other."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django_tenants.utils import get_public_schema_name, schema_context

from tenants.models import Building

logger = logging.getLogger(__name__)


def in_every_building(job: Callable[[], str]) -> dict[str, str]:
    """Run ``job`` in each building's schema (never the public one) and return what it
    reported, keyed by schema. A building whose job fails is logged and reported as failed,
    and the others still run: one broken schema must not hold back the rest."""
    reports: dict[str, str] = {}
    schemas = Building.objects.exclude(schema_name=get_public_schema_name()).values_list(
        "schema_name", flat=True
    )
    for schema in schemas.order_by("schema_name"):
        try:
            with schema_context(schema):
                reports[schema] = job()
        except Exception as error:
            logger.exception("A periodic job failed in building %s", schema)
            reports[schema] = f"failed: {type(error).__name__}"
    return reports
