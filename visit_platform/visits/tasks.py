"""The visits app's periodic work: forgetting personal data past its retention period."""

from __future__ import annotations

from datetime import datetime

from tenants.db import current_schema
from tenants.jobs import in_every_building
from tenants.models import Building
from visit_platform.audit.actions import Actor
from visit_platform.celery import app
from visit_platform.visits.retention import apply_retention

RETENTION_ACTOR = Actor.system("retention")


def apply_retention_here(now: datetime | None = None) -> str:
    """The current building's run, reported as counts per class (no personal data)."""
    building = Building.objects.get(schema_name=current_schema())
    runs = apply_retention(
        RETENTION_ACTOR, building_retention_days=building.retention_days, now=now
    )
    return ", ".join(f"{run.data_class} {run.count}" for run in runs)


@app.task(ignore_result=True)
def apply_retention_task(now: str | None = None) -> dict[str, str]:
    """Every building's personal data past its retention anonymised, daily by beat; safe to
    run twice (what is done no longer matches). ``now`` (ISO 8601) moves the clock, for tests
    and for catching up."""
    moment = datetime.fromisoformat(now) if now else None
    return in_every_building(lambda: apply_retention_here(moment))
