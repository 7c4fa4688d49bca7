"""Cloning the template schema (ADR 0041): the copy equals a schema made by running every
migration, works as a building, and what the cloner cannot copy is refused by name."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django_tenants.utils import schema_context

from tenants import cloning
from tenants.actions import create_building
from tenants.cloning import (
    TemplateNotClonable,
    clone_script,
    clone_template,
    describe_schema,
    generate_clone_script,
)
from tenants.provisioning import migrate_new_schema
from tests.access.conftest import make_gate, make_host, make_pass, make_visit, slip_token
from visit_platform.access.actions import decide_scan
from visit_platform.audit.actions import Actor, record

pytestmark = pytest.mark.django_db

THROWAWAY = "throwaway_template"


def _readable_diff(expected: dict[str, Any], found: dict[str, Any]) -> str:
    return "\n".join(cloning._differences(expected, found))


def _migrations(schema: str) -> set[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT app, name FROM "{schema}".django_migrations')  # noqa: S608 (schema names of the test's own)
        return set(cursor.fetchall())


def _rows(schema: str) -> dict[str, list[str]]:
    """Every row of every table but the migration records (whose ids and times differ)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s "
            "AND tablename <> 'django_migrations' ORDER BY 1",
            [schema],
        )
        tables = [row[0] for row in cursor.fetchall()]
        rows = {}
        for table in tables:
            query = f'SELECT row_to_json(t)::text FROM "{schema}"."{table}" t'  # noqa: S608 (schema names of the test's own)
            cursor.execute(query)
            rows[table] = sorted(row[0] for row in cursor.fetchall())
    return rows


@pytest.mark.slow
def test_a_cloned_schema_equals_one_made_by_running_every_migration() -> None:
    clone_template("clonedcopy")
    migrate_new_schema("migratedcopy")

    cloned, migrated = describe_schema("clonedcopy"), describe_schema("migratedcopy")

    assert cloned == migrated, "the clone differs:\n" + _readable_diff(migrated, cloned)
    assert _migrations("clonedcopy") == _migrations("migratedcopy")
    assert len(_migrations("clonedcopy")) > 50
    assert _rows("clonedcopy") == _rows("migratedcopy")
    # What the comparison covers, so that an empty description cannot pass it.
    assert "audit_auditentry.audit_entry_append_only" in cloned["triggers"]
    assert cloned["sequences"]["django_migrations_id_seq"]["last_value"] == len(
        _migrations("clonedcopy")
    )


def test_the_template_is_copied_with_its_migration_records_and_sequence_values() -> None:
    template = settings.TENANT_BASE_SCHEMA
    clone_template("copied")

    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT id, app, name, applied FROM "{template}".django_migrations '  # noqa: S608 (schema names of the test's own)
            "EXCEPT SELECT id, app, name, applied FROM copied.django_migrations"
        )
        missing = cursor.fetchall()
    assert missing == []
    assert describe_schema("copied") == describe_schema(template)


def test_a_cloned_building_takes_visits_and_decides_at_its_gates() -> None:
    building = create_building(slug="kappa", name="Kappa", admin_email="k@kappa.example").building

    connection.set_tenant(building)
    try:
        token = slip_token(make_pass(make_visit(host=make_host("13900000081"))))
        decision = decide_scan(gate=make_gate(), token=token, direction="in")
    finally:
        connection.set_schema_to_public()

    assert (decision.granted, decision.event.reason) == (True, "granted")


def test_the_audit_log_of_a_cloned_building_refuses_changes() -> None:
    create_building(slug="lambda", name="Lambda", admin_email="l@lambda.example")

    with schema_context("lambda"):
        entry = record(Actor.system("tests"), "company.inspected", None)
        with (
            pytest.raises(DatabaseError) as refusal,
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute("UPDATE audit_auditentry SET verb = 'forged' WHERE id = %s", [entry.pk])

    assert "audit entries are append-only (UPDATE refused)" in str(refusal.value)


def test_a_cloner_that_forgets_an_object_kind_is_refused_by_its_trial(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cloning._Generator, "triggers", lambda self: [])

    with pytest.raises(TemplateNotClonable) as refusal:
        generate_clone_script(settings.TENANT_BASE_SCHEMA)

    assert "triggers audit_auditentry.audit_entry_append_only" in str(refusal.value)


@pytest.fixture
def throwaway_template() -> Iterator[str]:
    """A copy of the template to spoil, inside the test's transaction."""
    clone_template(THROWAWAY)
    yield THROWAWAY
    cloning.forget_clone_scripts()


@pytest.mark.parametrize(
    ("statement", "named"),
    [
        (
            f"CREATE MATERIALIZED VIEW {THROWAWAY}.visit_counts AS "  # noqa: S608 (schema names of the test's own)
            f"SELECT count(*) FROM {THROWAWAY}.visits_visit",
            "materialized view visit_counts",
        ),
        (
            f"CREATE TABLE {THROWAWAY}.parted (day date) PARTITION BY RANGE (day)",
            "partitioned table parted",
        ),
        (
            f"ALTER TABLE {THROWAWAY}.directory_company ENABLE ROW LEVEL SECURITY; "
            f"CREATE POLICY mine ON {THROWAWAY}.directory_company USING (true)",
            "row-level security policy mine on directory_company",
        ),
        (
            f"CREATE RULE no_delete AS ON DELETE TO {THROWAWAY}.directory_company "
            "DO INSTEAD NOTHING",
            "rule no_delete on directory_company",
        ),
        (f"CREATE TYPE {THROWAWAY}.mood AS ENUM ('calm')", "enum type mood"),
    ],
)
def test_an_object_the_cloner_does_not_know_is_refused_by_name(
    throwaway_template: str, statement: str, named: str
) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement)

    with pytest.raises(TemplateNotClonable) as refusal:
        clone_template("spoilt", template=throwaway_template)

    assert named in str(refusal.value)
    assert not _schema_exists("spoilt")


def test_the_script_is_generated_again_when_the_template_is_migrated(
    throwaway_template: str,
) -> None:
    first = clone_script(throwaway_template)
    assert clone_script(throwaway_template) is first

    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {throwaway_template}.django_migrations (app, name, applied) "  # noqa: S608 (schema names of the test's own)
            "VALUES ('tests', '0001_pretend', now())"
        )
        cursor.execute(f"CREATE TABLE {throwaway_template}.tests_pretend (id bigint PRIMARY KEY)")
    again = clone_script(throwaway_template)

    assert again is not first
    assert any("tests_pretend" in statement for statement in again.statements)
    assert not any("tests_pretend" in statement for statement in first.statements)


def test_the_script_names_only_the_new_schema_and_shared_tables() -> None:
    text = clone_script().for_schema("nameprobe")

    assert "building_template" in text  # the sources of LIKE, rows and sequence values
    for line in text.splitlines():
        if "building_template" in line:
            assert line.startswith(("CREATE TABLE", "INSERT INTO", "SELECT pg_catalog.setval")), (
                line
            )
    assert json.dumps(text).count("\\u0000") == 0


def test_a_schema_name_that_is_not_a_plain_identifier_is_refused() -> None:
    with pytest.raises(ValueError):
        clone_script().for_schema('bad"; DROP SCHEMA public; --')


def _schema_exists(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [name])
        return cursor.fetchone() is not None
