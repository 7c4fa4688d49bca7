"""The gate decision under 50 simultaneous scans of one pass at two gates (A and B, alternately).

Each scan runs in a thread of its own, and so on a database connection of its own, which only
sees committed rows. These tests therefore get a committed building of their own, dropped
again when the module is done; the rolled-back ``alpha`` and ``beta`` stay untouched.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from tenants.actions import create_building
from tests.access.conftest import make_gate, make_host, make_pass, make_visit, slip_token
from tests.conftest import end_other_database_sessions
from visit_platform.access.actions import Decision, decide_scan
from visit_platform.access.models import AccessEvent, Gate, Pass

SCANS = 50

# pytest-django sets the test database up only for tests marked as using it. The mark also
# wraps each test in a transaction on the main connection, which the scanning threads cannot
# see into: everything they read is committed by the module fixtures below, before it starts.
pytestmark = pytest.mark.django_db


@dataclass
class CommittedBuilding:
    """A committed building with gates A and B and passes issued before any test ran."""

    slug: str
    gates: list[Gate]
    passes: dict[str, Pass]

    def token(self, name: str) -> str:
        with schema_context(self.slug):
            return slip_token(self.passes[name])


@contextmanager
def committed_building(
    django_db_blocker: Any, slug: str, passes: dict[str, dict[str, Any]], anti_passback: bool
) -> Iterator[CommittedBuilding]:
    """Create and commit a building with ``passes`` (name -> issue options), and drop it after.

    Database access stays unblocked until then, since the scanning threads open connections
    of their own.
    """
    with django_db_blocker.unblock():
        building = create_building(
            slug=slug, name=f"并发测试 {slug}", admin_email=f"admin@{slug}.example"
        ).building
        try:
            building.anti_passback = anti_passback
            building.save(update_fields=["anti_passback"])
            with schema_context(slug):
                gates = [make_gate("A 闸机"), make_gate("B 闸机")]
                host = make_host("13900000050")
                issued = {
                    name: make_pass(make_visit(host=host), **options)
                    for name, options in passes.items()
                }
            yield CommittedBuilding(slug, gates, issued)
        finally:
            connection.set_schema_to_public()
            # Users stay: deleting one from the public schema would cascade into building
            # tables that only exist in building schemas.
            building.delete(force_drop=True)
            end_other_database_sessions()


@pytest.fixture(scope="module")
def building(django_db_setup: None, django_db_blocker: Any) -> Iterator[CommittedBuilding]:
    passes = {"single_use": {"max_uses": 1}, "unlimited": {}}
    with committed_building(django_db_blocker, "concurrency", passes, False) as committed:
        yield committed


@pytest.fixture(scope="module")
def anti_passback_building(
    django_db_setup: None, django_db_blocker: Any
) -> Iterator[CommittedBuilding]:
    passes = {"unlimited": {}}
    with committed_building(django_db_blocker, "passback", passes, True) as committed:
        yield committed


def scan_at_once(building: CommittedBuilding, token: str, count: int = SCANS) -> list[Decision]:
    """Scan ``token`` ``count`` times at once, alternating gates A and B, each scan in its own
    thread with its own connection, all released together once every one is connected."""
    # Every thread holds its connection until all are released together: the pool must be
    # able to open one for each.
    pool = connection.pool
    if pool.max_size <= count:
        pool.resize(min_size=pool.min_size, max_size=count + 1)
    barrier = threading.Barrier(count)
    decisions: list[Decision | None] = [None] * count
    errors: list[BaseException] = []

    def scan(index: int) -> None:
        try:
            with schema_context(building.slug):
                connection.ensure_connection()
                barrier.wait(timeout=30)
                decisions[index] = decide_scan(
                    gate=building.gates[index % 2], token=token, direction="in"
                )
        except BaseException as error:
            barrier.abort()
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=scan, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    if errors:
        raise errors[0]
    assert not any(thread.is_alive() for thread in threads)
    return [decision for decision in decisions if decision is not None]


def reasons(decisions: list[Decision]) -> Counter[str]:
    return Counter(decision.reason for decision in decisions)


def stored(building: CommittedBuilding, name: str) -> tuple[int, bool, Counter[str]]:
    """The pass's use count and whereabouts as the threads left them, and the reasons of the
    events recorded for it."""
    with schema_context(building.slug):
        pass_record = Pass.objects.get(pk=building.passes[name].pk)
        events = AccessEvent.objects.filter(pass_record=pass_record)
        return (
            pass_record.uses,
            pass_record.is_inside,
            Counter(events.values_list("reason", flat=True)),
        )


def test_single_use_pass_admits_once_under_concurrent_scans_at_two_gates(
    building: CommittedBuilding,
) -> None:
    token = building.token("single_use")

    decisions = scan_at_once(building, token)

    uses, _is_inside, events = stored(building, "single_use")
    assert reasons(decisions) == {"granted": 1, "uses_exhausted": SCANS - 1}
    assert uses == 1
    assert events == {"granted": 1, "uses_exhausted": SCANS - 1}


def test_unlimited_pass_counts_every_concurrent_entry(building: CommittedBuilding) -> None:
    token = building.token("unlimited")

    decisions = scan_at_once(building, token)

    uses, _is_inside, events = stored(building, "unlimited")
    assert reasons(decisions) == {"granted": SCANS}
    assert uses == SCANS
    assert events == {"granted": SCANS}


def test_anti_passback_admits_one_of_concurrent_entries_on_one_pass(
    anti_passback_building: CommittedBuilding,
) -> None:
    token = anti_passback_building.token("unlimited")

    decisions = scan_at_once(anti_passback_building, token)

    uses, is_inside, events = stored(anti_passback_building, "unlimited")
    assert reasons(decisions) == {"granted": 1, "anti_passback": SCANS - 1}
    assert (uses, is_inside) == (1, True)
    assert events == {"granted": 1, "anti_passback": SCANS - 1}
