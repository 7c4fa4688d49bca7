"""A building's tables point at shared rows (users, content types) without database
constraints (ADR 0044): each such constraint puts two triggers per building on the shared
table, 54,000 on the users table at 1,000 buildings, which every provisioning adds to and
every connection loads."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection
from django_tenants.utils import schema_context

from tenants.actions import create_building
from visit_platform.directory.models import Membership

pytestmark = pytest.mark.django_db

KEYS_INTO_OTHER_SCHEMAS = """
SELECT c.conrelid::regclass::text, c.conname, target.relnamespace::regnamespace::text
  FROM pg_constraint c JOIN pg_class target ON target.oid = c.confrelid
 WHERE c.contype = 'f' AND c.connamespace = %s::regnamespace
   AND target.relnamespace <> c.connamespace
"""


def keys_into_other_schemas(schema: str) -> list[tuple[str, str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(KEYS_INTO_OTHER_SCHEMAS, [schema])
        return list(cursor.fetchall())


def triggers_on_users() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'public.tenants_user'::regclass"
        )
        return int(cursor.fetchone()[0])


def test_no_table_of_the_template_or_a_building_has_a_constraint_into_the_shared_schema() -> None:
    before = triggers_on_users()
    create_building(slug="keys", name="Keys", admin_email="a@keys.example")

    assert keys_into_other_schemas(settings.TENANT_BASE_SCHEMA) == []
    assert keys_into_other_schemas("keys") == []
    # A new building puts nothing on the users table.
    assert triggers_on_users() == before


def test_a_building_still_links_its_rows_to_users_through_the_same_columns() -> None:
    result = create_building(slug="links", name="Links", admin_email="a@links.example")

    with schema_context("links"):
        membership = Membership.objects.select_related("user").get()
        assert membership.user == result.admin
        # Joined across the schemas as before: the building's row, the shared user.
        assert Membership.objects.filter(user__email="a@links.example").exists()
