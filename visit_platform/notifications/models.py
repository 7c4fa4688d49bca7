"""The notification log: every message the building sent or tried to send."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kernel.fields import actor_field
from kernel.privacy import EncryptedTextField
from visit_platform.notifications.choices import Channel, Purpose, Status
from visit_platform.visits.models import Visit


def redelivery_time() -> datetime:
    """When a message still queued is handed to a worker again: by then the hand-off made
    after commit has either delivered it or been lost (broker away, worker killed)."""
    return timezone.now() + timedelta(seconds=settings.NOTIFICATION_REDELIVERY_SECONDS)


class Notification(models.Model):
    """One message to one person, from the moment an action asked for it until the provider
    took it (or gave up). The recipient and the text are encrypted at rest: texts carry
    one-time codes and links that open passes and approvals."""

    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    purpose = models.CharField(_("purpose"), max_length=32, choices=Purpose.choices)
    recipient = EncryptedTextField(_("recipient"))
    recipient_masked = models.CharField(_("recipient"), max_length=120)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    text = EncryptedTextField(_("text"))
    visit = models.ForeignKey(
        Visit,
        verbose_name=_("visit"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="notifications",
    )
    status = models.CharField(
        _("status"), max_length=8, choices=Status.choices, default=Status.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    # The log is also the outbox of Celery hand-offs (ADR 0013): the periodic sweep hands a
    # queued message to a worker again once this time has passed.
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=redelivery_time)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)
    provider_id = models.CharField(_("provider's id"), max_length=100, blank=True)
    # WeChat's errcode of a failed template message (43004 not subscribed, 40003 bad openid,
    # 45009 quota, -1 unreachable); 0 when none.
    error_code = models.IntegerField(_("error code"), default=0)
    # A WeChat message carries its template message (JSON: template_id, data, url) here, and
    # the SMS to send instead when WeChat cannot deliver it: ``fallback_to``, with ``text``.
    payload = EncryptedTextField(_("payload"), blank=True)
    fallback_to = EncryptedTextField(_("fallback recipient"), blank=True)
    fallback_of = models.OneToOneField(
        "self",
        verbose_name=_("instead of"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="fallback",
    )
    requested_by = actor_field(_("requested by"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status=Status.QUEUED),
                name="notification_due_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.channel} to {self.recipient_masked} ({self.status})"
