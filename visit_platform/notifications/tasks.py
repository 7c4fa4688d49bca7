"""Delivering notifications in the background. A message that could not go out yet (the
provider failed, the broker was away, a worker died) stays queued in the log, and the sweep
hands it over again when its time has come (ADR 0013)."""

from __future__ import annotations

from tenants.jobs import in_every_building
from visit_platform.celery import app
from visit_platform.notifications.actions import (
    deliver_notification,
    hand_over,
    sweep_due_notifications,
)


@app.task(ignore_result=True)
def deliver_notification_task(notification_id: int) -> None:
    """Safe to run twice: a sent notification is not sent again."""
    deliver_notification(notification_id)


@app.task(ignore_result=True)
def queue_deliveries_task(notification_ids: list[int]) -> None:
    """Queue one delivery task per notification of a batch (an event's invitations), so the
    request that queued thousands does not wait for the broker thousands of times. If the
    broker goes away meanwhile, the sweep hands over the rest."""
    for notification_id in notification_ids:
        if not hand_over(deliver_notification_task, notification_id):
            return


@app.task(ignore_result=True)
def sweep_notifications_task() -> dict[str, str]:
    """Hand every building's due queued notifications to a worker (again): what beat sends
    periodically and a worker sends itself when it starts. Returns what each building
    reported, keyed by schema, for logs and tests."""
    return in_every_building(lambda: f"{sweep_due_notifications()} handed over")
