"""A visit's timeline: every step with who did it and when, from invitation or application
to exit. Built from the flow's tasks (viewflow keeps who finished each and when), the passes
and the gate's access events, so reports can ask "who invited / approved this visitor"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from visit_platform.access.models import AccessEvent, Pass
from visit_platform.audit.details import detail_label, detail_value
from visit_platform.audit.models import AuditEntry
from visit_platform.visits.models import Visit

# Steps worth a line: the flow's routing gateways and automatic hops are not.
_SKIPPED_TYPES = {"EXCLUSIVE_GATEWAY", "PARALLEL_GATEWAY", "INCLUSIVE_GATEWAY"}
_STATUS_LABELS: dict[str, Promise] = {
    STATUS.DONE: _("done"),
    STATUS.CANCELED: _("cancelled"),
    STATUS.NEW: _("waiting"),
    STATUS.ASSIGNED: _("taken"),
    STATUS.SCHEDULED: _("scheduled"),
    STATUS.ERROR: _("failed"),
}


# Yes/no facts a step records, said as phrases; None: not worth saying.
_PHRASES: dict[str, tuple[Promise | None, Promise | None]] = {
    "host_consent": (_("Host agreed"), _("Host did not agree")),
    "checked_by_eye": (_("Checked by eye"), None),
    "face_consent": (_("Visitor consented to the face comparison"), None),
    "cleared": (_("Cleared by security"), _("Not cleared by security")),
}


def step_detail(data: dict[str, Any]) -> str:
    """What a step recorded, in words ("主人已同意 · 人脸比对 92 分"): phrases for yes/no
    facts, the score as a score, everything else as "label: value"; who did it is shown
    apart, and empty values are left out."""
    parts: list[str] = []
    for key, value in data.items():
        if key == "by" or value is None or value == "":
            continue
        if key in _PHRASES and isinstance(value, bool):
            phrase = _PHRASES[key][0 if value else 1]
            if phrase is not None:
                parts.append(str(phrase))
        elif key == "face_match_score":
            parts.append(gettext("Face match score %(score)s") % {"score": value})
        else:
            parts.append(f"{detail_label(key)}: {detail_value(key, value)}")
    return " · ".join(parts)


@dataclass(frozen=True)
class Step:
    at: datetime
    what: str | Promise
    by: str
    status: str | Promise = ""
    detail: str = ""


def _task_step(task: Task) -> Step | None:
    if task.flow_task is None or task.flow_task_type in _SKIPPED_TYPES:
        return None
    node = task.flow_task
    if task.flow_task_type == "END" and node.name != "end":
        return None
    by = str(task.data.get("by") or (task.owner.email if task.owner_id else ""))
    detail = step_detail(task.data)
    at = task.finished or task.scheduled or task.created
    return Step(
        at=at,
        what=node.task_title or str(node),
        by=by,
        status=_STATUS_LABELS.get(task.status, task.status),
        detail=detail,
    )


def visit_timeline(visit: Visit) -> list[Step]:
    steps: list[Step] = []
    tasks = (
        Task.objects.filter(process__visitprocess__visit=visit)
        .select_related("owner")
        .order_by("created", "pk")
    )
    for task in tasks:
        step = _task_step(task)
        if step is not None:
            steps.append(step)
    passes = list(Pass.objects.filter(visit=visit).select_related("issued_by"))
    revoked_by = _revokers([p.pk for p in passes if p.revoked_at])
    for pass_record in passes:
        issued_by = pass_record.issued_by.email if pass_record.issued_by else _("the flow")
        steps.append(Step(at=pass_record.created_at, what=_("Pass issued"), by=str(issued_by)))
        if pass_record.revoked_at:
            steps.append(
                Step(
                    at=pass_record.revoked_at,
                    what=_("Pass revoked"),
                    by=revoked_by.get(str(pass_record.pk), ""),
                    detail=pass_record.revoke_reason,
                )
            )
    for event in AccessEvent.objects.filter(visit=visit).select_related("gate"):
        steps.append(
            Step(
                at=event.occurred_at,
                what=event.get_direction_display(),
                by=event.gate.name,
                status=_("admitted") if event.granted else _("refused"),
                detail="" if event.granted else event.get_reason_display(),
            )
        )
    return sorted(steps, key=lambda step: step.at)


def _revokers(pass_ids: list[int]) -> dict[str, str]:
    """Who revoked each of these passes. The pass keeps only when and why; the audit log,
    written by the same action in the same transaction, knows who (one query for all)."""
    if not pass_ids:
        return {}
    entries = AuditEntry.objects.filter(
        verb="pass.revoked", object_id__in=[str(pk) for pk in pass_ids]
    ).values_list("object_id", "actor_label")
    return dict(entries)
