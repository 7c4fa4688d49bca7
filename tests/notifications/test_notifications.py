"""Notifications: queued by an action, delivered once through the Messenger, retried, logged.

The SMS gateway is outside this machine: ``responses`` fakes it at the HTTP layer, so the
platform's own client code runs.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
import responses
from django.core import mail
from django.db import connection
from django.test import override_settings

from kernel.errors import DomainError
from tenants.models import Building
from visit_platform.audit.actions import Actor
from visit_platform.audit.models import AuditEntry
from visit_platform.notifications import tasks
from visit_platform.notifications.actions import (
    MAX_ATTEMPTS,
    MAX_SMS_CHARACTERS,
    deliver_notification,
    send_notification,
)
from visit_platform.notifications.models import Notification

SYSTEM = Actor.system("test")
GATEWAY = "https://sms.gateway.example/v1/messages"
SMS_TEXT = "【测试大厦】您的验证码是 482913，5 分钟内有效。"


def queue_sms(to: str = "138 1234 5678", text: str = SMS_TEXT) -> Notification:
    return send_notification(SYSTEM, channel="sms", to=to, purpose="one_time_code", text=text)


@pytest.fixture
def gateway(settings: Any) -> Any:
    settings.SMS_GATEWAY_URL = GATEWAY
    settings.SMS_GATEWAY_KEY = "gateway-key"
    with responses.RequestsMock() as fake:
        yield fake


def test_a_queued_sms_is_handed_to_the_task_after_commit(
    in_alpha: Building, django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    scheduled: list[int] = []
    monkeypatch.setattr(tasks.deliver_notification_task, "delay", scheduled.append)

    with django_capture_on_commit_callbacks(execute=True):
        notification = queue_sms()

    assert scheduled == [notification.pk]
    assert (notification.status, notification.recipient) == ("queued", "+8613812345678")
    assert notification.recipient_masked == "+86138****5678"
    assert AuditEntry.objects.filter(verb="notification.queued").count() == 1


def test_in_development_an_sms_goes_to_the_log_only(in_alpha: Building) -> None:
    notification = queue_sms()

    delivered = deliver_notification(notification.pk)

    assert delivered is not None
    assert (delivered.status, delivered.attempts) == ("sent", 1)
    assert delivered.provider_id == f"outbox:alpha-{notification.pk}"


def test_the_gateway_gets_the_number_the_text_and_our_reference_with_its_key(
    in_alpha: Building, gateway: Any
) -> None:
    gateway.post(GATEWAY, json={"id": "gw-1"}, status=200)
    notification = queue_sms()

    delivered = deliver_notification(notification.pk)

    assert delivered is not None
    assert (delivered.status, delivered.provider_id) == ("sent", "gw-1")
    request = gateway.calls[0].request
    assert request.headers["Authorization"] == "Bearer gateway-key"
    assert json.loads(request.body) == {
        "to": "+8613812345678",
        "text": SMS_TEXT,
        "reference": f"alpha-{notification.pk}",
    }


def test_a_sent_notification_is_not_sent_again(in_alpha: Building, gateway: Any) -> None:
    gateway.post(GATEWAY, json={"id": "gw-1"}, status=200)
    notification = queue_sms()

    deliver_notification(notification.pk)
    again = deliver_notification(notification.pk)

    assert again is None
    assert len(gateway.calls) == 1


@pytest.mark.parametrize(
    "failure",
    [
        {"status": 503},
        {"status": 429},
        {"body": requests.ConnectionError("refused")},
        {"body": requests.Timeout("slow")},
        {"status": 200, "body": "not json"},
    ],
    ids=["503", "429", "unreachable", "timeout", "no id"],
)
def test_a_gateway_that_fails_for_now_leaves_the_message_queued_for_a_retry(
    in_alpha: Building, gateway: Any, failure: dict[str, Any]
) -> None:
    gateway.post(GATEWAY, **failure)
    notification = queue_sms()

    delivered = deliver_notification(notification.pk)

    assert delivered is not None
    assert (delivered.status, delivered.attempts) == ("queued", 1)
    assert delivered.last_error


def test_a_message_the_gateway_refuses_fails_at_once(in_alpha: Building, gateway: Any) -> None:
    gateway.post(GATEWAY, json={"error": "blacklisted number"}, status=400)
    notification = queue_sms()

    delivered = deliver_notification(notification.pk)

    assert delivered is not None
    assert delivered.status == "failed"
    assert "400" in delivered.last_error


def test_after_the_last_attempt_a_failing_message_is_marked_failed(
    in_alpha: Building, gateway: Any
) -> None:
    gateway.post(GATEWAY, status=503)
    notification = queue_sms()

    for _attempt in range(MAX_ATTEMPTS):
        delivered = deliver_notification(notification.pk)

    assert delivered is not None
    assert (delivered.status, delivered.attempts) == ("failed", MAX_ATTEMPTS)
    assert deliver_notification(notification.pk) is None


@override_settings(SMS_OUTBOX_ONLY=False, SMS_GATEWAY_URL="")
def test_production_without_a_gateway_marks_sms_failed_instead_of_pretending(
    in_alpha: Building,
) -> None:
    notification = queue_sms()

    delivered = deliver_notification(notification.pk)

    assert delivered is not None
    assert delivered.status == "failed"
    assert "SMS_GATEWAY_URL" in delivered.last_error


def test_an_email_goes_through_djangos_mail(in_alpha: Building) -> None:
    notification = send_notification(
        SYSTEM,
        channel="email",
        to="li.lei@alpha.example",
        purpose="approval_request",
        subject="访客待审批",
        text="请审批：https://alpha.localhost/a/xyz",
    )

    deliver_notification(notification.pk)

    assert [(message.subject, message.to) for message in mail.outbox] == [
        ("访客待审批", ["li.lei@alpha.example"])
    ]
    assert notification.recipient_masked == "l***@alpha.example"


@pytest.mark.parametrize(
    ("options", "code"),
    [
        ({"to": "12345"}, "mobile_invalid"),
        ({"to": "<script>alert(1)</script>"}, "mobile_invalid"),
        ({"channel": "email", "to": "not an address"}, "email_invalid"),
        ({"channel": "fax"}, "channel_invalid"),
        ({"purpose": "spam"}, "purpose_invalid"),
        ({"text": "   "}, "text_required"),
        ({"text": "码" * (MAX_SMS_CHARACTERS + 1)}, "text_too_long"),
    ],
)
def test_bad_messages_are_refused_and_nothing_is_queued(
    in_alpha: Building, options: dict[str, Any], code: str
) -> None:
    values = {"channel": "sms", "to": "13812345678", "purpose": "one_time_code", "text": "hi"}

    with pytest.raises(DomainError) as refused:
        send_notification(SYSTEM, **{**values, **options})

    assert refused.value.code == code
    assert Notification.objects.count() == 0


def test_the_recipient_and_the_text_are_not_readable_in_the_database(in_alpha: Building) -> None:
    notification = queue_sms()

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT recipient, text FROM notifications_notification WHERE id = %s",
            [notification.pk],
        )
        recipient, text = cursor.fetchone()

    assert "13812345678" not in recipient
    assert "482913" not in text
