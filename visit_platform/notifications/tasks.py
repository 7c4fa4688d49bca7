"""Delivering notifications in the background, with retries while a provider is down."""

from __future__ import annotations

from typing import Any

from visit_platform.celery import app
from visit_platform.notifications.actions import MAX_ATTEMPTS, deliver_notification
from visit_platform.notifications.choices import Status

# Seconds before each retry: a gateway that is down for a few minutes loses nothing.
RETRY_DELAYS = (10, 60, 300, 900)


@app.task(bind=True, ignore_result=True, max_retries=MAX_ATTEMPTS)
def deliver_notification_task(self: Any, notification_id: int) -> None:
    """Safe to run twice: a sent notification is not sent again."""
    notification = deliver_notification(notification_id)
    if notification is not None and notification.status == Status.QUEUED:
        delay = RETRY_DELAYS[min(notification.attempts, len(RETRY_DELAYS)) - 1]
        raise self.retry(countdown=delay)


@app.task(ignore_result=True)
def queue_deliveries_task(notification_ids: list[int]) -> None:
    """Queue one delivery task per notification of a batch (an event's invitations), so the
    request that queued thousands does not wait for the broker thousands of times."""
    for notification_id in notification_ids:
        deliver_notification_task.delay(notification_id)
