"""The desk's visitor terminals (访客机): registering one, and recording the face comparisons
they report (or the server's matcher makes, at desks without one) for a visit at the desk."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from integrations.facematch.matcher import DlibFaceMatcher, FaceMatcher
from kernel.errors import ConflictError, DomainError
from kernel.privacy import secret_hash
from visit_platform.audit.actions import Actor, record
from visit_platform.visits.choices import Scenario
from workflows.actions.face_consent import has_face_consent
from workflows.models import DeskTerminal, FaceMatchReport, VisitProcess

TERMINAL_KEY_PREFIX_LENGTH = 8
# A report taken longer ago (or further ahead, by a clock that is off) than this is refused:
# with the nonce, kept for good, it makes a caught report useless to replay.
REPORT_WINDOW = timedelta(minutes=5)


@transaction.atomic
def register_desk_terminal(actor: Actor, *, name: str) -> tuple[DeskTerminal, str]:
    """Register a terminal; returns it with its key, which is shown once and stored hashed."""
    prefix = secrets.token_hex(TERMINAL_KEY_PREFIX_LENGTH // 2)
    secret = secrets.token_urlsafe(32)
    terminal = DeskTerminal.objects.create(
        name=name.strip()[:100] or "terminal", key_prefix=prefix, key_hash=secret_hash(secret)
    )
    record(actor, "desk_terminal.registered", terminal)
    return terminal, f"{prefix}.{secret}"


def process_at_desk(visit_id: int) -> VisitProcess:
    """The walk-in's process while it waits at the desk check, locked; refused otherwise
    (a score for a visit that is not at the desk, or not even this building's, is nobody's)."""
    from workflows.actions.tasks import open_tasks_of

    process = (
        VisitProcess.objects.select_for_update()
        .select_related("visit")
        .filter(visit_id=visit_id, visit__scenario=Scenario.WALK_IN)
        .first()
    )
    if process is None or not any(
        task.flow_task.name == "verify" for task in open_tasks_of(process.visit)
    ):
        raise ConflictError(
            "not_at_desk", _("This visit is not waiting for the desk check."), field="visit_id"
        )
    return process


@transaction.atomic
def record_face_match(
    terminal: DeskTerminal,
    *,
    visit_id: int,
    score: int,
    vendor: str,
    model: str,
    taken_at: datetime,
    nonce: str,
) -> FaceMatchReport:
    """A terminal's face comparison for a visit at the desk. The latest report is the one
    the desk check uses; reception never types a score."""
    now = timezone.now()
    if abs(now - taken_at) > REPORT_WINDOW:
        raise DomainError(
            "stale_report",
            _("The comparison was not made in the last five minutes (check the clock)."),
            field="taken_at",
        )
    if FaceMatchReport.objects.filter(terminal=terminal, nonce=nonce).exists():
        raise ConflictError("replayed", _("This report was already received."), field="nonce")
    process = process_at_desk(visit_id)
    if not has_face_consent(process):
        raise ConflictError(
            "face_consent_missing",
            _(
                "The visitor has not agreed to the face comparison at the desk: nothing was "
                "stored. Reception asks first, or checks them by eye."
            ),
            field="visit_id",
        )
    try:
        with transaction.atomic():
            report = FaceMatchReport.objects.create(
                process=process,
                terminal=terminal,
                score=score,
                vendor=vendor,
                model=model,
                taken_at=taken_at,
                nonce=nonce,
            )
    except IntegrityError:  # the same report, sent twice at once
        raise ConflictError(
            "replayed", _("This report was already received."), field="nonce"
        ) from None
    _set_score(process, score)
    record(
        Actor.system(f"terminal:{terminal.name}"),
        "face_match.reported",
        process.visit,
        score=score,
        terminal=terminal.pk,
        vendor=vendor,
        model=model,
    )
    return report


def match_at_server(
    actor: Actor,
    process: VisitProcess,
    *,
    id_photo: bytes,
    live_photo: bytes,
    matcher: FaceMatcher | None = None,
) -> FaceMatchReport:
    """The server's own comparison, for a desk without a terminal: the document's photo
    and the live photo are compared here and then dropped; only the score is kept. Only
    with the visitor's consent to face data."""
    if not has_face_consent(process):
        raise DomainError(
            "face_consent_required",
            _("The visitor must agree to the face comparison, or check them by eye."),
            field="face_consent",
        )
    score = (matcher or DlibFaceMatcher()).compare(id_photo, live_photo)
    report = FaceMatchReport.objects.create(
        process=process, score=score, vendor="server", model="dlib", taken_at=timezone.now()
    )
    _set_score(process, score)
    record(actor, "face_match.compared", process.visit, score=score, by="server")
    return report


def _set_score(process: VisitProcess, score: int) -> None:
    process.face_match_score = score
    process.save(update_fields=["face_match_score"])
