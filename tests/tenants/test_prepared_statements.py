"""One pool of connections serves every building: its size does not grow with the buildings,
and the statements a connection prepared stay right whichever building it serves next.

Statements are prepared per connection (settings: server-side binding, ``prepare_threshold``):
psycopg keys them by the SQL text alone, so on a pooled connection one prepared statement
serves every building. What PostgreSQL does with it (the PREPARE reference page, "Notes"):
before each use it re-analyses and re-plans a prepared statement when an object it uses has
had a definitional (DDL) change since the previous use, and, since PostgreSQL 9.3, re-parses it
with the new ``search_path`` when the search path differs from the previous use. So a statement
prepared while building A's schema was set reads building B's tables once the schema is B's
(the tables are looked up again by name), and a table that a release changed while gates run
is planned again, not read through a stale plan. What it refuses is a change of the statement's
result columns ("cached plan must not change result type"): that happens to ``SELECT *`` after
a column is added, or when the same text returns a column of another type in another schema.
The ORM and the gate decision's own SQL name every column they read, so adding a column (what
a migration does) leaves their result types as they were. psycopg itself forgets its prepared
statements only when its own connection runs DROP, ALTER, ROLLBACK, DISCARD ALL or DEALLOCATE
ALL: a release's ALTER on another connection goes unseen by it, and PostgreSQL's re-planning is
what keeps the statements right.

The 32 buildings here are committed (other threads serve them), made once for the module and
dropped at its end; making them is what makes these tests slow.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from django.db import connection, connections
from django.test import Client
from django_tenants.utils import schema_context

from tenants.actions import building_domain, create_building
from tenants.models import Building
from tests.access.conftest import make_agent, make_gate, make_pass, slip_token
from tests.conftest import end_other_database_sessions
from visit_platform.access.actions import decide_scan
from visit_platform.access.choices import Reason
from visit_platform.access.models import Gate, SigningKey

# More than the thirty the issue names: enough that a connection per building would show.
BUILDING_COUNT = 32
# Requests at once: the pool must hold this many, whatever the number of buildings.
WORKERS = 6


def test_a_statement_prepared_in_one_building_reads_the_next_buildings_rows(
    alpha: Building, beta: Building
) -> None:
    with schema_context("alpha"):
        make_gate("alpha 闸机")
    with schema_context("beta"):
        make_gate("beta 闸机")
    threshold = connection.connection.prepare_threshold
    assert threshold is not None

    with schema_context("alpha"):
        for _run in range(threshold + 2):  # prepared from the threshold on
            in_alpha = gate_names()
    with schema_context("beta"):
        in_beta = gate_names()

    assert in_alpha == ["alpha 闸机"]
    assert in_beta == ["beta 闸机"]
    # The point of the test: the alpha query was in fact prepared on the server (psycopg keeps
    # the names of the statements it prepared on this connection).
    assert connection.connection._prepared._names


@dataclass(frozen=True)
class ServedBuilding:
    """A committed building with a gate named after it and a gate agent's key."""

    slug: str
    agent_key: str

    @property
    def gate_name(self) -> str:
        return f"{self.slug} 闸机"


@pytest.fixture(scope="module")
def many_buildings(django_db_setup: None, django_db_blocker: Any) -> Iterator[list[ServedBuilding]]:
    made: list[ServedBuilding] = []
    try:
        with django_db_blocker.unblock():
            for index in range(BUILDING_COUNT):
                slug = f"many{index:02d}"
                create_building(
                    slug=slug, name=f"Tower {index}", admin_email=f"admin@{slug}.example"
                )
                with schema_context(slug):
                    make_gate(f"{slug} 闸机")
                    _agent, key = make_agent()
                made.append(ServedBuilding(slug, key))
            connection.set_schema_to_public()
        yield made
    finally:
        with django_db_blocker.unblock():
            connection.set_schema_to_public()
            for building in Building.objects.filter(schema_name__in=[b.slug for b in made]):
                building.delete(force_drop=True)
            end_other_database_sessions()


def gate_names() -> list[str]:
    return list(Gate.objects.filter(name__endswith="闸机").values_list("name", flat=True))


def executions_of_prepared(fragment: str) -> int:
    """How many times this connection has run its prepared statements whose SQL holds
    ``fragment`` (PostgreSQL counts each run as a custom or a generic plan)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(sum(generic_plans + custom_plans), 0)::int "
            "FROM pg_prepared_statements WHERE statement LIKE %s",
            [f"%{fragment}%"],
        )
        (count,) = cursor.fetchone()
    return int(count)


@pytest.mark.slow  # creates 32 buildings
def test_one_pool_serves_requests_for_many_buildings_reusing_its_connections(
    many_buildings: list[ServedBuilding], django_db_blocker: Any
) -> None:
    """Gate agents of 32 buildings ask for their keys through ``WORKERS`` request threads at
    once: the process's pool never holds more connections than its maximum, opens no more than
    the requests in flight need, and one connection serves many buildings (django-tenants sets
    the search path on it per request) while every answer is the building's own."""
    requests = many_buildings * 3
    answers: dict[str, list[Any]] = defaultdict(list)
    buildings_of_backend: dict[int, set[str]] = defaultdict(set)
    pool_sizes: list[int] = []
    lock = threading.Lock()

    with django_db_blocker.unblock():
        expected_keys = {}
        for site in many_buildings:
            with schema_context(site.slug):
                expected_keys[site.slug] = list(
                    SigningKey.objects.order_by("key_id").values_list("public_key", flat=True)
                )
        connection.close()  # this thread's connection goes back to the pool too
        pool = connection.pool
        pool.pop_stats()  # count from here

        def serve(site: ServedBuilding) -> None:
            client = Client(HTTP_HOST=building_domain(site.slug))
            try:
                response = client.get(
                    "/api/gate/keys", HTTP_AUTHORIZATION=f"Bearer {site.agent_key}"
                )
                backend = connection.connection.info.backend_pid
                size = pool.get_stats()["pool_size"]
            finally:
                # As the server does when a request ends: the connection goes back to the pool.
                connections.close_all()
            with lock:
                answers[site.slug].append((response.status_code, response.json()))
                buildings_of_backend[backend].add(site.slug)
                pool_sizes.append(size)

        with ThreadPoolExecutor(max_workers=WORKERS) as executor:
            list(executor.map(serve, requests))
        stats = pool.get_stats()

    for site in many_buildings:
        assert [
            (status, body["building"], [key["public_key"] for key in body["keys"]])
            for status, body in answers[site.slug]
        ] == [(200, site.slug, expected_keys[site.slug])] * 3
    assert max(pool_sizes) <= pool.max_size
    assert stats.get("connections_num", 0) <= WORKERS
    assert stats["requests_num"] >= len(requests)
    assert len(buildings_of_backend) < BUILDING_COUNT
    assert max(len(slugs) for slugs in buildings_of_backend.values()) > 1


@pytest.mark.slow  # creates 32 buildings
def test_a_statement_prepared_in_one_building_reads_each_of_thirty_others_own_rows(
    many_buildings: list[ServedBuilding], django_db_blocker: Any
) -> None:
    first, *others = many_buildings
    with django_db_blocker.unblock():
        connection.ensure_connection()
        threshold = connection.connection.prepare_threshold
        assert threshold is not None
        with schema_context(first.slug):
            for _run in range(threshold + 2):  # prepared from the threshold on
                in_first = gate_names()
        runs_before = executions_of_prepared('FROM "access_gate"')
        in_others = {}
        for site in others:
            with schema_context(site.slug):
                in_others[site.slug] = gate_names()
        runs_after = executions_of_prepared('FROM "access_gate"')

    assert in_first == [first.gate_name]
    assert in_others == {site.slug: [site.gate_name] for site in others}
    # The statement prepared in the first building is the one that read every other building.
    assert runs_before > 0
    assert runs_after - runs_before == len(others)


@pytest.mark.slow  # creates 32 buildings
def test_the_gate_decision_still_works_in_a_building_whose_tables_a_release_changed(
    many_buildings: list[ServedBuilding], django_db_blocker: Any
) -> None:
    """A release migrates the buildings one after another while gates keep scanning: a column
    added to the decision's tables in one building, on the migration's own connection, must
    not break the statements the gate's connection prepared there (nor those it shares with
    the buildings not migrated yet)."""
    migrated, waiting = many_buildings[0], many_buildings[1]
    with django_db_blocker.unblock():
        connection.ensure_connection()
        threshold = connection.connection.prepare_threshold
        assert threshold is not None
        scans = {}
        for site in (migrated, waiting):
            with schema_context(site.slug):
                scans[site.slug] = (Gate.objects.get(name=site.gate_name), slip_token(make_pass()))

        def decide(site: ServedBuilding) -> tuple[bool, str]:
            gate, token = scans[site.slug]
            with schema_context(site.slug):
                decision = decide_scan(gate=gate, token=token, direction="in")
            return decision.granted, decision.event.reason

        before = [decide(site) for _run in range(threshold + 2) for site in (migrated, waiting)]
        prepared_runs = executions_of_prepared("FROM access_pass pass")
        add_a_column_as_a_release_does(migrated.slug)
        after = [decide(site) for _run in range(3) for site in (migrated, waiting)]
        prepared_runs_after = executions_of_prepared("FROM access_pass pass")

    granted = (True, Reason.GRANTED)
    assert before == [granted] * len(before)
    assert after == [granted] * len(after)
    # The decision read the pass through its prepared statement, before the change and after.
    assert prepared_runs > 0
    assert prepared_runs_after - prepared_runs == len(after)


def add_a_column_as_a_release_does(schema: str) -> None:
    """``ALTER TABLE ... ADD COLUMN`` on every table the decision reads or writes, from another
    connection (a release's migration runs in its own process)."""
    # Where this process's connections go (an embedded server's socket is in OPTIONS).
    params = connection.get_connection_params()
    keys = ("dbname", "host", "port", "user", "password")
    with psycopg.connect(
        autocommit=True, **{key: params[key] for key in keys if key in params}
    ) as release:
        for table in ("access_pass", "visits_visit", "visits_visitor", "access_accessevent"):
            release.execute(f'ALTER TABLE "{schema}"."{table}" ADD COLUMN release_note text')
