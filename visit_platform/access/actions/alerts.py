"""Alerts the platform raises itself, what every alert tells the live screens, and
acknowledging one: a person on the console says what was done about it.

Gate agents report their controllers' signals through ``record_alert`` (passages module);
everything else that security must look at (a watchlist hit, a burst of refusals, an agent or
controller gone silent, an overstay) is raised here, once per ``key``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kernel.errors import ConflictError, NotFoundError
from tenants.db import current_schema
from visit_platform.access.actions._common import invalid, publish_on_commit
from visit_platform.access.choices import URGENT_ALERT_KINDS, AlertKind
from visit_platform.access.models import AccessEvent, Alert, Controller, Gate, GateAgent
from visit_platform.audit.actions import Actor, record
from visit_platform.visits.models import Visit

ALERT_ACTOR = Actor.system("alerts")
# Alert ids the platform derives from a key are UUIDv5 in this namespace: raising the same
# alert twice (two workers, a job run again) finds the first.
_ALERT_NAMESPACE = uuid.UUID("6f1c2a52-6a3e-4d8e-9b1e-3f0e5c7a9d21")


def raise_alert(
    kind: AlertKind,
    *,
    key: str,
    gate: Gate | None = None,
    controller: Controller | None = None,
    agent: GateAgent | None = None,
    visit: Visit | None = None,
    details: dict[str, Any] | None = None,
    occurred_at: datetime | None = None,
) -> tuple[Alert, bool]:
    """Raise an alert of the platform's own, once per ``key`` in this building (say
    ``f"agent-offline:{agent.pk}:{silent_since}"``: one alert per outage). Returns the alert
    and whether it had been raised before. The screens hear of it after commit."""
    event_id = uuid.uuid5(_ALERT_NAMESPACE, f"{current_schema()}:{kind}:{key}")
    existing = Alert.objects.filter(event_id=event_id).first()
    if existing is not None:
        return existing, True
    try:
        with transaction.atomic():
            alert = Alert.objects.create(
                event_id=event_id,
                kind=kind,
                gate=gate,
                controller=controller,
                agent=agent,
                visit=visit,
                details=details or {},
                occurred_at=occurred_at or timezone.now(),
            )
            record(ALERT_ACTOR, "alert.raised", alert, kind=kind, **(details or {}))
    except IntegrityError:
        existing = Alert.objects.filter(event_id=event_id).first()
        if existing is None:
            raise
        return existing, True
    publish_alert(alert)
    return alert, False


def raise_watchlist_hit(event: AccessEvent) -> Alert:
    """Alert security that a watchlisted person was refused at a gate: once per access event,
    so a replayed scan or an agent's journal sent again raises it once."""
    visit = (
        Visit.objects.select_related("visitor").filter(pk=event.visit_id).first()
        if event.visit_id
        else None
    )
    alert, _replayed = raise_alert(
        AlertKind.WATCHLIST_HIT,
        key=f"watchlist-hit:{event.event_id}",
        gate=event.gate,
        agent=event.agent,
        visit=visit,
        details={"event_id": str(event.event_id), "mode": event.mode},
        occurred_at=event.occurred_at,
    )
    return alert


def alert_payload(alert: Alert) -> dict[str, Any]:
    """What the live screens are told of an alert. ``visitor`` is the full name: the screen's
    consumer masks it for the roles that see masks."""
    visit = alert.visit
    return {
        "type": "alert",
        "id": alert.pk,
        "event_id": str(alert.event_id),
        "kind": alert.kind,
        "urgent": alert.kind in URGENT_ALERT_KINDS,
        "gate": alert.gate.name if alert.gate else None,
        "gate_id": alert.gate_id,
        "zone": alert.gate.zone if alert.gate else None,
        "controller": alert.controller.name if alert.controller else None,
        "agent": alert.agent.name if alert.agent else None,
        "visit_id": alert.visit_id,
        "visitor": visit.visitor_name if visit is not None else None,
        "details": alert.details,
        "occurred_at": alert.occurred_at.isoformat(),
        "acknowledged_at": alert.acknowledged_at.isoformat() if alert.acknowledged_at else None,
    }


def publish_alert(alert: Alert) -> None:
    """Tell the building's screens of a new or acknowledged alert, after commit."""
    publish_on_commit(alert_payload(alert))


def note_alert_visitors_viewed(actor: Actor, *, visits: list[int]) -> None:
    """Audit that someone saw the full names of the visitors these alerts are about."""
    record(actor, "alerts.visitors_viewed", None, visits=visits)


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
    publish_on_commit(
        {
            "type": "alert_acknowledged",
            "id": alert.pk,
            "by": actor.name,
            "note": note,
            "acknowledged_at": now.isoformat(),
        }
    )
    return alert
