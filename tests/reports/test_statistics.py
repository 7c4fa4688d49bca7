"""Statistics (issue 17, section 2): for a known set of visits and gate events, made through the
real actions over several local days, two companies and several scenarios, every statistic
equals both the figures worked out by hand and a raw SQL count over the same rows; a company
admin counts only their own company; another building never counts.

The building is in Shanghai. Visit 2 starts at 00:30 on 1 November, Shanghai time: 16:30 on
31 October in UTC, so bucketing in UTC would put it in the wrong day and month.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.utils import timezone, translation
from django_tenants.utils import schema_context

from kernel.errors import DomainError
from tenants.models import Building, User
from tests.access.conftest import make_gate, slip_token
from tests.conftest import admin_of, member
from tests.reports.statistics_data import RANGE, SHANGHAI, SYSTEM, DataSet, local, parse, visit
from visit_platform.access import actions as access_actions
from visit_platform.access.models import Pass
from visit_platform.directory.actions import create_company, create_host
from visit_platform.directory.choices import Role
from visit_platform.directory.models import Company
from visit_platform.reports.statistics import COLUMNS, TITLES, statistics_tables
from visit_platform.visits.choices import Scenario
from visit_platform.visits.models import Event, Visit, Visitor
from workflows.actions import events as event_flow

pytestmark = pytest.mark.django_db


def tables(user: User, query: str = RANGE) -> dict[str, Any]:
    return statistics_tables(parse(query), user)


def records(frame: Any) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in frame.itertuples(index=False)]


COUNTS = {"visits", "arrived", "refusals", "decided", "approved", "refused", "expected"}
COUNTS |= {"no_shows", "entries", "invited", "passes_issued", "entered"}


def counted(frame: Any) -> int:
    """Everything a statistic counted, all its count columns summed."""
    return int(frame[[column for column in frame.columns if column in COUNTS]].sum().sum())


def sql(query: str, *params: Any) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return [tuple(row) for row in cursor.fetchall()]


# --- Every statistic, by hand and by SQL ----------------------------------------------------


def test_every_statistic_is_there_with_its_columns(data: DataSet) -> None:
    result = tables(data.approver)

    assert list(result) == list(TITLES)
    assert {key: list(frame.columns) for key, frame in result.items()} == COLUMNS


def test_visits_by_day_count_local_days(data: DataSet) -> None:
    frame = tables(data.approver)["visits_by_day"]

    counted = {row[0]: row[1:] for row in records(frame) if row[1]}
    assert counted == {
        date(2026, 10, 31): (1, 1),
        date(2026, 11, 1): (1, 1),
        date(2026, 11, 2): (2, 1),
        date(2026, 11, 3): (4, 2),
        date(2026, 11, 4): (1, 0),
    }
    assert len(frame) == 14
    assert counted == {
        day: (visits, arrived)
        for day, visits, arrived in sql(
            "SELECT (valid_from AT TIME ZONE 'Asia/Shanghai')::date AS day, count(*),"
            " count(checked_in_at) FROM visits_visit"
            " WHERE valid_from >= %s AND valid_from < %s GROUP BY day",
            local(10, 26, 0),
            local(11, 9, 0),
        )
    }


def test_visits_by_hour_list_the_local_hours_that_hold_visits(data: DataSet) -> None:
    frame = tables(data.approver)["visits_by_hour"]

    counted = {row[0].to_pydatetime(): row[1:] for row in records(frame)}
    assert counted == {
        datetime(2026, 10, 31, 23): (1, 1),
        datetime(2026, 11, 1, 0): (1, 1),
        datetime(2026, 11, 2, 9): (1, 1),
        datetime(2026, 11, 2, 14): (1, 0),
        datetime(2026, 11, 3, 8): (1, 0),
        datetime(2026, 11, 3, 9): (1, 1),
        datetime(2026, 11, 3, 10): (1, 0),
        datetime(2026, 11, 3, 11): (1, 1),
        datetime(2026, 11, 4, 9): (1, 0),
    }
    assert counted == {
        hour: (visits, arrived)
        for hour, visits, arrived in sql(
            "SELECT date_trunc('hour', valid_from AT TIME ZONE 'Asia/Shanghai') AS hour,"
            " count(*), count(checked_in_at) FROM visits_visit"
            " WHERE valid_from >= %s AND valid_from < %s GROUP BY hour",
            local(10, 26, 0),
            local(11, 9, 0),
        )
    }


def test_visits_by_week_and_month_roll_up_local_days(data: DataSet) -> None:
    result = tables(data.approver)

    weeks = records(result["visits_by_week"])
    months = records(result["visits_by_month"])
    assert weeks == [(date(2026, 10, 26), 2, 2), (date(2026, 11, 2), 7, 3)]
    assert months == [(date(2026, 10, 1), 1, 1), (date(2026, 11, 1), 8, 4)]
    for unit, expected in (("week", weeks), ("month", months)):
        assert expected == sql(
            f"SELECT date_trunc('{unit}', valid_from AT TIME ZONE 'Asia/Shanghai')::date AS b,"  # noqa: S608 (fixed words, no input)
            " count(*), count(checked_in_at) FROM visits_visit"
            " WHERE valid_from >= %s AND valid_from < %s GROUP BY b ORDER BY b",
            local(10, 26, 0),
            local(11, 9, 0),
        )


def test_visits_by_company_and_by_scenario(data: DataSet) -> None:
    with translation.override("en"):
        result = tables(data.approver)

    assert records(result["by_company"]) == [
        (data.a.pk, "甲公司", 5, 4),
        (data.b.pk, "乙公司", 4, 1),
    ]
    assert records(result["by_scenario"]) == [
        ("invite", "Invitation", 4, 3),
        ("request", "Visit request", 3, 0),
        ("walk_in", "Walk-in with ID", 2, 2),
        ("no_id", "Walk-in without ID", 0, 0),
        ("bulk", "Event attendee", 0, 0),
    ]
    in_range = "WHERE valid_from >= %s AND valid_from < %s"
    window = (local(10, 26, 0), local(11, 9, 0))
    assert [
        (pk, visits, arrived) for pk, _name, visits, arrived in records(result["by_company"])
    ] == sql(
        "SELECT company_id, count(*), count(checked_in_at) FROM visits_visit "  # noqa: S608 (fixed words, no input)
        f"{in_range} GROUP BY company_id ORDER BY count(*) DESC",
        *window,
    )
    assert {row[0]: row[2:] for row in records(result["by_scenario"]) if row[2]} == {
        scenario: (visits, arrived)
        for scenario, visits, arrived in sql(
            "SELECT scenario, count(*), count(checked_in_at) FROM visits_visit "  # noqa: S608 (fixed words, no input)
            f"{in_range} GROUP BY scenario",
            *window,
        )
    }


def test_refusals_by_reason_with_their_words(data: DataSet) -> None:
    with translation.override("en"):
        frame = tables(data.approver)["denial_reasons"]

    assert records(frame) == [
        ("expired", "The pass has expired", 2),
        ("invalid_token", "The code is not a valid pass", 1),
    ]
    assert [(code, count) for code, _words, count in records(frame)] == sql(
        "SELECT reason, count(*) FROM access_accessevent WHERE NOT granted"
        " AND occurred_at >= %s AND occurred_at < %s GROUP BY reason ORDER BY count(*) DESC",
        local(10, 26, 0),
        local(11, 9, 0),
    )


def percentiles_sql(duration: str, day: str, where: str) -> str:
    minutes = f"extract(epoch FROM {duration}) / 60"
    return (
        f"SELECT ({day} AT TIME ZONE 'Asia/Shanghai')::date AS day, count(*),"  # noqa: S608 (fixed words, no input)
        f" percentile_cont(0.5) WITHIN GROUP (ORDER BY {minutes}),"
        f" percentile_cont(0.9) WITHIN GROUP (ORDER BY {minutes})"
        f" FROM visits_visit WHERE {where} GROUP BY day ORDER BY day"
    )


def test_dwell_time_median_and_90th_percentile_by_local_day_of_check_in(data: DataSet) -> None:
    frame = tables(data.approver)["dwell_time"]

    assert records(frame) == [
        (date(2026, 10, 31), 1, 60.0, 60.0),
        (date(2026, 11, 1), 1, 120.0, 120.0),
        (date(2026, 11, 2), 1, 30.0, 30.0),
        (date(2026, 11, 3), 2, 142.5, 220.5),
    ]
    by_sql = sql(
        percentiles_sql(
            "checked_out_at - checked_in_at",
            "checked_in_at",
            "checked_out_at IS NOT NULL AND NOT left_unseen"
            " AND valid_from >= %s AND valid_from < %s",
        ),
        local(10, 26, 0),
        local(11, 9, 0),
    )
    assert records(frame) == [(d, n, float(m), float(p)) for d, n, m, p in by_sql]


def test_approval_turnaround_by_local_day_of_the_decision(data: DataSet) -> None:
    frame = tables(data.approver)["approval_turnaround"]

    assert records(frame) == [
        (date(2026, 11, 2), 1, 1, 0, 30.0, 30.0),
        (date(2026, 11, 3), 2, 1, 1, 50.0, 82.0),
    ]
    by_sql = sql(
        percentiles_sql(
            "decided_at - created_at",
            "decided_at",
            "decided_at IS NOT NULL AND status <> 'expired' AND scenario <> 'bulk'"
            " AND valid_from >= %s AND valid_from < %s",
        ),
        local(10, 26, 0),
        local(11, 9, 0),
    )
    assert [(d, n, m, p) for d, n, _a, _r, m, p in records(frame)] == [
        (d, n, float(m), float(p)) for d, n, m, p in by_sql
    ]


def test_no_shows_are_approved_visits_whose_window_ended_without_a_check_in(
    data: DataSet,
) -> None:
    frame = tables(data.approver)["no_shows"]

    assert records(frame) == [
        (date(2026, 11, 1), 2, 0, 0.0),
        (date(2026, 11, 2), 2, 1, 0.5),
        (date(2026, 11, 3), 3, 1, 1 / 3),
        (date(2026, 11, 4), 1, 1, 1.0),
    ]
    assert [row[:3] for row in records(frame)] == sql(
        "SELECT (valid_until AT TIME ZONE 'Asia/Shanghai')::date AS day, count(*),"
        " count(*) FILTER (WHERE checked_in_at IS NULL) FROM visits_visit"
        " WHERE status IN ('approved', 'checked_in', 'checked_out')"
        " AND valid_until <= now() AND valid_from >= %s AND valid_from < %s"
        " GROUP BY day ORDER BY day",
        local(10, 26, 0),
        local(11, 9, 0),
    )


def test_peak_hours_count_granted_entries_by_local_hour_of_day(data: DataSet) -> None:
    frame = tables(data.approver)["peak_hours"]

    assert len(frame) == 24
    counted = {hour: entries for hour, entries in records(frame) if entries}
    assert counted == {0: 1, 9: 2, 11: 1, 23: 1}
    assert counted == dict(
        sql(
            "SELECT extract(hour FROM occurred_at AT TIME ZONE 'Asia/Shanghai')::int AS hour,"
            " count(*) FROM access_accessevent WHERE granted AND direction = 'in'"
            " AND occurred_at >= %s AND occurred_at < %s GROUP BY hour",
            local(10, 26, 0),
            local(11, 9, 0),
        )
    )


# --- Scope ----------------------------------------------------------------------------------


def test_a_company_admin_counts_only_their_company(data: DataSet, in_alpha: Building) -> None:
    admin_a = member(in_alpha, "admin@a.example", Role.COMPANY_ADMIN, data.a)

    result = tables(admin_a)

    assert records(result["by_company"]) == [(data.a.pk, "甲公司", 5, 4)]
    assert result["visits_by_day"]["visits"].sum() == 5
    assert {h: n for h, n in records(result["peak_hours"]) if n} == {0: 1, 9: 1, 11: 1, 23: 1}
    # Both refusals of an expired pass were company B's; the forged code belongs to nobody.
    assert records(result["denial_reasons"]) == []
    assert [row[:2] for row in records(result["approval_turnaround"])] == [(date(2026, 11, 3), 1)]


def test_a_forged_company_filter_counts_nothing_not_the_other_company(
    data: DataSet, in_alpha: Building
) -> None:
    admin_a = member(in_alpha, "admin@a.example", Role.COMPANY_ADMIN, data.a)

    result = tables(admin_a, f"{RANGE}&company={data.b.pk}")

    assert {key: counted(frame) for key, frame in result.items()} == dict.fromkeys(TITLES, 0)


def test_another_building_never_counts(data: DataSet, beta: Building) -> None:
    connection.set_tenant(beta)
    company = create_company(SYSTEM, name="丙公司", floors="1")
    host = create_host(SYSTEM, company, name="赵六", mobile="13900000009")
    visit(host, Scenario.INVITE, local(11, 3, 9), 2)
    connection.set_tenant(Building.objects.get(schema_name="alpha"))

    result = tables(data.approver)

    assert result["visits_by_month"]["visits"].sum() == 9
    assert [row[1] for row in records(result["by_company"])] == ["甲公司", "乙公司"]


def test_a_company_narrowing_counts_that_company(data: DataSet) -> None:
    result = tables(data.approver, f"{RANGE}&company={data.b.pk}&scenario=invite")

    assert records(result["by_scenario"]) == [("invite", str(Scenario.INVITE.label), 1, 0)]
    assert records(result["denial_reasons"])[0][::2] == ("expired", 1)


def test_a_search_for_one_person_is_refused(data: DataSet) -> None:
    with pytest.raises(DomainError) as refused_search:
        tables(data.approver, f"{RANGE}&person=13800000001")

    assert refused_search.value.code == "bad_filter"


# --- Local days at the other side of the world ----------------------------------------------


def test_a_visit_at_half_past_eleven_at_night_counts_on_its_local_day(in_alpha: Building) -> None:
    in_alpha.time_zone = "America/Bogota"
    in_alpha.save(update_fields=["time_zone"])
    bogota = ZoneInfo("America/Bogota")
    company = create_company(SYSTEM, name="丁公司", floors="2")
    host = create_host(SYSTEM, company, name="孙七", mobile="13900000010")
    late = visit(host, Scenario.INVITE, datetime(2026, 10, 31, 23, 30, tzinfo=bogota), 2)
    assert late.valid_from.astimezone(ZoneInfo("UTC")).date() == date(2026, 11, 1)

    result = tables(admin_of(in_alpha), "start=2026-10-31&end=2026-11-01")

    assert records(result["visits_by_day"]) == [
        (date(2026, 10, 31), 1, 0),
        (date(2026, 11, 1), 0, 0),
    ]
    assert records(result["visits_by_month"]) == [
        (date(2026, 10, 1), 1, 0),
        (date(2026, 11, 1), 0, 0),
    ]


# --- Events ---------------------------------------------------------------------------------


def event_with_attendees(company: Company, name: str, mobiles: list[str]) -> Event:
    starts = timezone.now() + timedelta(days=1)
    event = event_flow.create_event(
        SYSTEM, name=name, company=company, starts_at=starts, ends_at=starts + timedelta(hours=8)
    )
    data = "姓名,手机号\r\n" + "".join(f"参会人{n},{m}\r\n" for n, m in enumerate(mobiles))
    pending = event_flow.check_list(SYSTEM, event, "list.csv", data.encode())
    event_flow.confirm_list(SYSTEM, event, pending.pk)
    return event


def test_event_attendance_counts_invited_passes_and_entries(in_alpha: Building) -> None:
    a = create_company(SYSTEM, name="甲公司", floors="3")
    b = create_company(SYSTEM, name="乙公司", floors="5")
    summit = event_with_attendees(a, "合作伙伴大会", ["13800000001", "13800000002", "13800000003"])
    forum = event_with_attendees(b, "技术论坛", ["13800000004", "13800000005"])
    gate = make_gate()
    first = Pass.objects.filter(visit__attendee__event=summit).order_by("pk").first()
    assert first is not None
    entered = access_actions.decide_scan(
        gate=gate, token=slip_token(first), now=summit.starts_at + timedelta(minutes=30)
    )
    assert entered.granted
    day = timezone.localtime(summit.starts_at, SHANGHAI).date()
    query = f"start={day}&end={day}"
    admin_a = member(in_alpha, "admin@a.example", Role.COMPANY_ADMIN, a)

    everything = records(tables(admin_of(in_alpha), query)["event_attendance"])
    own = records(tables(admin_a, query)["event_attendance"])

    starts = timezone.localtime(summit.starts_at, SHANGHAI).replace(tzinfo=None)
    assert [row[:2] + row[3:] for row in everything] == [
        (summit.pk, "合作伙伴大会", 3, 3, 1),
        (forum.pk, "技术论坛", 2, 2, 0),
    ]
    assert everything[0][2].to_pydatetime() == starts
    assert [row[:2] + row[3:] for row in own] == [(summit.pk, "合作伙伴大会", 3, 3, 1)]
    assert [row[3:] for row in everything] == sql(
        "SELECT count(*), count(*) FILTER (WHERE EXISTS"
        " (SELECT 1 FROM access_pass p WHERE p.visit_id = v.id)),"
        " count(v.checked_in_at) FROM visits_attendee a JOIN visits_visit v ON v.id = a.visit_id"
        " GROUP BY a.event_id ORDER BY a.event_id"
    )


def test_a_job_that_switches_schema_by_name_still_counts_in_the_buildings_time_zone(
    data: DataSet,
) -> None:
    with schema_context("alpha"):
        assert not hasattr(connection.tenant, "time_zone")
        frame = tables(data.approver)["visits_by_month"]

    assert records(frame) == [(date(2026, 10, 1), 1, 1), (date(2026, 11, 1), 8, 4)]


def test_blanking_the_personal_fields_changes_no_figure(data: DataSet) -> None:
    """What the retention job does to a visitor past retention: names, mobiles, document
    numbers and the typed contact details go; the visit and gate-event rows stay."""
    before = tables(data.approver)

    Visitor.objects.update(
        name="", mobile="", mobile_index="", id_number="", id_number_index="", id_number_masked=""
    )
    Visit.objects.update(contact_name="", contact_mobile="", contact_mobile_index="")
    after = tables(data.approver)

    for key in TITLES:
        assert after[key].equals(before[key]), key
    assert int(after["visits_by_month"]["visits"].sum()) == 9


def test_a_gate_or_a_gate_result_narrows_like_the_records(data: DataSet) -> None:
    """The statistics count the records the same filter lists: another gate has seen nobody;
    refusals only are the two expired passes (visits 4 and 6) and no entry."""
    other_gate = make_gate("B2 闸机")

    at_other_gate = tables(data.approver, f"{RANGE}&gate={other_gate.pk}")
    refused_only = tables(data.approver, f"{RANGE}&result=denied")

    assert counted(at_other_gate["visits_by_day"]) == 0
    assert counted(at_other_gate["peak_hours"]) == 0
    assert records(refused_only["denial_reasons"])[0][::2] == ("expired", 2)
    assert counted(refused_only["peak_hours"]) == 0
    assert records(refused_only["by_company"]) == [(data.b.pk, "乙公司", 2, 0)]
