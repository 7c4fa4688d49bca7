"""Two marshals marking the same person at the same moment, each on a connection of their
own: the row lock orders them, the later mark wins, and nothing is lost or doubled."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from tests.access.conftest import make_gate, make_pass, make_visit, slip_token
from tests.conftest import committed_building
from visit_platform.access.actions import decide_scan, mark_roll_call_entry, start_roll_call
from visit_platform.access.models import RollCallEntry
from visit_platform.audit.actions import Actor
from visit_platform.audit.models import AuditEntry

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


ROUNDS = 10


@pytest.fixture(scope="module")
def entry(django_db_setup: None, django_db_blocker: Any) -> Iterator[RollCallEntry]:
    """A committed building with one person in an open roll call (the marking threads see
    only committed rows), made outside any test's transaction."""
    with django_db_blocker.unblock(), committed_building("rollcallrace", "点名并发大厦"):
        schema = schema_context("rollcallrace")
        with schema:
            gate = make_gate(zone="A座")
            assert decide_scan(gate=gate, token=slip_token(make_pass(make_visit()))).granted
            entry = start_roll_call(Actor.system("tests")).entries.get()
        yield entry


def test_marks_made_at_the_same_moment_are_ordered_and_the_later_one_stays(
    entry: RollCallEntry, django_db_blocker: Any
) -> None:
    with django_db_blocker.unblock():
        results: list[tuple[str, int]] = []
        errors: list[BaseException] = []

        def mark(status: str, barrier: threading.Barrier) -> None:
            try:
                barrier.wait(timeout=10)
                with schema_context("rollcallrace"):
                    marked = mark_roll_call_entry(Actor.system(status), entry.pk, status)
                results.append((status, marked.version))
            except BaseException as error:  # pragma: no cover - reported below
                errors.append(error)
            finally:
                connection.close()

        for _round in range(ROUNDS):
            barrier = threading.Barrier(2)
            threads = [
                threading.Thread(target=mark, args=(status, barrier))
                for status in ("safe", "missing")
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()

        assert errors == []
        with schema_context("rollcallrace"):
            stored = RollCallEntry.objects.get(pk=entry.pk)
            marks = AuditEntry.objects.filter(verb="roll_call.marked").count()
        # Every mark got a version of its own, none lost: the row lock put them in a line.
        assert sorted(version for _status, version in results) == list(range(1, 2 * ROUNDS + 1))
        assert marks == 2 * ROUNDS
        # The stored status is that of the last mark in the line.
        assert (stored.version, stored.status) == (2 * ROUNDS, max(results, key=lambda r: r[1])[0])
