"""The staff page of visits, today's access events and who is inside now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.dateparse import parse_date

from kernel.console import building_zone, console_view
from kernel.errors import DomainError
from visit_platform.access.choices import PRINTABLE_STATES, PassState, Reason
from visit_platform.access.models import AccessEvent, Pass
from visit_platform.access.queries import Presence, pass_state, people_inside
from visit_platform.audit.actions import Actor
from visit_platform.directory.queries import managed_company_ids
from visit_platform.directory.roles import (
    PRINT_SLIP,
    VIEW_VISIT,
    sees_full_names,
    visitor_name_for,
)
from visit_platform.visits.actions import note_visits_viewed
from visit_platform.visits.choices import Scenario, VisitStatus
from visit_platform.visits.models import Visit
from visit_platform.visits.queries import visit_search

PAGE_SIZE = 50
# Today's events are a working list, not a report: the newest ones, at most this many.
EVENT_LIMIT = 200

STATUS_BADGES = {
    VisitStatus.DRAFT: "",
    VisitStatus.PENDING_APPROVAL: "warn",
    VisitStatus.APPROVED: "info",
    VisitStatus.CHECKED_IN: "ok",
    VisitStatus.CHECKED_OUT: "",
    VisitStatus.REJECTED: "bad",
    VisitStatus.CANCELLED: "bad",
    VisitStatus.EXPIRED: "",
}


@dataclass(frozen=True)
class VisitFilters:
    status: str = ""
    scenario: str = ""
    day: date | None = None
    query: str = ""
    denied_only: bool = False

    @classmethod
    def from_request(cls, request: HttpRequest) -> VisitFilters:
        status = request.GET.get("status", "")
        scenario = request.GET.get("scenario", "")
        return cls(
            status=status if status in VisitStatus.values else "",
            scenario=scenario if scenario in Scenario.values else "",
            day=_parse_day(request.GET.get("date", "")),
            query=request.GET.get("q", "").strip()[:200],
            denied_only=request.GET.get("denied") == "1",
        )

    def as_detail(self) -> dict[str, Any]:
        """What the audit entry records about the view: which filters were applied."""
        detail: dict[str, Any] = {
            "status": self.status,
            "scenario": self.scenario,
            "date": self.day.isoformat() if self.day else "",
            "query": self.query,
            "denied_only": self.denied_only,
        }
        return {key: value for key, value in detail.items() if value}


def _parse_day(text: str) -> date | None:
    try:
        return parse_date(text) if text else None
    except ValueError:
        return None


def _visits(
    company_ids: set[int] | None, filters: VisitFilters, search: Q | None
) -> QuerySet[Visit]:
    visits = Visit.objects.select_related("visitor", "host", "company").order_by(
        "-valid_from", "-id"
    )
    if company_ids is not None:
        visits = visits.filter(company_id__in=company_ids)
    if filters.status:
        visits = visits.filter(status=filters.status)
    if filters.scenario:
        visits = visits.filter(scenario=filters.scenario)
    if filters.day:
        start = datetime.combine(filters.day, time.min, timezone.get_current_timezone())
        visits = visits.filter(valid_from__lt=start + timedelta(days=1), valid_until__gt=start)
    if search is not None:
        visits = visits.filter(search)
    return visits


def _events_today(company_ids: set[int] | None, denied_only: bool) -> QuerySet[AccessEvent]:
    start = datetime.combine(timezone.localdate(), time.min, timezone.get_current_timezone())
    events = AccessEvent.objects.filter(
        occurred_at__gte=start, occurred_at__lt=start + timedelta(days=1)
    ).select_related("gate", "visit__visitor")
    if company_ids is not None:
        # Passages nobody can be tied to belong to the building, not to a company.
        events = events.filter(visit__company_id__in=company_ids)
    if denied_only:
        events = events.filter(granted=False)
    return events.order_by("-occurred_at", "-id")


def _visit_rows(visits: list[Visit], can_print: bool, user: Any) -> list[dict[str, Any]]:
    latest_pass: dict[int, Pass] = {}
    for issued in Pass.objects.filter(visit__in=visits).order_by("visit_id", "pk"):
        latest_pass[issued.visit_id] = issued
    rows = []
    for visit in visits:
        pass_record = latest_pass.get(visit.pk)
        state = None
        if pass_record is not None:
            pass_record.visit = visit  # already loaded with its visitor
            state = pass_state(pass_record)
        rows.append(
            {
                "visit": visit,
                "visitor_name": visitor_name_for(user, visit.visitor_name),
                "id_number": visit.visitor.masked_id_number,
                "badge": STATUS_BADGES.get(VisitStatus(visit.status), ""),
                "pass": pass_record,
                # Only a pass that still works says something beyond the visit's status.
                "pass_state": state.label if state and state != PassState.VALID else "",
                "can_print": can_print and state in PRINTABLE_STATES,
            }
        )
    return rows


def _event_rows(events: list[AccessEvent], user: Any) -> list[dict[str, Any]]:
    return [
        {
            "event": event,
            "reason": Reason(event.reason).label,
            "visitor_name": visitor_name_for(user, event.visit.visitor_name) if event.visit else "",
        }
        for event in events
    ]


def _presence_rows(
    people: list[Presence], company_ids: set[int] | None, user: Any
) -> list[dict[str, Any]]:
    rows = []
    for presence in people:
        visit = presence.event.visit
        if company_ids is not None and (visit is None or visit.company_id not in company_ids):
            continue
        rows.append(
            {
                "since": presence.since,
                "gate": presence.event.gate.name,
                "visitor_name": visitor_name_for(user, visit.visitor_name) if visit else "",
                "host_name": visit.host.name if visit and visit.host else "",
                "company_name": visit.company.name if visit and visit.company else "",
                "companions": visit.companions if visit else 0,
                "party": presence.party,
            }
        )
    return rows


def _query_string(request: HttpRequest, **changes: str | None) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    for key, value in changes.items():
        params.pop(key, None)
        if value is not None:
            params[key] = value
    return params.urlencode()


@console_view(VIEW_VISIT)
def visit_list(request: HttpRequest) -> HttpResponse:
    """Visits, today's gate events and who is inside, narrowed to the user's companies.

    The page shows personal data (masked names and document numbers), so every view of it
    is audited with the filters used.
    """
    company_ids = managed_company_ids(request.user, VIEW_VISIT)
    filters = VisitFilters.from_request(request)
    search_error = ""
    try:
        search = visit_search(filters.query)
    except DomainError as error:
        search, search_error = None, error.message
    with timezone.override(building_zone(request)):
        visits = _visits(company_ids, filters, search)
        if search_error:
            visits = visits.none()
        page = Paginator(visits, PAGE_SIZE).get_page(request.GET.get("page"))
        events = _events_today(company_ids, filters.denied_only)
        event_list = list(events[:EVENT_LIMIT])
        event_count = len(event_list) if len(event_list) < EVENT_LIMIT else events.count()
        occupancy = people_inside()
        inside = _presence_rows(occupancy.people, company_ids, request.user)
        full_names = sees_full_names(request.user)
        note_visits_viewed(
            Actor.from_request(request),
            visits=len(page.object_list),
            events=len(event_list),
            inside=len(inside),
            **({"full_names": True} if full_names else {}),
            **filters.as_detail(),
        )
        context = {
            "section": "visits",
            "filters": filters,
            "statuses": VisitStatus.choices,
            "scenarios": Scenario.choices,
            "page": page,
            "rows": _visit_rows(
                list(page.object_list), request.user.has_perm(PRINT_SLIP), request.user
            ),
            "events": _event_rows(event_list, request.user),
            "search_error": search_error,
            "full_names": full_names,
            "event_count": event_count,
            "event_limit": EVENT_LIMIT,
            "today": timezone.localdate(),
            "inside": inside,
            # Companions enter on the visitor's pass: they count as people inside (ADR 0021).
            "inside_people": sum(row["party"] for row in inside),
            # Exits a turnstile counted without a pass: only the building as a whole has them.
            "unmatched_exits": occupancy.unmatched_exits if company_ids is None else 0,
            "denied_url": "?" + _query_string(request, denied="1"),
            "all_events_url": "?" + _query_string(request, denied=None),
            "time_zone": timezone.get_current_timezone_name(),
        }
        return render(request, "visits/visit_list.html", context)
