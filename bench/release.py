"""Benchmark: the release runner over N buildings, against ``migrate_schemas --tenant``.

Runs on a scratch database on the PostgreSQL that ``DATABASE_URL`` points at (created and
dropped here), with the settings of the runner's tests (``tests.release_settings``), whose
``release_probe`` building app gives the buildings migrations to apply. Measured: nothing
pending, then one pending migration (a column with a default and an index, then a RunPython)
in every building, with 1 and 2 workers and with the standard executor, wall time and peak
RSS. The one pending migration is made pending again between runs by dropping its column and
its record in every building.

    python bench/release.py --buildings 100
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.scratch import django_on_scratch_database

SCRATCH_DATABASE = "visit_bench_release"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--buildings", type=int, default=100, help="how many buildings")
    parser.add_argument(
        "--per-worker", type=int, default=None, help="buildings before a worker is replaced"
    )
    args = parser.parse_args()
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.release_settings"
    os.environ.pop("RELEASE_PROBE_FAIL_SCHEMA", None)
    with django_on_scratch_database(SCRATCH_DATABASE):
        run(args.buildings, args.per_worker)


def run(building_count: int, per_worker: int | None) -> None:
    import django

    django.setup()
    from django.core.management import call_command

    from tenants.actions import create_building
    from tenants.release import building_schemas, run_release

    call_command("setup_platform", verbosity=0)
    started = time.perf_counter()
    for index in range(building_count):
        create_building(slug=f"b{index:04d}", name="Bench", admin_email=f"a{index}@bench.example")
    print(f"{building_count} buildings made in {time.perf_counter() - started:.0f} s")
    schemas = building_schemas()

    def release(workers: int, what: str) -> None:
        result = run_release(
            schemas, workers=workers, report=lambda line: None, buildings_per_worker=per_worker
        )
        assert not result.failed, result.failed
        print(
            f"run_release, {what}, {workers} worker(s): {result.elapsed:.2f} s "
            f"({len(result.migrated)} migrated, {len(result.current)} current), "
            f"peak worker RSS {result.peak_worker_rss / 2**20:.0f} MiB"
        )

    def standard(what: str) -> None:
        started = time.perf_counter()
        call_command("migrate_schemas", tenant=True, interactive=False, verbosity=0)
        print(
            f"migrate_schemas --tenant (standard executor), {what}: "
            f"{time.perf_counter() - started:.2f} s, this process's peak RSS "
            f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
        )

    for workers in (1, 2):
        release(workers, "nothing pending")
    standard("nothing pending")
    for workers in (1, 2):
        make_one_migration_pending(schemas)
        release(workers, "one migration pending")
    make_one_migration_pending(schemas)
    standard("one migration pending")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, load average {os.getloadavg()[0]:.1f} at the end"
    )


def make_one_migration_pending(schemas: list[str]) -> None:
    """Undo ``release_probe.0002`` (its column and index, and its record) in every building."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        for schema in schemas:
            cursor.execute(f'ALTER TABLE "{schema}".release_probe_marker DROP COLUMN rank')
            cursor.execute(
                f'DELETE FROM "{schema}".django_migrations '  # noqa: S608 - our own names
                "WHERE app = 'release_probe' AND name = '0002_marker_rank'"
            )


if __name__ == "__main__":
    main()
