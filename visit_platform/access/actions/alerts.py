"""Acknowledging an alert: a person on the console says what was done about it."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kernel.errors import ConflictError, NotFoundError
from visit_platform.access.actions._common import invalid
from visit_platform.access.models import Alert
from visit_platform.audit.actions import Actor, record

MAX_ACKNOWLEDGEMENT_NOTE = 500


@transaction.atomic
def acknowledge_alert(actor: Actor, alert: Alert, note: str) -> Alert:
    """Close an open alert with a note, once.

    One conditional UPDATE: when two people acknowledge the same alert at once, the database
    lets exactly one of them through and the other is told who was first.
    """
    note = (note or "").strip()
    if not note:
        raise invalid(
            "note", "note_required", _("Write a note saying what was done about the alert.")
        )
    if len(note) > MAX_ACKNOWLEDGEMENT_NOTE:
        raise invalid(
            "note",
            "note_too_long",
            _("The note is at most %(limit)d characters.") % {"limit": MAX_ACKNOWLEDGEMENT_NOTE},
        )
    now = timezone.now()
    updated = Alert.objects.filter(pk=alert.pk, acknowledged_at__isnull=True).update(
        acknowledged_at=now, acknowledged_by=actor.user, acknowledgement_note=note
    )
    if not updated:
        current = Alert.objects.select_related("acknowledged_by").filter(pk=alert.pk).first()
        if current is None:
            raise NotFoundError("alert_not_found", _("No such alert."))
        who = current.acknowledged_by.email if current.acknowledged_by else _("someone else")
        raise ConflictError(
            "alert_already_acknowledged",
            _("This alert was already acknowledged by %(who)s.") % {"who": who},
        )
    alert.acknowledged_at = now
    alert.acknowledged_by = actor.user
    alert.acknowledgement_note = note
    record(actor, "alert.acknowledged", alert, kind=alert.kind, note=note)
    return alert
