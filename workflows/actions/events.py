"""What the event pages call: each finds the event's waiting task in the bulk event flow
(``workflows.flows.bulk``) and runs it, so that the flow's history shows who did what and
when; the flow's nodes then call the visits' event actions."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from kernel.errors import ConflictError, GoneError
from visit_platform.audit.actions import Actor
from visit_platform.visits.actions import events
from visit_platform.visits.choices import EventStatus
from visit_platform.visits.models import Event, EventImport
from workflows.flows.bulk import CANCEL, CONFIRM, REPLACE, BulkEventFlow, process_of


@transaction.atomic
def create_event(actor: Actor, **fields: Any) -> Event:
    """Create an event and start its flow."""
    event: Event = BulkEventFlow.start.run(actor=actor, fields=fields)
    return event


def _waiting(event: Event, node: Any) -> Task | None:
    return Task.objects.filter(process=process_of(event), flow_task=node, status=STATUS.NEW).first()


@transaction.atomic
def check_list(actor: Actor, event: Event, filename: str, data: bytes) -> EventImport:
    """Check an attendee list (the flow's "check" step). A list still waiting for its
    decision is replaced."""
    older = _waiting(event, BulkEventFlow.decide)
    if older is not None:
        BulkEventFlow.decide.run(older, actor=actor, decision=REPLACE, import_id=0)
    task = _waiting(event, BulkEventFlow.check)
    if task is None:
        raise _closed(event)
    pending: EventImport = BulkEventFlow.check.run(task, actor=actor, filename=filename, data=data)
    return pending


@transaction.atomic
def confirm_list(actor: Actor, event: Event, import_id: int) -> events.ConfirmedList:
    """The organiser confirms: the flow issues the passes and sends the invitations."""
    task = _waiting(event, BulkEventFlow.decide)
    if task is None:
        raise _closed(event)
    BulkEventFlow.decide.run(task, actor=actor, decision=CONFIRM, import_id=import_id)
    data = process_of(event).data
    return events.ConfirmedList(invited=data["invited"], skipped=data["skipped"])


@transaction.atomic
def cancel_list(actor: Actor, event: Event, import_id: int) -> None:
    """The organiser cancels: nothing is written; the flow waits for another list."""
    task = _waiting(event, BulkEventFlow.decide)
    if task is None:
        raise _closed(event)
    BulkEventFlow.decide.run(task, actor=actor, decision=CANCEL, import_id=import_id)


def _closed(event: Event) -> Exception:
    event.refresh_from_db()
    if event.status != EventStatus.DRAFT:
        return ConflictError(
            "already_invited",
            _("The attendees of this event were already invited; nothing was changed."),
        )
    return GoneError(
        "import_gone",
        _("This list was already confirmed or cancelled, or has expired. Upload it again."),
    )
