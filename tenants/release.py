"""The release runner: every building's pending migrations, in bounded worker processes.

``migrate_schemas --tenant`` migrates buildings one after another in one process and stops at
the first failure; its multiprocessing executor forks the parent, connection pool included,
and hung over 165 buildings. Here this process finds the buildings behind the code with one
query per few hundred buildings (a release with nothing to do starts no worker), and only
those go to worker processes started fresh (``spawn``), each setting Django up and opening its
own connection: nothing crosses a fork. A worker builds the migration graph once and reads
only a building's applied set before deciding. A building's pending migrations run in one
transaction: a failure leaves the building as it was, and the other buildings go on. Workers
are replaced after a number of buildings, so memory stays flat however many buildings there
are. See ADR 0042.
"""

from __future__ import annotations

import gc
import multiprocessing
import resource
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any, Literal

from django.conf import settings
from django.db import DatabaseError, connection, connections, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.migration import Migration
from django_tenants.utils import get_public_schema_name

from tenants import release_worker
from tenants.db import tenant_connection

# Buildings whose applied migrations one query counts.
_SCHEMAS_PER_QUERY = 200
# How often a line reports the running count while buildings are found current.
CURRENT_COUNT_EVERY = 100

# The database settings a worker takes from its parent: under pytest the parent works in
# ``test_<name>``, which no environment variable says.
_INHERITED_DATABASE_KEYS = ("NAME", "USER", "PASSWORD", "HOST", "PORT")

Status = Literal["migrated", "current", "failed"]


@dataclass
class ReleaseReport:
    """What a release run did to each building, and what it cost."""

    migrated: list[str] = field(default_factory=list)
    current: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    elapsed: float = 0.0
    # The largest peak resident set size of any worker process, in bytes.
    peak_worker_rss: int = 0
    # Buildings whose pending migrations could not share one transaction (``atomic = False``).
    non_atomic: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class BuildingOutcome:
    """One building's result, sent back from a worker."""

    schema: str
    status: Status
    applied: tuple[str, ...] = ()
    error: str = ""
    atomic: bool = True
    seconds: float = 0.0
    worker_rss: int = 0


def run_release(
    schemas: list[str] | None = None,
    workers: int | None = None,
    report: Callable[[str], None] = print,
    buildings_per_worker: int | None = None,
) -> ReleaseReport:
    """Apply every pending migration to ``schemas`` (default: every building).

    Call it outside any transaction: the workers commit, and this process's connections are
    closed before they start (a worker never uses a connection it did not open). The shared
    schema must be migrated first (``migrate_schemas --shared``): it is where content types
    and permissions of every app, building apps included, are made.
    """
    started = time.perf_counter()
    if connection.in_atomic_block:
        raise RuntimeError("run_release() commits in other processes: call it outside atomic()")
    if schemas is None:
        schemas = building_schemas()
    workers = max(1, workers or settings.RELEASE_WORKERS)
    buildings_per_worker = buildings_per_worker or settings.RELEASE_BUILDINGS_PER_WORKER
    database = {
        key: connection.settings_dict[key]
        for key in _INHERITED_DATABASE_KEYS
        if key in connection.settings_dict
    }
    result = ReleaseReport()
    pending = _behind(schemas)
    behind = set(pending)
    report(
        f"Release: {len(schemas)} buildings, {len(pending)} behind the code"
        + (f", {min(workers, len(pending))} workers." if pending else ".")
    )
    for schema in schemas:
        if schema not in behind:
            _record(result, BuildingOutcome(schema, "current"), report, len(schemas))
    # Nothing open here may be reused by another process, and an idle connection held for
    # the whole release is one a worker could have had.
    connections.close_all()
    if tenant_connection().pool is not None:
        tenant_connection().close_pool()
    # Workers last one round of ``buildings_per_worker`` buildings each, then a new pool starts
    # with new processes: memory stays flat. Not ``max_tasks_per_child``: with it, Python 3.11
    # to 3.14's executor stops replacing the workers that retire and waits forever
    # (CPython gh-115634), which hung a release over 1,000 buildings after 400.
    round_size = min(workers, len(pending) or 1) * buildings_per_worker
    for start in range(0, len(pending), round_size):
        chunk = pending[start : start + round_size]
        with ProcessPoolExecutor(
            max_workers=min(workers, len(chunk)),
            mp_context=multiprocessing.get_context("spawn"),
            initializer=release_worker.start,
            initargs=(database,),
        ) as pool:
            futures = {pool.submit(release_worker.migrate, schema): schema for schema in chunk}
            try:
                for outcome in _outcomes(futures):
                    _record(result, outcome, report, len(schemas))
            except BaseException:
                # Interrupted: no building starts any more; one in flight commits whole or not
                # at all, and a re-run does what is left.
                pool.shutdown(wait=True, cancel_futures=True)
                raise
    result.elapsed = time.perf_counter() - started
    report(summary(result))
    return result


def building_schemas() -> list[str]:
    """Every building's schema, in name order (the public site's row is not a building)."""
    from tenants.models import Building

    return list(
        Building.objects.exclude(schema_name=get_public_schema_name())
        .order_by("schema_name")
        .values_list("schema_name", flat=True)
    )


def _behind(schemas: list[str]) -> list[str]:
    """The buildings that lack a migration of the code's graph (or whose record of applied
    migrations cannot be read): a count per building, a few hundred buildings a query, so a
    release with nothing to do starts no worker. The workers check again before migrating."""
    nodes = sorted(f"{app}.{name}" for app, name in MigrationLoader(None).graph.nodes)
    behind: list[str] = []
    quote = connection.ops.quote_name
    for start in range(0, len(schemas), _SCHEMAS_PER_QUERY):
        chunk = schemas[start : start + _SCHEMAS_PER_QUERY]
        counted = (
            "SELECT %s::text, count(DISTINCT applied.app || '.' || applied.name) "  # noqa: S608
            f"FROM {quote(schema)}.django_migrations AS applied "
            "JOIN code ON code.migration = applied.app || '.' || applied.name"
            for schema in chunk
        )
        query = "WITH code (migration) AS (SELECT unnest(%s::text[])) " + " UNION ALL ".join(
            counted
        )
        parameters: list[Any] = [nodes, *chunk]
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(query, parameters)
                counts = dict(cursor.fetchall())
        except DatabaseError:
            # One schema without the table fails the whole query: let the workers say which.
            counts = {}
        behind += [schema for schema in chunk if counts.get(schema) != len(nodes)]
    return behind


def summary(result: ReleaseReport) -> str:
    failed = ", ".join(sorted(result.failed)) or "none"
    return (
        f"Release done in {result.elapsed:.1f} s: {len(result.migrated)} migrated, "
        f"{len(result.current)} current, {len(result.failed)} failed ({failed}); "
        f"peak worker RSS {result.peak_worker_rss / 2**20:.0f} MiB."
    )


def _outcomes(futures: dict[Future[BuildingOutcome], str]) -> Iterable[BuildingOutcome]:
    for future in as_completed(futures):
        try:
            yield future.result()
        except Exception as error:  # a worker died (BrokenProcessPool) or could not start
            yield BuildingOutcome(futures[future], "failed", error=_describe(error))


def _record(
    result: ReleaseReport, outcome: BuildingOutcome, report: Callable[[str], None], total: int
) -> None:
    result.peak_worker_rss = max(result.peak_worker_rss, outcome.worker_rss)
    if outcome.status == "current":
        result.current.append(outcome.schema)
    elif outcome.status == "migrated":
        result.migrated.append(outcome.schema)
        if not outcome.atomic:
            result.non_atomic.append(outcome.schema)
        how = "" if outcome.atomic else " (a non-atomic migration: not one transaction)"
        report(
            f"migrated {outcome.schema}{how} in {outcome.seconds:.2f} s: "
            + ", ".join(outcome.applied)
        )
    else:
        result.failed[outcome.schema] = outcome.error
        how = "" if outcome.atomic else " (non-atomic: earlier migrations may have stayed)"
        report(f"FAILED {outcome.schema}{how}: {outcome.error}")
    done = len(result.current) + len(result.migrated) + len(result.failed)
    if outcome.status == "current" and len(result.current) % CURRENT_COUNT_EVERY == 0:
        report(
            f"{done}/{total} buildings: {len(result.migrated)} migrated, "
            f"{len(result.current)} current, {len(result.failed)} failed"
        )


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}".strip()


# --- In the worker processes -----------------------------------------------------------------

# Built once per worker: the graph comes from the code, which every building shares.
_executor: MigrationExecutor | None = None


def migrate_building(schema: str) -> BuildingOutcome:
    """Bring one building up to date; never raises (the outcome carries the error)."""
    started = time.perf_counter()
    connection.close_if_unusable_or_obsolete()
    outcome: BuildingOutcome
    try:
        outcome = _migrate(schema)
    except Exception as error:
        atomic = not isinstance(error, _NonAtomicFailure)
        cause = error.__cause__ if isinstance(error, _NonAtomicFailure) else error
        outcome = BuildingOutcome(schema, "failed", error=_describe(cause or error), atomic=atomic)
    finally:
        tenant_connection().set_schema_to_public()
    if outcome.status != "current":
        # Migrating renders the project's models afresh, in reference cycles: collected now,
        # a worker's memory stays flat (about 6 MiB a building otherwise, until the collector
        # runs on its own).
        gc.collect()
    return BuildingOutcome(
        outcome.schema,
        outcome.status,
        applied=outcome.applied,
        error=outcome.error,
        atomic=outcome.atomic,
        seconds=time.perf_counter() - started,
        worker_rss=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    )


class _NonAtomicFailure(Exception):
    """A building with a non-atomic migration failed: what ran before it stays applied."""


def _migrate(schema: str) -> BuildingOutcome:
    executor = _worker_executor()
    plan = _pending(executor, schema)
    if not plan:
        return BuildingOutcome(schema, "current")
    if all(migration.atomic for migration in plan):
        with transaction.atomic():
            # Two releases at once must not both apply a building's migrations.
            _lock(schema, "pg_advisory_xact_lock")
            plan = _pending(executor, schema)
            if not plan:
                return BuildingOutcome(schema, "current")
            _apply(executor, schema, plan)
        return BuildingOutcome(schema, "migrated", applied=_names(plan))
    # ``CREATE INDEX CONCURRENTLY`` and the like cannot run inside a transaction: run the
    # building as ``migrate`` would, each atomic migration in a transaction of its own.
    _lock(schema, "pg_advisory_lock")
    try:
        plan = _pending(executor, schema)
        if plan:
            try:
                _apply(executor, schema, plan)
            except Exception as error:
                raise _NonAtomicFailure() from error
    finally:
        _lock(schema, "pg_advisory_unlock")
    return BuildingOutcome(schema, "migrated", applied=_names(plan), atomic=False)


def _worker_executor() -> MigrationExecutor:
    global _executor
    if _executor is None:
        tenant_connection().set_schema_to_public()
        _executor = MigrationExecutor(connection)
    if _executor.loader.replacements:
        # With squashed migrations the graph depends on what a schema has applied.
        return MigrationExecutor(connection)
    return _executor


def _pending(executor: MigrationExecutor, schema: str) -> list[Migration]:
    """The migrations ``schema`` lacks, in order, from its own ``django_migrations``."""
    with connection.cursor() as cursor:
        # Named with its schema: a building without the table must fail, never read public's.
        cursor.execute(
            f"SELECT app, name FROM {connection.ops.quote_name(schema)}.django_migrations"  # noqa: S608
        )
        applied = {(app, name): None for app, name in cursor.fetchall()}
    executor.loader.applied_migrations = applied  # type: ignore[assignment]
    targets = executor.loader.graph.leaf_nodes()
    plan = executor.migration_plan(targets)
    return [migration for migration, backwards in plan if not backwards]


def _apply(executor: MigrationExecutor, schema: str, plan: list[Migration]) -> None:
    """Apply ``plan`` as Django's ``migrate`` does, signals included, in the building's
    schema with the public one behind it (as django-tenants migrates)."""
    from django.core.management.sql import emit_post_migrate_signal, emit_pre_migrate_signal

    tenant_connection().set_schema(schema)
    full_plan = [(migration, False) for migration in plan]
    # Django's own migrate command builds the state before migrating the same way.
    pre_migrate_state = executor._create_project_state(  # type: ignore[attr-defined]
        with_applied_migrations=True
    )
    alias = connection.alias
    emit_pre_migrate_signal(
        0, False, alias, apps=pre_migrate_state.apps, plan=full_plan, stdout=_Silent()
    )
    targets = executor.loader.graph.leaf_nodes()
    post_migrate_state = executor.migrate(targets, plan=full_plan, state=pre_migrate_state.clone())
    post_migrate_state.clear_delayed_apps_cache()
    emit_post_migrate_signal(
        0, False, alias, apps=post_migrate_state.apps, plan=full_plan, stdout=_Silent()
    )


def _lock(schema: str, function: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(hashtext(%s))", [f"release:{schema}"])


def _names(plan: list[Migration]) -> tuple[str, ...]:
    return tuple(f"{migration.app_label}.{migration.name}" for migration in plan)


class _Silent:
    def write(self, text: str) -> None:
        pass
