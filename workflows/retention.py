"""What the flows keep of a visitor's face (the desk's face-match reports and the score on the
visit's process), forgotten with the visits' photos by the retention job (ADR 0034)."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from visit_platform.visits.choices import RetentionClass
from visit_platform.visits.retention import visits_due
from workflows.models import FaceMatchReport, VisitProcess


def forget_face_matches(
    sender: object, *, data_class: str, visit_ids: list[int], dry_run: bool, **kwargs: Any
) -> int:
    """Delete the visits' face-match reports and clear their processes' scores (or, dry,
    count them): the score of a face comparison is face data under the 2025 rules."""
    if data_class != RetentionClass.PHOTOS or not visit_ids:
        return 0
    reports = FaceMatchReport.objects.filter(process__visit_id__in=visit_ids)
    scores = VisitProcess.objects.filter(Q(visit_id__in=visit_ids), face_match_score__isnull=False)
    if dry_run:
        return reports.count() + scores.count()
    deleted, _by_model = reports.delete()
    return deleted + scores.update(face_match_score=None)


def connect() -> None:
    visits_due.connect(forget_face_matches, dispatch_uid="workflows.forget_face_matches")
