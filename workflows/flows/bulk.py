"""The bulk event flow (seed 5.2.5): an event is created, its attendee list checked, the
organiser confirms or cancels, and a confirmed list gets its passes and invitations.

The nodes only route; every rule lives in ``visit_platform.visits.actions.events``. Pages call the
actions in ``workflows.actions.events``, which find the event's waiting task and run it, so
that the flow's history shows who did what and when. A cancelled list goes back to the
"check" step: the organiser may upload a corrected list for the same event.
"""

from __future__ import annotations

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from viewflow import this
from viewflow.workflow import flow, lock
from viewflow.workflow.models import Process

from kernel.errors import GoneError
from tenants.models import User
from visit_platform.audit.actions import Actor
from visit_platform.visits.actions import events
from visit_platform.visits.models import Event, EventImport

CONFIRM = "confirm"
CANCEL = "cancel"
REPLACE = "replace"  # a new list uploaded while an older one waited


class BulkEventFlow(flow.Flow):
    """One process per event; its artifact is the ``Event``."""

    process_title = gettext_lazy("Event")
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
    end = flow.End().Annotation(title=gettext_lazy("Done"))

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


def process_of(event: Event) -> Process:
    process = Process.objects.filter(
        flow_class=BulkEventFlow,
        artifact_content_type=ContentType.objects.get_for_model(Event),
        artifact_object_id=event.pk,
    ).first()
    if process is None:
        raise GoneError("no_flow", _("This event has no flow; create it again."))
    return process
