"""Provisioning a building: one action, one command, clean refusals, registered steps."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context, schema_exists

from kernel.errors import DomainError
from tenants.actions import building_domain, building_url, create_building
from tenants.management.commands.create_building import Command as CreateBuildingCommand
from tenants.models import Building, Domain, User
from tenants.provisioning import ProvisioningContext, provisioning_step, unregister_step
from visit_platform.audit.models import AuditEntry
from visit_platform.directory.choices import Role
from visit_platform.directory.models import Membership

pytestmark = pytest.mark.django_db


def test_create_building_makes_schema_domain_and_first_property_admin() -> None:
    result = create_building(slug="gamma", name="Gamma Centre", admin_email="Boss@Gamma.example")

    assert schema_exists("gamma")
    assert Domain.objects.get(tenant=result.building).domain == "gamma.localhost"
    assert result.admin.email == "boss@gamma.example"
    assert result.admin_created is True
    assert not result.admin.has_usable_password()
    with schema_context("gamma"):
        membership = Membership.objects.get()
        assert (membership.user_id, membership.role) == (result.admin.pk, Role.PROPERTY_ADMIN)
        assert list(AuditEntry.objects.order_by("id").values_list("verb", flat=True)) == [
            "building.provisioned",
            "membership.granted",
            "signing_key.rotated",
            # One published default form and one policy per scenario.
            *["form.published"] * 5,
            *["policy.created"] * 5,
        ]


def test_new_building_is_cloned_with_every_table_and_the_audit_trigger() -> None:
    create_building(slug="delta", name="Delta", admin_email="a@delta.example")

    with connection.cursor() as cursor:
        cursor.execute(
            "select table_name from information_schema.tables where table_schema = %s", ["delta"]
        )
        delta_tables = {row[0] for row in cursor.fetchall()}
        cursor.execute(
            "select table_name from information_schema.tables where table_schema = 'alpha'"
        )
        alpha_tables = {row[0] for row in cursor.fetchall()}
        cursor.execute(
            "select count(*) from information_schema.triggers where event_object_schema = %s "
            "and trigger_name like 'audit_entry_%%'",
            ["delta"],
        )
        triggers = cursor.fetchone()[0]
    assert delta_tables == alpha_tables
    assert {"directory_company", "audit_auditentry", "viewflow_process"} <= delta_tables
    assert triggers >= 2


@pytest.mark.parametrize(
    ("slug", "code"),
    [
        ("Bad", "slug_invalid"),
        ("1tower", "slug_invalid"),
        ("a", "slug_invalid"),
        ("tower-a", "slug_invalid"),
        ("tower_a", "slug_invalid"),
        ("Tower1", "slug_invalid"),
        ("tower.a", "slug_invalid"),
        ("tówer", "slug_invalid"),
        ("tower a", "slug_invalid"),
        ("tower;drop", "slug_invalid"),
        ("x" * 42, "slug_invalid"),
        ("public", "slug_reserved"),
        ("www", "slug_reserved"),
        ("building_template", "slug_reserved"),
        ("pg_catalog", "slug_reserved"),
        ("alpha", "slug_taken"),
    ],
)
def test_bad_reserved_and_taken_slugs_are_refused_and_leave_nothing(slug: str, code: str) -> None:
    schemas_before = _schemas()
    buildings_before = Building.objects.count()

    with pytest.raises(DomainError) as refusal:
        create_building(slug=slug, name="Refused", admin_email="refused@example.com")

    assert refusal.value.code == code
    assert _schemas() == schemas_before
    assert Building.objects.count() == buildings_before
    assert not User.objects.filter(email="refused@example.com").exists()


def test_failing_provisioning_step_leaves_no_schema_domain_or_user() -> None:
    @provisioning_step(order=999)
    def explode(context: ProvisioningContext) -> None:
        raise RuntimeError("step failed")

    try:
        with pytest.raises(RuntimeError):
            create_building(slug="epsilon", name="Epsilon", admin_email="e@epsilon.example")
    finally:
        unregister_step(explode)

    assert not schema_exists("epsilon")
    assert not Building.objects.filter(schema_name="epsilon").exists()
    assert not Domain.objects.filter(domain="epsilon.localhost").exists()
    assert not User.objects.filter(email="e@epsilon.example").exists()


def test_registered_step_runs_inside_each_new_building() -> None:
    seen: list[tuple[str, str, str]] = []

    @provisioning_step(order=50)
    def remember(context: ProvisioningContext) -> None:
        seen.append((context.building.schema_name, connection.schema_name, context.admin.email))

    try:
        create_building(slug="zeta", name="Zeta", admin_email="z@zeta.example")
        create_building(slug="eta", name="Eta", admin_email="e@eta.example")
    finally:
        unregister_step(remember)

    assert seen == [("zeta", "zeta", "z@zeta.example"), ("eta", "eta", "e@eta.example")]


def test_existing_user_becomes_admin_of_another_building_without_a_new_account() -> None:
    result = create_building(slug="theta", name="Theta", admin_email="admin@alpha.example")

    assert result.admin_created is False
    assert User.objects.filter(email="admin@alpha.example").count() == 1


def test_create_building_command_prints_address_and_set_password_link(capsys) -> None:  # type: ignore[no-untyped-def]
    call_command("create_building", "iota", "--name", "Iota", "--admin-email", "i@iota.example")

    output = capsys.readouterr().out
    assert "http://iota.localhost" in output
    assert "/account/set-password/" in output


def test_create_building_command_refuses_a_reserved_slug_with_a_clear_message() -> None:
    with pytest.raises(CommandError, match="reserved"):
        call_command("create_building", "admin", "--name", "X", "--admin-email", "x@example.com")


def test_create_building_command_refuses_a_slug_that_makes_no_host_name() -> None:
    """``tower_a`` used to be created (and suggested by the help) but Django refuses ``_`` in
    host names: every page of ``tower_a.localhost`` was a 404."""
    with pytest.raises(CommandError, match=r"\(slug_invalid\)"):
        call_command("create_building", "tower_a", "--name", "X", "--admin-email", "x@example.com")

    assert not Building.objects.filter(schema_name="tower_a").exists()


def test_the_help_example_slug_is_accepted_and_its_host_reaches_the_building() -> None:
    """The example the command's help gives must itself work, all the way to a page."""
    parser = CreateBuildingCommand().create_parser("manage.py", "create_building")
    slug_help = next(action.help for action in parser._actions if action.dest == "slug")
    example = slug_help.rsplit("e.g. ", 1)[1]
    create_building(slug=example, name="Example", admin_email="e@example.com")

    response = Client(HTTP_HOST=building_domain(example)).get("/login/")

    assert response.status_code == 200


def _schemas() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("select schema_name from information_schema.schemata")
        return {row[0] for row in cursor.fetchall()}


def test_texted_links_carry_the_public_port_when_the_site_has_one(
    settings: Any,
) -> None:
    settings.PUBLIC_SCHEME, settings.BASE_DOMAIN = "http", "localhost"
    settings.PUBLIC_PORT = ""
    on_scheme_port = building_url("demo", "/a/code/")
    settings.PUBLIC_PORT = "8000"

    assert on_scheme_port == "http://demo.localhost/a/code/"
    assert building_url("demo", "/a/code/") == "http://demo.localhost:8000/a/code/"
