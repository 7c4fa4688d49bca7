"""Everything this building holds about one mobile, as the visitor downloads it from My visits
(PIPL articles 45 and 46: a copy of one's personal information, in a form one can take away).

The visitor is known by the keyed hash of their mobile (``mobile_index``), as on their pages:
the visitor records with that number, and the visits made with it (``visits_of_mobile``),
with their passes, gate passages, the messages sent to that visitor and the consents given.
Staff appear by role, never by name; the host's name is masked as on My visits, since a
number proved by a code is not a reason to learn an employee's full name. The file is JSON:
nested like the data, read by any program, and nothing in it is a formula to a spreadsheet.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from kernel.phones import display_mobile
from kernel.privacy import mask_name
from visit_platform.access.models import AccessEvent, Pass
from visit_platform.directory.choices import Role
from visit_platform.directory.models import Membership
from visit_platform.notifications.models import Notification
from visit_platform.visits.models import Visit, Visitor, WeChatLink
from visit_platform.visits.queries import visits_of_mobile
from workflows.choices import PrivacyRequestKind, PrivacyRequestStatus
from workflows.models import PrivacyRequest, VisitProcess

FORMAT_VERSION = 1
# Links in old messages may still open a pass: the copy says a link was there, not where.
LINK = re.compile(r"https?://\S+")


def _time(value: datetime | None) -> str | None:
    return timezone.localtime(value).isoformat() if value is not None else None


def _role_labels(user_ids: Iterable[int | None]) -> dict[int, str]:
    """Each member of staff's role in this building (the first they hold), as its label."""
    ids = {user_id for user_id in user_ids if user_id is not None}
    labels: dict[int, str] = {}
    for membership in Membership.objects.filter(user_id__in=ids).order_by("pk"):
        labels.setdefault(membership.user_id, str(Role(membership.role).label))
    return labels


def _by_role(visit: Visit, user_id: int | None, roles: dict[int, str]) -> str | None:
    if user_id is None:
        return None
    if visit.host is not None and visit.host.user_id == user_id:
        return str(Role.HOST.label)
    return roles.get(user_id, _("Staff"))


def _company_name(visit: Visit) -> str:
    company = visit.company or (visit.host.company if visit.host else None)
    return company.name if company else ""


def _visitor_row(visitor: Visitor, linked: bool) -> dict[str, Any]:
    return {
        "name": visitor.name,
        "mobile": display_mobile(visitor.mobile) if visitor.mobile else "",
        "document_type": visitor.get_id_type_display() if visitor.id_type else "",
        "document_number": visitor.masked_id_number,
        "date_of_birth": visitor.birth_date.isoformat() if visitor.birth_date else None,
        "nationality": visitor.nationality,
        "photo_on_file": bool(visitor.photo),
        "wechat_linked": linked,
        "registered_at": _time(visitor.created_at),
    }


def _consents(visit: Visit, face_consent: bool) -> list[dict[str, Any]]:
    given = [
        {
            "visit": visit.pk,
            "what": key,
            "agreed": bool(value.get("agreed")),
            "text_version": value.get("consent_version", 1),
        }
        for key, value in sorted(visit.answers.items())
        if isinstance(value, dict) and "agreed" in value
    ]
    if face_consent:
        given.append(
            {"visit": visit.pk, "what": "face_comparison", "agreed": True, "text_version": 1}
        )
    return given


def _answers(visit: Visit) -> dict[str, Any]:
    """The visit's form answers other than consents (listed on their own)."""
    return {
        key: value
        for key, value in sorted(visit.answers.items())
        if not (isinstance(value, dict) and "agreed" in value)
    }


def personal_data(mobile_index: str) -> dict[str, Any]:
    """The whole copy for one mobile: plain JSON types, times in the building's zone (the
    caller sets it). Empty lists for a number the building does not know."""
    visitors = list(Visitor.objects.filter(mobile_index=mobile_index).order_by("pk"))
    openids = set(
        WeChatLink.objects.filter(mobile_index=mobile_index).values_list("openid", flat=True)
    )
    visits = list(visits_of_mobile(mobile_index).order_by("valid_from", "pk"))
    visit_ids = [visit.pk for visit in visits]
    roles = _role_labels(
        user_id
        for visit in visits
        for user_id in (visit.invited_by_id, visit.approved_by_id, visit.registered_by_id)
    )
    face_consents = set(
        VisitProcess.objects.filter(visit_id__in=visit_ids, face_consent=True).values_list(
            "visit_id", flat=True
        )
    )
    # Where their messages went: their numbers (on file, or given for a visit) and WeChat.
    addresses = {visitor.mobile for visitor in visitors if visitor.mobile} | openids
    addresses |= {visit.visitor_mobile for visit in visits if visit.visitor_mobile}
    addresses |= {visitor.wechat_openid for visitor in visitors if visitor.wechat_openid}
    messages = [
        notification
        for notification in Notification.objects.filter(
            Q(visit_id__in=visit_ids) | Q(fallback_of__visit_id__in=visit_ids)
        ).order_by("created_at", "pk")
        if notification.recipient in addresses
    ]
    return {
        "format": FORMAT_VERSION,
        "created_at": _time(timezone.now()),
        "visitor_records": [
            _visitor_row(visitor, linked=bool(openids) or bool(visitor.wechat_openid))
            for visitor in visitors
        ],
        "visits": [
            {
                "id": visit.pk,
                "scenario": visit.get_scenario_display(),
                "status": visit.status,
                "status_label": visit.get_status_display(),
                "valid_from": _time(visit.valid_from),
                "valid_until": _time(visit.valid_until),
                "company": _company_name(visit),
                "host": mask_name(visit.host.name) if visit.host else "",
                "purpose": visit.purpose,
                "name_given": visit.visitor_name,
                "companions": visit.companions,
                "answers": _answers(visit),
                "invited_by": _by_role(visit, visit.invited_by_id, roles),
                "approved_by": _by_role(visit, visit.approved_by_id, roles),
                "registered_by": _by_role(visit, visit.registered_by_id, roles),
                "decided_at": _time(visit.decided_at),
                "reason_given": visit.decision_reason,
                "checked_in_at": _time(visit.checked_in_at),
                "checked_out_at": _time(visit.checked_out_at),
            }
            for visit in visits
        ],
        "passes": [
            {
                "visit": pass_record.visit_id,
                "valid_from": _time(pass_record.valid_from),
                "valid_until": _time(pass_record.valid_until),
                "entries_allowed": pass_record.max_uses,
                "entries_used": pass_record.uses,
                "revoked_at": _time(pass_record.revoked_at),
                "revoke_reason": pass_record.revoke_reason,
            }
            for pass_record in Pass.objects.filter(visit_id__in=visit_ids).order_by(
                "created_at", "pk"
            )
        ],
        "gate_passages": [
            {
                "visit": event.visit_id,
                "time": _time(event.occurred_at),
                "gate": event.gate.name if event.gate else "",
                "direction": event.direction,
                "granted": event.granted,
                "reason": event.reason,
                "reason_label": event.get_reason_display(),
            }
            for event in AccessEvent.objects.filter(visit_id__in=visit_ids)
            .select_related("gate")
            .order_by("occurred_at", "pk")
        ],
        "messages": [
            {
                "visit": notification.visit_id,
                "channel": notification.channel,
                "purpose": notification.get_purpose_display(),
                "created_at": _time(notification.created_at),
                "status": notification.status,
                "text": LINK.sub(_("[link]"), notification.text),
            }
            for notification in messages
        ],
        "consents": [
            consent for visit in visits for consent in _consents(visit, visit.pk in face_consents)
        ],
        "requests": [
            {
                "kind": str(PrivacyRequestKind(request.kind).label),
                "status": request.status,
                "status_label": str(PrivacyRequestStatus(request.status).label),
                "received_at": _time(request.created_at),
                "due_at": _time(request.due_at),
                "answered_at": _time(request.handled_at),
                "answer": request.answer,
            }
            for request in PrivacyRequest.objects.filter(mobile_index=mobile_index).order_by(
                "created_at", "pk"
            )
        ],
    }


def counts(data: dict[str, Any]) -> dict[str, int]:
    """How many rows of each kind a copy holds: what the audit entry records of it."""
    return {key: len(value) for key, value in data.items() if isinstance(value, list)}
