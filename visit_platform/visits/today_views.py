"""Reception's day (今日访客): today's visitors of the whole building, expected, arrived and
gone, and the desk's one tap that checks an expected visitor in and prints their slip."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from kernel.console import MAX_ROW_ID, building_zone, console_view
from kernel.errors import DomainError
from kernel.phones import display_mobile
from kernel.privacy import mask_mobile
from visit_platform.access.actions import check_in_at_desk
from visit_platform.access.choices import PRINTABLE_STATES, PassState
from visit_platform.access.models import Pass
from visit_platform.access.queries import building_day, pass_state
from visit_platform.audit.actions import Actor
from visit_platform.directory.roles import (
    PRINT_SLIP,
    REGISTER_VISITS,
    VIEW_EXPECTED_TODAY,
    sees_full_names,
    visitor_name_for,
)
from visit_platform.visits.actions import note_visits_viewed
from visit_platform.visits.choices import VisitStatus
from visit_platform.visits.models import Visit
from visit_platform.visits.queries import visit_search

# A building's day is a working list: this many visits at most, soonest first.
DAY_LIMIT = 300

# The day's three states, as the page's filter names them, and the visit statuses behind them.
DAY_STATES: dict[str, tuple[Any, VisitStatus, str]] = {
    "expected": (_("Expected"), VisitStatus.APPROVED, "info"),
    "arrived": (_("Arrived"), VisitStatus.CHECKED_IN, "ok"),
    "left": (_("Left"), VisitStatus.CHECKED_OUT, ""),
}


@dataclass(frozen=True)
class DayRow:
    """One visitor on reception's day, as the page shows them."""

    visit: Visit
    state: str
    state_label: Any
    badge: str
    visitor_name: str
    mobile: str
    pass_record: Pass | None
    pass_label: str
    can_check_in: bool
    can_print: bool


def _todays_visits(request: HttpRequest, state: str, search: Q | None) -> QuerySet[Visit]:
    day_start, day_end = building_day(request.tenant, timezone.now())  # type: ignore[attr-defined]
    statuses = [DAY_STATES[state][1]] if state else [entry[1] for entry in DAY_STATES.values()]
    visits = (
        Visit.objects.filter(status__in=statuses, valid_from__lt=day_end, valid_until__gt=day_start)
        .select_related("visitor", "host", "company")
        .order_by("valid_from", "pk")
    )
    return visits.filter(search) if search is not None else visits


def _rows(request: HttpRequest, visits: list[Visit]) -> list[DayRow]:
    latest: dict[int, Pass] = {}
    for issued in Pass.objects.filter(visit__in=visits).order_by("visit_id", "pk"):
        latest[issued.visit_id] = issued
    may_check_in = request.user.has_perm(REGISTER_VISITS)
    may_print = request.user.has_perm(PRINT_SLIP)
    rows = []
    for visit in visits:
        state = next(key for key, entry in DAY_STATES.items() if entry[1] == visit.status)
        label, _status, badge = DAY_STATES[state]
        pass_record = latest.get(visit.pk)
        current = None
        if pass_record is not None:
            pass_record.visit = visit
            current = pass_state(pass_record)
        mobile = display_mobile(visit.visitor_mobile) if visit.visitor_mobile else ""
        rows.append(
            DayRow(
                visit=visit,
                state=state,
                state_label=label,
                badge=badge,
                visitor_name=visitor_name_for(request.user, visit.visitor_name),
                # The desk has the number it typed to search; nobody needs it on screen.
                mobile=mask_mobile(mobile),
                pass_record=pass_record,
                pass_label=str(current.label) if current is not None else "",
                can_check_in=may_check_in and state == "expected" and current in PRINTABLE_STATES,
                can_print=may_print and state == "arrived" and current in PRINTABLE_STATES,
            )
        )
    return rows


@console_view(VIEW_EXPECTED_TODAY)
def expected_today(request: HttpRequest) -> HttpResponse:
    """Today's visitors in the building's local day, with the desk's check-in. Names are whole
    for reception and security (``sees_full_names``), so every view is audited."""
    state = request.GET.get("state", "")
    state = state if state in DAY_STATES else ""
    query = request.GET.get("q", "").strip()[:200]
    search_error = ""
    try:
        search = visit_search(query)
    except DomainError as error:
        search, search_error = None, error.message
    with timezone.override(building_zone(request)):
        visits = _todays_visits(request, state, search)
        shown = [] if search_error else list(visits[:DAY_LIMIT])
        counts = {
            key: _todays_visits(request, key, search).count() if not search_error else 0
            for key in DAY_STATES
        }
        full_names = sees_full_names(request.user)
        detail: dict[str, Any] = {"page": "today", "state": state, "query": query}
        if full_names:
            detail["full_names"] = True
        note_visits_viewed(
            Actor.from_request(request),
            visits=len(shown),
            **{key: value for key, value in detail.items() if value},
        )
        context = {
            "section": "today",
            "rows": _rows(request, shown),
            "state": state,
            "states": [(key, entry[0], counts[key]) for key, entry in DAY_STATES.items()],
            "total": sum(counts.values()),
            "query": query,
            "search_error": search_error,
            "full_names": full_names,
            "limit": DAY_LIMIT,
            "today": timezone.localdate(),
            "time_zone": timezone.get_current_timezone_name(),
            "valid_state": PassState.VALID,
        }
        return render(request, "visits/expected_today.html", context)


@require_POST
@console_view(REGISTER_VISITS)
def check_in(request: HttpRequest, pk: int) -> HttpResponse:
    """The desk's one tap: check the visitor in (once, however often the form is sent) and
    show their slip to print, in the tab the form opened. A visit that cannot be checked in
    gets a page that says why, and nothing changes."""
    if pk > MAX_ROW_ID:
        raise Http404
    try:
        done = check_in_at_desk(Actor.from_request(request), pk)
    except DomainError as error:
        if error.code == "not_found":
            raise Http404 from error
        context = {"message": error.message, "code": error.code}
        return render(request, "visits/check_in_refused.html", context, status=409)
    response = redirect(reverse("pass_slip", args=[done.pass_record.pk]))
    response["Cache-Control"] = "no-store"
    return response
