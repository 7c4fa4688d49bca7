"""My visitors (我的访客): a staff member's own visitors in the console, as their host or as
the person who invited them, with what a host does about them (share the invitation, call
it off while it waits for approval or, approved, before the visitor has come)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kernel.console import building_zone, console_view
from kernel.errors import DomainError
from kernel.phones import display_mobile
from kernel.privacy import mask_mobile
from visit_platform.audit.actions import Actor
from visit_platform.directory.roles import INVITE_VISITORS
from visit_platform.visits.actions import note_host_visitors_viewed
from visit_platform.visits.choices import Scenario, VisitStatus
from visit_platform.visits.models import Visit
from visit_platform.visits.queries import visits_of_host_user, visits_with_entries
from workflows.actions import cancel_invitation

# Upcoming visits are a working list: the soonest ones, at most this many.
UPCOMING_LIMIT = 100
PAST_PAGE_SIZE = 20
# Past visits go back this far: older ones are the visits list's business, or forgotten.
PAST_DAYS = 365

STATUS_BADGES = {
    VisitStatus.PENDING_APPROVAL: "warn",
    VisitStatus.APPROVED: "info",
    VisitStatus.CHECKED_IN: "ok",
    VisitStatus.REJECTED: "bad",
    VisitStatus.CANCELLED: "bad",
}


CANCELLABLE_STATUSES = (VisitStatus.PENDING_APPROVAL, VisitStatus.APPROVED)


def _row(visit: Visit, user_id: int, now: datetime, used: set[int]) -> dict[str, Any]:
    """One visitor as their host sees them. The host asked them here, so the full name is
    shown (hosts recognise their visitors by it); the mobile is masked, as on every staff
    page: the host has it from the visitor, the platform does not hand it out again. An
    invitation may be cancelled until the visitor has come through a gate (``used``: the
    visits of the page with an entry taken) or its window is over."""
    mobile = visit.visitor_mobile
    return {
        "visit": visit,
        "name": visit.visitor_name,
        "mobile": mask_mobile(display_mobile(mobile)) if mobile else "",
        "badge": STATUS_BADGES.get(VisitStatus(visit.status), ""),
        "for_someone_else": visit.host is not None and visit.host.user_id != user_id,
        # A cancelled invitation is not passed on any more.
        "can_share": visit.scenario == Scenario.INVITE and visit.status != VisitStatus.CANCELLED,
        "can_cancel": visit.scenario == Scenario.INVITE
        and visit.status in CANCELLABLE_STATUSES
        and visit.valid_until > now
        and visit.pk not in used,
    }


def _sections(
    visits: QuerySet[Visit], start_of_today: datetime
) -> tuple[QuerySet[Visit], QuerySet[Visit], QuerySet[Visit]]:
    """Today's (the window touches today), upcoming (starting after today) and past (over
    before today) visits, in the building's day."""
    end_of_today = start_of_today + timedelta(days=1)
    today = visits.filter(valid_from__lt=end_of_today, valid_until__gt=start_of_today)
    upcoming = visits.filter(valid_from__gte=end_of_today)
    past = visits.filter(
        valid_until__lte=start_of_today,
        valid_until__gt=start_of_today - timedelta(days=PAST_DAYS),
    )
    return (
        today.order_by("valid_from", "pk"),
        upcoming.order_by("valid_from", "pk"),
        past.order_by("-valid_from", "-pk"),
    )


@console_view(INVITE_VISITORS)
def my_visitors(request: HttpRequest) -> HttpResponse:
    """The signed-in person's visitors: today, upcoming, and past (paged, the last year).
    The page shows visitors' names, so every view is audited with the visits it showed."""
    user_id = int(request.user.pk or 0)
    with timezone.override(building_zone(request)):
        now = timezone.now()
        start = datetime.combine(timezone.localdate(), time.min, timezone.get_current_timezone())
        today, upcoming, past = _sections(visits_of_host_user(user_id), start)
        today_list = list(today)
        upcoming_list = list(upcoming[:UPCOMING_LIMIT])
        page = Paginator(past, PAST_PAGE_SIZE).get_page(request.GET.get("page"))
        past_list = list(page.object_list)
        shown = [visit.pk for visit in [*today_list, *upcoming_list, *past_list]]
        note_host_visitors_viewed(Actor.from_request(request), shown)
        used = visits_with_entries(shown)
        return render(
            request,
            "visits/my_visitors.html",
            {
                "section": "my_visitors",
                "today": [_row(visit, user_id, now, used) for visit in today_list],
                "upcoming": [_row(visit, user_id, now, used) for visit in upcoming_list],
                "upcoming_limit": UPCOMING_LIMIT,
                "past": [_row(visit, user_id, now, used) for visit in past_list],
                "page": page,
                "past_days": PAST_DAYS,
            },
        )


@require_POST
@console_view(INVITE_VISITORS)
def cancel_my_visitor(request: HttpRequest, pk: int) -> HttpResponse:
    """Call off an invitation of one's own (``cancel_invitation``): waiting for approval, or
    approved and not yet used at a gate, whose passes are revoked and whose visitor is told.
    A decision or an arrival a moment before wins, and the host reads why; a replayed POST
    reads that it is already cancelled and changes nothing."""
    visit = (
        visits_of_host_user(request.user.pk)
        .filter(pk=pk, scenario=Scenario.INVITE, valid_until__gt=timezone.now())
        .first()
    )
    if visit is None:
        raise Http404
    try:
        cancel_invitation(Actor.from_request(request), visit)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The invitation is cancelled."))
    return redirect("visits:my_visitors")
