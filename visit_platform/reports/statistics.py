"""Statistics over a building's visits and gate events, as pandas DataFrames (ADR 0039).

``statistics_tables(report_filter, user)`` answers the dashboard and the exports with one
DataFrame per statistic, under stable keys. Every figure is a count or a duration: no name,
mobile or document number is ever read, so the figures stay the same after the retention job
blanks those (a visit row and a gate event row stay; only their personal fields go).

Times are bucketed in the building's local time (``Building.time_zone``): a visit at 23:30 in
Shanghai counts on that Shanghai day. The database does the bucketing and counting wherever
rows can be many (hours of visits, hours of gate events, reasons), so a building with a million
gate events sends pandas a few hundred rows; pandas rolls hours up into days, weeks and months,
fills the empty buckets and takes medians and percentiles.

What each statistic counts. The visits are the visit records of the filter (those whose
window starts, ``valid_from``, on one of its local days, narrowed and scoped exactly as the
records page lists them); the gate events are its gate-event records (those that happened in
the range). Every statistic of visits counts these visits, bucketed by its own moment:

``visits_by_hour`` / ``visits_by_day`` / ``visits_by_week`` / ``visits_by_month``
    The visits by the local hour, day, ISO week (starting Monday) or month their window starts;
    ``arrived`` of them checked in. Days, weeks and months are listed even when empty; hours
    only when they hold a visit (a year has 8,760).
``by_company`` / ``by_scenario``
    The visits by company (visits with no company under "No company") and by scenario.
``dwell_time``
    The visits that checked in and have checked out, by the local day of their check-in:
    ``checked_out_at − checked_in_at`` in minutes, median and 90th percentile (linear
    interpolation, as PostgreSQL's ``percentile_cont``). Visits checked out by the end-of-day
    sweep (``left_unseen``) are left out: their time out is the sweep's, not theirs.
``approval_turnaround``
    The visits a person decided (``decided_at`` set; neither expired unanswered nor an event's
    attendee, whose visits the import approves), by the local day of the decision:
    ``decided_at − created_at`` in minutes, median and 90th percentile, and how many were
    approved and refused.
``no_shows``
    The visits that were approved (still approved, inside or left) and whose window has ended,
    by the local day it ended: ``expected`` of them, ``no_shows`` never checked in, the share.
``peak_hours``
    Gate events granting an entry (direction in, test pulses left out), by local hour of the
    day, 0 to 23.
``denial_reasons``
    Gate events refused, by reason code, with the reason's words; most first.
``event_attendance``
    Per event whose attendees' visits are among the visits (an attendee's visit spans the
    event, so: events starting in the range): ``invited`` attendees, ``passes_issued``
    (attendees with a pass) and ``entered`` (attendees who came through a gate or were checked
    in: their sign-in).

A search for one person is refused: statistics count everyone, and the records page finds a
person.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd
from django.conf import settings
from django.db import connection
from django.db.models import (
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
)
from django.db.models.functions import ExtractHour, TruncDate, TruncHour
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kernel.errors import DomainError
from tenants.models import Building
from visit_platform.access.choices import Direction, Reason
from visit_platform.access.models import AccessEvent, Pass
from visit_platform.reports.filters import ReportFilter
from visit_platform.reports.records import event_records, visit_records
from visit_platform.visits.choices import ADMITTING_STATUSES, Scenario, VisitStatus
from visit_platform.visits.models import Attendee, Visit

# The statistics, in the order the dashboard shows them, with their titles.
TITLES: dict[str, Promise] = {
    "visits_by_hour": gettext_lazy("Visits by hour"),
    "visits_by_day": gettext_lazy("Visits by day"),
    "visits_by_week": gettext_lazy("Visits by week"),
    "visits_by_month": gettext_lazy("Visits by month"),
    "by_company": gettext_lazy("Visits by company"),
    "by_scenario": gettext_lazy("Visits by scenario"),
    "denial_reasons": gettext_lazy("Refusals at the gates by reason"),
    "dwell_time": gettext_lazy("Time spent inside"),
    "approval_turnaround": gettext_lazy("Time to approve"),
    "no_shows": gettext_lazy("Approved visitors who did not come"),
    "peak_hours": gettext_lazy("Entries by hour of the day"),
    "event_attendance": gettext_lazy("Event attendance"),
}

# Every column any statistic has, with its header in the reader's language.
COLUMN_LABELS: dict[str, Promise] = {
    "hour": gettext_lazy("Hour"),
    "day": gettext_lazy("Day"),
    "week": gettext_lazy("Week from"),
    "month": gettext_lazy("Month"),
    "visits": gettext_lazy("Number of visits"),
    "arrived": gettext_lazy("Arrived"),
    "company_id": gettext_lazy("Company number"),
    "company": gettext_lazy("Company"),
    "scenario": gettext_lazy("Scenario code"),
    "scenario_label": gettext_lazy("Scenario"),
    "reason": gettext_lazy("Reason code"),
    "reason_label": gettext_lazy("Reason"),
    "refusals": gettext_lazy("Refusals"),
    "median_minutes": gettext_lazy("Median (minutes)"),
    "p90_minutes": gettext_lazy("90th percentile (minutes)"),
    "decided": gettext_lazy("Decided"),
    "approved": gettext_lazy("Approved"),
    "refused": gettext_lazy("Refused"),
    "expected": gettext_lazy("Were expected"),
    "no_shows": gettext_lazy("Did not come"),
    "no_show_share": gettext_lazy("Share who did not come"),
    "entries": gettext_lazy("Entries granted"),
    "event_id": gettext_lazy("Event number"),
    "event": gettext_lazy("Event"),
    "starts_at": gettext_lazy("Starts"),
    "invited": gettext_lazy("Invited"),
    "passes_issued": gettext_lazy("Passes issued"),
    "entered": gettext_lazy("Came in"),
}

COLUMNS: dict[str, list[str]] = {
    "visits_by_hour": ["hour", "visits", "arrived"],
    "visits_by_day": ["day", "visits", "arrived"],
    "visits_by_week": ["week", "visits", "arrived"],
    "visits_by_month": ["month", "visits", "arrived"],
    "by_company": ["company_id", "company", "visits", "arrived"],
    "by_scenario": ["scenario", "scenario_label", "visits", "arrived"],
    "denial_reasons": ["reason", "reason_label", "refusals"],
    "dwell_time": ["day", "visits", "median_minutes", "p90_minutes"],
    "approval_turnaround": [
        "day",
        "decided",
        "approved",
        "refused",
        "median_minutes",
        "p90_minutes",
    ],
    "no_shows": ["day", "expected", "no_shows", "no_show_share"],
    "peak_hours": ["hour", "entries"],
    "event_attendance": ["event_id", "event", "starts_at", "invited", "passes_issued", "entered"],
}


def headers(key: str) -> list[str]:
    """The column headers of statistic ``key`` in the active language."""
    return [str(COLUMN_LABELS[column]) for column in COLUMNS[key]]


def translated(key: str, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its columns headed in the active language (for a sheet or a table)."""
    return frame.rename(columns={column: str(COLUMN_LABELS[column]) for column in frame.columns})


def building_zone() -> ZoneInfo:
    """The time zone of the building whose schema the connection is on. A connection switched
    by schema name only (``schema_context``: a job, a command) holds no Building: read it."""
    name = getattr(getattr(connection, "tenant", None), "time_zone", "")
    if not name:
        schema = getattr(connection, "schema_name", "")
        name = (
            Building.objects.filter(schema_name=schema).values_list("time_zone", flat=True).first()
            or settings.TIME_ZONE
        )
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(settings.TIME_ZONE)


def statistics_tables(report_filter: ReportFilter, user: Any) -> dict[str, pd.DataFrame]:
    """Every statistic over ``report_filter``, counting only what ``user`` may see: one
    DataFrame per key of ``TITLES``, its columns those of ``COLUMNS``. Raises
    ``DomainError("bad_filter")`` for a search for one person."""
    if report_filter.person:
        raise DomainError(
            "bad_filter",
            _("Statistics count everyone: look a person up in the records instead."),
        )
    zone = building_zone()
    scope = _Scope(report_filter, user, zone)
    tables: dict[str, pd.DataFrame] = {}
    hourly = _visits_by_hour(scope)
    tables["visits_by_hour"] = hourly
    tables["visits_by_day"] = _roll_up(hourly, "day", _days(scope), lambda day: day)
    tables["visits_by_week"] = _roll_up(hourly, "week", _weeks(scope), _monday)
    tables["visits_by_month"] = _roll_up(hourly, "month", _months(scope), _first_of_month)
    tables["by_company"] = _by_company(scope)
    tables["by_scenario"] = _by_scenario(scope)
    tables["denial_reasons"] = _denial_reasons(scope)
    tables["dwell_time"] = _dwell_time(scope)
    tables["approval_turnaround"] = _approval_turnaround(scope)
    tables["no_shows"] = _no_shows(scope)
    tables["peak_hours"] = _peak_hours(scope)
    tables["event_attendance"] = _event_attendance(scope)
    return {key: tables[key] for key in TITLES}


class _Scope:
    """The rows the statistics count: the visit records and the gate-event records the user
    may list for the filter (``records.visit_records`` and ``records.event_records``, so the
    records page, the statistics and the exports count the same rows), and the building's zone.
    """

    def __init__(self, report_filter: ReportFilter, user: Any, zone: ZoneInfo) -> None:
        self.filter = report_filter
        self.user = user
        self.zone = zone

    def visits(self) -> QuerySet[Visit]:
        with timezone.override(self.zone):
            return visit_records(self.filter, self.user).order_by()

    def gate_events(self) -> QuerySet[AccessEvent]:
        with timezone.override(self.zone):
            return event_records(self.filter, self.user).order_by()


# --- Visits over time ------------------------------------------------------------------------


def _visits_by_hour(scope: _Scope) -> pd.DataFrame:
    rows = (
        scope.visits()
        .annotate(bucket=TruncHour("valid_from", tzinfo=scope.zone))
        .values("bucket")
        .annotate(visits=Count("id"), arrived=Count("checked_in_at"))
        .order_by("bucket")
        .values_list("bucket", "visits", "arrived")
    )
    frame = pd.DataFrame(
        [(bucket.replace(tzinfo=None), visits, arrived) for bucket, visits, arrived in rows],
        columns=COLUMNS["visits_by_hour"],
    )
    frame["hour"] = pd.to_datetime(frame["hour"])
    return frame.astype({"visits": "int64", "arrived": "int64"})


def _roll_up(
    hourly: pd.DataFrame,
    column: str,
    buckets: list[date],
    bucket_of: Callable[[date], date],
) -> pd.DataFrame:
    """Hours summed into days, weeks or months (``bucket_of`` a local day), every bucket of
    the range listed, the empty ones with zeros."""
    days = hourly["hour"].dt.date
    frame = (
        hourly.assign(**{column: [bucket_of(day) for day in days]})
        .groupby(column)[["visits", "arrived"]]
        .sum()
        .reindex(buckets, fill_value=0)
        .rename_axis(column)
        .reset_index()
    )
    return frame.astype({"visits": "int64", "arrived": "int64"})


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _first_of_month(day: date) -> date:
    return day.replace(day=1)


def _days(scope: _Scope) -> list[date]:
    count = (scope.filter.end - scope.filter.start).days + 1
    return [scope.filter.start + timedelta(days=offset) for offset in range(count)]


def _weeks(scope: _Scope) -> list[date]:
    return sorted({_monday(day) for day in _days(scope)})


def _months(scope: _Scope) -> list[date]:
    return sorted({_first_of_month(day) for day in _days(scope)})


# --- Visits by company and scenario ----------------------------------------------------------


def _by_company(scope: _Scope) -> pd.DataFrame:
    rows = (
        scope.visits()
        .values("company_id", "company__name")
        .annotate(visits=Count("id"), arrived=Count("checked_in_at"))
        .values_list("company_id", "company__name", "visits", "arrived")
    )
    frame = pd.DataFrame(list(rows), columns=COLUMNS["by_company"])
    frame["company"] = frame["company"].fillna(_("No company"))
    frame["company_id"] = frame["company_id"].astype("Int64")
    frame = frame.sort_values(["visits", "company"], ascending=[False, True])
    return frame.reset_index(drop=True).astype({"visits": "int64", "arrived": "int64"})


def _by_scenario(scope: _Scope) -> pd.DataFrame:
    rows = (
        scope.visits()
        .values("scenario")
        .annotate(visits=Count("id"), arrived=Count("checked_in_at"))
        .values_list("scenario", "visits", "arrived")
    )
    counted = pd.DataFrame(list(rows), columns=["scenario", "visits", "arrived"])
    scenarios = list(scope.filter.scenarios) or list(Scenario.values)
    frame = (
        counted.set_index("scenario")
        .reindex(scenarios, fill_value=0)
        .rename_axis("scenario")
        .reset_index()
    )
    frame.insert(1, "scenario_label", [str(Scenario(code).label) for code in frame["scenario"]])
    return frame.astype({"visits": "int64", "arrived": "int64"})


# --- Durations ------------------------------------------------------------------------------


def _durations_by_day(rows: list[tuple[date, timedelta]]) -> pd.DataFrame:
    """(day, duration) pairs into visits, median and 90th percentile minutes per day."""
    frame = pd.DataFrame(rows, columns=["day", "duration"])
    frame["minutes"] = pd.to_timedelta(frame["duration"]).dt.total_seconds() / 60
    grouped = frame.groupby("day")["minutes"]
    result = pd.DataFrame(
        {
            "visits": grouped.size(),
            "median_minutes": grouped.median(),
            "p90_minutes": grouped.quantile(0.9),
        }
    )
    result = result.rename_axis("day").reset_index()
    return result.astype({"visits": "int64", "median_minutes": float, "p90_minutes": float})


def _dwell_time(scope: _Scope) -> pd.DataFrame:
    rows = (
        scope.visits()
        .filter(checked_in_at__isnull=False, checked_out_at__isnull=False, left_unseen=False)
        .annotate(
            day=TruncDate("checked_in_at", tzinfo=scope.zone),
            duration=ExpressionWrapper(
                F("checked_out_at") - F("checked_in_at"), output_field=DurationField()
            ),
        )
        .values_list("day", "duration")
    )
    return _durations_by_day(list(rows))[COLUMNS["dwell_time"]]


def _approval_turnaround(scope: _Scope) -> pd.DataFrame:
    decisions = (
        scope.visits()
        .filter(decided_at__isnull=False)
        .exclude(status=VisitStatus.EXPIRED)
        .exclude(scenario=Scenario.BULK)
        .annotate(
            day=TruncDate("decided_at", tzinfo=scope.zone),
            duration=ExpressionWrapper(
                F("decided_at") - F("created_at"), output_field=DurationField()
            ),
        )
        .values_list("day", "duration", "approved_by_id", "status")
    )
    rows = list(decisions)
    durations = _durations_by_day([(day, duration) for day, duration, _by, _status in rows])
    outcomes = pd.DataFrame(rows, columns=["day", "duration", "approved_by", "status"])
    counts = (
        outcomes.assign(
            approved=outcomes["approved_by"].notna(),
            refused=outcomes["status"] == VisitStatus.REJECTED,
        )
        .groupby("day")[["approved", "refused"]]
        .sum()
        .reset_index()
    )
    frame = durations.rename(columns={"visits": "decided"}).merge(counts, on="day", how="left")
    frame = frame.astype({"approved": "int64", "refused": "int64"})
    return frame[COLUMNS["approval_turnaround"]]


# --- No-shows -------------------------------------------------------------------------------


def _no_shows(scope: _Scope) -> pd.DataFrame:
    rows = (
        scope.visits()
        .filter(valid_until__lte=timezone.now(), status__in=sorted(ADMITTING_STATUSES))
        .annotate(day=TruncDate("valid_until", tzinfo=scope.zone))
        .values("day")
        .annotate(
            expected=Count("id"),
            no_shows=Count("id", filter=Q(checked_in_at__isnull=True)),
        )
        .order_by("day")
        .values_list("day", "expected", "no_shows")
    )
    frame = pd.DataFrame(list(rows), columns=["day", "expected", "no_shows"])
    frame = frame.astype({"expected": "int64", "no_shows": "int64"})
    frame["no_show_share"] = (frame["no_shows"] / frame["expected"]).astype(float)
    return frame[COLUMNS["no_shows"]]


# --- Gate events ----------------------------------------------------------------------------


def _peak_hours(scope: _Scope) -> pd.DataFrame:
    rows = (
        scope.gate_events()
        .filter(granted=True, direction=Direction.IN)
        .exclude(reason=Reason.TEST_PASSAGE)
        .annotate(hour=ExtractHour("occurred_at", tzinfo=scope.zone))
        .values("hour")
        .annotate(entries=Count("id"))
        .values_list("hour", "entries")
    )
    counted = pd.DataFrame(list(rows), columns=COLUMNS["peak_hours"]).set_index("hour")
    frame = counted.reindex(range(24), fill_value=0).rename_axis("hour").reset_index()
    return frame.astype({"hour": "int64", "entries": "int64"})


def _denial_reasons(scope: _Scope) -> pd.DataFrame:
    rows = (
        scope.gate_events()
        .filter(granted=False)
        .values("reason")
        .annotate(refusals=Count("id"))
        .values_list("reason", "refusals")
    )
    frame = pd.DataFrame(list(rows), columns=["reason", "refusals"])
    frame.insert(1, "reason_label", [_reason_words(code) for code in frame["reason"]])
    frame = frame.sort_values(["refusals", "reason"], ascending=[False, True])
    return frame.reset_index(drop=True).astype({"refusals": "int64"})


def _reason_words(code: str) -> str:
    return str(Reason(code).label) if code in Reason.values else code


# --- Events ---------------------------------------------------------------------------------


def _event_attendance(scope: _Scope) -> pd.DataFrame:
    has_pass = Exists(Pass.objects.filter(visit_id=OuterRef("visit_id")))
    rows = (
        Attendee.objects.filter(visit__in=scope.visits())
        .values("event_id", "event__name", "event__starts_at")
        .annotate(
            invited=Count("id"),
            passes_issued=Count("id", filter=Q(has_pass)),
            entered=Count("id", filter=Q(visit__checked_in_at__isnull=False)),
        )
        .order_by("event__starts_at", "event_id")
        .values_list(
            "event_id", "event__name", "event__starts_at", "invited", "passes_issued", "entered"
        )
    )
    frame = pd.DataFrame(
        [
            (event_id, name, timezone.localtime(starts_at, scope.zone).replace(tzinfo=None), *rest)
            for event_id, name, starts_at, *rest in rows
        ],
        columns=COLUMNS["event_attendance"],
    )
    frame["starts_at"] = pd.to_datetime(frame["starts_at"])
    return frame.astype(
        {"event_id": "int64", "invited": "int64", "passes_issued": "int64", "entered": "int64"}
    )
