"""The bulk event flow (seed 5.2.5): an event is created, its attendee list checked, the
organiser confirms or cancels, and a confirmed list gets its passes and invitations.

The nodes only route; every rule lives in ``visit_platform.visits.events``. Pages call the
functions at the end of this module, which find the event's waiting task and run it, so
that the flow's history shows who did what and when. A cancelled list goes back to the
"check" step: the organiser may upload a corrected list for the same event.
"""

from __future__ import annotations

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from viewflow import this
from viewflow.workflow import flow, lock
from viewflow.workflow.models import Process, Task
from viewflow.workflow.status import STATUS

from kernel.errors import ConflictError, GoneError
from tenants.models import User
from visit_platform.audit.actions import Actor
from visit_platform.visits import events
from visit_platform.visits.choices import EventStatus
from visit_platform.visits.models import Event, EventImport

CONFIRM = "confirm"
CANCEL = "cancel"
REPLACE = "replace"  # a new list uploaded while an older one waited


class BulkEventFlow(flow.Flow):
    """One process per event; its artifact is the ``Event``."""

    process_class = Process
    lock_impl = lock.select_for_update_lock

    start = (
        flow.StartHandle(this.create_event)
        .Annotation(title=gettext_lazy("Event created"))
        .Next(this.check)
    )
    check = (
        flow.Handle(this.check_list)
        .Annotation(title=gettext_lazy("Attendee list checked"))
        .Next(this.decide)
    )
    decide = (
        flow.Handle(this.note_decision)
        .Annotation(title=gettext_lazy("Organiser confirms or cancels"))
        .Next(this.confirmed)
    )
    confirmed = (
        flow.If(this.is_confirmed)
        .Annotation(title=gettext_lazy("Confirmed?"))
        .Then(this.invite)
        .Else(this.check)
    )
    invite = (
        flow.Function(this.issue_and_invite)
        .Annotation(title=gettext_lazy("Passes issued and invitations sent"))
        .Next(this.end)
    )
    end = flow.End()

    def create_event(self, activation: Any, actor: Actor, fields: dict[str, Any]) -> Event:
        event = events.create_event(actor, **fields)
        activation.process.artifact = event
        return event

    def check_list(self, activation: Any, actor: Actor, filename: str, data: bytes) -> EventImport:
        return events.upload_attendee_list(actor, activation.process.artifact, filename, data)

    def note_decision(self, activation: Any, actor: Actor, decision: str, import_id: int) -> None:
        if decision == CANCEL:
            events.cancel_attendee_list(actor, activation.process.artifact, import_id)
        activation.process.data = {
            "decision": decision,
            "import": import_id,
            "user": actor.user.pk if actor.user else None,
            "ip": actor.ip_address,
        }
        activation.process.save(update_fields=["data"])

    def is_confirmed(self, activation: Any) -> bool:
        return bool(activation.process.data.get("decision") == CONFIRM)

    def issue_and_invite(self, activation: Any) -> None:
        data = activation.process.data
        user = User.objects.filter(pk=data["user"]).first() if data["user"] else None
        actor = Actor(user=user, ip_address=data["ip"]) if user else Actor.system("flow")
        result = events.confirm_attendee_list(actor, activation.process.artifact, data["import"])
        data.update(invited=result.invited, skipped=result.skipped)
        activation.process.save(update_fields=["data"])


# --- What the pages call ----------------------------------------------------------------------


def create_event(actor: Actor, **fields: Any) -> Event:
    """Create an event and start its flow."""
    with transaction.atomic():
        event: Event = BulkEventFlow.start.run(actor=actor, fields=fields)
    return event


def process_of(event: Event) -> Process:
    process = Process.objects.filter(
        flow_class=BulkEventFlow,
        artifact_content_type=ContentType.objects.get_for_model(Event),
        artifact_object_id=event.pk,
    ).first()
    if process is None:
        raise GoneError("no_flow", _("This event has no flow; create it again."))
    return process


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
