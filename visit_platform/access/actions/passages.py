"""Passages and alerts that gate agents report afterwards, recorded once by event id."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from kernel.errors import DomainError
from visit_platform.access.actions._common import publish_on_commit
from visit_platform.access.actions.decision import (
    Decision,
    _first_answer,
    _let_out,
    _new_event,
    _record,
    _Replayed,
)
from visit_platform.access.choices import PASSAGE_REASONS, AlertKind, Direction, Mode, Reason
from visit_platform.access.models import AccessEvent, Alert, Controller, Gate, GateAgent, Pass
from visit_platform.visits.choices import VisitStatus
from visit_platform.visits.models import Visit


@dataclass(frozen=True)
class ReportedPassage:
    """A passage an agent reports afterwards: counted by the turnstile without a scan, or a
    scan it decided offline (then ``pass_id``, ``granted`` and ``reason`` are its verdict)."""

    event_id: uuid.UUID
    gate: Gate
    direction: str
    occurred_at: datetime
    pass_id: int | None = None
    granted: bool = True
    reason: str = Reason.PASSAGE
    mode: str = Mode.OFFLINE


def record_passage(passage: ReportedPassage, agent: GateAgent | None = None) -> Decision:
    """Record a reported passage once (idempotent by event id) and apply what it means:
    a granted entry on a pass uses it and checks the visit in; an exit checks it out."""
    if AccessEvent.objects.filter(event_id=passage.event_id).exists():
        return _first_answer(passage.event_id)
    if passage.direction not in Direction.values:
        raise DomainError("direction_invalid", _("Unknown direction."), field="direction")
    if passage.reason not in Reason.values:
        raise DomainError("reason_invalid", _("Unknown reason code."), field="reason")
    reason = Reason(passage.reason)
    if passage.granted != (reason in PASSAGE_REASONS):
        raise DomainError(
            "reason_invalid", _("The reason does not match whether the passage was granted.")
        )
    try:
        with transaction.atomic():
            # A pass that no longer exists still had someone walk through: the passage is
            # counted without it, rather than blocking the agent's journal for ever.
            pass_ids = (
                Pass.objects.filter(pk=passage.pass_id).values_list("pk", "visit_id").first()
                if passage.pass_id is not None
                else None
            )
            if pass_ids is not None and passage.granted:
                pass_id, visit_id = pass_ids
                if passage.direction == Direction.IN:
                    # Already let through by the agent: count it, whatever the limit says now.
                    Pass.objects.filter(pk=pass_id).update(uses=F("uses") + 1, is_inside=True)
                    Visit.objects.filter(
                        pk=visit_id, status__in=[VisitStatus.APPROVED, VisitStatus.CHECKED_OUT]
                    ).update(
                        status=VisitStatus.CHECKED_IN,
                        checked_in_at=Coalesce("checked_in_at", passage.occurred_at),
                    )
                else:
                    _let_out(pass_id, visit_id, passage.occurred_at)
            event = _new_event(
                passage.event_id,
                passage.gate,
                agent,
                pass_ids,
                passage.direction,
                passage.occurred_at,
                reason,
                passage.mode,
            )
            return _record(event)
    except _Replayed:
        return _first_answer(passage.event_id)


@dataclass(frozen=True)
class ReportedAlert:
    event_id: uuid.UUID
    kind: str
    occurred_at: datetime
    controller: Controller | None = None
    gate: Gate | None = None


def record_alert(alert: ReportedAlert, agent: GateAgent | None = None) -> tuple[Alert, bool]:
    """Store an alert once (idempotent by event id); returns it and whether it was a replay."""
    if alert.kind not in AlertKind.values:
        raise DomainError("kind_invalid", _("Unknown alert kind."), field="kind")
    existing = Alert.objects.filter(event_id=alert.event_id).first()
    if existing is not None:
        return existing, True
    try:
        with transaction.atomic():
            stored = Alert.objects.create(
                event_id=alert.event_id,
                kind=alert.kind,
                controller=alert.controller,
                gate=alert.gate,
                agent=agent,
                occurred_at=alert.occurred_at,
            )
    except IntegrityError:
        existing = Alert.objects.filter(event_id=alert.event_id).first()
        if existing is None:
            raise
        return existing, True
    payload = {
        "type": "alert",
        "event_id": str(stored.event_id),
        "kind": stored.kind,
        "gate": stored.gate.name if stored.gate else None,
        "occurred_at": stored.occurred_at.isoformat(),
    }
    publish_on_commit(payload)
    return stored, False
