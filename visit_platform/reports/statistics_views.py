"""The statistics dashboard: a filter, then one chart and one table per statistic (ADR 0039).

The page shows counts and durations only, never a person, so viewing it is not audited (the
records and the exports, which show people, are). Its scope is the user's: a company admin's
figures count their own company's visits, whatever the query string asks for.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from kernel.console import building_zone, console_view
from kernel.errors import DomainError
from visit_platform.access.models import Gate
from visit_platform.directory.models import Company, Host
from visit_platform.directory.roles import VIEW_RECORDS
from visit_platform.reports.charts import charts_of
from visit_platform.reports.filters import ReportFilter
from visit_platform.reports.records import records_company_ids
from visit_platform.reports.statistics import statistics_tables
from visit_platform.visits.choices import Scenario

# A host list is offered once one company is chosen, and never longer than this.
MOST_HOSTS_OFFERED = 300


@console_view(VIEW_RECORDS)
def statistics_page(request: HttpRequest) -> HttpResponse:
    """The dashboard. A bad filter (a malformed date, a range the wrong way round, a forged
    choice) is answered with 400 and the reason, beside the form to put it right."""
    today = timezone.localdate(timezone.now(), building_zone(request))
    context: dict[str, Any] = {"section": "statistics"}
    try:
        report_filter = ReportFilter.from_query(request.GET, today=today)
        tables = statistics_tables(report_filter, request.user)
    except DomainError as error:
        context.update(_choices(request, None), error=error.message)
        # The dates as typed, so the person can correct them (the form's date inputs hold
        # ten characters at most; anything else was never a date).
        context["chosen"] = {key: request.GET.get(key, "")[:10] for key in ("start", "end")}
        return render(request, "reports/statistics.html", context, status=400)
    charts = charts_of(tables)
    context.update(
        _choices(request, report_filter),
        filter=report_filter,
        charts=charts,
        chart_data=[chart.as_json() for chart in charts],
        totals=_totals(tables),
    )
    return render(request, "reports/statistics.html", context)


def _choices(request: HttpRequest, report_filter: ReportFilter | None) -> dict[str, Any]:
    """What the form offers: the companies the user may count, the scenarios, the gates and,
    once one company is chosen, its employees."""
    scope = records_company_ids(request.user)
    companies = Company.objects.order_by("name")
    if scope is not None:
        companies = companies.filter(pk__in=scope)
    hosts: list[Host] = []
    if report_filter is not None and len(report_filter.company_ids) == 1:
        company_id = report_filter.company_ids[0]
        if scope is None or company_id in scope:
            hosts = list(
                Host.objects.filter(company_id=company_id).order_by("name")[:MOST_HOSTS_OFFERED]
            )
    return {
        "companies": list(companies.values_list("pk", "name")),
        "scenarios": Scenario.choices,
        "gates": list(Gate.objects.order_by("name").values_list("pk", "name")),
        "hosts": [(host.pk, host.name) for host in hosts],
        "results": [("granted", _("Granted")), ("denied", _("Refused"))],
        "chosen": _chosen(report_filter),
    }


def _chosen(report_filter: ReportFilter | None) -> dict[str, Any]:
    if report_filter is None:
        return {}
    return {
        "start": report_filter.start.isoformat(),
        "end": report_filter.end.isoformat(),
        "company": _one(report_filter.company_ids),
        "scenario": report_filter.scenarios[0] if len(report_filter.scenarios) == 1 else "",
        "gate": _one(report_filter.gate_ids),
        "host": _one(report_filter.host_ids),
        "result": report_filter.result,
    }


def _one(ids: tuple[int, ...]) -> int | None:
    return ids[0] if len(ids) == 1 else None


def _totals(tables: dict[str, Any]) -> dict[str, int]:
    """The figures at the top of the page: visits, arrivals, no-shows, refusals."""
    return {
        "visits": int(tables["visits_by_day"]["visits"].sum()),
        "arrived": int(tables["visits_by_day"]["arrived"].sum()),
        "no_shows": int(tables["no_shows"]["no_shows"].sum()),
        "refusals": int(tables["denial_reasons"]["refusals"].sum()),
    }
