"""The audit log is append-only: the model refuses changes, and so does the database."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from tenants.models import Building
from tests.conftest import admin_of
from visit_platform.audit.actions import Actor, record
from visit_platform.audit.models import AppendOnlyError, AuditEntry
from visit_platform.directory.actions import create_company

pytestmark = pytest.mark.django_db


@pytest.fixture
def entry(in_alpha: Building) -> AuditEntry:
    company = create_company(Actor.system("tests"), name="上海云途信息科技有限公司")
    return record(Actor.system("tests"), "company.inspected", company, reason="test")


def _stored(entry: AuditEntry) -> tuple[str, str, dict[str, str]]:
    row = AuditEntry.objects.get(pk=entry.pk)
    return (row.verb, row.actor_label, row.detail)


def test_record_writes_who_did_what_to_which_object(alpha: Building, in_alpha: Building) -> None:
    company = create_company(Actor.system("tests"), name="杭州青木咨询有限公司")
    admin = admin_of(alpha)

    entry = record(Actor(user=admin, ip_address="192.0.2.10"), "company.viewed", company, page=2)

    stored = AuditEntry.objects.get(pk=entry.pk)
    assert (
        stored.actor_id,
        stored.actor_label,
        stored.verb,
        stored.object_type,
        stored.object_id,
        stored.object_repr,
        stored.detail,
        stored.ip_address,
    ) == (
        admin.pk,
        "admin@alpha.example",
        "company.viewed",
        "directory.company",
        str(company.pk),
        "杭州青木咨询有限公司",
        {"page": 2},
        "192.0.2.10",
    )


def test_system_actor_is_recorded_by_its_label(in_alpha: Building) -> None:
    entry = record(Actor.system("nightly-purge"), "visitors.anonymised", None, count=3)

    stored = AuditEntry.objects.get(pk=entry.pk)
    assert (stored.actor_id, stored.actor_label, stored.object_type, stored.object_id) == (
        None,
        "nightly-purge",
        "",
        "",
    )


def test_saving_an_existing_entry_is_refused(entry: AuditEntry) -> None:
    entry.verb = "company.forgotten"

    with pytest.raises(AppendOnlyError):
        entry.save()

    assert _stored(entry) == ("company.inspected", "tests", {"reason": "test"})


def test_saving_an_existing_entry_with_update_fields_is_refused(entry: AuditEntry) -> None:
    entry.actor_label = "someone else"

    with pytest.raises(AppendOnlyError):
        entry.save(update_fields=["actor_label"])

    assert _stored(entry) == ("company.inspected", "tests", {"reason": "test"})


def test_deleting_an_entry_is_refused(entry: AuditEntry) -> None:
    with pytest.raises(AppendOnlyError):
        entry.delete()

    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_queryset_update_is_refused(entry: AuditEntry) -> None:
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).update(verb="company.forgotten")
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.update(actor_label="nobody")

    assert _stored(entry) == ("company.inspected", "tests", {"reason": "test"})


def test_queryset_delete_is_refused(entry: AuditEntry) -> None:
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.all().delete()

    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_bulk_update_is_refused(entry: AuditEntry) -> None:
    entry.verb = "company.forgotten"

    # bulk_update joins the caller's transaction, so the refusal dooms it: keep ours apart.
    with pytest.raises(AppendOnlyError), transaction.atomic():
        AuditEntry.objects.bulk_update([entry], ["verb"])

    assert _stored(entry)[0] == "company.inspected"


def test_update_or_create_on_an_existing_entry_is_refused(entry: AuditEntry) -> None:
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.update_or_create(pk=entry.pk, defaults={"verb": "company.forgotten"})

    assert _stored(entry)[0] == "company.inspected"


@pytest.mark.parametrize(
    ("statement", "operation"),
    [
        ("UPDATE audit_auditentry SET verb = 'company.forgotten' WHERE id = %s", "UPDATE"),
        ("DELETE FROM audit_auditentry WHERE id = %s", "DELETE"),
    ],
)
def test_raw_sql_change_is_refused_by_the_database_trigger(
    entry: AuditEntry, statement: str, operation: str
) -> None:
    with (
        pytest.raises(DatabaseError) as refusal,
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement, [entry.pk])

    assert f"audit entries are append-only ({operation} refused)" in str(refusal.value)
    assert _stored(entry) == ("company.inspected", "tests", {"reason": "test"})


def test_raw_sql_truncate_is_refused_by_the_database_trigger(entry: AuditEntry) -> None:
    with (
        pytest.raises(DatabaseError) as refusal,
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("TRUNCATE audit_auditentry")

    assert "audit entries are append-only (TRUNCATE refused)" in str(refusal.value)
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_the_trigger_guards_every_building_schema(beta: Building, in_beta: Building) -> None:
    entry = record(Actor.system("tests"), "company.inspected", None)

    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditentry WHERE id = %s", [entry.pk])

    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_raw_insert_is_still_allowed(in_alpha: Building) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO audit_auditentry "
            "(created_at, actor_label, verb, object_type, object_id, object_repr, detail) "
            "VALUES (now(), 'sql', 'raw.inserted', '', '', '', '{}') RETURNING id"
        )
        entry_id = cursor.fetchone()[0]

    assert AuditEntry.objects.get(pk=entry_id).verb == "raw.inserted"
