"""One-time codes: six digits by SMS, with which a visitor proves their mobile number
(rate-limited: texts cost money and annoy)."""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from kernel.errors import (
    DomainError,
    RateLimitedError,
)
from kernel.phones import normalise_mobile
from kernel.privacy import blind_index
from tenants.db import current_schema
from tenants.models import Building
from visit_platform.audit.actions import Actor
from visit_platform.notifications.actions import send_notification
from visit_platform.notifications.choices import Channel, Purpose
from workflows.models import OneTimeCode

CODE_LIFETIME = timedelta(minutes=5)


CODE_ATTEMPTS = 5


# A number gets at most one code a minute and five an hour: SMS cost money and annoy.
CODE_INTERVAL = timedelta(minutes=1)


CODES_PER_HOUR = 5


MOBILE_INDEX = "one_time_code.mobile"


CODE_INDEX = "one_time_code.code"


@transaction.atomic
def send_one_time_code(actor: Actor, mobile: str) -> OneTimeCode:
    """Text a six-digit code to ``mobile``, in the building's language."""
    number = normalise_mobile(mobile)
    index = blind_index(number, MOBILE_INDEX)
    with connection.cursor() as cursor:
        # Two requests for the same number at once: the second waits and then sees the first.
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [index])
    now = timezone.now()
    recent = OneTimeCode.objects.filter(mobile_index=index, created_at__gt=now - timedelta(hours=1))
    if recent.filter(created_at__gt=now - CODE_INTERVAL).exists():
        raise RateLimitedError(
            "code_too_soon", _("A code was sent less than a minute ago; wait a little.")
        )
    if recent.count() >= CODES_PER_HOUR:
        raise RateLimitedError(
            "too_many_codes", _("Too many codes for this number; try again later.")
        )
    code = f"{secrets.randbelow(10**6):06d}"
    one_time_code = OneTimeCode.objects.create(
        mobile_index=index,
        code_hash=blind_index(f"{index}:{code}", CODE_INDEX),
        expires_at=now + CODE_LIFETIME,
    )
    building = Building.objects.get(schema_name=current_schema())
    with translation.override(building.default_language):
        text = _("[%(building)s] Your code is %(code)s. It is valid for 5 minutes.") % {
            "building": building.name,
            "code": code,
        }
    send_notification(
        actor, channel=Channel.SMS, to=number, purpose=Purpose.ONE_TIME_CODE, text=text
    )
    return one_time_code


def verify_one_time_code(mobile: str, code: str) -> str:
    """The mobile number (E.164) if ``code`` is the latest live code sent to it.

    Every try counts, right or wrong, before the code is compared, and a code dies after a few:
    call this outside a transaction (views do), so that a wrong guess stays counted when the
    error is raised.
    """
    number = normalise_mobile(mobile)
    index = blind_index(number, MOBILE_INDEX)
    expired = DomainError(
        "code_expired", _("The code has expired; ask for a new one."), field="code"
    )
    latest = (
        OneTimeCode.objects.filter(
            mobile_index=index, used_at__isnull=True, expires_at__gt=timezone.now()
        )
        .order_by("-created_at")
        .first()
    )
    if latest is None:
        raise expired
    counted = OneTimeCode.objects.filter(pk=latest.pk, attempts__lt=CODE_ATTEMPTS).update(
        attempts=F("attempts") + 1
    )
    if not counted:
        raise DomainError(
            "too_many_attempts", _("Too many wrong codes; ask for a new one."), field="code"
        )
    given = blind_index(f"{index}:{code.strip()[:12]}", CODE_INDEX)
    if not hmac.compare_digest(latest.code_hash, given):
        raise DomainError("code_wrong", _("The code is not right."), field="code")
    if not OneTimeCode.objects.filter(pk=latest.pk, used_at__isnull=True).update(
        used_at=timezone.now()
    ):
        raise expired  # used by a simultaneous request a moment ago
    return number
