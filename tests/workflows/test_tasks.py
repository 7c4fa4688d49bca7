"""The periodic jobs: viewflow's database timers fired in every building, and what beat
schedules (the notification sweep's own tests are in tests/notifications/test_outbox.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from django.db import connection
from django_tenants.utils import get_public_schema_name

from tenants.models import Building
from workflows.tasks import fire_workflow_timers_task

BASE_DIR = Path(__file__).resolve().parent.parent.parent
NOTHING_DUE = "0 timer(s) fired, 0 process(es) started, 0 condition(s) fired"

# What celery beat does before it schedules anything: load the worker's modules, finalize
# the app, then build its schedule from the app's configuration.
BEAT_SCHEDULE_SCRIPT = """
import json

import django

django.setup()

from celery.apps.beat import Beat
from celery.beat import Scheduler

from visit_platform.celery import app

Beat(app=app).init_loader()
schedule = Scheduler(app=app).schedule
print(json.dumps({
    name: {
        "task": entry.task,
        "every_seconds": entry.schedule.run_every.total_seconds(),
        "registered": entry.task in app.tasks,
    }
    for name, entry in schedule.items()
    if not name.startswith("celery.")
}))
"""


def beat_schedule(**environment: str) -> dict[str, Any]:
    result = subprocess.run(  # noqa: S603 (our own interpreter)
        [sys.executable, "-c", BEAT_SCHEDULE_SCRIPT],
        cwd=BASE_DIR,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "visit_platform.settings",
            "PYTHONPATH": str(BASE_DIR),
            **environment,
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def building_schemas() -> list[str]:
    return sorted(
        Building.objects.exclude(schema_name=get_public_schema_name()).values_list(
            "schema_name", flat=True
        )
    )


def test_reports_what_fired_in_every_building_by_schema(alpha: Building, beta: Building) -> None:
    reports = fire_workflow_timers_task.apply().get()

    assert reports == dict.fromkeys(building_schemas(), NOTHING_DUE)
    assert {"alpha", "beta"} <= reports.keys()


def test_never_runs_in_the_public_or_template_schema(alpha: Building) -> None:
    reports = fire_workflow_timers_task.apply().get()

    assert "public" not in reports
    assert "building_template" not in reports


def test_sent_from_a_building_still_covers_every_building_and_leaves_its_schema(
    in_alpha: Building,
) -> None:
    reports = fire_workflow_timers_task.apply().get()

    assert sorted(reports) == building_schemas()
    assert connection.schema_name == "alpha"


def test_beat_schedules_each_periodic_job_at_its_configured_interval() -> None:
    schedule = beat_schedule(
        WORKFLOW_TIMERS_INTERVAL_SECONDS="45",
        NOTIFICATION_SWEEP_INTERVAL_SECONDS="20",
        VISITOR_REMINDER_INTERVAL_SECONDS="120",
        OVERSTAY_CHECK_INTERVAL_SECONDS="90",
        GATE_SILENCE_CHECK_INTERVAL_SECONDS="15",
        RETENTION_INTERVAL_SECONDS="3600",
        FACE_RECORDS_CENSUS_INTERVAL_SECONDS="3600",
        EXPORT_EXPIRY_CHECK_INTERVAL_SECONDS="600",
    )

    assert schedule == {
        "fire-workflow-timers": {
            "task": "workflows.tasks.fire_workflow_timers_task",
            "every_seconds": 45.0,
            "registered": True,
        },
        "sweep-notifications": {
            "task": "visit_platform.notifications.tasks.sweep_notifications_task",
            "every_seconds": 20.0,
            "registered": True,
        },
        "remind-visitors": {
            "task": "workflows.tasks.remind_visitors_task",
            "every_seconds": 120.0,
            "registered": True,
        },
        "sweep-arrivals": {
            "task": "visit_platform.access.tasks.sweep_missed_arrivals_task",
            "every_seconds": 20.0,
            "registered": True,
        },
        "check-overstays": {
            "task": "visit_platform.access.tasks.check_overstays_task",
            "every_seconds": 90.0,
            "registered": True,
        },
        "apply-retention": {
            "task": "visit_platform.visits.tasks.apply_retention_task",
            "every_seconds": 3600.0,
            "registered": True,
        },
        "check-gate-silence": {
            "task": "visit_platform.access.tasks.check_gate_silence_task",
            "every_seconds": 15.0,
            "registered": True,
        },
        "count-face-records": {
            "task": "workflows.tasks.count_face_records_task",
            "every_seconds": 3600.0,
            "registered": True,
        },
        "expire-exports": {
            "task": "visit_platform.reports.tasks.expire_exports_task",
            "every_seconds": 600.0,
            "registered": True,
        },
    }


def test_a_building_whose_timers_fail_is_reported_and_the_others_still_run(
    alpha: Building, beta: Building
) -> None:
    with connection.cursor() as cursor:
        cursor.execute('ALTER TABLE "alpha"."viewflow_task" RENAME TO "viewflow_task_missing"')

    reports = fire_workflow_timers_task.apply().get()

    assert reports["alpha"] == "failed: ProgrammingError"
    assert reports["beta"] == NOTHING_DUE
