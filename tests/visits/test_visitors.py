"""Visitors' identity data: validated, encrypted at rest, found by blind index, masked."""

from __future__ import annotations

import pytest
from django.db import connection

from kernel.errors import DomainError
from tenants.models import Building
from tests.access.conftest import SYSTEM, VALID_RESIDENT_ID, make_visitor
from visit_platform.audit.models import AuditEntry
from visit_platform.visits.actions import register_visitor
from visit_platform.visits.models import Visitor


def test_id_number_is_not_readable_in_the_database_without_the_key(in_alpha: Building) -> None:
    visitor = make_visitor()

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id_number, id_number_index, id_number_masked FROM visits_visitor WHERE id = %s",
            [visitor.pk],
        )
        stored, index, masked = cursor.fetchone()

    assert VALID_RESIDENT_ID not in stored
    assert VALID_RESIDENT_ID[6:14] not in stored
    assert stored.startswith("v1:")
    assert VALID_RESIDENT_ID not in index
    assert masked == "1101**********002X"
    assert Visitor.objects.get(pk=visitor.pk).id_number == VALID_RESIDENT_ID


def test_birth_date_comes_from_the_resident_id(in_alpha: Building) -> None:
    assert str(make_visitor().birth_date) == "1949-12-31"


@pytest.mark.parametrize(
    "number", ["110105194912310021", "11010519491331002X", "1101051949123100", "ABCDEFGHIJKLMNOPQR"]
)
def test_invalid_resident_id_is_refused_and_nothing_is_stored(
    in_alpha: Building, number: str
) -> None:
    with pytest.raises(DomainError) as refusal:
        register_visitor(SYSTEM, name="张三", id_type="resident_id", id_number=number)

    assert (refusal.value.code, refusal.value.details["field"]) == (
        "id_number_invalid",
        "id_number",
    )
    assert Visitor.objects.count() == 0


def test_passport_numbers_are_kept_without_the_resident_checksum(in_alpha: Building) -> None:
    visitor = register_visitor(SYSTEM, name="John Smith", id_type="passport", id_number="E12345678")

    assert (visitor.id_number, visitor.masked_id_number) == ("E12345678", "*******78")


def test_the_audit_log_never_carries_the_id_number(in_alpha: Building) -> None:
    make_visitor()

    entry = AuditEntry.objects.get(verb="visitor.registered")
    assert VALID_RESIDENT_ID not in f"{entry.object_repr} {entry.detail}"
