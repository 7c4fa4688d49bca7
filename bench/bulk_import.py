"""Benchmark: an event's attendee list of 10,000 rows, read and checked (the preview), then
confirmed (visitors, visits, passes, audit entries and invitation texts written).

Runs against a scratch database on the PostgreSQL that ``DATABASE_URL`` points at (default:
the local service), created and dropped by this script. The Celery hand-off after commit is
replaced by a counter (no broker traffic; the deliveries themselves are not measured).
Prints its figures; the latest are copied into docs/performance.md with the machine.

    python bench/bulk_import.py --rows 10000
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.scratch import django_on_scratch_database

SCRATCH_DATABASE = "visit_bench_bulk_import"
SLUG = "bench"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000, help="attendees in the list")
    parser.add_argument("--bad", type=int, default=100, help="of which rows with problems")
    args = parser.parse_args()

    with django_on_scratch_database(SCRATCH_DATABASE):
        run(args.rows, args.bad)


def attendee_list(rows: int, bad: int) -> bytes:
    """An xlsx of ``rows`` attendees, every ``rows // bad``-th one without a valid mobile; a
    third of them with a passport number."""
    import pandas as pd

    every = max(rows // max(bad, 1), 1) if bad else rows + 1
    table = [
        [
            f"参会人{n}",
            "12345" if n % every == every - 1 else f"139{n:08d}",
            "青木咨询",
            "护照" if n % 3 == 0 else "",
            f"E{n:08d}" if n % 3 == 0 else "",
        ]
        for n in range(rows)
    ]
    output = io.BytesIO()
    pd.DataFrame(table, columns=["姓名", "手机号", "单位", "证件类型", "证件号码"]).to_excel(
        output, index=False, engine="openpyxl"
    )
    return output.getvalue()


def run(rows: int, bad: int) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone
    from django_tenants.utils import schema_context

    from tenants.actions import create_building
    from tenants.models import User
    from visit_platform.access.models import Pass
    from visit_platform.audit.actions import Actor
    from visit_platform.directory.actions import create_company
    from visit_platform.notifications import actions as notifications
    from visit_platform.notifications.models import Notification
    from visit_platform.visits.actions import events
    from visit_platform.visits.models import Visit
    from workflows.actions import add_to_watchlist

    scheduled: list[int] = []
    notifications._schedule_deliveries = scheduled.extend  # type: ignore[assignment]

    call_command("setup_platform", verbosity=0)
    create_building(slug=SLUG, name="Bench Tower", admin_email=f"admin@{SLUG}.example")
    admin = Actor(user=User.objects.get(email=f"admin@{SLUG}.example"))
    with schema_context(SLUG):
        company = create_company(admin, name="上海云途信息科技有限公司")
        seeding = Actor.system("bench")  # entries enforced at once: only a program may
        for n in range(200):  # a watchlist of some size, none of them on the list
            add_to_watchlist(seeding, reason="bench", mobile=f"137{n:08d}")
        start = timezone.now() + timedelta(days=1)
        event = events.create_event(
            admin,
            name="Bench",
            company=company,
            starts_at=start,
            ends_at=start + timedelta(hours=8),
        )

        started = time.perf_counter()
        data = attendee_list(rows, bad)
        built = time.perf_counter() - started
        print(f"built a {rows}-row xlsx: {len(data) / 1024:.0f} KiB in {built:.2f} s")

        started = time.perf_counter()
        pending = events.upload_attendee_list(admin, event, "bench.xlsx", data)
        checked = time.perf_counter() - started
        print(
            f"parse + check (preview): {checked:.2f} s for {rows} rows "
            f"({pending.good_rows} good, {pending.bad_rows} with problems), "
            f"{rows / checked:.0f} rows/s"
        )

        started = time.perf_counter()
        result = events.confirm_attendee_list(admin, event, pending.pk)
        confirmed = time.perf_counter() - started
        print(
            f"confirm (committed): {confirmed:.2f} s for {result.invited} attendees, "
            f"{result.invited / confirmed:.0f} attendees/s; "
            f"{Visit.objects.count()} visits, {Pass.objects.count()} passes, "
            f"{Notification.objects.count()} invitations queued, "
            f"{len(scheduled)} handed to Celery in one task"
        )
        compare_pass_issuance(admin, list(Visit.objects.order_by("pk")[:2000]))
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
            print(f"database size afterwards: {cursor.fetchone()[0]}")


def compare_pass_issuance(admin: object, visits: list[object]) -> None:
    """One more pass for each of 2 x 1,000 of the invited visits: ``issue_pass`` per visit (in
    one transaction) against one ``issue_passes``."""
    from django.db import transaction

    from visit_platform.access.actions import issue_pass, issue_passes

    half = len(visits) // 2
    started = time.perf_counter()
    with transaction.atomic():
        for visit in visits[:half]:
            issue_pass(admin, visit)  # type: ignore[arg-type]
    one_by_one = time.perf_counter() - started
    started = time.perf_counter()
    issue_passes(admin, visits[half:])  # type: ignore[arg-type]
    batched = time.perf_counter() - started
    print(
        f"{half} passes: issue_pass per visit {one_by_one:.2f} s "
        f"({half / one_by_one:.0f}/s), issue_passes in one batch {batched:.2f} s "
        f"({half / batched:.0f}/s)"
    )


if __name__ == "__main__":
    main()
