"""Benchmark: every statistic (``statistics_tables``) over a building with 200,000 visits and
1,000,000 gate events in one 30-day range, for a property admin (the whole building) and a
company admin (one company of three). Issue 17 asks each statistics view to answer in 5 s.

The rows are written with ``INSERT ... SELECT generate_series`` (the actions would take hours
for a million gate events); they have the shape the actions give them: visits with windows,
check-ins and check-outs, decisions, gate events granted and refused with reason codes.

Runs against a scratch database on the PostgreSQL that ``DATABASE_URL`` points at (default:
the local service), created and dropped by this script. Prints its figures; the latest are
copied into docs/performance.md with the machine.

    python bench/statistics.py --visits 200000 --events 1000000
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.scratch import django_on_scratch_database

SCRATCH_DATABASE = "visit_bench_statistics"
SLUG = "bench"
RANGE = "start=2026-11-01&end=2026-11-30"
RUNS = 3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--visits", type=int, default=200_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()

    with django_on_scratch_database(SCRATCH_DATABASE):
        run(args.visits, args.events)


VISITS_SQL = """
INSERT INTO visits_visit (scenario, status, visitor_id, host_id, company_id, purpose, valid_from,
    valid_until, companions, answers, decided_at, decision_reason, approved_by_id, contact_name,
    contact_mobile, contact_mobile_index, checked_in_at, checked_out_at, left_unseen,
    left_on_word_of, created_at, updated_at)
SELECT (ARRAY['invite', 'request', 'walk_in', 'no_id'])[1 + mod(n, 4)],
       CASE WHEN mod(n, 10) = 0 THEN 'approved' WHEN mod(n, 10) = 1 THEN 'rejected'
            ELSE 'checked_out' END,
       %(visitor)s, (%(hosts)s::bigint[])[1 + mod(n, 3)],
       (%(companies)s::bigint[])[1 + mod(n, 3)], '',
       start, start + interval '4 hours', 0, '{}',
       CASE WHEN mod(n, 4) = 1
            THEN start - interval '1 hour' + mod(n, 50) * interval '1 minute' END,
       '', CASE WHEN mod(n, 4) = 1 AND mod(n, 10) <> 1 THEN %(admin)s END, '', '', '',
       CASE WHEN mod(n, 10) > 1 THEN start + (mod(n, 30)) * interval '1 minute' END,
       CASE WHEN mod(n, 10) > 1 THEN start + (40 + mod(n, 200)) * interval '1 minute' END,
       false, '', start - interval '2 hours', start
FROM (SELECT n, timestamptz '2026-11-01 00:00+08' + (mod(n, 30)) * interval '1 day'
                + (7 + mod(n, 12)) * interval '1 hour' + (mod(n, 60)) * interval '1 minute' AS start
      FROM generate_series(1, %(count)s) AS n) AS rows
"""

EVENTS_SQL = """
INSERT INTO access_accessevent (event_id, gate_id, visit_id, direction, granted, reason, mode,
    occurred_at, recorded_at)
SELECT gen_random_uuid(), (%(gates)s::bigint[])[1 + mod(n, 4)],
       CASE WHEN mod(n, 20) = 0 THEN NULL ELSE %(first_visit)s + mod(n, %(visits)s) END,
       CASE WHEN mod(n, 2) = 0 THEN 'in' ELSE 'out' END,
       mod(n, 9) <> 0,
       CASE WHEN mod(n, 9) <> 0 THEN 'granted'
            ELSE (ARRAY['expired', 'revoked', 'invalid_token', 'anti_passback'])[1 + mod(n, 4)] END,
       'online', moment, moment
FROM (SELECT n, timestamptz '2026-11-01 00:00+08' + (mod(n, 30)) * interval '1 day'
                + (mod(n, 86400)) * interval '1 second' AS moment
      FROM generate_series(1, %(count)s) AS n) AS rows
"""


def run(visit_count: int, event_count: int) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.http import QueryDict
    from django_tenants.utils import tenant_context

    from tenants.actions import create_building
    from tenants.models import Building, User
    from visit_platform.access.actions import create_gate
    from visit_platform.audit.actions import Actor
    from visit_platform.directory.actions import create_company, create_host, grant_membership
    from visit_platform.directory.choices import Role
    from visit_platform.reports.filters import ReportFilter
    from visit_platform.reports.statistics import statistics_tables
    from visit_platform.visits.actions import register_visitor
    from visit_platform.visits.models import Visit

    call_command("setup_platform", verbosity=0)
    create_building(slug=SLUG, name="Bench Tower", admin_email=f"admin@{SLUG}.example")
    admin = User.objects.get(email=f"admin@{SLUG}.example")
    system = Actor.system("bench")
    with tenant_context(Building.objects.get(schema_name=SLUG)):
        companies = [create_company(system, name=f"公司{n}") for n in range(3)]
        hosts = [
            create_host(system, company, name=f"员工{n}", mobile=f"1391111000{n}")
            for n, company in enumerate(companies)
        ]
        boss = grant_membership(
            system, email="boss@bench.example", role=Role.COMPANY_ADMIN, company=companies[0]
        ).membership.user
        gates = [create_gate(system, name=f"闸机{n}", direction="both") for n in range(4)]
        visitor = register_visitor(system, name="访客", mobile="13700000000")
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(
                VISITS_SQL,
                {
                    "visitor": visitor.pk,
                    "hosts": [host.pk for host in hosts],
                    "companies": [company.pk for company in companies],
                    "admin": admin.pk,
                    "count": visit_count,
                },
            )
            first_visit = Visit.objects.order_by("pk").values_list("pk", flat=True).first()
            cursor.execute(
                EVENTS_SQL,
                {
                    "gates": [gate.pk for gate in gates],
                    "first_visit": first_visit,
                    "visits": visit_count,
                    "count": event_count,
                },
            )
            cursor.execute("ANALYZE")
        print(
            f"wrote {visit_count} visits and {event_count} gate events "
            f"in {time.perf_counter() - started:.1f} s"
        )
        report_filter = ReportFilter.from_query(QueryDict(RANGE), today=_today())
        for label, user in (("property admin", admin), ("company admin", boss)):
            timings = []
            for _run in range(RUNS):
                started = time.perf_counter()
                tables = statistics_tables(report_filter, user)
                timings.append(time.perf_counter() - started)
            visits = int(tables["visits_by_day"]["visits"].sum())
            entries = int(tables["peak_hours"]["entries"].sum())
            refusals = int(tables["denial_reasons"]["refusals"].sum())
            print(
                f"{label}: all 12 statistics over 30 days in {min(timings):.2f} s best, "
                f"{max(timings):.2f} s worst of {RUNS} "
                f"({visits} visits, {entries} entries, {refusals} refusals counted)"
            )


def _today() -> date:
    return date(2026, 12, 6)


if __name__ == "__main__":
    main()
