"""Passes: issuing them (one or many at once), their links, printed slips and revocation."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from kernel.errors import DomainError
from kernel.privacy import secret_hash
from kernel.zones import company_zones
from tenants.actions import building_url
from tenants.db import current_schema
from visit_platform.access.actions._common import publish_visit_change
from visit_platform.access.models import Pass
from visit_platform.access.queries import expected_person, is_expected_today
from visit_platform.audit.actions import Actor, record, record_many
from visit_platform.audit.models import AuditEntry
from visit_platform.directory.models import Company
from visit_platform.visits.choices import ADMITTING_STATUSES, VisitStatus
from visit_platform.visits.models import Visit
from visit_platform.visits.queries import visit_is_watchlisted, watchlisted_visitors


@dataclass
class IssuedPass:
    pass_record: Pass
    link_code: str  # for the visitor's pass page; only its hash is stored


@transaction.atomic
def issue_pass(
    actor: Actor,
    visit: Visit,
    *,
    max_uses: int | None = None,
    zones: Iterable[str] | None = None,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
) -> IssuedPass:
    """Issue a pass for an approved visit, by default for the visit's whole window and the
    zones of the visit's company (``default_zones``); ``zones`` given (the policy's, an
    invitation's) replace them, and an empty list opens every zone."""
    if visit.status not in ADMITTING_STATUSES:
        raise DomainError("not_approved", _("Only approved visits get a pass."))
    if visit_is_watchlisted(visit):
        raise DomainError("watchlisted", _("This visitor is on the watchlist."))
    if max_uses is not None and max_uses < 1:
        raise DomainError("max_uses_invalid", _("A pass admits at least once."), field="max_uses")
    start = valid_from or visit.valid_from
    end = valid_until or visit.valid_until
    if end <= start:
        raise DomainError("window_invalid", _("The pass must end after it starts."))
    code = secrets.token_urlsafe(18)
    pass_record = Pass.objects.create(
        visit=visit,
        valid_from=start,
        valid_until=end,
        max_uses=max_uses,
        zones=_clean_zones(default_zones(visit) if zones is None else zones),
        link_hash=secret_hash(code),
        issued_by=actor.user,
    )
    record(
        actor,
        "pass.issued",
        pass_record,
        visit=visit.pk,
        max_uses=max_uses,
        zones=pass_record.zones,
    )
    if is_expected_today(visit, pass_record):
        publish_visit_change(visit.pk, "expected", expected_person(visit))
    return IssuedPass(pass_record, code)


def default_zones(visit: Visit) -> list[str]:
    """The zones a visitor may enter unless told otherwise: those of the company they visit
    (its zone and floors, ``kernel.zones.company_zones``), or else the host's company, as
    the slip says. No company, or a company with no zone and no floors: every zone."""
    company = visit.company or (visit.host.company if visit.host else None)
    if company is None:
        return []
    return company_zones(company.zone, company.floors)


def _clean_zones(zones: Iterable[str]) -> list[str]:
    return sorted({zone.strip()[:100] for zone in zones if zone.strip()})


@transaction.atomic
def refresh_pass_link(pass_record: Pass) -> str:
    """A new link code for a pass (the old link stops working): the code is known only
    when made, because only its hash is stored."""
    code = secrets.token_urlsafe(18)
    Pass.objects.filter(pk=pass_record.pk).update(link_hash=secret_hash(code))
    pass_record.link_hash = secret_hash(code)
    return code


@transaction.atomic
def issue_passes(actor: Actor, visits: list[Visit]) -> list[IssuedPass]:
    """``issue_pass`` for many approved visits at once, each for its visit's whole window
    (an event's attendees): the same refusals, checked for the whole list in one watchlist
    query, and the passes written in one INSERT. Refuses the whole list if one is refused."""
    if any(visit.status not in ADMITTING_STATUSES for visit in visits):
        raise DomainError("not_approved", _("Only approved visits get a pass."))
    watchlisted = watchlisted_visitors().filter(pk__in={visit.visitor_id for visit in visits})
    if watchlisted.exists():
        raise DomainError("watchlisted", _("This visitor is on the watchlist."))
    codes = [secrets.token_urlsafe(18) for _visit in visits]
    # One query for the companies' zones, not one per visit.
    companies = Company.objects.in_bulk({visit.company_id for visit in visits if visit.company_id})
    for visit in visits:
        if visit.company_id in companies:
            visit.company = companies[visit.company_id]
    passes = Pass.objects.bulk_create(
        [
            Pass(
                visit=visit,
                valid_from=visit.valid_from,
                valid_until=visit.valid_until,
                zones=_clean_zones(default_zones(visit)),
                link_hash=secret_hash(code),
                issued_by=actor.user,
            )
            for visit, code in zip(visits, codes, strict=True)
        ],
        batch_size=2000,
    )
    record_many(actor, "pass.issued", passes, max_uses=None)
    return [IssuedPass(pass_record, code) for pass_record, code in zip(passes, codes, strict=True)]


def pass_url(code: str) -> str:
    """The address of a pass's page (its link code) on the current building's domain."""
    return building_url(current_schema(), reverse("pass_page", args=[code]))


def renew_pass_link(actor: Actor, pass_record: Pass) -> str:
    """A new link to the pass for the visitor who asked on their own pages, audited. The pass
    itself, its uses and its window stay as they are."""
    code = refresh_pass_link(pass_record)
    record(actor, "pass.link_renewed", pass_record, visit=pass_record.visit_id)
    return code


@transaction.atomic
def note_slip_printed(
    actor: Actor, pass_record: Pass, print_id: str, *, full_names: bool = False
) -> bool:
    """Audit a printed slip once: it carries the visitor's name and a window-long token.

    ``print_id`` names one print (``access.views.slip_print_url``): a browser fetches the
    slip's PDF more than once for one print (its viewer loads it again to print or save), and
    every fetch of one print writes nothing more (ADR 0027). The pass's row is locked while
    the log is checked, so two fetches at once write one entry. Returns whether it wrote.
    """
    Pass.objects.select_for_update().filter(pk=pass_record.pk).first()
    already = AuditEntry.objects.filter(
        verb="pass.slip_printed", object_id=str(pass_record.pk), detail__print=print_id
    ).exists()
    if already:
        return False
    detail: dict[str, object] = {"visit": pass_record.visit_id, "print": print_id}
    if full_names:
        detail["full_names"] = True
    record(actor, "pass.slip_printed", pass_record, **detail)
    return True


# The column's length: a longer reason is refused, not cut.
MAX_REVOKE_REASON = 200


@transaction.atomic
def revoke_pass(actor: Actor, pass_record: Pass, reason: str) -> Pass:
    """Revoke a pass, with the reason written to it and to the audit log. The gate decision
    refuses it at once (``revoked``); gate agents learn it at their next sync of the
    revocation list. Revoking a revoked pass changes nothing and records nothing, so a
    replayed request is harmless."""
    reason = reason.strip()
    if not reason:
        raise DomainError("reason_required", _("Say why the pass is revoked."), field="reason")
    if len(reason) > MAX_REVOKE_REASON:
        raise DomainError(
            "reason_too_long",
            _("The reason may be at most %(limit)d characters.") % {"limit": MAX_REVOKE_REASON},
            field="reason",
        )
    updated = Pass.objects.filter(pk=pass_record.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoke_reason=reason[:200]
    )
    pass_record.refresh_from_db()
    if updated:
        record(actor, "pass.revoked", pass_record, reason=reason[:200])
        # A visit that has not arrived is no longer expected on the screens (another pass of
        # the same visit, a rare case, shows again at the screen's next snapshot).
        if pass_record.visit.status == VisitStatus.APPROVED:
            publish_visit_change(pass_record.visit_id, "cancelled")
    return pass_record


def revoke_passes_of_visitors(actor: Actor, visitor_ids: Iterable[int], reason: str) -> int:
    """Revoke every unrevoked pass of these visitors (the watchlist calls this)."""
    passes = Pass.objects.filter(visit__visitor_id__in=list(visitor_ids), revoked_at__isnull=True)
    count = 0
    for pass_record in passes:
        revoke_pass(actor, pass_record, reason)
        count += 1
    return count
