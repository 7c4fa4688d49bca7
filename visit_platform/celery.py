"""The Celery app: tenant-aware (tasks run in the schema they were sent from), Redis broker."""

from __future__ import annotations

import os

from celery.signals import worker_ready
from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "visit_platform.settings")

app = CeleryApp("visit_platform")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

SWEEP_NOTIFICATIONS = "visit_platform.notifications.tasks.sweep_notifications_task"


@app.on_after_finalize.connect
def _schedule_periodic_jobs(sender: CeleryApp, **kwargs: object) -> None:
    from django.conf import settings

    sender.conf.beat_schedule = {
        "fire-workflow-timers": {
            "task": "workflows.tasks.fire_workflow_timers_task",
            "schedule": float(settings.WORKFLOW_TIMERS_INTERVAL_SECONDS),
        },
        "sweep-notifications": {
            "task": SWEEP_NOTIFICATIONS,
            "schedule": float(settings.NOTIFICATION_SWEEP_INTERVAL_SECONDS),
        },
        "sweep-arrivals": {
            "task": "visit_platform.access.tasks.sweep_missed_arrivals_task",
            "schedule": float(settings.NOTIFICATION_SWEEP_INTERVAL_SECONDS),
        },
        "remind-visitors": {
            "task": "workflows.tasks.remind_visitors_task",
            "schedule": float(settings.VISITOR_REMINDER_INTERVAL_SECONDS),
        },
        "check-overstays": {
            "task": "visit_platform.access.tasks.check_overstays_task",
            "schedule": float(settings.OVERSTAY_CHECK_INTERVAL_SECONDS),
        },
        "apply-retention": {
            "task": "visit_platform.visits.tasks.apply_retention_task",
            "schedule": float(settings.RETENTION_INTERVAL_SECONDS),
        },
        "count-face-records": {
            "task": "workflows.tasks.count_face_records_task",
            "schedule": float(settings.FACE_RECORDS_CENSUS_INTERVAL_SECONDS),
        },
        "check-gate-silence": {
            "task": "visit_platform.access.tasks.check_gate_silence_task",
            "schedule": float(settings.GATE_SILENCE_CHECK_INTERVAL_SECONDS),
        },
        "expire-exports": {
            "task": "visit_platform.reports.tasks.expire_exports_task",
            "schedule": float(settings.EXPORT_EXPIRY_CHECK_INTERVAL_SECONDS),
        },
    }


@worker_ready.connect
def _sweep_notifications_when_a_worker_starts(**kwargs: object) -> None:
    """A worker that starts (after a crash, or with beat down or still waiting for the broker)
    hands over what is due at once instead of waiting for beat's next sweep (ADR 0013)."""
    app.send_task(SWEEP_NOTIFICATIONS)
