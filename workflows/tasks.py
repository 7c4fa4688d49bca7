"""Periodic work for the flows: firing viewflow's database timers in every building."""

from __future__ import annotations

import io

from django.core.management import call_command
from django_tenants.utils import get_public_schema_name, schema_context

from tenants.models import Building
from visit_platform.celery import app


@app.task(ignore_result=True)
def fire_workflow_timers_task() -> dict[str, str]:
    """Run ``workflow_timers`` once per building: viewflow's command sees one schema only.

    Safe to run twice: viewflow marks a timer fired in the same transaction that fires it.
    Returns what each building reported, keyed by schema, for logs and tests.
    """
    reports: dict[str, str] = {}
    schemas = Building.objects.exclude(schema_name=get_public_schema_name()).values_list(
        "schema_name", flat=True
    )
    for schema in schemas.order_by("schema_name"):
        output = io.StringIO()
        with schema_context(schema):
            call_command("workflow_timers", stdout=output)
        reports[schema] = output.getvalue().strip()
    return reports
