"""The statistics as the dashboard draws them: one chart (for ECharts) and one table per statistic.

The chart's data and the table's cells come from the same lists, so what the chart draws and
what the table says (for a screen reader, or a browser without scripts) are the same numbers.
Every text is already in the reader's language: titles, axis names, series names and category
labels (scenarios, refusal reasons).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pandas as pd
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from visit_platform.reports.statistics import COLUMN_LABELS, TITLES

VISITS = gettext_lazy("Number of visits")
MINUTES = gettext_lazy("Minutes")


@dataclass(frozen=True)
class ChartSpec:
    """How one statistic is drawn: its category column, its value columns, the kind of chart,
    and whether the bars lie down (long category labels: companies, reasons, events)."""

    category: str
    values: tuple[str, ...]
    kind: str = "bar"
    horizontal: bool = False
    value_axis: Promise = VISITS


SPECS: dict[str, ChartSpec] = {
    "visits_by_hour": ChartSpec("hour", ("visits", "arrived")),
    "visits_by_day": ChartSpec("day", ("visits", "arrived")),
    "visits_by_week": ChartSpec("week", ("visits", "arrived")),
    "visits_by_month": ChartSpec("month", ("visits", "arrived")),
    "by_company": ChartSpec("company", ("visits", "arrived"), horizontal=True),
    "by_scenario": ChartSpec("scenario_label", ("visits", "arrived"), horizontal=True),
    "denial_reasons": ChartSpec(
        "reason_label", ("refusals",), horizontal=True, value_axis=gettext_lazy("Refusals")
    ),
    "dwell_time": ChartSpec("day", ("median_minutes", "p90_minutes"), "line", value_axis=MINUTES),
    "approval_turnaround": ChartSpec(
        "day", ("median_minutes", "p90_minutes"), "line", value_axis=MINUTES
    ),
    "no_shows": ChartSpec("day", ("expected", "no_shows")),
    "peak_hours": ChartSpec("hour", ("entries",), value_axis=gettext_lazy("Entries granted")),
    "event_attendance": ChartSpec(
        "event", ("invited", "passes_issued", "entered"), horizontal=True
    ),
}


@dataclass
class Chart:
    key: str
    title: str
    kind: str
    horizontal: bool
    category_name: str
    value_name: str
    categories: list[str]
    series: list[dict[str, Any]] = field(default_factory=list)

    @property
    def headers(self) -> list[str]:
        return [self.category_name, *(series["name"] for series in self.series)]

    @property
    def rows(self) -> list[list[Any]]:
        columns = [self.categories, *(series["data"] for series in self.series)]
        return [list(row) for row in zip(*columns, strict=True)]

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "kind": self.kind,
            "horizontal": self.horizontal,
            "categoryName": self.category_name,
            "valueName": self.value_name,
            "categories": self.categories,
            "series": self.series,
        }


def charts_of(tables: dict[str, pd.DataFrame]) -> list[Chart]:
    """One chart per statistic, in the dashboard's order."""
    return [_chart(key, tables[key]) for key in TITLES]


def _chart(key: str, frame: pd.DataFrame) -> Chart:
    spec = SPECS[key]
    categories = [_category(key, value) for value in frame[spec.category]]
    return Chart(
        key=key,
        title=str(TITLES[key]),
        kind=spec.kind,
        horizontal=spec.horizontal,
        category_name=str(COLUMN_LABELS[spec.category]),
        value_name=str(spec.value_axis),
        categories=categories,
        series=[
            {"name": str(COLUMN_LABELS[column]), "data": [_number(v) for v in frame[column]]}
            for column in spec.values
        ],
    )


def _category(key: str, value: Any) -> str:
    if key == "peak_hours":
        return f"{int(value):02d}:00"
    if isinstance(value, pd.Timestamp | datetime):
        return f"{value:%Y-%m-%d %H:00}" if key == "visits_by_hour" else f"{value:%Y-%m-%d %H:%M}"
    if key == "visits_by_month" and isinstance(value, date):
        return f"{value:%Y-%m}"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _number(value: Any) -> int | float:
    """Counts as whole numbers, minutes to one decimal (what a chart's tooltip and the table
    both show)."""
    if isinstance(value, float):
        return round(value, 1)
    return int(value)


def no_data_text() -> str:
    return _("Nothing to count in this range.")
