"""Keyset pages of the records: walking every page forwards and backwards shows each row
exactly once and in order, the last page is the oldest rows, and a malformed or forged cursor
is refused rather than read."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import signing
from django.http import QueryDict

from kernel.errors import DomainError
from tenants.models import Building, User
from tests.conftest import admin_of
from visit_platform.access.actions import create_gate
from visit_platform.access.models import AccessEvent
from visit_platform.audit.actions import Actor
from visit_platform.reports.filters import ReportFilter
from visit_platform.reports.records import Page, event_records, page_of, visit_records
from visit_platform.visits.actions import register_visitor
from visit_platform.visits.choices import Scenario, VisitStatus
from visit_platform.visits.models import Visit

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("tests")
START = datetime(2026, 10, 1, 8, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
ROWS = 230
SIZE = 20


@pytest.fixture
def admin(alpha: Building, in_alpha: Building) -> User:
    """230 visits and 230 gate events; every third row shares its moment with the next two,
    so the id alone orders them within it."""
    visitor = register_visitor(SYSTEM, name="韩梅梅", mobile="13800000001")
    Visit.objects.bulk_create(
        Visit(
            scenario=Scenario.INVITE,
            status=VisitStatus.APPROVED,
            visitor=visitor,
            valid_from=START + timedelta(minutes=10 * (n // 3)),
            valid_until=START + timedelta(minutes=10 * (n // 3) + 60),
        )
        for n in range(ROWS)
    )
    gate = create_gate(SYSTEM, name="东门", zone="", direction="both", checks_zone=False)
    AccessEvent.objects.bulk_create(
        AccessEvent(
            event_id=uuid.uuid4(),
            gate=gate,
            direction="in",
            granted=True,
            reason="passage",
            occurred_at=START + timedelta(minutes=10 * (n // 3)),
        )
        for n in range(ROWS)
    )
    return admin_of(alpha)


def october() -> ReportFilter:
    return ReportFilter.from_query(
        QueryDict("start=2026-10-01&end=2026-10-31"), today=date(2026, 11, 1)
    )


def walk(queryset, cursor: str | None, step: str) -> list[Page]:  # type: ignore[no-untyped-def]
    pages = [page_of(queryset, cursor, SIZE)]
    while getattr(pages[-1], step) is not None:
        pages.append(page_of(queryset, getattr(pages[-1], step), SIZE))
        assert len(pages) < 50, "the walk does not end"
    return pages


@pytest.mark.parametrize("records", [visit_records, event_records])
def test_walking_forwards_shows_every_row_once_in_order(admin: User, records) -> None:  # type: ignore[no-untyped-def]
    queryset = records(october(), admin)
    expected = list(queryset.values_list("pk", flat=True))

    pages = walk(queryset, None, "next")

    assert len(expected) == ROWS
    assert [row.pk for page in pages for row in page.rows] == expected
    assert [len(page.rows) for page in pages] == [SIZE] * 11 + [10]
    assert pages[0].is_first and not pages[0].is_last
    assert pages[-1].is_last and not pages[-1].is_first


@pytest.mark.parametrize("records", [visit_records, event_records])
def test_the_last_page_is_the_oldest_rows_and_walking_back_shows_every_row_once(
    admin: User, records
) -> None:  # type: ignore[no-untyped-def]
    queryset = records(october(), admin)
    expected = list(queryset.values_list("pk", flat=True))
    last = page_of(queryset, page_of(queryset, None, SIZE).last, SIZE)

    pages = walk(queryset, last.previous, "previous")

    assert [row.pk for row in last.rows] == expected[-SIZE:]
    assert last.is_last and last.next is None
    backwards = [row.pk for page in reversed([last, *pages]) for row in page.rows]
    assert backwards == expected
    # Walking back reaches the newest rows, with nothing before them.
    assert pages[-1].previous is None
    assert [len(page.rows) for page in pages] == [SIZE] * 10 + [10]


def test_next_then_previous_returns_to_the_same_page(admin: User) -> None:
    queryset = visit_records(october(), admin)
    first = page_of(queryset, None, SIZE)
    second = page_of(queryset, first.next, SIZE)

    back = page_of(queryset, second.previous, SIZE)

    assert [row.pk for row in back.rows] == [row.pk for row in first.rows]
    assert back.previous is None


def test_an_empty_range_is_one_empty_page(admin: User) -> None:
    empty = ReportFilter.from_query(
        QueryDict("start=2025-01-01&end=2025-01-31"), today=date(2026, 11, 1)
    )

    page = page_of(visit_records(empty, admin), None, SIZE)

    assert (page.rows, page.previous, page.next) == ([], None, None)


def _signed(value: object) -> str:
    return signing.dumps(value, salt="visit_platform.reports.cursor")


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "x" * 201,
        "éé",
        # Signed with another salt or key: forged.
        signing.dumps(["visits.visit", "first"], salt="something else"),
        # A visit cursor used on the events: refused, not misread.
        _signed(["visits.visit", "first"]),
        _signed(["access.accessevent", "sideways"]),
        _signed(["access.accessevent", "after", "yesterday", 5]),
        _signed(["access.accessevent", "after", "2026-10-01T08:00:00", 5]),  # naive
        _signed(["access.accessevent", "after", "2026-10-01T08:00:00+08:00", -1]),
        _signed(["access.accessevent", "after", "2026-10-01T08:00:00+08:00", "5"]),
        _signed(["access.accessevent", "after", "2026-10-01T08:00:00+08:00"]),
        _signed({"kind": "access.accessevent"}),
    ],
)
def test_a_malformed_or_forged_cursor_is_refused(admin: User, cursor: str) -> None:
    with pytest.raises(DomainError) as refused:
        page_of(event_records(october(), admin), cursor, SIZE)

    assert refused.value.code == "bad_cursor"


def test_a_cursor_tampered_with_after_signing_is_refused(admin: User) -> None:
    queryset = visit_records(october(), admin)
    cursor = page_of(queryset, None, SIZE).next
    assert cursor is not None
    tampered = cursor[:5] + ("A" if cursor[5] != "A" else "B") + cursor[6:]

    with pytest.raises(DomainError) as refused:
        page_of(queryset, tampered, SIZE)

    assert refused.value.code == "bad_cursor"
