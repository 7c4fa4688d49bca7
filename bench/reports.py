"""Benchmark: records, statistics and exports over a year of a busy building (issue 17).

Fills a building with 200,000 visits and 1,000,000 gate events spread over the last 365 days
(visitors, companies, hosts and gates made through the actions; visits and events inserted in
bulk with SQL, since making a million passages one by one would measure the generator), then
times what people ask of it:

- the records: the first and the last page of the visits and of the gate events, for the whole
  year, as a property admin, and a company admin's first page;
- each statistic of the dashboard, and the whole dashboard;
- an export of 100,000 visit rows as a job, with its progress as it is reported.

Runs against a scratch database on the PostgreSQL that ``DATABASE_URL`` points at (default:
the local service), created and dropped by this script. Prints its figures; the latest are
copied into docs/performance.md with the machine.

    python bench/reports.py --visits 200000 --events 1000000
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.scratch import django_on_scratch_database

SCRATCH_DATABASE = "visit_bench_reports"
SLUG = "bench"
COMPANIES = 40
HOSTS_PER_COMPANY = 5
GATES = 6
VISITORS = 20_000
DAYS = 365


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--visits", type=int, default=200_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--export-rows", type=int, default=100_000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as exports, django_on_scratch_database(SCRATCH_DATABASE):
        os.environ["EXPORTS_DIR"] = exports  # the export files go away with the run
        run(args.visits, args.events, args.export_rows)


def timed(label: str, work: Callable[[], Any], *, runs: int = 3) -> Any:
    """Run ``work`` ``runs`` times; print the first (cold) and the best time."""
    times = []
    result = None
    for _ in range(runs):
        started = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - started)
    print(f"  {label}: first {times[0]:.2f} s, best {min(times):.2f} s ({runs} runs)")
    return result


def run(visit_count: int, event_count: int, export_rows: int) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django_tenants.utils import schema_context

    from tenants.actions import create_building
    from tenants.models import User

    call_command("setup_platform", verbosity=0)
    create_building(slug=SLUG, name="Bench Tower", admin_email=f"admin@{SLUG}.example")
    admin = User.objects.get(email=f"admin@{SLUG}.example")
    with schema_context(SLUG):
        started = time.perf_counter()
        company_ids = fill(admin, visit_count, event_count)
        print(
            f"filled building '{SLUG}': {visit_count} visits, {event_count} gate events over "
            f"{DAYS} days, {COMPANIES} companies ({time.perf_counter() - started:.0f} s)"
        )
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
            cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
            print(f"database size: {cursor.fetchone()[0]}")
        measure(admin, company_ids[0], export_rows)


def fill(
    admin: Any,
    visit_count: int,
    event_count: int,
    *,
    companies: int = COMPANIES,
    visitor_count: int = VISITORS,
    gates: int = GATES,
) -> list[int]:
    """Companies, hosts, gates and visitors through the actions and the models; visits and
    gate events in bulk SQL. Returns the companies' ids. (bench/scale.py fills a smaller
    building with it.)"""
    from django.db import connection

    from kernel.privacy import blind_index, mask_id_number
    from visit_platform.access.actions import create_gate
    from visit_platform.audit.actions import Actor
    from visit_platform.directory.actions import create_company, create_host
    from visit_platform.visits.models import ID_NUMBER_INDEX, Visitor

    actor = Actor(user=admin)
    hosts: list[tuple[int, int]] = []
    for c in range(companies):
        company = create_company(actor, name=f"测试企业{c:03d}", floors=str(c % 30 + 1))
        for h in range(HOSTS_PER_COMPANY):
            host = create_host(actor, company, name=f"员工{c:03d}{h}", mobile=f"136{c:04d}{h:04d}")
            hosts.append((host.pk, company.pk))
    for g in range(gates):
        create_gate(actor, name=f"闸机 {g + 1}")
    id_number = "11010519491231002X"
    visitors = [
        Visitor(
            name=f"访客{n:05d}",
            mobile=f"+86139{n:08d}",
            id_type="resident_id",
            id_number=id_number,
            id_number_index=blind_index(id_number, ID_NUMBER_INDEX),
            id_number_masked=mask_id_number(id_number),
        )
        for n in range(visitor_count)
    ]
    for visitor in visitors:
        visitor.fill_indexes()  # the name and mobile blind indexes, as save() writes them
    Visitor.objects.bulk_create(visitors, batch_size=2000)
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE bench_hosts (slot int, host_id int, company_id int)")
        cursor.executemany(
            "INSERT INTO bench_hosts VALUES (%s, %s, %s)",
            [(n, host_id, company_id) for n, (host_id, company_id) in enumerate(hosts)],
        )
        insert_visits(cursor, visit_count, admin.pk, visitor_count, len(hosts))
        insert_events(cursor, event_count)
    return sorted({company_id for _, company_id in hosts})


def _defaults_for_the_rest(cursor: Any, table: str, given: list[str]) -> tuple[str, str]:
    """Columns of ``table`` that are NOT NULL, have no default and are not ``given``, with an
    empty value of their type: a bench written today keeps working when a column is added."""
    cursor.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = %s AND is_nullable = 'NO' "
        "AND column_default IS NULL AND is_identity = 'NO'",
        [table],
    )
    empty = {
        "boolean": "false",
        "jsonb": "'{}'::jsonb",
        "integer": "0",
        "smallint": "0",
        "bigint": "0",
    }
    rest = [(name, kind) for name, kind in cursor.fetchall() if name not in given]
    return (
        "".join(f", {name}" for name, _ in rest),
        "".join(f", {empty.get(kind, chr(39) * 2)}" for _, kind in rest),
    )


VISIT_COLUMNS = [
    "id",
    "scenario",
    "status",
    "visitor_id",
    "host_id",
    "company_id",
    "valid_from",
    "valid_until",
    "invited_by_id",
    "approved_by_id",
    "registered_by_id",
    "decided_at",
    "checked_in_at",
    "checked_out_at",
    "created_at",
    "updated_at",
]


def insert_visits(
    cursor: Any, count: int, staff_id: int, visitor_count: int, host_count: int
) -> None:
    """``count`` visits over the last ``DAYS`` days, between 07:00 and 19:00 Shanghai time: 70 %
    came and left, 10 % never came (expired), 8 % rejected, 5 % cancelled, 7 % approved for
    the coming week. Scenarios by weight; a staff member invited, approved or registered."""
    extra_columns, extra_values = _defaults_for_the_rest(cursor, "visits_visit", VISIT_COLUMNS)
    # Only numbers and column names written in this file go into the statement.
    cursor.execute(
        f"""
        INSERT INTO visits_visit ({", ".join(VISIT_COLUMNS[1:])}{extra_columns})
        SELECT
            (ARRAY['invite','invite','invite','request','request','walk_in','no_id','bulk'])
                [1 + n % 8],
            CASE WHEN r < 0.70 THEN 'checked_out' WHEN r < 0.80 THEN 'expired'
                 WHEN r < 0.88 THEN 'rejected' WHEN r < 0.93 THEN 'cancelled'
                 ELSE 'approved' END,
            (SELECT min(id) FROM visits_visitor) + n % {visitor_count},
            h.host_id, h.company_id,
            start, start + interval '4 hours',
            CASE WHEN n % 8 < 3 THEN {staff_id} END,
            CASE WHEN r >= 0.80 AND r < 0.88 OR r < 0.70 THEN {staff_id} END,
            CASE WHEN n % 8 IN (5, 6) THEN {staff_id} END,
            start - interval '1 day' + (n % 300) * interval '1 minute',
            CASE WHEN r < 0.70 THEN start + (n % 40) * interval '1 minute' END,
            CASE WHEN r < 0.70 THEN start + interval '1 hour' + (n % 150) * interval '1 minute'
            END,
            start - interval '1 day', start - interval '1 day'
            {extra_values}
        FROM (
            SELECT n, random() AS r,
                CASE WHEN random() < 0.93
                    THEN date_trunc('day', now() AT TIME ZONE 'Asia/Shanghai')
                        - (n % {DAYS}) * interval '1 day'
                    ELSE date_trunc('day', now() AT TIME ZONE 'Asia/Shanghai')
                        + (1 + n % 7) * interval '1 day'
                END + interval '7 hours' + (n * 7 % 720) * interval '1 minute' AS local_start
            FROM generate_series(0, {count - 1}) AS n
        ) AS v
        CROSS JOIN LATERAL (SELECT v.local_start AT TIME ZONE 'Asia/Shanghai' AS start) AS s
        JOIN bench_hosts AS h ON h.slot = v.n % {host_count}
        """  # noqa: S608
    )
    # The visits the coming week holds are approved, not over.
    cursor.execute(
        "UPDATE visits_visit SET status = 'approved', checked_in_at = NULL, "
        "checked_out_at = NULL WHERE valid_from > now()"
    )


def insert_events(cursor: Any, count: int) -> None:
    """``count`` gate events: passages of the visits that came (an entry and an exit each,
    then more passages over the same visits), 5 % refused for a reason, spread over the
    gates."""
    cursor.execute("SELECT array_agg(id ORDER BY id) FROM access_gate")
    gates = cursor.fetchone()[0]
    given = [
        "event_id",
        "gate_id",
        "visit_id",
        "direction",
        "granted",
        "reason",
        "mode",
        "occurred_at",
        "recorded_at",
    ]
    extra_columns, extra_values = _defaults_for_the_rest(cursor, "access_accessevent", given)
    gate_array = "(ARRAY[" + ",".join(str(gate) for gate in gates) + "])"
    refusals = "ARRAY['expired','revoked','not_yet_valid','uses_exhausted','anti_passback']"
    cursor.execute(
        """
        CREATE TEMP TABLE bench_came AS
        SELECT row_number() OVER (ORDER BY id) - 1 AS k, id, checked_in_at, checked_out_at
        FROM visits_visit WHERE checked_in_at IS NOT NULL
        """
    )
    cursor.execute("SELECT count(*) FROM bench_came")
    came = cursor.fetchone()[0]
    cursor.execute(
        f"""
        INSERT INTO access_accessevent ({", ".join(given)}{extra_columns})
        SELECT
            gen_random_uuid(),
            {gate_array}[1 + n % {len(gates)}],
            c.id,
            CASE WHEN n / {came} % 2 = 0 THEN 'in' ELSE 'out' END,
            n % 20 <> 0,
            CASE WHEN n % 20 <> 0 THEN 'granted' ELSE ({refusals})[1 + n / 20 % 5] END,
            'online',
            CASE WHEN n / {came} % 2 = 0 THEN c.checked_in_at ELSE c.checked_out_at END
                + (n / ({came} * 2)) * interval '3 minutes',
            now()
            {extra_values}
        FROM generate_series(0, {count - 1}) AS n
        JOIN bench_came AS c ON c.k = n % {came}
        """  # noqa: S608
    )


def measure(admin: Any, company_id: int, export_rows: int) -> None:
    """Time the records' first and last pages, the dashboard's statistics and an export, as
    a property admin (the whole building) and a company admin (one company of forty)."""
    from datetime import timedelta

    from django.utils import timezone

    from visit_platform.audit.actions import Actor
    from visit_platform.directory.actions import grant_membership
    from visit_platform.directory.choices import Role
    from visit_platform.directory.models import Company
    from visit_platform.reports.filters import ReportFilter
    from visit_platform.reports.records import event_records, page_of, visit_records
    from visit_platform.reports.statistics import statistics_tables

    boss = grant_membership(
        Actor.system("bench"),
        email="boss@bench.example",
        role=Role.COMPANY_ADMIN,
        company=Company.objects.get(pk=company_id),
    ).membership.user
    people = (("property admin", admin), ("company admin", boss))
    today = timezone.localdate()

    def days(first: int, last: int = 7) -> ReportFilter:
        return ReportFilter.from_query(
            {
                "start": (today - timedelta(days=first)).isoformat(),
                "end": (today + timedelta(days=last)).isoformat(),
            },
            today=today,
        )

    year = days(DAYS)
    print(f"records, {PAGE} rows a page, over the whole year:")
    for who, user in people:
        for records, kind in ((visit_records, "visits"), (event_records, "gate events")):
            queryset = records(year, user)
            first = timed(f"{who}, {kind}, first page", partial(page_of, queryset, None, PAGE))
            timed(f"{who}, {kind}, last page", partial(page_of, queryset, first.last, PAGE))
            print(f"    plan: {plan_verdict(queryset, first.last, page_of)}")
    print("statistics, all twelve in one call (the dashboard, a statistics export):")
    for label, report_filter in (("30 days", days(29, 0)), ("the whole year", year)):
        for who, user in people:
            tables = timed(
                f"{who}, {label}", partial(statistics_tables, report_filter, user), runs=2
            )
            print(
                f"    counted {int(tables['visits_by_day']['visits'].sum())} visits, "
                f"{int(tables['peak_hours']['entries'].sum())} entries, "
                f"{int(tables['denial_reasons']['refusals'].sum())} refusals"
            )
    # The shortest range back from today that holds at least ``export_rows`` visits.
    low, high = 1, DAYS
    while low < high:
        middle = (low + high) // 2
        if visit_records(days(middle, 0), admin).count() >= export_rows:
            high = middle
        else:
            low = middle + 1
    for file_format in ("xlsx", "csv"):
        measure_export(admin, days(low, 0), file_format)


PAGE = 50


def plan_verdict(queryset: Any, cursor: str | None, page_of: Callable[..., Any]) -> str:
    """The page's own query under EXPLAIN ANALYZE: whether PostgreSQL read along the keyset
    index and stopped after a page, or sorted more rows than a page (ADR 0038)."""
    import re

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        page_of(queryset, cursor, PAGE)
    sql = captured.captured_queries[-1]["sql"]
    with connection.cursor() as database:
        database.execute("EXPLAIN (ANALYZE) " + sql)
        plan = [row[0] for row in database.fetchall()]
    sorted_rows = [
        int(match[1])
        for line in plan
        if "Sort" in line and "Sort Key" not in line
        for match in [re.search(r"actual time=\S+ rows=(\d+)", line)]
        if match
    ]
    verdict = (
        f"a sort over {max(sorted_rows)} rows"
        if sorted_rows and max(sorted_rows) > PAGE + 1
        else "read along the index, no sort over the table"
    )
    total = next(line for line in plan if line.startswith("Execution Time"))
    return f"{verdict}; {total.lower()}"


def measure_export(admin: Any, report_filter: Any, file_format: str) -> None:
    """One export of visits as a job, written by the task's own function in this process (no
    worker or broker: the hand-over is replaced), with every progress report it makes."""
    from visit_platform.audit.actions import Actor
    from visit_platform.reports import exports

    exports._hand_over = lambda job_id: None  # type: ignore[assignment]
    reports: list[tuple[float, int]] = []
    started = time.perf_counter()

    def progressed(sender: Any, job: Any, done: int, **_: Any) -> None:
        reports.append((time.perf_counter() - started, done))

    exports.export_progressed.connect(progressed, weak=False)
    try:
        job = exports.start_export(
            Actor(user=admin),
            source="visits",
            file_format=file_format,
            params=_query(report_filter),
        )
        started = time.perf_counter()
        built = exports.build_export(job.pk)
        took = time.perf_counter() - started
    finally:
        exports.export_progressed.disconnect(progressed)
    assert built is not None, "the export was not written"
    job = built
    size = (exports.exports_directory() / job.file_path).stat().st_size
    print(
        f"export of {job.rows_total} visits as {file_format}: {took:.1f} s "
        f"({job.rows_total / took:.0f} rows/s), {size / 2**20:.1f} MiB, "
        f"{len(reports)} progress reports"
    )
    shown = reports[:: max(len(reports) // 5, 1)] + reports[-1:]
    print("    progress: " + ", ".join(f"{done} rows at {at:.1f} s" for at, done in shown))


def _query(report_filter: Any) -> dict[str, str]:
    from urllib.parse import parse_qsl

    return dict(parse_qsl(report_filter.as_query()))


if __name__ == "__main__":
    main()
