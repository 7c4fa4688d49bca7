"""Periodic work for the flows: firing viewflow's database timers in every building, and
reminding visitors that their visit is near."""

from __future__ import annotations

import io

from django.core.management import call_command
from django.db import transaction

from tenants.jobs import in_every_building
from visit_platform.celery import app
from workflows.actions.face_records import take_face_record_census
from workflows.actions.reminders import remind_visitors


@app.task(ignore_result=True)
def fire_workflow_timers_task() -> dict[str, str]:
    """Run ``workflow_timers`` once per building: viewflow's command sees one schema only.

    Safe to run twice: viewflow marks a timer fired in the same transaction that fires it.
    A building whose timers fail is logged and reported, and the others still run.
    Returns what each building reported, keyed by schema, for logs and tests.
    """

    def fire() -> str:
        output = io.StringIO()
        # A savepoint per building: what failed in one is undone there only.
        with transaction.atomic():
            call_command("workflow_timers", stdout=output)
        return output.getvalue().strip()

    return in_every_building(fire)


@app.task(ignore_result=True)
def remind_visitors_task() -> dict[str, str]:
    """Remind, in every building, the visitors whose visit starts within the next few hours
    (``remind_visitors``). Safe to run twice: each visit is reminded once."""
    return in_every_building(lambda: f"{remind_visitors()} reminded")


@app.task(ignore_result=True)
def count_face_records_task() -> int:
    """The daily face-record census over every building (ADR 0036); returns the total.
    Safe to run twice: a second census the same day stores its numbers again, and alerts
    nobody, since the one before is already over the threshold."""
    return take_face_record_census().total
