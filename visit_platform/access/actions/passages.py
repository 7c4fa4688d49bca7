"""Passages and alerts that gate agents report afterwards, recorded once by event id, one at a
time or as a batch that is recorded whole or not at all."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kernel.errors import DomainError
from visit_platform.access.actions.alerts import publish_alert, raise_watchlist_hit
from visit_platform.access.actions.arrivals import announce_arrival
from visit_platform.access.actions.decision import (
    Decision,
    _first_answer,
    _let_out,
    _new_event,
    _record,
    _Replayed,
)
from visit_platform.access.choices import (
    PASSAGE_REASONS,
    AgentAlertKind,
    Direction,
    Mode,
    Reason,
)
from visit_platform.access.models import AccessEvent, Alert, Controller, Gate, GateAgent, Pass
from visit_platform.access.queries import HOLDER_PASS_FIELDS, PassHolder, holder_from_pass_fields
from visit_platform.visits.choices import VisitStatus
from visit_platform.visits.models import Visit


class InvalidBatchError(DomainError):
    """Some items of a batch an agent sent are invalid; none of the batch was recorded. The
    details name every invalid item by its place in the batch (``loc``), and the field."""

    status = 422
    _MESSAGES = {
        "passages": gettext_lazy(
            "%(invalid)d of %(total)d passages are invalid; none was recorded."
        ),
        "alerts": gettext_lazy("%(invalid)d of %(total)d alerts are invalid; none was recorded."),
    }

    def __init__(self, batch: str, problems: list[dict[str, Any]], total: int) -> None:
        invalid = len({problem["loc"][1] for problem in problems})
        message = self._MESSAGES[batch] % {"invalid": invalid, "total": total}
        super().__init__(f"invalid_{batch}", str(message))
        self.problems = problems

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.problems}


def _problem(batch: str, index: int, field: str | None, code: str, message: str) -> dict[str, Any]:
    location: list[Any] = [batch, index]
    if field:
        location.append(field)
    return {"loc": location, "message": message, "type": code}


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
            # counted without it, rather than blocking the agent's journal for ever. The same
            # read gives what the live screens show of its holder.
            pass_row = (
                Pass.objects.filter(pk=passage.pass_id)
                .values_list("pk", "visit_id", *HOLDER_PASS_FIELDS)
                .first()
                if passage.pass_id is not None
                else None
            )
            pass_ids: tuple[int, int] | None = None
            holder: PassHolder | None = None
            first_entry = False
            if pass_row is not None:
                pass_ids = (pass_row[0], pass_row[1])
                holder = holder_from_pass_fields(pass_row[1], pass_row[2:])
            if pass_ids is not None and passage.granted:
                pass_id, visit_id = pass_ids
                if passage.direction == Direction.IN:
                    # Already let through by the agent: count it, whatever the limit says now.
                    Pass.objects.filter(pk=pass_id).update(uses=F("uses") + 1, is_inside=True)
                    checked_in = Visit.objects.filter(
                        pk=visit_id, status__in=[VisitStatus.APPROVED, VisitStatus.CHECKED_OUT]
                    ).update(
                        status=VisitStatus.CHECKED_IN,
                        checked_in_at=Coalesce("checked_in_at", passage.occurred_at),
                    )
                    # The visit's first entry (its time became the check-in's): tell the host.
                    first_entry = bool(
                        checked_in
                        and Visit.objects.filter(
                            pk=visit_id, checked_in_at=passage.occurred_at
                        ).exists()
                    )
                    if first_entry:
                        announce_arrival(visit_id, passage.gate.pk, passage.occurred_at)
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
            decision = _record(event, holder, first_entry=first_entry)
            if reason == Reason.WATCHLISTED:
                # Bursts are not counted here: a journal arrives too late for that alert.
                raise_watchlist_hit(decision.event)
            return decision
    except _Replayed:
        return _first_answer(passage.event_id)


@dataclass(frozen=True)
class PassageReport:
    """One passage of an agent's batch, naming its gate by id (``record_passages`` checks it);
    otherwise as ``ReportedPassage``."""

    event_id: uuid.UUID
    gate_id: int
    direction: str
    occurred_at: datetime
    pass_id: int | None = None
    granted: bool = True
    reason: str = Reason.PASSAGE
    mode: str = Mode.OFFLINE


@transaction.atomic
def record_passages(
    reports: Sequence[PassageReport], agent: GateAgent | None = None
) -> list[Decision]:
    """Record a batch of passages, answered in order: all of them or, if any is invalid,
    none, with an ``InvalidBatchError`` naming every invalid one. Passages already recorded
    are answered with their first answer, so an agent may send its journal again."""
    gates = Gate.objects.in_bulk({report.gate_id for report in reports})
    problems = [
        _problem("passages", index, "gate_id", "unknown_gate", _("No gate has this id."))
        for index, report in enumerate(reports)
        if report.gate_id not in gates
    ]
    if problems:
        raise InvalidBatchError("passages", problems, len(reports))
    decisions = []
    for index, report in enumerate(reports):
        passage = ReportedPassage(
            event_id=report.event_id,
            gate=gates[report.gate_id],
            direction=report.direction,
            occurred_at=report.occurred_at,
            pass_id=report.pass_id,
            granted=report.granted,
            reason=report.reason,
            mode=report.mode,
        )
        try:
            decisions.append(record_passage(passage, agent))
        except DomainError as error:
            field = error.details.get("field")
            problems.append(_problem("passages", index, field, error.code, error.message))
    if problems:
        # Raised inside the transaction: the passages recorded before the bad one roll back.
        raise InvalidBatchError("passages", problems, len(reports))
    return decisions


@dataclass(frozen=True)
class ReportedAlert:
    event_id: uuid.UUID
    kind: str
    occurred_at: datetime
    controller: Controller | None = None
    gate: Gate | None = None


def record_alert(alert: ReportedAlert, agent: GateAgent | None = None) -> tuple[Alert, bool]:
    """Store an alert once (idempotent by event id); returns it and whether it was a replay."""
    if alert.kind not in AgentAlertKind.values:
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
    publish_alert(stored)
    return stored, False


@dataclass(frozen=True)
class AlertReport:
    """One alert of an agent's batch, naming its gate and controller by id
    (``record_alerts`` checks them); otherwise as ``ReportedAlert``."""

    event_id: uuid.UUID
    kind: str
    occurred_at: datetime
    controller_id: int | None = None
    gate_id: int | None = None


@transaction.atomic
def record_alerts(
    reports: Sequence[AlertReport], agent: GateAgent | None = None
) -> list[tuple[Alert, bool]]:
    """Record a batch of alerts, all or nothing like ``record_passages``; each answer is the
    alert and whether it had been recorded before."""
    gates = Gate.objects.in_bulk({report.gate_id for report in reports if report.gate_id})
    controllers = Controller.objects.in_bulk(
        {report.controller_id for report in reports if report.controller_id}
    )
    problems = []
    for index, report in enumerate(reports):
        if report.gate_id and report.gate_id not in gates:
            problems.append(
                _problem("alerts", index, "gate_id", "unknown_gate", _("No gate has this id."))
            )
        if report.controller_id and report.controller_id not in controllers:
            problems.append(
                _problem(
                    "alerts",
                    index,
                    "controller_id",
                    "unknown_controller",
                    _("No controller has this id."),
                )
            )
    if problems:
        raise InvalidBatchError("alerts", problems, len(reports))
    return [
        record_alert(
            ReportedAlert(
                event_id=report.event_id,
                kind=report.kind,
                occurred_at=report.occurred_at,
                controller=controllers[report.controller_id] if report.controller_id else None,
                gate=gates[report.gate_id] if report.gate_id else None,
            ),
            agent,
        )
        for report in reports
    ]
