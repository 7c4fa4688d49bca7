"""Benchmark: how long provisioning one building takes, and migrating N buildings.

Runs against a scratch database on the PostgreSQL that ``DATABASE_URL`` points at (default:
the local service), created and dropped by this script. Prints its figures; the latest are
copied into docs/performance.md with the machine they ran on.

    python bench/provision.py --buildings 20
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.scratch import django_on_scratch_database

SCRATCH_DATABASE = "visit_bench_provision"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--buildings", type=int, default=20, help="how many buildings to migrate")
    parser.add_argument("--samples", type=int, default=5, help="provisioning runs to time")
    args = parser.parse_args()

    with django_on_scratch_database(SCRATCH_DATABASE):
        run(args.buildings, args.samples)


def run(building_count: int, samples: int) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import override_settings

    from tenants.actions import create_building

    started = time.perf_counter()
    call_command("setup_platform", verbosity=0)
    print(f"setup_platform on an empty database: {time.perf_counter() - started:.2f} s")

    cloned = []
    for index in range(samples):
        started = time.perf_counter()
        create_building(slug=f"clone{index}", name="Bench", admin_email=f"c{index}@bench.example")
        cloned.append(time.perf_counter() - started)
    migrated = []
    with override_settings(TENANT_CREATION_FAKES_MIGRATIONS=False):
        for index in range(samples):
            started = time.perf_counter()
            create_building(
                slug=f"full{index}", name="Bench", admin_email=f"f{index}@bench.example"
            )
            migrated.append(time.perf_counter() - started)
    print(
        f"provision one building, cloned from the template: "
        f"median {statistics.median(cloned) * 1000:.0f} ms, max {max(cloned) * 1000:.0f} ms "
        f"({samples} runs)"
    )
    print(
        f"provision one building, running every migration: "
        f"median {statistics.median(migrated) * 1000:.0f} ms, max {max(migrated) * 1000:.0f} ms "
        f"({samples} runs)"
    )

    for index in range(2 * samples, building_count):
        create_building(slug=f"extra{index}", name="Bench", admin_email=f"e{index}@bench.example")
    total = max(building_count, 2 * samples)
    for executor in ("standard", "multiprocessing"):
        started = time.perf_counter()
        call_command(
            "migrate_schemas", tenant=True, executor=executor, interactive=False, verbosity=0
        )
        elapsed = time.perf_counter() - started
        print(
            f"migrate_schemas over {total} buildings, nothing pending, {executor} executor: "
            f"{elapsed:.2f} s ({elapsed / total * 1000:.0f} ms per building)"
        )
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )


if __name__ == "__main__":
    main()
