"""The Celery app: tenant-aware (tasks run in the schema they were sent from), Redis broker."""

from __future__ import annotations

import os

from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "visit_platform.settings")

app = CeleryApp("visit_platform")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def _schedule_periodic_jobs(sender: CeleryApp, **kwargs: object) -> None:
    from django.conf import settings

    sender.conf.beat_schedule = {
        "fire-workflow-timers": {
            "task": "workflows.tasks.fire_workflow_timers_task",
            "schedule": float(settings.WORKFLOW_TIMERS_INTERVAL_SECONDS),
        },
    }
