"""Every change to visitors, visits and the watchlist."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Required, TypedDict

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from kernel.errors import ConflictError, DomainError, PermissionDeniedError
from kernel.phones import normalise_mobile
from kernel.privacy import blind_index, mask_id_number, mask_mobile, mask_name
from visit_platform.access.actions import revoke_passes_of_visitors
from visit_platform.access.models import Pass
from visit_platform.audit.actions import Actor, record
from visit_platform.directory.models import Host
from visit_platform.visits.choices import (
    ENFORCED_WATCHLIST_STATUSES,
    IdentityChoice,
    Scenario,
    VisitStatus,
    WatchlistStatus,
)
from visit_platform.visits.identity import clean_identity
from visit_platform.visits.models import (
    ID_NUMBER_INDEX,
    MOBILE_INDEX,
    Visit,
    Visitor,
    WatchlistEntry,
    index_of_mobile,
)
from visit_platform.visits.queries import linked_openid, visitors_matching

MAX_VISIT_DAYS = 366


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
    """Record a visitor, or return the one already known by the same document or mobile.

    A known visitor is returned as stored, whatever name and mobile were typed: the visit
    keeps those (``create_visit``'s ``given_name`` and ``given_mobile``) and only reception
    may write them onto the visitor (``settle_identity``)."""
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
        existing = Visitor.objects.filter(
            mobile_index=index_of_mobile(mobile), id_number_index=""
        ).first()
    if existing is not None:
        return existing
    mobile_index = blind_index(mobile, MOBILE_INDEX) if mobile else ""
    visitor = Visitor.objects.create(
        name=name,
        mobile=mobile,
        mobile_index=mobile_index,
        wechat_openid=linked_openid(mobile_index),
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
    given_name: str = "",
    given_mobile: str = "",
) -> Visit:
    """Create a visit. The scenario flows decide its status; this only checks the shape.
    A walk-in's window starts at its registration at the latest.

    ``given_name`` and ``given_mobile`` are what was typed for the visit. Where they differ
    from the visitor on file (a known document number with another name or mobile), the
    visit keeps them as its own contact details, so its texts go to the typed mobile and
    nobody's stored details are silently overwritten or shown (ADR 0012)."""
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
    if scenario in (Scenario.WALK_IN, Scenario.NO_ID):
        # A walk-in stands at the desk: a start typed (or suggested) later would have the
        # turnstile refuse them as "not yet valid" a minute after registration.
        valid_from = min(valid_from, timezone.now())
    contact_name, contact_mobile = _contact_details(visitor, given_name, given_mobile)
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
        contact_name=contact_name,
        contact_mobile=contact_mobile,
        contact_mobile_index=blind_index(contact_mobile, MOBILE_INDEX) if contact_mobile else "",
    )
    record(actor, "visit.created", visit, scenario=scenario, status=status)
    if contact_name:
        # Which details differ, never what they are: the log is read by more people.
        record(
            actor,
            "visit.identity_differs",
            visit,
            name_differs=not _same_name(contact_name, visitor.name),
            mobile_differs=contact_mobile != visitor.mobile,
        )
    return visit


def _same_name(typed: str, stored: str) -> bool:
    return " ".join(typed.split()).casefold() == " ".join(stored.split()).casefold()


def _contact_details(visitor: Visitor, name: str, mobile: str) -> tuple[str, str]:
    """(name, mobile) the visit keeps of its own: both as typed when either differs from the
    visitor's on file, else nothing. A mobile left blank contradicts nothing."""
    name = " ".join(name.split())
    if not name:
        return "", ""
    mobile = normalise_mobile(mobile) if mobile.strip() else ""
    if _same_name(name, visitor.name) and (not mobile or mobile == visitor.mobile):
        return "", ""
    if len(name) > 100:
        raise DomainError("name_too_long", _("Keep the name under 100 characters."), field="name")
    return name, mobile


def _masked_identity(name: str, mobile: str) -> dict[str, str]:
    return {"name": mask_name(name), "mobile": mask_mobile(mobile) if mobile else ""}


@transaction.atomic
def settle_identity(actor: Actor, visit: Visit, *, keep: str) -> Visit:
    """Reception's decision on a visit made with a name or mobile other than those of the
    visitor on file with the same document number.

    ``stored``: what was typed is dropped and the visit goes on under the visitor's details
    (reception has checked them with the visitor). ``typed``: the typed name and mobile are
    written onto the visitor, with before and after (masked) in the audit log. Either way the
    visit's texts then go to the mobile reception confirmed. Of two people deciding at once,
    one decides and the other is told."""
    if keep not in IdentityChoice.values:
        raise DomainError(
            "identity_choice_invalid", _("Choose which details to use."), field="keep"
        )
    locked = Visit.objects.select_for_update().filter(pk=visit.pk).first()
    if locked is None or not locked.has_identity_conflict:
        raise ConflictError(
            "identity_settled", _("Someone has already settled this visitor's details.")
        )
    visitor = Visitor.objects.select_for_update().get(pk=locked.visitor_id)
    if keep == IdentityChoice.TYPED:
        before = _masked_identity(visitor.name, visitor.mobile)
        visitor.name = locked.contact_name
        if locked.contact_mobile:
            visitor.mobile = locked.contact_mobile
            visitor.mobile_index = locked.contact_mobile_index
        visitor.save(update_fields=["name", "mobile", "mobile_index"])
        record(
            actor,
            "visitor.identity_updated",
            visitor,
            visit=locked.pk,
            before=before,
            after=_masked_identity(visitor.name, visitor.mobile),
        )
    else:
        record(
            actor,
            "visit.identity_confirmed",
            locked,
            kept=IdentityChoice.STORED.value,
            stored=_masked_identity(visitor.name, visitor.mobile),
            typed=_masked_identity(locked.contact_name, locked.contact_mobile),
        )
    locked.contact_name = locked.contact_mobile = locked.contact_mobile_index = ""
    locked.save(
        update_fields=["contact_name", "contact_mobile", "contact_mobile_index", "updated_at"]
    )
    locked.visitor = visitor
    return locked


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


# --- The watchlist (黑名单) -------------------------------------------------------------------
#
# Adding a person and removing them each take two people: one proposes, another approves
# (four eyes). A proposer who may approve can still withdraw their own proposal by rejecting
# it. Decisions are conditional UPDATEs on the status, so of two reviewers acting at the same
# moment one decides and the other is told what happened.

MAX_WATCHLIST_REASON = 2000
MAX_REVIEW_REASON = 500
OPEN_WATCHLIST_STATUSES = (
    WatchlistStatus.PROPOSED,
    WatchlistStatus.ENFORCED,
    WatchlistStatus.REMOVAL_PROPOSED,
)


class EntryFields(TypedDict, total=False):
    """What a watchlist proposal names, and why: the keywords ``propose_watchlist_entry``
    and ``add_to_watchlist`` take, which the watchlist flow and the console pass along."""

    reason: Required[str]
    name: str
    birth_date: date | None
    mobile: str
    id_type: str
    id_number: str
    expires_at: datetime | None


@dataclass(frozen=True)
class WatchlistIdentity:
    """Who an entry names, checked and normalised: what the entry stores and matches on."""

    name: str
    birth_date: date | None
    mobile: str
    id_number_index: str
    id_number_masked: str


def clean_watchlist_identity(
    *,
    name: str = "",
    birth_date: date | None = None,
    mobile: str = "",
    id_type: str = "",
    id_number: str = "",
) -> WatchlistIdentity:
    """Check the identifiers of a watchlist entry: a document, a mobile, or a name with a
    date of birth. The document number is kept only as its blind index and a masked copy."""
    name = name.strip()
    if len(name) > 100:
        raise DomainError("name_too_long", _("Keep the name under 100 characters."), field="name")
    mobile = normalise_mobile(mobile) if mobile.strip() else ""
    if id_number.strip() and not id_type:
        raise DomainError("id_type_invalid", _("Choose the document type."), field="id_type")
    _id_type, number, id_birth_date = clean_identity(id_type, id_number)
    if birth_date is not None and not date(1900, 1, 1) <= birth_date <= timezone.localdate():
        raise DomainError(
            "birth_date_invalid", _("Enter a date of birth in the past."), field="birth_date"
        )
    birth_date = birth_date or id_birth_date
    index = blind_index(number, ID_NUMBER_INDEX) if number else ""
    if not (index or mobile or (name and birth_date)):
        raise DomainError(
            "identity_required",
            _("Give a document number, a mobile number, or a name with a date of birth."),
        )
    return WatchlistIdentity(
        name=name,
        birth_date=birth_date,
        mobile=mobile,
        id_number_index=index,
        id_number_masked=mask_id_number(number) if number else "",
    )


def _clean_reason(reason: str, limit: int, *, required: bool = True) -> str:
    reason = reason.strip()
    if required and not reason:
        raise DomainError("reason_required", _("Give a reason."), field="reason")
    if len(reason) > limit:
        raise DomainError(
            "reason_too_long",
            _("Keep the reason under %(limit)d characters.") % {"limit": limit},
            field="reason",
        )
    return reason


def _new_entry(
    actor: Actor, identity: WatchlistIdentity, reason: str, expires_at: datetime | None
) -> WatchlistEntry:
    return WatchlistEntry.objects.create(
        name=identity.name,
        birth_date=identity.birth_date,
        mobile=identity.mobile,
        id_number_index=identity.id_number_index,
        id_number_masked=identity.id_number_masked,
        reason=reason,
        proposed_by=actor.user,
        expires_at=expires_at,
    )


def _same_person(identity: WatchlistIdentity) -> Q:
    condition = Q(pk__in=[])
    if identity.id_number_index:
        condition |= Q(id_number_index=identity.id_number_index)
    if identity.mobile:
        condition |= Q(mobile=identity.mobile)
    if identity.name and identity.birth_date:
        condition |= Q(name=identity.name, birth_date=identity.birth_date)
    return condition


@transaction.atomic
def propose_watchlist_entry(
    actor: Actor,
    *,
    reason: str,
    name: str = "",
    birth_date: date | None = None,
    mobile: str = "",
    id_type: str = "",
    id_number: str = "",
    expires_at: datetime | None = None,
) -> WatchlistEntry:
    """Propose to put a person on the watchlist. Nothing is enforced until another person
    approves. A person already on the list, or already proposed, is not proposed twice."""
    reason = _clean_reason(reason, MAX_WATCHLIST_REASON)
    identity = clean_watchlist_identity(
        name=name, birth_date=birth_date, mobile=mobile, id_type=id_type, id_number=id_number
    )
    now = timezone.now()
    if expires_at is not None and expires_at <= now:
        raise DomainError(
            "expiry_in_past", _("The end date must be in the future."), field="expires_at"
        )
    already = (
        WatchlistEntry.objects.filter(status__in=OPEN_WATCHLIST_STATUSES)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .filter(_same_person(identity))
        .first()
    )
    if already is not None:
        raise ConflictError(
            "already_listed",
            _("This person is already on the watchlist or proposed for it (entry %(id)s).")
            % {"id": already.pk},
            entry=already.pk,
        )
    entry = _new_entry(actor, identity, reason, expires_at)
    record(actor, "watchlist.proposed", entry, expires_at=_iso(expires_at))
    return entry


def _iso(moment: datetime | None) -> str:
    return moment.isoformat() if moment else ""


def _four_eyes(actor: Actor, proposer_id: int | None) -> None:
    """Nobody approves their own proposal. A program (no person) proposing and approving at
    once is allowed: imports, the demo and tests."""
    if actor.user is not None and proposer_id == actor.user.pk:
        raise PermissionDeniedError(
            "own_proposal",
            _("Another property admin must approve this: you proposed it yourself."),
        )


def _decide(
    actor: Actor,
    entry: WatchlistEntry,
    *,
    from_status: WatchlistStatus,
    to_status: WatchlistStatus,
    reason: str,
    **changes: Any,
) -> WatchlistEntry:
    """Move the entry from one status to the next, once: whoever comes second is refused."""
    now = timezone.now()
    moved = WatchlistEntry.objects.filter(pk=entry.pk, status=from_status).update(
        status=to_status,
        is_active=to_status in ENFORCED_WATCHLIST_STATUSES,
        reviewed_by=actor.user,
        reviewed_at=now,
        review_reason=reason,
        **changes,
    )
    entry.refresh_from_db()
    if not moved:
        raise ConflictError(
            "already_decided",
            _("Someone else has already decided this: the entry is now %(status)s.")
            % {"status": entry.get_status_display()},
        )
    return entry


@transaction.atomic
def approve_watchlist_entry(
    actor: Actor, entry: WatchlistEntry, *, reason: str = ""
) -> WatchlistEntry:
    """Approve a proposed entry: from now on the person is refused everywhere. Their passes
    are revoked and their visits waiting for approval are refused (without telling why):
    ``enforce_watchlist_entry``, which the workflows action of the same name calls."""
    reason = _clean_reason(reason, MAX_REVIEW_REASON, required=False)
    _four_eyes(actor, entry.proposed_by_id)
    if entry.expires_at is not None and entry.expires_at <= timezone.now():
        raise DomainError(
            "entry_expired", _("This proposal's end date has passed; propose it again.")
        )
    entry = _decide(
        actor,
        entry,
        from_status=WatchlistStatus.PROPOSED,
        to_status=WatchlistStatus.ENFORCED,
        reason=reason,
        approved_by=actor.user,
        approved_at=timezone.now(),
    )
    record(actor, "watchlist.approved", entry, reason=reason)
    return entry


def enforce_watchlist_entry(actor: Actor, entry: WatchlistEntry) -> list[Visit]:
    """Revoke the passes of everyone an entry in force names and refuse their waiting visits.
    Returns the refused visits: their flows end too, which is the workflows' part (its
    ``approve_watchlist_entry`` and ``add_to_watchlist`` call this). An entry not in force
    (proposed, or past its end) enforces nothing."""
    if entry.status != WatchlistStatus.ENFORCED or (
        entry.expires_at is not None and entry.expires_at <= timezone.now()
    ):
        return []
    visitor_ids = list(visitors_matching(entry).values_list("pk", flat=True))
    revoked = revoke_passes_of_visitors(actor, visitor_ids, _("Watchlisted"))
    waiting = list(
        Visit.objects.select_for_update().filter(
            visitor_id__in=visitor_ids,
            status__in=(VisitStatus.DRAFT, VisitStatus.PENDING_APPROVAL),
        )
    )
    # The reason a host or visitor may read is neutral: the watchlist itself stays with
    # security and property admins.
    refused = _("Refused by building management.")
    now = timezone.now()
    for visit in waiting:
        Visit.objects.filter(pk=visit.pk).update(
            status=VisitStatus.REJECTED, decided_at=now, decision_reason=refused, updated_at=now
        )
        visit.refresh_from_db()
        record(actor, "visit.rejected", visit, reason=refused, watchlist_entry=entry.pk)
    record(
        actor,
        "watchlist.enforced",
        entry,
        visitors=len(visitor_ids),
        passes_revoked=revoked,
        visits_refused=len(waiting),
    )
    return waiting


@transaction.atomic
def reject_watchlist_entry(actor: Actor, entry: WatchlistEntry, *, reason: str) -> WatchlistEntry:
    """Reject a proposed entry: nothing changes for the person."""
    reason = _clean_reason(reason, MAX_REVIEW_REASON)
    entry = _decide(
        actor,
        entry,
        from_status=WatchlistStatus.PROPOSED,
        to_status=WatchlistStatus.REJECTED,
        reason=reason,
    )
    record(actor, "watchlist.rejected", entry, reason=reason)
    return entry


@transaction.atomic
def propose_watchlist_removal(
    actor: Actor, entry: WatchlistEntry, *, reason: str
) -> WatchlistEntry:
    """Propose to take a person off the watchlist. The entry stays enforced until another
    person approves the removal."""
    reason = _clean_reason(reason, MAX_REVIEW_REASON)
    now = timezone.now()
    moved = WatchlistEntry.objects.filter(pk=entry.pk, status=WatchlistStatus.ENFORCED).update(
        status=WatchlistStatus.REMOVAL_PROPOSED,
        removal_proposed_by=actor.user,
        removal_proposed_at=now,
        removal_reason=reason,
    )
    entry.refresh_from_db()
    if not moved:
        raise ConflictError(
            "not_enforced",
            _("Only an enforced entry can be proposed for removal; this one is %(status)s.")
            % {"status": entry.get_status_display()},
        )
    record(actor, "watchlist.removal_proposed", entry, reason=reason)
    return entry


@transaction.atomic
def approve_watchlist_removal(
    actor: Actor, entry: WatchlistEntry, *, reason: str = ""
) -> WatchlistEntry:
    """Approve a removal: the person is no longer refused. Passes revoked while they were
    listed stay revoked; new ones may be issued."""
    reason = _clean_reason(reason, MAX_REVIEW_REASON, required=False)
    _four_eyes(actor, entry.removal_proposed_by_id)
    entry = _decide(
        actor,
        entry,
        from_status=WatchlistStatus.REMOVAL_PROPOSED,
        to_status=WatchlistStatus.REMOVED,
        reason=reason,
    )
    record(actor, "watchlist.removed", entry, reason=reason)
    return entry


@transaction.atomic
def reject_watchlist_removal(actor: Actor, entry: WatchlistEntry, *, reason: str) -> WatchlistEntry:
    """Keep the entry: the removal proposal is dropped and the entry stays enforced."""
    reason = _clean_reason(reason, MAX_REVIEW_REASON)
    entry = _decide(
        actor,
        entry,
        from_status=WatchlistStatus.REMOVAL_PROPOSED,
        to_status=WatchlistStatus.ENFORCED,
        reason=reason,
        removal_proposed_by=None,
        removal_proposed_at=None,
        removal_reason="",
    )
    record(actor, "watchlist.removal_rejected", entry, reason=reason)
    return entry


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
    """Write an entry directly, approved or only proposed, for programs (imports, the demo,
    tests): people go through propose and approve. Any expiry is accepted, past ones too.
    An approved entry is enforced by the workflows action of the same name."""
    if actor.user is not None:
        raise PermissionDeniedError(
            "four_eyes", _("People propose entries; another property admin approves them.")
        )
    reason = _clean_reason(reason, MAX_WATCHLIST_REASON)
    identity = clean_watchlist_identity(
        name=name, birth_date=birth_date, mobile=mobile, id_type=id_type, id_number=id_number
    )
    entry = _new_entry(actor, identity, reason, expires_at)
    record(actor, "watchlist.proposed", entry, expires_at=_iso(expires_at))
    if not approve:
        return entry
    now = timezone.now()
    entry = _decide(
        actor,
        entry,
        from_status=WatchlistStatus.PROPOSED,
        to_status=WatchlistStatus.ENFORCED,
        reason="",
        approved_by=None,
        approved_at=now,
    )
    record(actor, "watchlist.approved", entry, reason="")
    return entry


def note_watchlist_viewed(actor: Actor, entry: WatchlistEntry | None, **shown: object) -> None:
    """Audit a view of the watchlist, or of one entry's unmasked details."""
    record(actor, "watchlist.revealed" if entry else "watchlist.viewed", entry, **shown)


def note_id_card_read(actor: Actor, id_number: str) -> None:
    """Audit a card read at the desk (masked: the log is read by more people than the card)."""
    record(actor, "visitor.id_card_read", None, id_number=mask_id_number(id_number))


def note_visits_viewed(actor: Actor, **shown: object) -> None:
    """Audit a view of the visits page, which shows personal data: what was shown, with
    which filters."""
    record(actor, "visits.viewed", None, **shown)


@transaction.atomic
def cancel_request(actor: Actor, visit: Visit) -> Visit:
    """The visitor calls off a visit that still waits for approval. One conditional UPDATE:
    if a host decided it a moment before, nothing changes and the visitor is told how it was
    decided. Whatever still waits for a decision on it (the host's link, the flow's task) is
    withdrawn by the workflows action of the same name, which calls this one."""
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
    return visit


@transaction.atomic
def cancel_invitation(actor: Actor, visit: Visit) -> Visit:
    """The host calls off an approved invitation before the visitor comes. One conditional
    UPDATE: an invitation still approved, not over, and with no entry taken at a gate yet; so
    of an arrival and a cancellation at the same moment, whichever comes first wins and the
    other is told. The passes, the links and the visitor's notice are the workflows' part
    (its action of the same name, which calls this one)."""
    # The gate takes a use of the pass, then checks the visit in: lock in the same order
    # (the passes first), or a scan at the same moment deadlocks with this cancellation.
    list(Pass.objects.select_for_update().filter(visit_id=visit.pk).values_list("pk"))
    now = timezone.now()
    cancelled = (
        Visit.objects.filter(
            pk=visit.pk,
            scenario=Scenario.INVITE,
            status=VisitStatus.APPROVED,
            valid_until__gt=now,
        )
        .exclude(passes__uses__gt=0)
        .update(status=VisitStatus.CANCELLED, updated_at=now)
    )
    visit.refresh_from_db()
    if not cancelled:
        raise ConflictError(*_why_not_cancellable(visit, now))
    record(actor, "visit.cancelled_by_host", visit)
    return visit


def _why_not_cancellable(visit: Visit, now: datetime) -> tuple[str, str]:
    if visit.status == VisitStatus.CANCELLED:
        return "already_cancelled", _("This invitation is already cancelled.")
    if visit.valid_until <= now:
        return "visit_over", _("This visit is over: there is nothing to cancel.")
    if visit.status == VisitStatus.APPROVED and visit.scenario == Scenario.INVITE:
        return "already_used", _(
            "The visitor has already come through a gate: this invitation can no longer be "
            "cancelled."
        )
    return "not_cancellable", _("This invitation can no longer be cancelled: it is %(status)s.") % {
        "status": visit.get_status_display().lower()
    }


def note_host_visitors_viewed(actor: Actor, visit_ids: list[int]) -> None:
    """Audit a host looking at their own visitors (names and masked mobiles): which visits."""
    record(actor, "host.visitors_viewed", None, visits=visit_ids)


def note_visitor_signed_in(actor: Actor) -> None:
    """Audit a visitor's sign-in to their own pages (the number is not written down)."""
    record(actor, "visitor.signed_in", None)


def note_own_visits_viewed(actor: Actor, visit_ids: list[int]) -> None:
    """Audit a visitor looking at their own visits: which visits, and nothing personal."""
    record(actor, "visitor.visits_viewed", None, visits=visit_ids)
