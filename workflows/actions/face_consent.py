"""The visitor's separate consent to face data at the desk (PIPL, the 2025 face-recognition
rules): the versioned text they are shown, and the consent recorded before any photo is
stored or face comparison accepted (ADR 0036)."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from viewflow.workflow.models import Task

from kernel.control_characters import has_control_characters
from kernel.errors import ConflictError, DomainError
from visit_platform.audit.actions import Actor, record
from visit_platform.visits.choices import VisitStatus
from workflows.constants import (
    DEFAULT_FACE_CONSENT_EN,
    DEFAULT_FACE_CONSENT_ZH,
    MAX_FACE_CONSENT_CHARS,
)
from workflows.models import FaceConsentText, VisitProcess


def face_consent_text_in_force() -> FaceConsentText:
    """The building's latest face consent text; the platform's as version 1 when the
    building has none yet (stored then, so consents always point at a row)."""
    latest = FaceConsentText.objects.order_by("-version").first()
    if latest is not None:
        return latest
    text, _created = FaceConsentText.objects.get_or_create(
        version=1,
        defaults={"text_zh": DEFAULT_FACE_CONSENT_ZH, "text_en": DEFAULT_FACE_CONSENT_EN},
    )
    return text


@transaction.atomic
def change_face_consent_text(actor: Actor, *, text_zh: str, text_en: str) -> FaceConsentText:
    """A property admin's new words: a new version; the consents already given keep the
    version they were given to. The same words again make no new version."""
    text_zh, text_en = text_zh.strip(), text_en.strip()
    for field, value in (("text_zh", text_zh), ("text_en", text_en)):
        if not value or len(value) > MAX_FACE_CONSENT_CHARS:
            raise DomainError(
                "consent_text_length",
                _("Write the consent text, up to %(max)s characters.")
                % {"max": MAX_FACE_CONSENT_CHARS},
                field=field,
            )
        if has_control_characters(value):
            raise DomainError(
                "control_characters", _("The text holds control characters."), field=field
            )
    current = face_consent_text_in_force()
    if (current.text_zh, current.text_en) == (text_zh, text_en):
        return current
    try:
        with transaction.atomic():
            text = FaceConsentText.objects.create(
                version=current.version + 1, text_zh=text_zh, text_en=text_en, created_by=actor.user
            )
    except IntegrityError:  # a colleague saved a version at the same moment
        raise ConflictError(
            "consent_text_changed", _("Someone else has just changed the text. Reload it.")
        ) from None
    record(actor, "face_consent_text.changed", text, version=text.version)
    return text


@transaction.atomic
def record_face_consent(actor: Actor, task: Task, *, version: int) -> VisitProcess:
    """The visitor agreed, at the desk check, to the consent text of ``version`` that
    reception showed them. Refused if the building's text changed meanwhile (the visitor
    must see the words they agree to). Giving it twice changes nothing."""
    process = (
        VisitProcess.objects.select_for_update().select_related("visit").get(pk=task.process_id)
    )
    if task.flow_task.name != "verify" or task.finished is not None:
        raise ConflictError("not_at_desk", _("This visit is not waiting for the desk check."))
    if process.visit.status not in (VisitStatus.PENDING_APPROVAL, VisitStatus.APPROVED):
        raise ConflictError("not_at_desk", _("This visit is not waiting for the desk check."))
    if process.face_consent_text_id is not None:
        return process
    text = face_consent_text_in_force()
    if version != text.version:
        raise ConflictError(
            "consent_text_changed",
            _("The consent text has changed. Show the visitor the new text."),
            field="version",
        )
    process.face_consent_text = text
    process.face_consent_at = timezone.now()
    process.face_consent_by = actor.user
    process.face_consent = True
    process.save(
        update_fields=["face_consent_text", "face_consent_at", "face_consent_by", "face_consent"]
    )
    record(actor, "face_consent.given", process.visit, version=text.version)
    return process


def has_face_consent(process: VisitProcess) -> bool:
    """Whether the desk may take this visitor's face (a photo, a comparison)."""
    return process.face_consent_text_id is not None
