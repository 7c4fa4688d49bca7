"""The Messenger: the one way the platform sends a message to a person.

Flows ask for a message to be sent (``visit_platform.notifications.actions``); a Celery task
hands it to the Messenger of its channel. Three implementations, chosen by settings:

- ``OutboxMessenger`` (development, the demo, tests): sends nothing; the message stays in the
  building's notification log, where the demo shows its text;
- ``HttpSmsMessenger``: an SMS gateway over HTTPS (``SMS_GATEWAY_URL``, ``SMS_GATEWAY_KEY``),
  the shape most Chinese SMS resellers offer; tests fake the gateway at the HTTP layer;
- ``EmailMessenger``: Django's e-mail backend.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import requests
from django.conf import settings
from django.core.mail import send_mail

# A gateway that has not answered within this time is treated as down; the task retries.
GATEWAY_TIMEOUT_SECONDS = 5


@dataclass(frozen=True)
class OutgoingMessage:
    channel: str  # "sms" or "email"
    to: str  # E.164 mobile number or e-mail address
    text: str
    subject: str = ""
    # Our id for the message, sent along so that a gateway can drop a duplicate.
    reference: str = ""


class DeliveryError(Exception):
    """The message did not go out. ``permanent`` when retrying cannot help (a refused number,
    a rejected key); otherwise the gateway was down or busy and a later attempt may work."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Messenger(Protocol):
    def send(self, message: OutgoingMessage) -> str:
        """Send ``message``; return the provider's id for it, or raise DeliveryError."""
        ...


class OutboxMessenger:
    """Development: the message is "sent" to the building's notification log only."""

    def send(self, message: OutgoingMessage) -> str:
        return f"outbox:{message.reference}"


class HttpSmsMessenger:
    """An SMS gateway that takes ``POST {"to", "text", "reference"}`` with a bearer key and
    answers ``{"id": ...}``; 4xx refuses for good, 5xx and timeouts are worth a retry."""

    def __init__(self, url: str, key: str) -> None:
        self.url = url
        self.key = key

    def send(self, message: OutgoingMessage) -> str:
        try:
            response = requests.post(
                self.url,
                json={"to": message.to, "text": message.text, "reference": message.reference},
                headers={"Authorization": f"Bearer {self.key}"},
                timeout=GATEWAY_TIMEOUT_SECONDS,
            )
        except requests.RequestException as error:
            raise DeliveryError(f"SMS gateway unreachable: {type(error).__name__}") from error
        if response.status_code >= 500 or response.status_code == 429:
            raise DeliveryError(f"SMS gateway answered {response.status_code}")
        if response.status_code >= 400:
            raise DeliveryError(
                f"SMS gateway refused the message: {response.status_code} {response.text[:200]}",
                permanent=True,
            )
        try:
            provider_id = response.json()["id"]
        except (ValueError, KeyError, TypeError) as error:
            raise DeliveryError("SMS gateway answered without a message id") from error
        return str(provider_id)[:100]


class EmailMessenger:
    def send(self, message: OutgoingMessage) -> str:
        try:
            send_mail(message.subject, message.text, None, [message.to])
        except OSError as error:  # SMTP failures are OSErrors (smtplib.SMTPException too)
            raise DeliveryError(f"mail server failed: {type(error).__name__}") from error
        return f"email:{message.reference}"


class NoGatewayMessenger:
    """Production without an SMS gateway: every SMS fails, visibly, instead of vanishing."""

    def send(self, message: OutgoingMessage) -> str:
        raise DeliveryError("No SMS gateway is configured (SMS_GATEWAY_URL).", permanent=True)


def messenger_for(channel: str) -> Messenger:
    if channel == "email":
        return EmailMessenger()
    if settings.SMS_GATEWAY_URL:
        return HttpSmsMessenger(settings.SMS_GATEWAY_URL, settings.SMS_GATEWAY_KEY)
    if settings.SMS_OUTBOX_ONLY:
        return OutboxMessenger()
    return NoGatewayMessenger()


def sends_nothing(channel: str) -> bool:
    """True where messages only reach the notification log (development and the demo), so
    that the log may show their text: a message's links and codes must not be on a screen
    when the message really went to someone's phone."""
    return isinstance(messenger_for(channel), OutboxMessenger)
