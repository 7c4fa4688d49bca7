"""Who is inside, derived from access events."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.utils import timezone

from tests.access.conftest import make_pass, make_visit, make_visitor, slip_token
from visit_platform.access.actions import ReportedPassage, decide_scan, record_passage
from visit_platform.access.models import Gate, Pass
from visit_platform.access.queries import people_inside


def test_people_inside_lists_those_whose_last_passage_was_an_entry(
    gate: Gate, pass_record: Pass
) -> None:
    other = make_pass(
        make_visit(visitor=make_visitor(name="王五", mobile="13800000002", id_number=""))
    )
    decide_scan(gate=gate, token=slip_token(pass_record))
    decide_scan(gate=gate, token=slip_token(other))
    decide_scan(gate=gate, token=slip_token(other), direction="out")

    occupancy = people_inside()

    assert [p.event.visit.visitor.name for p in occupancy.people] == ["韩梅梅"]
    assert occupancy.people[0].event.gate == gate


def test_denied_scans_do_not_put_anyone_inside(gate: Gate) -> None:
    decide_scan(gate=gate, token="garbage")

    assert people_inside().people == []


def test_exits_that_match_no_visitor_are_counted_and_kept_visible(gate: Gate) -> None:
    now = timezone.now()
    for minutes in (1, 2, 3):
        record_passage(ReportedPassage(uuid.uuid4(), gate, "out", now - timedelta(minutes=minutes)))
    record_passage(ReportedPassage(uuid.uuid4(), gate, "in", now))

    occupancy = people_inside()

    assert (occupancy.anonymous_entries, occupancy.anonymous_exits, occupancy.unmatched_exits) == (
        1,
        3,
        2,
    )


def test_unmatched_exits_are_counted_over_the_last_day_only(gate: Gate) -> None:
    """A building with a free exit: people leave without scanning every day. Counted all-time,
    the warning would grow forever."""
    now = timezone.now()
    for days in (2, 3, 4, 5):
        record_passage(ReportedPassage(uuid.uuid4(), gate, "out", now - timedelta(days=days)))
    record_passage(ReportedPassage(uuid.uuid4(), gate, "out", now - timedelta(hours=1)))

    occupancy = people_inside()

    assert (occupancy.anonymous_exits, occupancy.unmatched_exits) == (1, 1)


def test_a_passage_on_a_test_pulse_is_not_an_anonymous_entry(gate: Gate) -> None:
    now = timezone.now()
    record_passage(ReportedPassage(uuid.uuid4(), gate, "in", now, reason="test_passage"))
    record_passage(ReportedPassage(uuid.uuid4(), gate, "in", now))

    occupancy = people_inside()

    assert (occupancy.anonymous_entries, occupancy.anonymous_exits) == (1, 0)


def test_companions_count_as_people_inside_on_the_visitors_pass(gate: Gate) -> None:
    """Companions enter with the visitor on one scan (ADR 0021): the head count an evacuation
    must find is the visitor plus their companions, while the passes inside stay one each."""
    group = make_pass(make_visit(companions=2))
    alone = make_pass(
        make_visit(visitor=make_visitor(name="王五", mobile="13800000002", id_number=""))
    )
    decide_scan(gate=gate, token=slip_token(group))
    decide_scan(gate=gate, token=slip_token(alone))

    occupancy = people_inside()

    assert (occupancy.known, occupancy.headcount) == (2, 4)
    decide_scan(gate=gate, token=slip_token(group), direction="out")
    assert (people_inside().known, people_inside().headcount) == (1, 1)
