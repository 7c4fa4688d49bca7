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
from workflows.actions.face_consent import has_face_consent
from workflows.actions.links import spend_open_links
from workflows.actions.steps import send_pass_link
from workflows.choices import IdentityCheck, LinkOutcome
from workflows.models import FaceMatchReport, VisitProcess

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
    photo: UploadedFile | None = None,
    identity_check: str = "",
    checked_by_eye: bool = False,
    id_photo: UploadedFile | None = None,
) -> Visit:
    """Reception's second screen for a walk-in: the host's (or company's) consent, taken by
    phone, and the visitor's identity, checked against the policy. Approves or refuses the
    visit; a host who already decided through their link has the last word.

    A refusal needs nothing more. Admitting a visitor who consented to face data
    (``record_face_consent``, asked first) needs the photo where the policy asks for one and
    none is on file; without that consent no photo is stored at all. For a walk-in whose
    policy requires the ID document, one of two routes: the face comparison (the visitor's
    separate consent, and the terminal's score,
    or the server's comparison of the document's photo with the live one, at or over the
    threshold, or under it with reception's own check), or reception's check by eye against
    the document, which uses no face data at all."""
    process = (
        VisitProcess.objects.select_for_update().select_related("visit").get(pk=task.process_id)
    )
    visit = process.visit
    if task.flow_task.name != "verify":
        raise DomainError("not_a_verification", _("This task is not a desk check."))
    admits = visit.status == VisitStatus.APPROVED or (
        visit.status == VisitStatus.PENDING_APPROVAL
        and (host_consent or not process.setting("requires_approval"))
    )
    if photo is not None:
        _check_photo(photo)
    if id_photo is not None:
        _check_photo(id_photo, field="id_photo")
    if admits and (photo is not None or id_photo is not None) and not has_face_consent(process):
        raise DomainError(
            "face_consent_required",
            _("No photo without the visitor's consent to face data: ask it first."),
            field="photo",
        )
    if admits:
        _check_identity(
            actor,
            process,
            photo=photo,
            identity_check=identity_check,
            checked_by_eye=checked_by_eye,
            id_photo=id_photo,
        )
    if process.identity_check != IdentityCheck.FACE:
        # Not the face route (checked by eye, or refused): a score the terminal sent, with
        # the visitor's consent, is not kept with a visit it did not serve.
        FaceMatchReport.objects.filter(process=process).delete()
        if process.face_match_score is not None:
            process.face_match_score = None
            process.save(update_fields=["face_match_score"])
    if photo is not None and admits:
        photo.seek(0)
        visit.visitor.photo.save(f"{secrets.token_hex(8)}.jpg", photo, save=True)
    if visit.status == VisitStatus.PENDING_APPROVAL:
        if admits:
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
            "identity_check": process.identity_check,
            "face_consent": process.face_consent,
            "face_match_score": process.face_match_score,
            "checked_by_eye": checked_by_eye,
        },
    )
    visit.refresh_from_db()
    return visit


def _check_identity(
    actor: Actor,
    process: VisitProcess,
    *,
    photo: UploadedFile | None,
    identity_check: str,
    checked_by_eye: bool,
    id_photo: UploadedFile | None,
) -> None:
    """The checks for admitting a visitor at the desk; records the route taken."""
    from workflows.actions.terminals import match_at_server

    visit = process.visit
    if (
        photo is None
        and process.setting("photo_required")
        and has_face_consent(process)  # without it, the way in takes no face
        and not (visit.visitor.photo or photo_in_answers(visit))
    ):
        raise DomainError("photo_required", _("Take the visitor's photo first."), field="photo")
    if visit.scenario != Scenario.WALK_IN or identity_check not in IdentityCheck.values:
        if process.setting("id_check_required") and visit.scenario == Scenario.WALK_IN:
            raise DomainError(
                "identity_check_required",
                _("Choose how you checked the visitor against the document."),
                field="identity_check",
            )
        return
    if identity_check == IdentityCheck.EYE:
        if not checked_by_eye:
            raise DomainError(
                "eye_check_required",
                _("Tick that you compared the visitor's face with the document yourself."),
                field="checked_by_eye",
            )
        process.identity_check = "eye"
        process.save(update_fields=["identity_check"])
        return
    if not has_face_consent(process):
        raise DomainError(
            "face_consent_required",
            _("The visitor must agree to the face comparison, or check them by eye."),
            field="face_consent",
        )
    if id_photo is not None:
        if photo is None:
            raise DomainError(
                "photo_required", _("Take the visitor's photo to compare."), field="photo"
            )
        match_at_server(actor, process, id_photo=id_photo.read(), live_photo=photo.read())
    score = process.face_match_score
    if score is None:
        raise DomainError(
            "face_match_required",
            _("Wait for the terminal's score, or check the visitor by eye."),
            field="face_match_score",
        )
    threshold = int(process.setting("face_match_threshold"))
    if score < threshold and not checked_by_eye:
        raise DomainError(
            "face_match_low",
            _(
                "The face matches the document by %(score)s%%, under the %(threshold)s%% "
                "the building asks. Compare them yourself and tick the box, or refuse."
            )
            % {"score": score, "threshold": threshold},
            field="face_match_score",
        )
    process.identity_check = "face"
    process.save(update_fields=["identity_check"])


MAX_PHOTO_BYTES = 5 * 1024 * 1024


def photo_in_answers(visit: Visit) -> bool:
    """A photo taken with the registration form (the no-ID form asks for one) counts."""
    if visit.form_version is None:
        return False
    return any(
        spec["type"] == FieldType.PHOTO and isinstance(visit.answers.get(spec["key"]), dict)
        for spec in visit.form_version.fields
    )


def _check_photo(photo: UploadedFile, field: str = "photo") -> None:
    if photo.size is None or photo.size > MAX_PHOTO_BYTES:
        raise DomainError("photo_too_large", _("The photo is over 5 MB."), field=field)
    if not sniff_content_type(photo).startswith("image/"):
        raise DomainError("photo_invalid", _("The photo is not a JPEG or PNG image."), field=field)
    photo.seek(0)


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
