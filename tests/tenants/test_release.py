"""The release runner: buildings migrated in worker processes, one transaction a building.

The buildings here are committed (the workers are other processes, with connections of their
own) and dropped after each test. The pending migrations come from ``tests.release_probe``, a
building app installed only by ``tests.release_settings``: the test process installs it with
``override_settings`` and the workers load that settings module by name.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings

from tenants.release import run_release
from tests import release_settings
from tests.conftest import committed_building

PROBE_MIGRATIONS = ["0001_initial", "0002_marker_rank"]
SCHEMAS = ["releaseone", "releasetwo", "releasethree"]


@pytest.fixture
def buildings(django_db_setup: None, django_db_blocker: Any) -> Iterator[list[str]]:
    """Three committed buildings, dropped afterwards."""
    with django_db_blocker.unblock(), ExitStack() as stack:
        for schema in SCHEMAS:
            stack.enter_context(committed_building(schema, schema))
        yield SCHEMAS


@pytest.fixture
def probe_app(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The probe app's migrations, seen by this process and by every worker it starts."""
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "tests.release_settings")
    monkeypatch.delenv("RELEASE_PROBE_FAIL_SCHEMA", raising=False)
    monkeypatch.delenv("RELEASE_PROBE_MIGRATIONS", raising=False)
    with override_settings(
        INSTALLED_APPS=release_settings.INSTALLED_APPS,
        TENANT_APPS=release_settings.TENANT_APPS,
        MIGRATION_MODULES=release_settings.MIGRATION_MODULES,
    ):
        yield


def applied_probe_migrations(schema: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT name FROM "{schema}".django_migrations '  # noqa: S608 - a test's own name
            "WHERE app = 'release_probe' ORDER BY name"
        )
        return [row[0] for row in cursor.fetchall()]


def probe_columns_and_indexes(schema: str) -> tuple[list[str], list[str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = 'release_probe_marker' ORDER BY 1",
            [schema],
        )
        columns = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = %s "
            "AND tablename = 'release_probe_marker' ORDER BY 1",
            [schema],
        )
        indexes = [row[0].replace(f" ON {schema}.", " ON ") for row in cursor.fetchall()]
    return columns, indexes


@pytest.mark.slow
def test_a_failing_building_is_rolled_back_alone_and_a_rerun_migrates_only_it(
    buildings: list[str], probe_app: None, django_db_blocker: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    one, two, three = buildings
    monkeypatch.setenv("RELEASE_PROBE_FAIL_SCHEMA", two)
    lines: list[str] = []

    with django_db_blocker.unblock():
        first = run_release(schemas=buildings, workers=2, report=lines.append)

        assert sorted(first.migrated) == [one, three]
        assert first.current == []
        assert list(first.failed) == [two]
        assert first.failed[two] == f"RuntimeError: release probe refuses building {two}"
        assert f"FAILED {two}: RuntimeError: release probe refuses building {two}" in lines
        assert first.peak_worker_rss > 0
        for schema in (one, three):
            columns, indexes = probe_columns_and_indexes(schema)
            assert columns == ["id", "label", "rank"]
            assert any("(rank)" in index for index in indexes)
            assert applied_probe_migrations(schema) == PROBE_MIGRATIONS
        # Neither the table of 0001 nor the column of 0002: the whole building rolled back.
        assert probe_columns_and_indexes(two) == ([], [])
        assert applied_probe_migrations(two) == []

        with connection.cursor() as cursor:
            cursor.execute(
                f'INSERT INTO "{one}".release_probe_marker (label, rank) VALUES (%s, 3)',  # noqa: S608
                ["kept"],
            )
        monkeypatch.delenv("RELEASE_PROBE_FAIL_SCHEMA")
        second = run_release(schemas=buildings, workers=2, report=lines.append)

        assert second.migrated == [two]
        assert sorted(second.current) == [one, three]
        assert second.failed == {}
        assert probe_columns_and_indexes(two) == probe_columns_and_indexes(one)
        assert applied_probe_migrations(two) == PROBE_MIGRATIONS
        with connection.cursor() as cursor:
            cursor.execute(f'SELECT label, rank FROM "{one}".release_probe_marker')  # noqa: S608
            assert cursor.fetchall() == [("kept", 3)]


@pytest.mark.slow
def test_a_non_atomic_migration_runs_as_migrate_runs_it_and_the_report_says_so(
    buildings: list[str], probe_app: None, django_db_blocker: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    concurrent = "tests.release_probe.concurrent_migrations"
    monkeypatch.setenv("RELEASE_PROBE_MIGRATIONS", concurrent)
    lines: list[str] = []

    with (
        django_db_blocker.unblock(),
        override_settings(MIGRATION_MODULES={"release_probe": concurrent}),
    ):
        result = run_release(schemas=buildings, workers=1, report=lines.append)

        assert (sorted(result.migrated), result.failed) == (sorted(buildings), {})
        assert sorted(result.non_atomic) == sorted(buildings)
        for schema in buildings:
            assert (
                f"migrated {schema} (a non-atomic migration: not one transaction) in "
                in "\n".join(lines)
            )
            _columns, indexes = probe_columns_and_indexes(schema)
            assert (
                "CREATE INDEX marker_label_idx ON release_probe_marker USING btree (label)"
                in indexes
            )


def building_state(schemas: list[str]) -> list[tuple[str, int, int]]:
    """Per building: its applied migrations and its tables."""
    state = []
    with connection.cursor() as cursor:
        for schema in schemas:
            cursor.execute(f'SELECT count(*) FROM "{schema}".django_migrations')  # noqa: S608
            migrations = cursor.fetchone()[0]
            cursor.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = %s", [schema]
            )
            state.append((schema, migrations, cursor.fetchone()[0]))
    return state


@pytest.mark.slow
def test_a_rerun_with_nothing_pending_reports_every_building_current_and_changes_nothing(
    buildings: list[str], probe_app: None, django_db_blocker: Any
) -> None:
    with django_db_blocker.unblock():
        assert sorted(run_release(schemas=buildings, workers=1, report=print).migrated) == sorted(
            buildings
        )
        before = building_state(buildings)
        lines: list[str] = []

        again = run_release(schemas=buildings, workers=1, report=lines.append)

        assert (again.migrated, again.failed) == ([], {})
        assert again.current == buildings
        assert building_state(buildings) == before
        # Found current by one query in this process: no worker was started.
        assert again.peak_worker_rss == 0
        assert lines[0] == f"Release: {len(buildings)} buildings, 0 behind the code."


@pytest.mark.slow
def test_workers_retired_after_their_share_of_buildings_are_replaced_until_the_release_ends(
    buildings: list[str], probe_app: None, django_db_blocker: Any
) -> None:
    """Two buildings per worker and one worker: two pools one after the other. With the
    executor's own ``max_tasks_per_child`` this waited forever after the second building
    (CPython gh-115634), as a release over 1,000 buildings did after 400."""
    outcome: list[Any] = []

    def release() -> None:
        with django_db_blocker.unblock():
            outcome.append(
                run_release(schemas=buildings, workers=1, buildings_per_worker=2, report=print)
            )

    runner = threading.Thread(target=release, daemon=True)
    runner.start()
    runner.join(timeout=180)

    assert not runner.is_alive(), "the release still waits for workers that are gone"
    assert sorted(outcome[0].migrated) == sorted(buildings)
    assert outcome[0].failed == {}


def test_buildings_of_the_project_alone_are_current(
    buildings: list[str], django_db_blocker: Any
) -> None:
    """Every building cloned from the template has every migration of the code."""
    with django_db_blocker.unblock():
        result = run_release(schemas=buildings, report=lambda line: None)

    assert (result.migrated, result.current, result.failed) == ([], buildings, {})


@pytest.mark.slow
def test_the_command_exits_non_zero_and_names_the_failed_building(
    buildings: list[str], django_db_blocker: Any
) -> None:
    one, two, _three = buildings
    # The server this process uses (the machine's, or the embedded one, whose socket is in the
    # URL's query), with the test database in place of the configured one.
    test_database = urlsplit(settings.DATABASE_URL)._replace(
        path=f"/{connection.settings_dict['NAME']}"
    )
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.release_settings",
        "DATABASE_URL": urlunsplit(test_database),
        "RELEASE_PROBE_FAIL_SCHEMA": two,
    }
    command = [sys.executable, "manage.py", "migrate_buildings", "--workers", "1"]
    command += ["--schema", one, "--schema", two]

    finished = subprocess.run(  # noqa: S603 - this interpreter and the project's manage.py
        command,
        cwd=Path(__file__).resolve().parents[2],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert finished.returncode == 1, finished.stderr
    assert f"migrated {one} in " in finished.stdout
    assert f"FAILED {two}: RuntimeError: release probe refuses building {two}" in finished.stdout
    assert f"1 building(s) failed: {two}" in finished.stderr
