"""Every change to visitors, visits and the watchlist."""

from __future__ import annotations

from datetime import date, datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from visit_platform.audit.actions import Actor, record
from visit_platform.directory.models import Host
from visit_platform.errors import ConflictError, DomainError
from visit_platform.phones import normalise_mobile
from visit_platform.privacy import blind_index, mask_id_number
from visit_platform.visits.choices import DocumentType, Scenario, VisitStatus
from visit_platform.visits.identity import (
    birth_date_from_resident_id,
    is_valid_resident_id,
    normalise_id_number,
)
from visit_platform.visits.models import (
    ID_NUMBER_INDEX,
    MOBILE_INDEX,
    Visit,
    Visitor,
    WatchlistEntry,
)
from visit_platform.visits.queries import visitors_matching

MAX_VISIT_DAYS = 366


def clean_identity(id_type: str, id_number: str) -> tuple[str, str, date | None]:
    """Validate a document: (type, normalised number, birth date from a resident ID)."""
    number = normalise_id_number(id_number or "")
    if not number:
        return "", "", None
    if id_type not in DocumentType.values:
        raise DomainError("id_type_invalid", _("Choose the document type."), field="id_type")
    if len(number) > 40:
        raise DomainError(
            "id_number_invalid", _("The document number is too long."), field="id_number"
        )
    if id_type == DocumentType.RESIDENT_ID:
        if not is_valid_resident_id(number):
            raise DomainError(
                "id_number_invalid",
                _("This is not a valid resident identity number."),
                field="id_number",
            )
        return id_type, number, birth_date_from_resident_id(number)
    return id_type, number, None


@transaction.atomic
def register_visitor(
    actor: Actor,
    *,
    name: str,
    mobile: str = "",
    id_type: str = "",
    id_number: str = "",
    nationality: str = "",
) -> Visitor:
    """Record a visitor, or return the one already known by the same document or mobile."""
    name = name.strip()
    if not name or len(name) > 100:
        raise DomainError("name_required", _("The visitor's name is required."), field="name")
    mobile = normalise_mobile(mobile) if mobile.strip() else ""
    id_type, number, birth_date = clean_identity(id_type, id_number)
    index = blind_index(number, ID_NUMBER_INDEX) if number else ""
    existing = None
    if index:
        existing = Visitor.objects.filter(id_number_index=index).first()
    elif mobile:
        existing = Visitor.objects.filter(mobile=mobile, id_number_index="").first()
    if existing is not None:
        return existing
    visitor = Visitor.objects.create(
        name=name,
        mobile=mobile,
        mobile_index=blind_index(mobile, MOBILE_INDEX) if mobile else "",
        id_type=id_type,
        id_number=number,
        id_number_index=index,
        id_number_masked=mask_id_number(number) if number else "",
        birth_date=birth_date,
        nationality=nationality.strip().upper()[:3],
    )
    record(actor, "visitor.registered", visitor)
    return visitor


@transaction.atomic
def create_visit(
    actor: Actor,
    *,
    scenario: str,
    visitor: Visitor,
    host: Host | None,
    valid_from: datetime,
    valid_until: datetime,
    purpose: str = "",
    companions: int = 0,
    status: str = VisitStatus.PENDING_APPROVAL,
) -> Visit:
    """Create a visit. The scenario flows decide its status; this only checks the shape."""
    if scenario not in Scenario.values:
        raise DomainError("scenario_invalid", _("Unknown scenario."), field="scenario")
    if status not in VisitStatus.values:
        raise DomainError("status_invalid", _("Unknown status."), field="status")
    if valid_until <= valid_from:
        raise DomainError("window_invalid", _("The visit must end after it starts."))
    if (valid_until - valid_from).days > MAX_VISIT_DAYS:
        raise DomainError("window_too_long", _("A visit lasts a year at most."))
    if not 0 <= companions <= 50:
        raise DomainError("companions_invalid", _("Enter 0 to 50 companions."), field="companions")
    if host is not None and not host.is_active:
        raise DomainError("host_inactive", _("This host can no longer be visited."))
    visit = Visit.objects.create(
        scenario=scenario,
        status=status,
        visitor=visitor,
        host=host,
        company=host.company if host else None,
        purpose=purpose.strip()[:200],
        valid_from=valid_from,
        valid_until=valid_until,
        companions=companions,
        invited_by=actor.user if scenario in (Scenario.INVITE, Scenario.BULK) else None,
        registered_by=actor.user if scenario in (Scenario.WALK_IN, Scenario.NO_ID) else None,
        approved_by=actor.user if status == VisitStatus.APPROVED else None,
    )
    record(actor, "visit.created", visit, scenario=scenario, status=status)
    return visit


@transaction.atomic
def decide_visit(actor: Actor, visit: Visit, *, approve: bool, reason: str = "") -> Visit:
    """Approve or reject a visit that waits for approval. One conditional UPDATE: of two
    approvers acting at the same moment one decides, and the other is told what happened."""
    reason = reason.strip()
    if not approve and not reason:
        raise DomainError("reason_required", _("Say why the visit is refused."), field="reason")
    if len(reason) > 200:
        raise DomainError("reason_too_long", _("Keep the reason under 200 characters."))
    now = timezone.now()
    decided = Visit.objects.filter(pk=visit.pk, status=VisitStatus.PENDING_APPROVAL).update(
        status=VisitStatus.APPROVED if approve else VisitStatus.REJECTED,
        approved_by=actor.user if approve else None,
        decided_at=now,
        decision_reason=reason,
        updated_at=now,
    )
    visit.refresh_from_db()
    if not decided:
        raise ConflictError(
            "already_decided",
            _("This visit is no longer waiting for a decision: %(status)s.")
            % {"status": visit.get_status_display()},
        )
    record(actor, "visit.approved" if approve else "visit.rejected", visit, reason=reason)
    return visit


@transaction.atomic
def add_to_watchlist(
    actor: Actor,
    *,
    reason: str,
    name: str = "",
    birth_date: date | None = None,
    mobile: str = "",
    id_type: str = "",
    id_number: str = "",
    expires_at: datetime | None = None,
    approve: bool = True,
) -> WatchlistEntry:
    """Add a watchlist entry. Once approved it is enforced at once: every active pass of a
    matching visitor is revoked, and every later scan and flow refuses them."""
    from visit_platform.access.actions import revoke_passes_of_visitors

    reason = reason.strip()
    if not reason:
        raise DomainError("reason_required", _("Give a reason."), field="reason")
    mobile = normalise_mobile(mobile) if mobile.strip() else ""
    _id_type, number, id_birth_date = clean_identity(id_type, id_number)
    birth_date = birth_date or id_birth_date
    index = blind_index(number, ID_NUMBER_INDEX) if number else ""
    if not (index or mobile or (name.strip() and birth_date)):
        raise DomainError(
            "identity_required",
            _("Give a document number, a mobile number, or a name with a date of birth."),
        )
    now = timezone.now()
    entry = WatchlistEntry.objects.create(
        name=name.strip()[:100],
        birth_date=birth_date,
        mobile=mobile,
        id_number_index=index,
        id_number_masked=mask_id_number(number) if number else "",
        reason=reason[:2000],
        proposed_by=actor.user,
        approved_by=actor.user if approve else None,
        approved_at=now if approve else None,
        expires_at=expires_at,
    )
    record(actor, "watchlist.added", entry, approved=approve)
    if approve and (expires_at is None or expires_at > now):
        visitor_ids = list(visitors_matching(entry).values_list("pk", flat=True))
        revoke_passes_of_visitors(actor, visitor_ids, _("Watchlisted"))
    return entry


def note_visits_viewed(actor: Actor, **shown: object) -> None:
    """Audit a view of the visits page, which shows personal data: what was shown, with
    which filters."""
    record(actor, "visits.viewed", None, **shown)


@transaction.atomic
def cancel_request(actor: Actor, visit: Visit) -> Visit:
    """The visitor calls off a visit that still waits for approval. One conditional UPDATE:
    if a host decided it a moment before, nothing changes and the visitor is told how it was
    decided. Whatever still waits for a decision on it (the host's link, the flow's task) is
    withdrawn in the same transaction."""
    from workflows.actions import withdraw_request

    now = timezone.now()
    cancelled = Visit.objects.filter(pk=visit.pk, status=VisitStatus.PENDING_APPROVAL).update(
        status=VisitStatus.CANCELLED, updated_at=now
    )
    visit.refresh_from_db()
    if not cancelled:
        raise ConflictError(
            "not_cancellable",
            _("This visit can no longer be cancelled: it is %(status)s.")
            % {"status": visit.get_status_display().lower()},
        )
    record(actor, "visit.cancelled", visit)
    withdraw_request(actor, visit)
    return visit


def note_visitor_signed_in(actor: Actor) -> None:
    """Audit a visitor's sign-in to their own pages (the number is not written down)."""
    record(actor, "visitor.signed_in", None)


def note_own_visits_viewed(actor: Actor, visit_ids: list[int]) -> None:
    """Audit a visitor looking at their own visits: which visits, and nothing personal."""
    record(actor, "visitor.visits_viewed", None, visits=visit_ids)
