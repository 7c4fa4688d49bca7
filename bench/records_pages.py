"""Benchmark: the query plans of the records' keyset pages (ADR 0038) on a building with a few
hundred thousand visits and gate events: the first page, a page deep inside and the last page,
for a property admin (the whole building) and a company admin (one company of three).

What matters is the plan, not the clock: every page must read its rows along the
(valid_from, id) or (occurred_at, id) index and stop after a page, with no Sort over the
table. The script prints each plan's top nodes and the time PostgreSQL reports, and says
"whole-table sort" where a Sort node reads more rows than a page.

Runs against a scratch database on the PostgreSQL that ``DATABASE_URL`` points at (default:
the local service), created and dropped by this script.

    python bench/records_pages.py --visits 300000 --events 300000
"""

from __future__ import annotations

import argparse
import re
import sys
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.scratch import django_on_scratch_database

SCRATCH_DATABASE = "visit_bench_records"
SLUG = "bench"
START = datetime(2025, 1, 1, 8, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
DAYS = 700
PAGE = 50


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--visits", type=int, default=300_000)
    parser.add_argument("--events", type=int, default=300_000)
    args = parser.parse_args()

    with django_on_scratch_database(SCRATCH_DATABASE):
        run(args.visits, args.events)


def run(visit_count: int, event_count: int) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.http import QueryDict
    from django_tenants.utils import schema_context

    from tenants.actions import create_building
    from tenants.models import User
    from visit_platform.access.actions import create_gate
    from visit_platform.access.models import AccessEvent
    from visit_platform.audit.actions import Actor
    from visit_platform.directory.actions import create_company, create_host, grant_membership
    from visit_platform.directory.choices import Role
    from visit_platform.reports.filters import ReportFilter
    from visit_platform.reports.records import event_records, page_of, visit_records
    from visit_platform.visits.actions import register_visitor
    from visit_platform.visits.models import Visit

    call_command("setup_platform", verbosity=0)
    create_building(slug=SLUG, name="Bench Tower", admin_email=f"admin@{SLUG}.example")
    admin = User.objects.get(email=f"admin@{SLUG}.example")
    system = Actor.system("bench")
    with schema_context(SLUG):
        companies = [create_company(system, name=f"公司{n}") for n in range(3)]
        hosts = [
            create_host(system, company, name=f"员工{n}", mobile=f"1391111000{n}")
            for n, company in enumerate(companies)
        ]
        boss = grant_membership(
            system, email="boss@bench.example", role=Role.COMPANY_ADMIN, company=companies[0]
        ).membership.user
        visitor = register_visitor(system, name="韩梅梅", mobile="13800000001")
        gate = create_gate(system, name="东门", zone="", direction="both", checks_zone=False)
        step = timedelta(days=DAYS) / visit_count
        for chunk in range(0, visit_count, 10_000):
            Visit.objects.bulk_create(
                Visit(
                    scenario="invite",
                    status="checked_out",
                    visitor=visitor,
                    host=hosts[n % 3],
                    company=companies[n % 3],
                    valid_from=START + step * n,
                    valid_until=START + step * n + timedelta(hours=2),
                )
                for n in range(chunk, min(chunk + 10_000, visit_count))
            )
        visit_ids = list(Visit.objects.order_by("id").values_list("id", flat=True))
        step = timedelta(days=DAYS) / event_count
        for chunk in range(0, event_count, 10_000):
            AccessEvent.objects.bulk_create(
                AccessEvent(
                    event_id=uuid.uuid4(),
                    gate=gate,
                    visit_id=visit_ids[n * len(visit_ids) // event_count],
                    direction="in",
                    granted=n % 10 != 0,
                    reason="granted" if n % 10 else "expired",
                    occurred_at=START + step * n,
                )
                for n in range(chunk, min(chunk + 10_000, event_count))
            )
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        print(f"{Visit.objects.count()} visits, {AccessEvent.objects.count()} gate events")

        everything = ReportFilter.from_query(
            QueryDict("start=2025-01-01&end=2026-12-31"), today=date(2026, 12, 31)
        )
        for user, who in ((admin, "property admin"), (boss, "company admin")):
            for records, kind in ((visit_records, "visits"), (event_records, "events")):
                queryset = records(everything, user)
                first = page_of(queryset, None, PAGE)
                middle_cursor = first.next
                for _ in range(3):  # a few pages in
                    middle_cursor = page_of(queryset, middle_cursor, PAGE).next
                for label, cursor in (
                    ("first", None),
                    ("after", middle_cursor),
                    ("last", first.last),
                    ("before", page_of(queryset, first.last, PAGE).previous),
                ):
                    explain(connection, f"{who}, {kind}, {label} page", queryset, cursor, page_of)


def explain(connection: Any, title: str, queryset: Any, cursor: str | None, page_of: Any) -> None:
    """Run the page's own query under EXPLAIN ANALYZE and print its top plan lines."""
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        page_of(queryset, cursor, PAGE)
    sql = captured.captured_queries[-1]["sql"]
    with connection.cursor() as database:
        database.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        plan = [row[0] for row in database.fetchall()]
    sorts = [line for line in plan if "Sort" in line and "Sort Key" not in line]
    big_sorts = [line for line in sorts if int(re.search(r"rows=(\d+) loops", line)[1]) > PAGE + 1]  # type: ignore[index]
    verdict = "whole-table sort" if big_sorts else "no sort over the table"
    total = next(line for line in plan if line.startswith("Execution Time"))
    print(f"\n== {title}: {verdict}; {total}")
    scans = [
        line.strip()
        for line in plan
        if "Scan" in line and ("visits_visit " in line or "access_accessevent " in line)
    ]
    for line in scans[:2]:
        print("   " + line[:170])


if __name__ == "__main__":
    main()
