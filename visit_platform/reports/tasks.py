"""Export jobs run by Celery workers: writing the files, and deleting them when they expire."""

from __future__ import annotations

from tenants.jobs import in_every_building
from visit_platform.celery import app
from visit_platform.reports.exports import build_export, expire_exports


@app.task(ignore_result=True)
def build_export_task(job_id: int) -> str:
    """Write one export's file in the building it was asked in (tenant-schemas-celery sends
    the schema along). Sent after commit; safe to run twice (``build_export``)."""
    job = build_export(job_id)
    return "skipped" if job is None else str(job.state)


@app.task(ignore_result=True)
def expire_exports_task() -> dict[str, str]:
    """Every building's expired export files deleted: sent periodically by beat."""
    return in_every_building(expire_exports)
