"""The one filter behind records, statistics and exports: strict parsing, an exact round trip
through the query string (saved filters and export jobs store it), and an audit detail that
never holds the person looked up."""

from __future__ import annotations

from datetime import date

import pytest
from django.http import QueryDict

from kernel.errors import DomainError
from visit_platform.reports.filters import ReportFilter

TODAY = date(2026, 12, 6)


def parse(query: str) -> ReportFilter:
    return ReportFilter.from_query(QueryDict(query), today=TODAY)


def test_no_range_means_the_last_thirty_days_up_to_today() -> None:
    assert (parse("").start, parse("").end) == (date(2026, 11, 7), TODAY)


def test_a_filter_survives_the_round_trip_through_its_query_string() -> None:
    chosen = parse(
        "start=2026-01-01&end=2026-03-31&company=7&company=3&host=5&gate=2"
        "&scenario=invite&scenario=walk_in&status=checked_out&invited_by=9&approved_by=4"
        "&registered_by=8&result=denied&person=13800000001"
    )

    assert chosen.company_ids == (3, 7)
    assert chosen.scenarios == ("invite", "walk_in")
    assert parse(chosen.as_query()) == chosen


def test_the_audit_detail_says_a_person_was_looked_up_but_not_who() -> None:
    detail = parse("start=2026-12-01&end=2026-12-06&person=13800000001&company=3").as_detail()

    assert detail == {
        "start": "2026-12-01",
        "end": "2026-12-06",
        "company_ids": [3],
        "person_searched": True,
    }


@pytest.mark.parametrize(
    "query",
    [
        "start=2026-13-01",
        "end=yesterday",
        "start=2026-12-07&end=2026-12-06",
        "start=2000-01-01&end=2026-12-06",
        "company=abc",
        "company=-1",
        "company=" + "9" * 13,
        "&".join(f"host={n}" for n in range(51)),
        "scenario=party",
        "status=deleted",
        "approved_by=1&approved_by=2",
        "person=" + "1" * 41,
        "result=maybe",
        "result=granted&result=denied",
    ],
)
def test_malformed_forged_or_oversized_filters_are_refused_with_a_reason(query: str) -> None:
    with pytest.raises(DomainError) as refused:
        parse(query)

    assert refused.value.code == "bad_filter"
    assert refused.value.message
