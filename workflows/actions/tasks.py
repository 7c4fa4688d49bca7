"""The people's steps of the flows: claiming, releasing and completing tasks in the
console (approvals, the watchlist review, the desk's checks and hand-over)."""

from __future__ import annotations

import secrets
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from viewflow.workflow.models import Task
from viewflow.workflow.status import PROCESS, STATUS

from forms.choices import FieldType
from forms.fields import sniff_content_type
from kernel.errors import (
    ConflictError,
    DomainError,
)
from visit_platform.access.actions import (
    refresh_pass_link,
)
from visit_platform.access.models import Pass
from visit_platform.audit.actions import Actor, record
from visit_platform.visits.actions import decide_visit
from visit_platform.visits.choices import Scenario, VisitStatus
from visit_platform.visits.models import Visit
from workflows.actions.links import spend_open_links
from workflows.actions.steps import send_pass_link
from workflows.choices import LinkOutcome
from workflows.models import VisitProcess

APPROVAL_NODES = ("approve", "approve_escalated")


OPEN = (STATUS.NEW, STATUS.ASSIGNED)


def open_tasks_of(visit: Visit) -> QuerySet[Task]:
    return Task.objects.filter(
        process__visitprocess__visit=visit, flow_task_type="HUMAN", status__in=OPEN
    )


def open_approval_task(visit: Visit) -> Task | None:
    for task in open_tasks_of(visit).order_by("created"):
        if task.flow_task.name in APPROVAL_NODES:
            return task
    return None


def cancel_open_tasks(visit: Visit) -> None:
    """End the visit's flow where it stands: its people's tasks and its timers (a deadline
    left armed would escalate a request nobody need decide any more) are cancelled."""
    process = VisitProcess.objects.filter(visit=visit).first()
    if process is None or process.finished is not None:
        return
    waiting = Task.objects.filter(
        process=process, status__in=(STATUS.NEW, STATUS.ASSIGNED, STATUS.SCHEDULED)
    )
    for task in waiting:
        with task.activation() as activation:
            if activation.cancel.can_proceed():
                activation.cancel()
    process.status = PROCESS.CANCELED
    process.finished = timezone.now()
    process.save(update_fields=["status", "finished"])


def finish_task(actor: Actor, task: Task, data: dict[str, Any]) -> None:
    """Complete a person's task on their behalf and let the flow move on. Runs under the
    flow's lock (a row lock on the process): of two people finishing one task, the second
    finds it done and is told so."""
    with task.activation() as activation:
        if task.status not in OPEN:
            raise ConflictError("task_done", _("Someone else has already done this."))
        if task.status == STATUS.NEW:
            activation.assign(actor.user)
        task.data = {**task.data, **data, "by": actor.name}
        activation.start(None)
        activation.execute()
    record(actor, "task.done", task.process, step=task.flow_task.name, **data)


@transaction.atomic
def claim_task(actor: Actor, task: Task) -> Task:
    """Take a task from the queue, so nobody else works the same visitor. Of two people
    claiming at once, one gets it and the other is told who has it."""
    with task.activation() as activation:
        if task.status != STATUS.NEW:
            owner = task.owner.email if task.owner else _("someone")
            raise ConflictError(
                "task_claimed", _("%(owner)s is already on this.") % {"owner": owner}
            )
        activation.assign(actor.user)
    record(actor, "task.claimed", task.process, step=task.flow_task.name)
    return task


@transaction.atomic
def release_task(actor: Actor, task: Task) -> Task:
    """Put a claimed task back in the queue."""
    with task.activation() as activation:
        if task.status != STATUS.ASSIGNED:
            raise ConflictError("task_not_claimed", _("This task is not claimed."))
        activation.unassign()
    record(actor, "task.released", task.process, step=task.flow_task.name)
    return task


@transaction.atomic
def decide_task(actor: Actor, task: Task, *, approve: bool, reason: str = "") -> Visit:
    """An approver's decision in the console: the visit is decided (one conditional
    UPDATE; a second approver gets ``already_decided``) and the task completed."""
    process = VisitProcess.objects.get(pk=task.process_id)
    if task.flow_task.name not in APPROVAL_NODES:
        raise DomainError("not_an_approval", _("This task is not an approval."))
    visit = decide_visit(actor, process.visit, approve=approve, reason=reason)
    spend_open_links(visit, LinkOutcome.WITHDRAWN)
    outcome = LinkOutcome.APPROVED if approve else LinkOutcome.REJECTED
    finish_task(actor, task, {"decision": outcome})
    return visit


@transaction.atomic
def review_watchlist_hit(actor: Actor, task: Task, *, clear: bool, note: str) -> None:
    """Security's review of a watchlist match: cleared (a namesake, say) lets the visit go
    on its usual way; otherwise it is refused. A note is required either way: the
    decision is accountable."""
    note = note.strip()
    if not note or len(note) > 500:
        raise DomainError("note_required", _("Write a note of up to 500 characters."))
    if task.flow_task.name != "security_review":
        raise DomainError("not_a_review", _("This task is not a watchlist review."))
    finish_task(actor, task, {"cleared": clear, "note": note})


@transaction.atomic
def verify_at_desk(
    actor: Actor,
    task: Task,
    *,
    host_consent: bool,
    consent_note: str = "",
    face_match_score: int | None = None,
    photo: UploadedFile | None = None,
    checked_by_eye: bool = False,
) -> Visit:
    """Reception's second screen for a walk-in: the host's (or company's) consent, taken
    by phone, and the visitor's photo and face-match score from the desk terminal, checked
    against the policy. Approves or refuses the visit; a host who already decided through
    their link has the last word."""
    process = VisitProcess.objects.select_related("visit").get(pk=task.process_id)
    visit = process.visit
    if task.flow_task.name != "verify":
        raise DomainError("not_a_verification", _("This task is not a desk check."))
    if photo is not None:
        _check_photo(photo)
    elif process.setting("photo_required") and not (
        visit.visitor.photo or _photo_in_answers(visit)
    ):
        raise DomainError("photo_required", _("Take the visitor's photo first."), field="photo")
    if face_match_score is not None and not 0 <= face_match_score <= 100:
        raise DomainError(
            "face_match_invalid", _("The face match score is 0 to 100."), field="face_match_score"
        )
    threshold = int(process.setting("face_match_threshold"))
    if process.setting("id_check_required") and visit.scenario == Scenario.WALK_IN:
        if face_match_score is None:
            raise DomainError(
                "face_match_required",
                _("Record the face match score from the desk terminal."),
                field="face_match_score",
            )
        if face_match_score < threshold and not checked_by_eye:
            raise DomainError(
                "face_match_low",
                _(
                    "The face matches the document by %(score)s%%, under the %(threshold)s%% "
                    "the building asks. Compare them yourself and tick the box, or refuse."
                )
                % {"score": face_match_score, "threshold": threshold},
                field="face_match_score",
            )
    process.face_match_score = face_match_score
    process.save(update_fields=["face_match_score"])
    if photo is not None:
        visit.visitor.photo.save(f"{secrets.token_hex(8)}.jpg", photo, save=True)
    if visit.status == VisitStatus.PENDING_APPROVAL:
        if host_consent or not process.setting("requires_approval"):
            visit = decide_visit(actor, visit, approve=True, reason=consent_note)
        else:
            visit = decide_visit(
                actor, visit, approve=False, reason=consent_note or _("The host did not agree.")
            )
    finish_task(
        actor,
        task,
        {
            "host_consent": host_consent,
            "face_match_score": face_match_score,
            "checked_by_eye": checked_by_eye,
        },
    )
    visit.refresh_from_db()
    return visit


MAX_PHOTO_BYTES = 5 * 1024 * 1024


def _photo_in_answers(visit: Visit) -> bool:
    """A photo taken with the registration form (the no-ID form asks for one) counts."""
    if visit.form_version is None:
        return False
    return any(
        spec["type"] == FieldType.PHOTO and isinstance(visit.answers.get(spec["key"]), dict)
        for spec in visit.form_version.fields
    )


def _check_photo(photo: UploadedFile) -> None:
    if photo.size is None or photo.size > MAX_PHOTO_BYTES:
        raise DomainError("photo_too_large", _("The photo is over 5 MB."), field="photo")
    if not sniff_content_type(photo).startswith("image/"):
        raise DomainError(
            "photo_invalid", _("The photo is not a JPEG or PNG image."), field="photo"
        )


@transaction.atomic
def hand_over_pass(actor: Actor, task: Task, *, by_sms: bool) -> Pass:
    """Reception's last screen: the visitor leaves the desk with a printed slip, or a text
    with their pass link (visitors without a document often have a phone)."""
    process = VisitProcess.objects.select_related("visit__visitor").get(pk=task.process_id)
    if task.flow_task.name != "hand_over":
        raise DomainError("not_a_hand_over", _("This task is not a hand-over."))
    pass_record = (
        Pass.objects.filter(visit=process.visit, revoked_at__isnull=True).order_by("-pk").first()
    )
    if pass_record is None:
        raise DomainError("no_pass", _("This visit has no pass."))
    if by_sms:
        if not process.visit.visitor_mobile:
            raise DomainError("no_mobile", _("The visitor gave no mobile number."))
        code = refresh_pass_link(pass_record)
        send_pass_link(actor, process.visit, code)
    # A slip is audited where it is made, once per print (``access.views.pass_slip``): the
    # window this button opens fetches it; noting it here too audited one print twice.
    finish_task(actor, task, {"handed_over": "sms" if by_sms else "slip"})
    return pass_record
