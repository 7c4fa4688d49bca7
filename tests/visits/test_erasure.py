"""Erasing one visitor's personal data now (a visitor's deletion request): every class, by the
retention job's rules, with what was kept and why in the answer."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from tenants.models import Building
from tests.access.conftest import SYSTEM, make_visit, make_visitor
from visit_platform.audit.models import AuditEntry
from visit_platform.visits.actions import add_to_watchlist
from visit_platform.visits.choices import VisitStatus
from visit_platform.visits.models import Visit, Visitor
from visit_platform.visits.retention import erase_visitor

NAME, MOBILE, ID_NUMBER = "欧阳娜娜", "13912345678", "11010519491231002X"


def _visitor_with_a_past_visit() -> tuple[Visitor, Visit]:
    visitor = make_visitor(name=NAME, mobile=MOBILE, id_number=ID_NUMBER)
    visit = make_visit(
        visitor=visitor, status=VisitStatus.EXPIRED, starts=timezone.now() - timedelta(days=3)
    )
    return visitor, visit


def test_erasing_a_visitor_blanks_identity_and_indexes_and_says_so(in_alpha: Building) -> None:
    visitor, _visit = _visitor_with_a_past_visit()

    report = erase_visitor(SYSTEM, visitor, reason="visitor asked")

    visitor.refresh_from_db()
    assert (visitor.name, visitor.mobile, visitor.mobile_index) == ("", "", "")
    assert (visitor.id_number, visitor.id_number_index, visitor.id_number_masked) == ("", "", "")
    assert visitor.birth_date is None
    assert visitor.anonymised_at is not None
    assert report.is_complete
    assert report.counts == {
        "id_numbers": 1,
        "photos": 0,
        "names": 2,
        "gate_events": 0,
        "messages": 0,
    }
    entry = AuditEntry.objects.get(verb="visitor.erased")
    assert entry.object_repr == f"visitor {visitor.pk}"
    assert entry.detail["reason"] == "visitor asked"
    assert NAME not in str(entry.detail) and MOBILE not in str(entry.detail)


def test_erasing_twice_finds_nothing_the_second_time(in_alpha: Building) -> None:
    visitor, _visit = _visitor_with_a_past_visit()
    erase_visitor(SYSTEM, visitor, reason="first")

    again = erase_visitor(SYSTEM, visitor, reason="second")

    assert set(again.counts.values()) == {0}


def test_a_visit_in_progress_keeps_the_visitor_and_is_reported(in_alpha: Building) -> None:
    visitor = make_visitor(name=NAME, mobile=MOBILE, id_number=ID_NUMBER)
    visit = make_visit(visitor=visitor)  # approved, its window open now

    report = erase_visitor(SYSTEM, visitor, reason="visitor asked")

    visitor.refresh_from_db()
    assert (visitor.name, visitor.mobile) == (NAME, "+86" + MOBILE)
    assert report.visits_in_progress == [visit.pk]
    assert report.kept == {
        "id_numbers": "visit_in_progress",
        "photos": "visit_in_progress",
        "names": "visit_in_progress",
    }
    assert not report.is_complete


def test_an_enforced_watchlist_entry_keeps_what_it_matches_by(in_alpha: Building) -> None:
    visitor, _visit = _visitor_with_a_past_visit()
    entry = add_to_watchlist(
        SYSTEM, reason="threatened staff", id_type="resident_id", id_number=ID_NUMBER
    )

    report = erase_visitor(SYSTEM, visitor, reason="visitor asked")

    visitor.refresh_from_db()
    assert (visitor.name, visitor.id_number) == (NAME, ID_NUMBER)
    assert report.kept == {"id_numbers": "watchlist", "names": "watchlist"}
    assert report.watchlist_entry_ids == [entry.pk]
