"""Periodic work for the flows: firing viewflow's database timers in every building."""

from __future__ import annotations

import io
import logging

from django.core.management import call_command
from django.db import transaction
from django_tenants.utils import get_public_schema_name, schema_context

from tenants.models import Building
from visit_platform.celery import app

logger = logging.getLogger(__name__)


@app.task(ignore_result=True)
def fire_workflow_timers_task() -> dict[str, str]:
    """Run ``workflow_timers`` once per building: viewflow's command sees one schema only.

    Safe to run twice: viewflow marks a timer fired in the same transaction that fires it.
    A building whose timers fail is logged and reported, and the others still run.
    Returns what each building reported, keyed by schema, for logs and tests.
    """
    reports: dict[str, str] = {}
    schemas = Building.objects.exclude(schema_name=get_public_schema_name()).values_list(
        "schema_name", flat=True
    )
    for schema in schemas.order_by("schema_name"):
        output = io.StringIO()
        try:
            # A savepoint per building: one broken schema must not hold back the others.
            with schema_context(schema), transaction.atomic():
                call_command("workflow_timers", stdout=output)
        except Exception as error:
            logger.exception("Firing workflow timers failed in building %s", schema)
            reports[schema] = f"failed: {type(error).__name__}"
            continue
        reports[schema] = output.getvalue().strip()
    return reports
