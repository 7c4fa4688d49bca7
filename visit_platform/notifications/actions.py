"""Sending messages: queue one (any flow), and hand it to its Messenger (the task does).

The notification log is the outbox of these hand-offs (ADR 0013): a queued row is written in
the transaction that asks for the message, handed to a worker after commit, and handed over
again by the periodic sweep while it is still queued after its ``next_attempt_at``. So a
broker that is away when a request commits delays the message and loses nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from kombu.exceptions import OperationalError

from integrations.sms.messenger import DeliveryError, OutgoingMessage, messenger_for
from kernel.errors import DomainError
from kernel.phones import normalise_mobile
from kernel.privacy import mask_mobile
from kernel.rate_limits import count_today
from tenants.db import current_schema
from tenants.models import Building
from visit_platform.audit.actions import Actor, record, record_many
from visit_platform.directory.choices import Role
from visit_platform.directory.models import Membership
from visit_platform.notifications.choices import Channel, Purpose, Status
from visit_platform.notifications.models import Notification, redelivery_time
from visit_platform.notifications.wechat import (
    account_of_building,
    deliver_template,
    template_payload,
)
from visit_platform.visits.models import Visit

# About seven concatenated SMS of Chinese text; anything longer is not a text message.
MAX_SMS_CHARACTERS = 500
MAX_EMAIL_CHARACTERS = 20_000
MAX_ATTEMPTS = 5
# Seconds from a failed attempt to the next one: a gateway that is down for a few minutes loses
# nothing. The sweep takes the message once its time has come.
RETRY_DELAYS = (10, 60, 300, 900)
# What one sweep hands over per building at most: a batch of thousands goes out over a few
# sweeps instead of flooding the queue with copies of what workers are still sending.
SWEEP_BATCH = 1000
# ``Notification.error_code`` of a text refused because the building's daily ceiling
# (``TEXTS_PER_BUILDING_PER_DAY``) was reached; WeChat's own codes are never negative.
TEXT_CEILING_ERROR = -429

logger = logging.getLogger(__name__)


@transaction.atomic
def send_notification(
    actor: Actor,
    *,
    channel: str,
    to: str,
    purpose: str,
    text: str,
    subject: str = "",
    visit: Visit | None = None,
) -> Notification:
    """Queue a message to one person. It goes out after the current transaction commits (a
    rolled-back approval sends nothing), through a task; a failing provider or a broker that
    is away is tried again later by the sweep."""
    if channel not in Channel.values:
        raise DomainError("channel_invalid", _("Unknown channel."), field="channel")
    if purpose not in Purpose.values:
        raise DomainError("purpose_invalid", _("Unknown purpose."), field="purpose")
    recipient, masked = _recipient(channel, to)
    text = text.strip()
    limit = MAX_SMS_CHARACTERS if channel == Channel.SMS else MAX_EMAIL_CHARACTERS
    if not text:
        raise DomainError("text_required", _("The message is empty."), field="text")
    if len(text) > limit:
        raise DomainError(
            "text_too_long",
            _("The message is longer than %(limit)d characters.") % {"limit": limit},
            field="text",
        )
    notification = Notification.objects.create(
        channel=channel,
        purpose=purpose,
        recipient=recipient,
        recipient_masked=masked,
        subject=subject.strip()[:200],
        text=text,
        visit=visit,
        requested_by=actor.user,
    )
    record(actor, "notification.queued", notification, channel=channel, purpose=purpose)
    transaction.on_commit(lambda: _schedule_deliveries([notification.pk]))
    return notification


@transaction.atomic
def send_notice(
    actor: Actor,
    *,
    purpose: str,
    text: str,
    mobile: str,
    openid: str = "",
    data: dict[str, str] | None = None,
    url: str = "",
    visit: Visit | None = None,
) -> Notification:
    """A notice to a person, by WeChat where it can go there, by SMS otherwise.

    It goes by WeChat when the person's ``openid`` is known and the building's Official
    Account has a template for ``purpose``: a template message with ``data`` that opens
    ``url``. ``text`` is what the log shows and, should WeChat not deliver it (not subscribed,
    bad openid, quota, WeChat down), the SMS sent to ``mobile`` instead, exactly once.
    """
    account = account_of_building() if openid else None
    template_id = account.template_id(purpose) if account is not None else ""
    if not template_id:
        return send_notification(
            actor, channel=Channel.SMS, to=mobile, purpose=purpose, text=text, visit=visit
        )
    if purpose not in Purpose.values:
        raise DomainError("purpose_invalid", _("Unknown purpose."), field="purpose")
    text = text.strip()
    if not text or len(text) > MAX_SMS_CHARACTERS:
        raise DomainError("text_invalid", _("The message is empty or too long."), field="text")
    fallback = _recipient(Channel.SMS, mobile)[0] if mobile else ""
    notification = Notification.objects.create(
        channel=Channel.WECHAT,
        purpose=purpose,
        recipient=openid,
        recipient_masked=mask_openid(openid),
        text=text,
        payload=template_payload(template_id, data or {}, url),
        fallback_to=fallback,
        visit=visit,
        requested_by=actor.user,
    )
    record(actor, "notification.queued", notification, channel=Channel.WECHAT, purpose=purpose)
    transaction.on_commit(lambda: _schedule_deliveries([notification.pk]))
    return notification


def mask_openid(openid: str) -> str:
    return f"WeChat {openid[:4]}…{openid[-2:]}" if len(openid) > 8 else "WeChat ****"


@dataclass(frozen=True)
class Message:
    """One message of a batch for ``send_notifications``."""

    to: str
    text: str
    visit: Visit | None = None


@transaction.atomic
def send_notifications(
    actor: Actor, *, channel: str, purpose: str, messages: list[Message]
) -> list[Notification]:
    """``send_notification`` for many people at once (an event's invitations): the same
    checks, one INSERT, one audit entry per message, and one task after commit that queues
    each delivery, so committing thousands stays quick. Refuses the whole batch if one
    message is refused."""
    if channel not in Channel.values:
        raise DomainError("channel_invalid", _("Unknown channel."), field="channel")
    if purpose not in Purpose.values:
        raise DomainError("purpose_invalid", _("Unknown purpose."), field="purpose")
    limit = MAX_SMS_CHARACTERS if channel == Channel.SMS else MAX_EMAIL_CHARACTERS
    rows = []
    for message in messages:
        recipient, masked = _recipient(channel, message.to)
        text = message.text.strip()
        if not text or len(text) > limit:
            raise DomainError("text_invalid", _("A message is empty or too long."), field="text")
        rows.append(
            Notification(
                channel=channel,
                purpose=purpose,
                recipient=recipient,
                recipient_masked=masked,
                text=text,
                visit=message.visit,
                requested_by=actor.user,
            )
        )
    notifications = Notification.objects.bulk_create(rows, batch_size=2000)
    record_many(actor, "notification.queued", notifications, channel=channel, purpose=purpose)
    ids = [notification.pk for notification in notifications]
    transaction.on_commit(lambda: _schedule_deliveries(ids))
    return notifications


def in_building_language(text: str, **values: str) -> str:
    """``text`` (a message id) translated into the current building's language, with the
    building's name as ``%(building)s``: what people outside the console are sent, whatever
    language the person acting uses."""
    return in_building_language_for_each(text, [values])[0]


def in_building_language_for_each(text: str, each: list[dict[str, str]]) -> list[str]:
    """``in_building_language`` once per set of values (a batch of invitations), looking the
    building and its translation up once."""
    building = Building.objects.get(schema_name=current_schema())
    with translation.override(building.default_language):
        translated = _(text)
    return [translated % {"building": building.name, **values} for values in each]


def _recipient(channel: str, to: str) -> tuple[str, str]:
    """The address in its normal form, and as screens show it."""
    if channel == Channel.SMS:
        try:
            mobile = normalise_mobile(to)
        except DomainError as error:
            raise DomainError(error.code, error.message, field="to") from error
        return mobile, mask_mobile(mobile)
    address = to.strip()
    try:
        validate_email(address)
    except ValidationError as error:
        message = _("Enter a valid e-mail address.")
        raise DomainError("email_invalid", message, field="to") from error
    local, _at, domain = address.partition("@")
    return address, f"{local[:1]}***@{domain}"


def _schedule_deliveries(notification_ids: list[int]) -> None:
    """Called after commit: one task per message, or one task that queues a batch's."""
    from visit_platform.notifications.tasks import (
        deliver_notification_task,
        queue_deliveries_task,
    )

    if len(notification_ids) == 1:
        hand_over(deliver_notification_task, notification_ids[0])
    else:
        hand_over(queue_deliveries_task, notification_ids)


def hand_over(task: Any, *args: Any) -> bool:
    """Give ``task`` to the broker; False, with a warning, when the broker is away. Never
    raises: what a request committed is saved, and the messages it queued stay queued in the
    log, where the sweep finds them once the broker is back."""
    try:
        task.delay(*args)
    except OperationalError as error:
        logger.warning("Broker unavailable, %s left to the sweep: %s", task.name, error)
        return False
    except Exception:
        # Whatever else keeps the message from the broker, the row stays queued and the
        # sweep tries again: the request that committed it must not fail after the fact.
        logger.exception("Could not hand %s to the broker; left to the sweep", task.name)
        return False
    return True


def sweep_due_notifications(now: datetime | None = None) -> int:
    """Hand every queued message of the current building whose ``next_attempt_at`` has passed
    to a worker again, and push that time back so that the next sweeps leave it to the worker.
    Rows a worker is delivering right now (locked) are skipped. Returns how many were handed
    over; stops at the first refusal of the broker and leaves the rest due."""
    from visit_platform.notifications.tasks import deliver_notification_task

    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            Notification.objects.select_for_update(skip_locked=True)
            .filter(status=Status.QUEUED, next_attempt_at__lte=now)
            .order_by("next_attempt_at")
            .values_list("pk", flat=True)[:SWEEP_BATCH]
        )
        Notification.objects.filter(pk__in=due).update(next_attempt_at=redelivery_time())
    for handed, notification_id in enumerate(due):
        if not hand_over(deliver_notification_task, notification_id):
            Notification.objects.filter(pk__in=due[handed:], status=Status.QUEUED).update(
                next_attempt_at=now
            )
            return handed
    return len(due)


def deliver_notification(notification_id: int) -> Notification | None:
    """Hand a queued notification to its Messenger, once: the row stays locked while the
    provider answers, so a second run of the same task (a sweep's copy, a redelivered
    message) waits and then finds it sent. A worker killed meanwhile rolls back and leaves
    the message queued; it is sent again with the same reference, so that the gateway can drop
    a duplicate. Returns the notification (still queued, with the time of its next attempt,
    if the attempt failed and may be retried), or None when there was nothing to send."""
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update()
            .filter(pk=notification_id, status=Status.QUEUED)
            .first()
        )
        if notification is None:
            return None
        message = OutgoingMessage(
            channel=notification.channel,
            to=notification.recipient,
            text=notification.text,
            subject=notification.subject,
            reference=f"{current_schema()}-{notification.pk}",
        )
        notification.attempts += 1
        if notification.channel == Channel.WECHAT:
            _deliver_by_wechat(notification)
            return notification
        if notification.channel == Channel.SMS and not _within_text_ceiling():
            notification.status = Status.FAILED
            notification.error_code = TEXT_CEILING_ERROR
            notification.last_error = "text_ceiling: the building's texts for today are spent"
            notification.save(update_fields=["attempts", "status", "error_code", "last_error"])
            return notification
        try:
            notification.provider_id = messenger_for(notification.channel).send(message)
        except DeliveryError as error:
            notification.last_error = str(error)[:300]
            if error.permanent or notification.attempts >= MAX_ATTEMPTS:
                notification.status = Status.FAILED
            else:
                delay = RETRY_DELAYS[min(notification.attempts, len(RETRY_DELAYS)) - 1]
                notification.next_attempt_at = timezone.now() + timedelta(seconds=delay)
        else:
            notification.status = Status.SENT
            notification.sent_at = timezone.now()
            notification.last_error = ""
        notification.save(
            update_fields=[
                "attempts",
                "provider_id",
                "last_error",
                "status",
                "sent_at",
                "next_attempt_at",
            ]
        )
        return notification


def _deliver_by_wechat(notification: Notification) -> None:
    """One template message, tried once (inside ``deliver_notification``'s lock): sent, or
    failed with WeChat's code and, where the person has a mobile, the same text queued by SMS
    (``fallback_of`` this message, so the log shows both attempts). WeChat's refusals do not
    heal with retries (43004 until the user follows the account again, 45009 until tomorrow);
    the SMS gets there now."""
    result = deliver_template(notification.recipient, notification.payload)
    notification.error_code = result.errcode
    if result.sent:
        notification.status = Status.SENT
        notification.sent_at = timezone.now()
        notification.provider_id = str(result.msgid or "")
        notification.last_error = ""
    else:
        notification.status = Status.FAILED
        notification.last_error = f"WeChat {result.errcode}: {result.errmsg}"[:300]
    notification.save(
        update_fields=["attempts", "status", "sent_at", "provider_id", "last_error", "error_code"]
    )
    if result.sent or not notification.fallback_to:
        return
    fallback = Notification.objects.create(
        channel=Channel.SMS,
        purpose=notification.purpose,
        recipient=notification.fallback_to,
        recipient_masked=mask_mobile(notification.fallback_to),
        text=notification.text,
        visit_id=notification.visit_id,
        fallback_of=notification,
    )
    record(
        Actor.system("notifications"),
        "notification.fallback",
        fallback,
        instead_of=notification.pk,
        error_code=result.errcode,
    )
    transaction.on_commit(lambda: _schedule_deliveries([fallback.pk]))


def _within_text_ceiling() -> bool:
    """Counts one text of the current building today: False once the day's ceiling is passed.
    The first text over it alerts the property admins, so they hear of it once a day. Without
    Redis the text goes out (the count fails open, like ``kernel.rate_limits``)."""
    count = count_today("texts")
    ceiling = settings.TEXTS_PER_BUILDING_PER_DAY
    if count is None or count <= ceiling:
        return True
    if count == ceiling + 1:
        _alert_text_ceiling(ceiling)
    return False


def _alert_text_ceiling(ceiling: int) -> None:
    """An e-mail to each active property admin (through the log, like any message), and an
    error in the server's log for the operator."""
    logger.error("Building %s reached its daily ceiling of %d texts", current_schema(), ceiling)
    text = _(
        "Today's ceiling of %(ceiling)d text messages for this building was reached; further "
        "texts are not sent until tomorrow. Check the notification log for unusual requests, "
        "or raise TEXTS_PER_BUILDING_PER_DAY."
    ) % {"ceiling": ceiling}
    admins = Membership.objects.filter(role=Role.PROPERTY_ADMIN, is_active=True)
    user_model = get_user_model()
    emails = (
        user_model.objects.filter(pk__in=admins.values("user_id"), is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
    )
    for email in sorted(set(emails)):
        send_notification(
            Actor.system("notifications"),
            channel=Channel.EMAIL,
            to=email,
            purpose=Purpose.TEXT_CEILING,
            subject=_("Daily text ceiling reached"),
            text=text,
        )
