"""Benchmark: a thousand buildings on one installation (issue 18).

1. **Provisioning.** ``setup_platform`` on an empty database, then ``--buildings`` buildings
   made one after another by ``create_building``, as an operator's script would: the time per
   building around the 10th, 100th, 500th and 1,000th (median of the ten buildings before
   each), the database backend's memory, the database's size; then one more building made by
   ``manage.py create_building`` in a fresh process, the way an operator makes one.
2. **Rows.** A seed building filled as ``bench/reports.py`` fills one (companies, hosts, gates
   and visitors through the actions; ``--visits`` visits and ``--events`` gate events in bulk
   SQL), then its rows copied into every other building with SQL, so each holds a building's
   realistic tables and indexes. The database's size again.
3. **Gates.** In the first ``--gate-buildings`` buildings: gates, a gate agent and visits with
   passes through the actions (``bench/gate_decision.py``'s ``building_site``), and the
   production ASGI server in its own processes.
4. **The release.** ``manage.py setup_platform`` in a subprocess with one pending migration
   (``bench/release_app``: a column with a default and an index on the gate events table,
   20,000 rows per building), while gate decisions arrive at ``--rate`` a second spread over
   the gate buildings. Prints the release's wall time and progress, the peak memory of its
   processes (every 0.5 s), the lock waits PostgreSQL saw, and what the gates got: errors,
   latency percentiles. Then the same release again with nothing pending.
5. **Periodic jobs.** One round of each beat job over every building, in this process, beside
   its interval: the jobs that run every 30 seconds visit every building each time.

Runs against a scratch database on the PostgreSQL that ``DATABASE_URL`` points at (default:
the local service), created and dropped by this script; the figures go into
docs/performance.md with the machine. About 30 minutes at 1,000 buildings on two cores.

    python bench/scale.py --buildings 1000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.gate_decision import (  # noqa: E402
    Server,
    Site,
    building_site,
    drive,
    percentiles,
    production_environment,
)
from bench.scratch import django_on_scratch_database  # noqa: E402

SCRATCH_DATABASE = "visit_bench_scale"
SEED = "b0001"
# The tables the seed building's rows are copied from, referenced ones first.
COPIED_TABLES = [
    "directory_company",
    "directory_host",
    "access_gate",
    "visits_visitor",
    "visits_visit",
    "access_accessevent",
]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--buildings", type=int, default=1000)
    parser.add_argument("--visits", type=int, default=2000, help="visits per building")
    parser.add_argument("--events", type=int, default=20_000, help="gate events per building")
    parser.add_argument("--gate-buildings", type=int, default=100)
    parser.add_argument("--passes", type=int, default=20, help="passes per gate building")
    parser.add_argument("--rate", type=float, default=100, help="gate decisions per second")
    parser.add_argument("--workers", type=int, default=2, help="the release's worker processes")
    parser.add_argument("--server-workers", type=int, default=1, help="ASGI worker processes")
    args = parser.parse_args()

    with django_on_scratch_database(SCRATCH_DATABASE, production_environment) as environment:
        run(args, environment)


def run(args: argparse.Namespace, environment: dict[str, str]) -> None:
    import django

    django.setup()
    slugs = [f"b{index:04d}" for index in range(1, args.buildings + 1)]
    provision(slugs)
    users_table()
    fill(slugs, args.visits, args.events)
    sites = [
        building_site(slug, args.passes) for slug in slugs[: min(args.gate_buildings, len(slugs))]
    ]
    print(f"gates: {len(sites)} buildings with 2 gates, an agent and {args.passes} passes each")
    server = Server(environment, args.server_workers, "uvicorn")
    server.start()
    try:
        for label in ("one migration pending", "nothing pending"):
            release(label, environment, sites, server, args.rate, args.workers)
    finally:
        server.stop()
    periodic_jobs()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0].split()[0]
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, "
        f"Python {platform.python_version()}, PostgreSQL {version}"
    )


# --- 1. Provisioning --------------------------------------------------------------------------


def provision(slugs: list[str]) -> None:
    from django.core.management import call_command

    from tenants.actions import create_building

    started = time.perf_counter()
    call_command("setup_platform", verbosity=0)
    print(f"setup_platform on an empty database: {time.perf_counter() - started:.1f} s")
    checkpoints = {10, 100, 500, 1000, len(slugs)}
    times: list[float] = []
    began = time.perf_counter()
    for slug in slugs:
        started = time.perf_counter()
        create_building(slug=slug, name=f"Tower {slug}", admin_email=f"admin@{slug}.example")
        times.append(time.perf_counter() - started)
        if len(times) in checkpoints:
            recent = times[-10:]
            print(
                f"  building {len(times):>5}: {statistics.median(recent) * 1000:.0f} ms "
                f"(median of the last {len(recent)}, max {max(recent) * 1000:.0f} ms); "
                f"backend {backend_memory()}; database {database_size()}; {load_average()}"
            )
    total = time.perf_counter() - began
    print(
        f"{len(slugs)} buildings provisioned in {total:.0f} s "
        f"({total / len(slugs) * 1000:.0f} ms each on average)"
    )
    started = time.perf_counter()
    subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [
            *(sys.executable, "manage.py", "create_building", "extra", "--name", "Extra"),
            *("--admin-email", "admin@extra.example"),
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    print(
        f"one more by `manage.py create_building` in a fresh process: "
        f"{time.perf_counter() - started:.1f} s (Django's start included)"
    )


def load_average() -> str:
    """The machine's load, printed beside the figures: other work on the two cores shows."""
    one, five, _fifteen = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min)"


def backend_memory() -> str:
    """The resident memory of this connection's PostgreSQL backend (the server runs here)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return "unknown"
    kilobytes = next(int(line.split()[1]) for line in status.splitlines() if "VmRSS" in line)
    return f"{kilobytes / 1024:.0f} MB resident"


def database_size() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        return str(cursor.fetchone()[0])


def users_table() -> None:
    """Every building's foreign keys to the shared users table put triggers on it (two per
    key, per building): what a sign-in's write to a user and a new connection's first read of
    one cost with every building's triggers there."""
    import psycopg
    from django.db import connection
    from django.utils import timezone

    from tenants.models import User

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'public.tenants_user'::regclass"
        )
        triggers = cursor.fetchone()[0]
    user = User.objects.order_by("pk").first()
    assert user is not None
    writes = []
    for _ in range(20):
        started = time.perf_counter()
        User.objects.filter(pk=user.pk).update(last_login=timezone.now())
        writes.append(time.perf_counter() - started)
    reads = []
    dsn = os.environ["DATABASE_URL"]
    for _ in range(5):
        with psycopg.connect(dsn) as fresh:  # a new backend, with empty caches
            started = time.perf_counter()
            fresh.execute("SELECT 1 FROM public.tenants_user WHERE id = %s", [user.pk])
            reads.append(time.perf_counter() - started)
    print(
        f"users table: {triggers} triggers on it; a sign-in's update of last_login "
        f"median {statistics.median(writes) * 1000:.1f} ms; a new connection's first read of "
        f"a user median {statistics.median(reads) * 1000:.1f} ms"
    )


# --- 2. Rows ----------------------------------------------------------------------------------


def fill(slugs: list[str], visit_count: int, event_count: int) -> None:
    """The seed building filled like bench/reports.py's, smaller; its rows copied into the
    others, with their identity sequences moved past the copied ids."""
    from django.db import connection, transaction
    from django_tenants.utils import schema_context

    from bench.reports import fill as fill_building
    from tenants.models import User

    admin = User.objects.get(email=f"admin@{SEED}.example")
    started = time.perf_counter()
    with schema_context(SEED):
        fill_building(admin, visit_count, event_count, companies=10, visitor_count=1000, gates=2)
    print(f"seed building {SEED}: {visit_count} visits, {event_count} gate events")
    with connection.cursor() as cursor:
        for index, slug in enumerate(slugs[1:], start=2):
            with transaction.atomic():
                for table in COPIED_TABLES:
                    # Only the slugs and table names of this file go into the statements.
                    cursor.execute(
                        f'INSERT INTO "{slug}".{table} SELECT * FROM "{SEED}".{table}'  # noqa: S608
                    )
                    sequence = f"pg_get_serial_sequence('\"{slug}\".{table}', 'id')"
                    cursor.execute(
                        f'SELECT setval({sequence}, (SELECT max(id) FROM "{slug}".{table}))'  # noqa: S608
                    )
            if index % 100 == 0:
                print(
                    f"  rows copied into {index} buildings ({time.perf_counter() - started:.0f} s)"
                )
        cursor.execute("ANALYZE")
    print(
        f"rows: {len(slugs)} buildings with {visit_count} visits and {event_count} gate events "
        f"each in {time.perf_counter() - started:.0f} s; database {database_size()}"
    )


# --- 4. The release ---------------------------------------------------------------------------


@dataclass
class Watch:
    """What was sampled every half second while the release ran."""

    peak_rss: int = 0  # the release's processes together
    rss: list[tuple[float, int]] = field(default_factory=list)
    lock_waiters: int = 0  # most sessions waiting for a lock at one moment
    longest_wait: float = 0.0  # seconds


def release(
    label: str,
    environment: dict[str, str],
    sites: list[Site],
    server: Server,
    rate: float,
    workers: int,
) -> None:
    """``setup_platform`` as a release runs it, with the gates' load around it."""
    stop = threading.Event()
    load_result: list[Any] = []

    def load() -> None:
        load_result.append(
            asyncio.run(drive(server.port, sites, 16, 0, 3600, 1000, None, rate, stop=stop))
        )

    loader = threading.Thread(target=load)
    loader.start()
    time.sleep(3)  # the gates are busy before the release starts
    env = {
        **os.environ,
        **environment,
        "DJANGO_SETTINGS_MODULE": "bench.scale_settings",
        "BENCH_RELEASE_APP": "1",
        "RELEASE_WORKERS": str(workers),
    }
    watch = Watch()
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "setup_platform"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(process.stdout or []), daemon=True)
    reader.start()
    while process.poll() is None:
        sample(process.pid, watch, time.perf_counter() - started)
        time.sleep(0.5)
    elapsed = time.perf_counter() - started
    reader.join()
    time.sleep(3)  # and after it
    stop.set()
    loader.join()
    print(
        f"release ({label}): setup_platform exited {process.returncode} in {elapsed:.1f} s; "
        f"{load_average()}"
    )
    for line in output[-6:]:
        print(f"  | {line.rstrip()}")
    quarters = [watch.rss[int(len(watch.rss) * share)] for share in (0.1, 0.5, 0.9) if watch.rss]
    print(
        f"  memory of the release's processes: peak {watch.peak_rss / 2**20:.0f} MB; "
        + ", ".join(f"{rss / 2**20:.0f} MB at {at:.0f} s" for at, rss in quarters)
    )
    print(
        f"  locks: at most {watch.lock_waiters} sessions waiting at once, the longest wait "
        f"seen {watch.longest_wait * 1000:.0f} ms"
    )
    result = load_result[0]
    failures = ", ".join(f"{key} x{n}" for key, n in result.failures.most_common()) or "none"
    print(
        f"  gates meanwhile ({rate:.0f} decisions/s offered over {len(sites)} buildings): "
        f"{len(result.latencies)} answered, {percentiles(result.latencies)}; errors: {failures}"
    )


def sample(pid: int, watch: Watch, at: float) -> None:
    import psutil
    from django.db import connection

    try:
        parent = psutil.Process(pid)
        processes = [parent, *parent.children(recursive=True)]
        rss = sum(process.memory_info().rss for process in processes)
    except psutil.NoSuchProcess:
        return
    watch.rss.append((at, rss))
    watch.peak_rss = max(watch.peak_rss, rss)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), coalesce(extract(epoch FROM max(now() - state_change)), 0) "
            "FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
        )
        waiting, longest = cursor.fetchone()
    watch.lock_waiters = max(watch.lock_waiters, waiting)
    watch.longest_wait = max(watch.longest_wait, float(longest))


# --- 5. Periodic jobs ------------------------------------------------------------------------


def periodic_jobs() -> None:
    """Each beat job once, over every building, timed beside how often beat starts it."""
    from django.conf import settings

    from visit_platform.access import tasks as access_tasks
    from visit_platform.notifications import tasks as notification_tasks
    from visit_platform.reports import tasks as report_tasks
    from visit_platform.visits import tasks as visit_tasks
    from workflows import tasks as workflow_tasks

    jobs = [
        ("fire workflow timers", workflow_tasks.fire_workflow_timers_task, "WORKFLOW_TIMERS"),
        ("sweep notifications", notification_tasks.sweep_notifications_task, "NOTIFICATION_SWEEP"),
        ("sweep missed arrivals", access_tasks.sweep_missed_arrivals_task, "NOTIFICATION_SWEEP"),
        ("check gate silence", access_tasks.check_gate_silence_task, "GATE_SILENCE_CHECK"),
        ("remind visitors", workflow_tasks.remind_visitors_task, "VISITOR_REMINDER"),
        ("check overstays", access_tasks.check_overstays_task, "OVERSTAY_CHECK"),
        ("expire exports", report_tasks.expire_exports_task, "EXPORT_EXPIRY_CHECK"),
        ("count face records", workflow_tasks.count_face_records_task, "FACE_RECORDS_CENSUS"),
        ("apply retention", visit_tasks.apply_retention_task, "RETENTION"),
    ]
    print(f"periodic jobs, one round each over every building ({load_average()}):")
    for label, task, interval in jobs:
        started = time.perf_counter()
        task()
        elapsed = time.perf_counter() - started
        every = getattr(settings, f"{interval}_INTERVAL_SECONDS")
        print(f"  {label}: {elapsed:.1f} s (beat starts it every {every} s)")


if __name__ == "__main__":
    main()
