"""The notification log as the outbox of Celery hand-offs (ADR 0013), against a real Redis
that the tests stop and start again: a request made while the broker is away is answered as
saved, and its host's message goes out exactly once when the broker is back, through the sweep
and a real worker. The SMS gateway is faked at the HTTP layer."""

from __future__ import annotations

import json
import logging
import threading
import uuid
from datetime import timedelta
from typing import Any

import pytest
import requests
import responses
from celery.signals import worker_ready
from django.conf import settings
from django.utils import timezone

from forms.queries import current_version
from tenants.actions import building_domain
from tenants.models import Building
from tests.conftest import client_for
from tests.forms.conftest import HOST_MOBILE, request_answers
from tests.notifications.conftest import OUTBOX_SLUG, RedisServer, run_worker
from visit_platform.audit.actions import Actor
from visit_platform.notifications.actions import (
    RETRY_DELAYS,
    Message,
    deliver_notification,
    hand_over,
    send_notification,
    send_notifications,
    sweep_due_notifications,
)
from visit_platform.notifications.models import Notification
from visit_platform.notifications.tasks import sweep_notifications_task
from visit_platform.visits.choices import Scenario
from visit_platform.visits.models import Visit

SYSTEM = Actor.system("tests")
GATEWAY = "https://sms.gateway.example/v1/messages"
HOST = f"+86{HOST_MOBILE}"


@pytest.fixture
def gateway(settings: Any) -> Any:
    """The SMS gateway, faked at the HTTP layer: it accepts every message."""
    settings.SMS_GATEWAY_URL = GATEWAY
    settings.SMS_GATEWAY_KEY = "gateway-key"
    with responses.RequestsMock(assert_all_requests_are_fired=False) as fake:
        fake.post(GATEWAY, json={"id": "gw-1"}, status=200)
        yield fake


def texts(gateway: Any, to: str | None = None) -> list[dict[str, str]]:
    """What the gateway was asked to send (to one number)."""
    bodies = [json.loads(call.request.body) for call in gateway.calls]
    return [body for body in bodies if to is None or body["to"] == to]


def queue_sms(to: str = "13812345678") -> Notification:
    return send_notification(SYSTEM, channel="sms", to=to, purpose="one_time_code", text="码")


def submit_request(building: Building) -> Any:
    body = {
        "version_id": current_version(Scenario.REQUEST).pk,
        "submission_id": str(uuid.uuid4()),
        "answers": request_answers(),
    }
    return client_for(building).post(
        "/api/forms/request/submissions", json.dumps(body), content_type="application/json"
    )


def let_time_pass() -> None:
    """Let the time of every queued message's next attempt come, as minutes passing would."""
    Notification.objects.filter(status="queued").update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )


def all_sent() -> bool:
    return not Notification.objects.filter(status="queued").exists()


# --- The sweep, in rolled-back buildings ----------------------------------------------------


@pytest.mark.django_db
def test_the_sweep_hands_over_the_queued_messages_whose_time_has_come_in_every_building(
    alpha: Building, beta: Building, broker: RedisServer
) -> None:
    from django_tenants.utils import schema_context

    now = timezone.now()
    with schema_context("alpha"):
        due, _not_yet_due, sent, failed = (queue_sms() for _message in range(4))
        Notification.objects.filter(pk__in=[due.pk, sent.pk, failed.pk]).update(
            next_attempt_at=now - timedelta(seconds=1)
        )
        Notification.objects.filter(pk=sent.pk).update(status="sent")
        Notification.objects.filter(pk=failed.pk).update(status="failed")
    with schema_context("beta"):
        due_in_beta = queue_sms()
        Notification.objects.filter(pk=due_in_beta.pk).update(next_attempt_at=now)

    reports = sweep_notifications_task()

    assert (reports["alpha"], reports["beta"]) == ("1 handed over", "1 handed over")
    assert broker.queued() == [
        ("deliver_notification_task", [due.pk], "alpha"),
        ("deliver_notification_task", [due_in_beta.pk], "beta"),
    ]
    with schema_context("alpha"):
        due.refresh_from_db()
        assert due.next_attempt_at >= now + timedelta(
            seconds=settings.NOTIFICATION_REDELIVERY_SECONDS
        )
        assert sweep_due_notifications() == 0  # left to the worker until its time comes again


@pytest.mark.django_db
def test_a_failed_attempt_is_handed_over_again_once_its_retry_delay_has_passed(
    in_alpha: Building, broker: RedisServer, settings: Any
) -> None:
    settings.SMS_GATEWAY_URL = GATEWAY
    with responses.RequestsMock() as gateway:
        gateway.post(GATEWAY, body=requests.ConnectionError("refused"))
        notification = queue_sms()
        deliver_notification(notification.pk)
    notification.refresh_from_db()
    failed_at = timezone.now()

    assert (notification.status, notification.attempts) == ("queued", 1)
    assert sweep_due_notifications(now=failed_at) == 0
    assert sweep_due_notifications(now=failed_at + timedelta(seconds=RETRY_DELAYS[0] + 1)) == 1
    assert broker.queued() == [("deliver_notification_task", [notification.pk], "alpha")]


@pytest.mark.django_db
def test_a_sweep_while_the_broker_is_away_leaves_every_message_due(
    in_alpha: Building, broker: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    notifications = [queue_sms() for _message in range(3)]
    let_time_pass()
    broker.stop()

    with caplog.at_level(logging.WARNING):
        handed_over = sweep_due_notifications()

    assert handed_over == 0
    assert "Broker unavailable" in caplog.text
    assert Notification.objects.filter(
        pk__in=[notification.pk for notification in notifications],
        next_attempt_at__lte=timezone.now(),
    ).count() == len(notifications)


@pytest.mark.django_db
def test_a_worker_that_starts_asks_for_a_sweep_at_once(broker: RedisServer) -> None:
    worker_ready.send(sender=None)

    assert broker.queued() == [("sweep_notifications_task", [], "public")]


# --- A request while the broker is away, in a committed building ----------------------------


def test_a_request_made_while_the_broker_is_down_is_saved_and_its_host_texted_once_it_is_back(
    committed: Building, broker: RedisServer, gateway: Any, caplog: pytest.LogCaptureFixture
) -> None:
    broker.stop()

    with caplog.at_level(logging.WARNING, logger="visit_platform.notifications.actions"):
        response = submit_request(committed)

    assert response.status_code == 201, response.content
    visit = Visit.objects.get(pk=response.json()["visit_id"])
    assert visit.status == "pending_approval"
    approval = Notification.objects.get(visit=visit, purpose="approval_request")
    assert (approval.status, approval.attempts) == ("queued", 0)
    assert "Broker unavailable" in caplog.text

    broker.start()
    assert sweep_notifications_task()[OUTBOX_SLUG] == "0 handed over"  # not due yet
    let_time_pass()
    assert sweep_notifications_task()[OUTBOX_SLUG] == "1 handed over"
    run_worker(until=all_sent)

    approval.refresh_from_db()
    assert (approval.status, approval.attempts) == ("sent", 1)
    assert len(texts(gateway, HOST)) == 1
    assert building_domain(OUTBOX_SLUG) in texts(gateway, HOST)[0]["text"]


def test_the_sweeps_racing_the_hand_off_after_commit_still_text_the_host_once(
    committed: Building, broker: RedisServer, gateway: Any
) -> None:
    response = submit_request(committed)  # handed over after commit: the broker is up
    assert response.status_code == 201, response.content
    assert len(broker.queued()) == 1

    let_time_pass()
    racing = [threading.Thread(target=sweep_notifications_task) for _sweep in range(2)]
    for thread in racing:
        thread.start()
    for thread in racing:
        thread.join(timeout=30)
    let_time_pass()
    sweep_notifications_task()

    approval = Notification.objects.get(purpose="approval_request")
    copies = [task for task in broker.queued() if task[1] == [approval.pk]]
    assert len(copies) >= 3  # the hand-off after commit and at least two sweeps
    run_worker(until=lambda: all_sent() and not broker.queued())

    approval.refresh_from_db()
    assert (approval.status, approval.attempts) == ("sent", 1)
    assert len(texts(gateway, HOST)) == 1


def test_a_batch_queued_while_the_broker_is_down_goes_out_once_when_it_is_back(
    committed: Building, broker: RedisServer, gateway: Any
) -> None:
    numbers = [f"+86137000000{index:02d}" for index in range(12)]
    broker.stop()

    send_notifications(
        SYSTEM,
        channel="sms",
        purpose="pass_link",
        messages=[Message(to=number, text="您的通行证") for number in numbers],
    )

    assert Notification.objects.filter(status="queued").count() == len(numbers)
    broker.start()
    let_time_pass()
    sweep_notifications_task()
    run_worker(until=all_sent)

    assert sorted(body["to"] for body in texts(gateway)) == numbers


def test_a_hand_off_that_fails_in_any_way_is_left_to_the_sweep(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class ClosedPool:
        name = "deliver"

        def delay(self, *args: Any) -> None:
            raise RuntimeError("Acquire on closed pool")

    assert hand_over(ClosedPool(), 1) is False
    assert "left to the sweep" in caplog.text
