"""The records page (visits and gate events of any period) and its saved filters."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from kernel.console import building_zone, console_view, posted_row_id
from kernel.errors import DomainError
from tenants.models import User
from visit_platform.access.models import Gate
from visit_platform.audit.actions import Actor
from visit_platform.directory.models import Company, Host, Membership
from visit_platform.directory.roles import VIEW_RECORDS, sees_full_names
from visit_platform.reports.actions import (
    delete_filter,
    note_records_viewed,
    save_filter,
    saved_filter_of,
)
from visit_platform.reports.choices import RecordsTab
from visit_platform.reports.filters import ReportFilter
from visit_platform.reports.models import LONGEST_FILTER_NAME, LONGEST_FILTER_QUERY, SavedFilter
from visit_platform.reports.records import (
    EVENT_COLUMNS,
    VISIT_COLUMNS,
    Cell,
    Column,
    event_records,
    event_row,
    may_find_people,
    page_of,
    records_company_ids,
    visit_records,
    visit_row,
)
from visit_platform.visits.choices import Scenario, VisitStatus

PAGE_SIZE = 50
# On screen, related columns share a cell (the time window, the visitor with their masked
# numbers...), so a row fits a desk's width; the exports keep one column each.
VISIT_CELLS: tuple[tuple[Promise | None, tuple[str, ...]], ...] = (
    (gettext_lazy("Visit window"), ("valid_from", "valid_until")),
    (None, ("visitor", "mobile", "id_number")),
    (None, ("company", "host")),
    (None, ("scenario", "status")),
    (None, ("invited_by",)),
    (None, ("approved_by",)),
    (None, ("registered_by",)),
    (gettext_lazy("Checked in and out"), ("checked_in_at", "checked_out_at")),
)
EVENT_CELLS: tuple[tuple[Promise | None, tuple[str, ...]], ...] = (
    (None, ("occurred_at",)),
    (None, ("gate", "direction")),
    (None, ("result", "reason")),
    (None, ("visitor", "company")),
)


def _grouped(
    columns: tuple[Column, ...],
    cells: tuple[tuple[Promise | None, tuple[str, ...]], ...],
    rows: list[list[Cell]],
) -> tuple[list[str], list[list[list[Cell]]]]:
    """The headings and rows of the screen's table: each cell the values of its columns,
    headed by its own name or its columns' names."""
    position = {column.key: index for index, column in enumerate(columns)}
    labels = {column.key: str(column.label) for column in columns}
    headings = [
        str(heading) if heading else " · ".join(labels[key] for key in keys)
        for heading, keys in cells
    ]
    return headings, [
        [[row[position[key]] for key in keys] for _heading, keys in cells] for row in rows
    ]


def _tab(text: str) -> str:
    return text if text in RecordsTab.values else RecordsTab.VISITS


def _staff(company_ids: set[int] | None) -> QuerySet[User]:
    """The building's staff a user may pick as the one who invited, approved or registered:
    everyone with a role here, or for a company admin the people of their companies."""
    memberships = Membership.objects.filter(is_active=True)
    if company_ids is not None:
        memberships = memberships.filter(company_id__in=company_ids)
    return User.objects.filter(pk__in=memberships.values("user_id"), is_active=True).order_by(
        "display_name", "email"
    )


def _choices(request: HttpRequest) -> dict[str, Any]:
    """What the filter form offers, within the user's scope."""
    company_ids = records_company_ids(request.user)
    companies = Company.objects.order_by("name")
    hosts = Host.objects.select_related("company").order_by("company__name", "name")
    if company_ids is not None:
        companies = companies.filter(pk__in=company_ids)
        hosts = hosts.filter(company_id__in=company_ids)
    return {
        "companies": companies,
        "hosts": hosts,
        "gates": Gate.objects.order_by("name"),
        "staff": _staff(company_ids),
        "scenarios": Scenario.choices,
        "statuses": VisitStatus.choices,
        "results": [("granted", _("Granted")), ("denied", _("Refused"))],
        "may_find_people": may_find_people(request.user),
        "saved_filters": SavedFilter.objects.filter(user_id=request.user.pk or 0),
        "longest_name": LONGEST_FILTER_NAME,
    }


def _link(report_filter: ReportFilter, tab: str, cursor: str | None = None) -> str:
    query = report_filter.as_query() + "&" + urlencode({"tab": tab})
    if cursor:
        query += "&" + urlencode({"cursor": cursor})
    return f"{reverse('reports:records')}?{query}"


def _tab_links(report_filter: ReportFilter) -> list[tuple[str, str, str]]:
    """Each tab, with a link to it under the same filter."""
    return [(value, str(label), _link(report_filter, value)) for value, label in RecordsTab.choices]


@require_GET
@console_view(VIEW_RECORDS)
def records(request: HttpRequest) -> HttpResponse:
    """Visits or gate events of any period, filtered, newest first, a keyset page at a time.

    The rows are personal data (masked, or whole names for the roles that greet visitors), so
    every view is audited with its filter. A bad filter or page link gets a readable message
    and status 400, and no rows."""
    tab = _tab(request.GET.get("tab", ""))
    with timezone.override(building_zone(request)):
        context: dict[str, Any] = {"section": "records", "tab": tab, **_choices(request)}
        today = timezone.localdate()
        try:
            report_filter = ReportFilter.from_query(request.GET, today=today)
            if tab == RecordsTab.EVENTS:
                page = page_of(
                    event_records(report_filter, request.user),
                    request.GET.get("cursor"),
                    PAGE_SIZE,
                )
                rows = [event_row(event, request.user) for event in page.rows]
            else:
                page = page_of(
                    visit_records(report_filter, request.user),
                    request.GET.get("cursor"),
                    PAGE_SIZE,
                )
                rows = [visit_row(visit, request.user) for visit in page.rows]
        except DomainError as error:
            blank = ReportFilter.from_query({}, today=today)
            context.update(error=error.message, report_filter=blank, tab_links=_tab_links(blank))
            return render(request, "reports/records.html", context, status=error.status)
        full_names = sees_full_names(request.user)
        note_records_viewed(
            Actor.from_request(request),
            report_filter,
            tab=tab,
            rows=len(rows),
            full_names=full_names,
        )
        if tab == RecordsTab.EVENTS:
            headings, cells = _grouped(EVENT_COLUMNS, EVENT_CELLS, rows)
        else:
            headings, cells = _grouped(VISIT_COLUMNS, VISIT_CELLS, rows)
        context.update(
            report_filter=report_filter,
            headings=headings,
            rows=cells,
            page=page,
            full_names=full_names,
            filter_query=report_filter.as_query(),
            tab_links=_tab_links(report_filter),
            first_url=_link(report_filter, tab, page.first),
            previous_url=_link(report_filter, tab, page.previous) if page.previous else "",
            next_url=_link(report_filter, tab, page.next) if page.next else "",
            last_url=_link(report_filter, tab, page.last),
            time_zone=timezone.get_current_timezone_name(),
        )
        return render(request, "reports/records.html", context)


@require_POST
@console_view(VIEW_RECORDS)
def save_records_filter(request: HttpRequest) -> HttpResponse:
    """Save the filter shown (sent back as its query string) under a name."""
    tab = _tab(request.POST.get("tab", ""))
    query = request.POST.get("query", "")
    back = reverse("reports:records")
    try:
        if len(query) > LONGEST_FILTER_QUERY:
            raise DomainError("bad_filter", _("This filter is too long to keep."))
        with timezone.override(building_zone(request)):
            report_filter = ReportFilter.from_query(QueryDict(query), today=timezone.localdate())
        back = _link(report_filter, tab)
        saved = save_filter(
            Actor.from_request(request),
            request.user,  # type: ignore[arg-type]
            name=request.POST.get("name", ""),
            tab=tab,
            report_filter=report_filter,
        )
    except DomainError as error:
        messages.error(request, error.message)
        return redirect(back)
    messages.success(request, _("Filter “%(name)s” saved.") % {"name": saved.name})
    return redirect(back)


@require_GET
@console_view(VIEW_RECORDS)
def open_saved_filter(request: HttpRequest, pk: int) -> HttpResponse:
    """Open one of the user's saved filters: the records page with its query, read again
    under the user's role of now (a company admin never sees another company through it)."""
    try:
        saved = saved_filter_of(request.user, pk)  # type: ignore[arg-type]
    except DomainError:
        raise Http404 from None
    return redirect(f"{reverse('reports:records')}?{saved.query}&{urlencode({'tab': saved.tab})}")


@require_POST
@console_view(VIEW_RECORDS)
def delete_saved_filter(request: HttpRequest) -> HttpResponse:
    """Delete one of the user's own saved filters."""
    filter_id = posted_row_id(request.POST.get("filter"))
    try:
        if filter_id is None:
            raise DomainError("saved_filter_not_found", _("You have no such saved filter."))
        delete_filter(Actor.from_request(request), request.user, filter_id)  # type: ignore[arg-type]
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Saved filter deleted."))
    return redirect("reports:records")
