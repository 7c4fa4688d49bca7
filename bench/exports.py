"""Benchmark: an export of 100,000 visits (issue 17: "exports of 100,000 rows with progress"),
as xlsx and as csv, written by ``build_export`` as the Celery worker runs it, with the number
of progress steps it saved on the way.

Runs against a scratch database on the PostgreSQL that ``DATABASE_URL`` points at (default:
the local service), created and dropped by this script; the files go to a temporary directory.
Prints its figures; the latest are copied into docs/performance.md with the machine.

    python bench/exports.py --visits 100000
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.scratch import django_on_scratch_database

SCRATCH_DATABASE = "visit_bench_exports"
SLUG = "bench"
NOVEMBER = {"start": "2026-11-01", "end": "2026-11-30"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--visits", type=int, default=100_000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as directory:
        os.environ["EXPORTS_DIR"] = directory
        with django_on_scratch_database(SCRATCH_DATABASE):
            run(args.visits, Path(directory))


def run(visit_count: int, directory: Path) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django_tenants.utils import tenant_context

    from tenants.actions import create_building
    from tenants.models import Building, User
    from visit_platform.audit.actions import Actor
    from visit_platform.directory.actions import create_company, create_host
    from visit_platform.reports.exports import build_export, export_progressed, start_export
    from visit_platform.visits.actions import register_visitor
    from visit_platform.visits.choices import Scenario, VisitStatus
    from visit_platform.visits.models import Visit

    call_command("setup_platform", verbosity=0)
    create_building(slug=SLUG, name="Bench Tower", admin_email=f"admin@{SLUG}.example")
    admin = User.objects.get(email=f"admin@{SLUG}.example")
    system = Actor.system("bench")
    zone = ZoneInfo("Asia/Shanghai")
    with tenant_context(Building.objects.get(schema_name=SLUG)):
        company = create_company(system, name="星河科技")
        host = create_host(system, company, name="张伟", mobile="13911110001")
        visitor = register_visitor(system, name="韩梅梅", mobile="13700000000")
        first = datetime(2026, 11, 1, 8, tzinfo=zone)
        Visit.objects.bulk_create(
            (
                Visit(
                    scenario=Scenario.INVITE,
                    status=VisitStatus.APPROVED,
                    visitor=visitor,
                    host=host,
                    company=company,
                    valid_from=first + timedelta(seconds=20 * number),
                    valid_until=first + timedelta(seconds=20 * number, hours=2),
                )
                for number in range(visit_count)
            ),
            batch_size=5000,
        )
        steps: list[int] = []

        def note(sender: Any, job: Any, done: int, **kwargs: Any) -> None:
            steps.append(done)

        export_progressed.connect(note)
        for file_format in ("xlsx", "csv"):
            steps.clear()
            job = start_export(
                Actor(user=admin), source="visits", file_format=file_format, params=NOVEMBER
            )
            started = time.perf_counter()
            job = build_export(job.pk)
            seconds = time.perf_counter() - started
            size = (directory / job.file_path).stat().st_size
            print(
                f"{file_format}: {job.rows_done} rows in {seconds:.1f} s "
                f"({job.rows_done / seconds:.0f} rows/s), {len(steps) - 1} progress steps, "
                f"{size / 1_000_000:.1f} MB, state {job.state}"
            )


if __name__ == "__main__":
    main()
