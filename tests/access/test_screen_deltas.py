"""What the live screens are told (ADR 0022), read off the building's group on the Redis
channel layer: a passage carries the person as the screen lists them, read by the gate's own
statements (no extra round trip); changes not seen at a gate (a pass issued for today, an
overstay, the end-of-day checkout, a cancellation) are told as ``visit`` messages."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tenants.models import Building
from tests.access.conftest import (
    SYSTEM,
    make_gate,
    make_pass,
    make_visit,
    make_visitor,
    set_building_at_midday,
    slip_token,
)
from visit_platform.access.actions import (
    ReportedPassage,
    check_out_at_day_end,
    check_out_on_word,
    decide_scan,
    extend_visit,
    issue_pass,
    note_overstays,
    record_passage,
    revoke_pass,
)
from visit_platform.access.models import Gate, Pass
from visit_platform.visits.choices import LeftOnWordOf, VisitStatus
from visit_platform.visits.models import Visit
from workflows.actions import cancel_invitation, cancel_request

Capture = Callable[..., Any]
DEADLINE = 10


def any_zone_pass(visit: Visit | None = None) -> Pass:
    """A pass for every zone: these tests are about the screens, not the zone rule
    (ADR 0021), and their gates are named for the screens."""
    return make_pass(visit, zones=[])


class Screen:
    """A listener on alpha's group, as a consumer would be."""

    def __init__(self) -> None:
        self.layer = get_channel_layer()
        self.channel = async_to_sync(self.layer.new_channel)()
        async_to_sync(self.layer.group_add)("occupancy.alpha", self.channel)

    def payloads(self, wanted: Callable[[dict], bool], count: int = 1) -> list[dict]:
        """The next ``count`` payloads ``wanted`` picks (an earlier test's message still in
        flight is skipped), each with its seq."""

        async def receive() -> list[dict]:
            found: list[dict] = []
            while len(found) < count:
                message = await asyncio.wait_for(self.layer.receive(self.channel), DEADLINE)
                inner = message["messages"] if message["type"] == "live.batch" else [message]
                for item in inner:
                    payload = {**item["payload"], "seq": item["seq"]}
                    if wanted(payload):
                        found.append(payload)
            return found

        try:
            return async_to_sync(receive)()
        finally:
            async_to_sync(self.layer.group_discard)("occupancy.alpha", self.channel)


@pytest.fixture
def lobby(in_alpha: Building) -> Gate:
    return make_gate(name="大堂 1", zone="A座")


def about_visit(visit_id: int) -> Callable[[dict], bool]:
    return lambda payload: payload.get("visit_id") == visit_id


def test_a_granted_entry_tells_the_screens_who_came_in_where(
    lobby: Gate, django_capture_on_commit_callbacks: Capture
) -> None:
    visit = make_visit(visitor=make_visitor(name="韩梅梅", id_number=""))
    Visit.objects.filter(pk=visit.pk).update(companions=3)
    pass_record = any_zone_pass(Visit.objects.get(pk=visit.pk))
    screen = Screen()

    with django_capture_on_commit_callbacks(execute=True):
        decision = decide_scan(gate=lobby, token=slip_token(pass_record))
    (payload,) = screen.payloads(about_visit(visit.pk))

    occurred = decision.event.occurred_at.isoformat()
    assert payload == {
        "type": "access_event",
        "seq": payload["seq"],
        "event_id": str(decision.event.event_id),
        "gate": "大堂 1",
        "gate_id": lobby.pk,
        "zone": "A座",
        "direction": "in",
        "granted": True,
        "reason": "granted",
        "occurred_at": occurred,
        "visit_id": visit.pk,
        "first_entry": True,
        "person": {
            "visit_id": visit.pk,
            "pass_id": pass_record.pk,
            "name": "韩梅梅",
            "host": "李雷",
            "company": visit.company.name,
            "companions": 3,
            "since": occurred,
            "gate": "大堂 1",
            "gate_id": lobby.pk,
            "zone": "A座",
            "valid_until": visit.valid_until.isoformat(),
            "overstay": False,
        },
    }
    assert isinstance(payload["seq"], int)


def test_a_second_entry_is_no_first_entry_and_a_refusal_carries_no_person(
    lobby: Gate, django_capture_on_commit_callbacks: Capture
) -> None:
    pass_record = any_zone_pass()
    decide_scan(gate=lobby, token=slip_token(pass_record))
    decide_scan(gate=lobby, token=slip_token(pass_record), direction="out")
    revoked = any_zone_pass(make_visit(visitor=make_visitor(name="王五", mobile="13800000002")))
    revoke_pass(SYSTEM, revoked, "test")
    screen = Screen()

    with django_capture_on_commit_callbacks(execute=True):
        decide_scan(gate=lobby, token=slip_token(pass_record))
        decide_scan(gate=lobby, token=slip_token(revoked))
    again, refused = screen.payloads(
        lambda p: p.get("visit_id") in (pass_record.visit_id, revoked.visit_id), count=2
    )

    assert (again["first_entry"], again["person"]["visit_id"]) == (False, pass_record.visit_id)
    assert (refused["granted"], refused["reason"], refused["person"]) == (False, "revoked", None)


def test_the_screens_cost_a_granted_entry_no_extra_statement(lobby: Gate) -> None:
    """The person's display fields come with the statement that reads the pass: a granted
    entry is still the pass read plus the one entry statement (savepoints aside)."""
    pass_record = any_zone_pass()
    token = slip_token(pass_record)

    with CaptureQueriesContext(connection) as queries:
        decide_scan(gate=lobby, token=token)

    statements = [q["sql"] for q in queries if "SAVEPOINT" not in q["sql"]]
    assert len(statements) == 2


def test_a_reported_passage_on_a_pass_tells_the_screens_who_it_was(
    lobby: Gate, django_capture_on_commit_callbacks: Capture
) -> None:
    pass_record = any_zone_pass(make_visit(visitor=make_visitor(name="韩梅梅", id_number="")))
    anonymous_id = uuid.uuid4()
    screen = Screen()

    with django_capture_on_commit_callbacks(execute=True):
        record_passage(
            ReportedPassage(
                uuid.uuid4(), lobby, "in", timezone.now(), pass_id=pass_record.pk, reason="granted"
            )
        )
        record_passage(ReportedPassage(anonymous_id, lobby, "in", timezone.now()))
    known, anonymous = screen.payloads(
        lambda p: (
            p.get("visit_id") == pass_record.visit_id or p.get("event_id") == str(anonymous_id)
        ),
        count=2,
    )

    assert (known["person"]["name"], known["person"]["zone"], known["first_entry"]) == (
        "韩梅梅",
        "A座",
        True,
    )
    assert (anonymous["visit_id"], anonymous["granted"], anonymous["person"]) == (
        None,
        True,
        None,
    )


def test_a_pass_issued_for_today_makes_the_visit_expected(
    in_alpha: Building, django_capture_on_commit_callbacks: Capture
) -> None:
    today = make_visit(visitor=make_visitor(name="韩梅梅", id_number=""))
    next_week = make_visit(
        visitor=make_visitor(name="王五", mobile="13800000002", id_number=""),
        starts=timezone.now() + timedelta(days=7),
    )
    screen = Screen()

    with django_capture_on_commit_callbacks(execute=True):
        issue_pass(SYSTEM, next_week)
        issue_pass(SYSTEM, today)
    (payload,) = screen.payloads(lambda p: p["type"] == "visit")

    assert payload == {
        "type": "visit",
        "seq": payload["seq"],
        "visit_id": today.pk,
        "change": "expected",
        "person": {
            "visit_id": today.pk,
            "name": "韩梅梅",
            "host": "李雷",
            "company": today.company.name,
            "companions": 0,
            "valid_from": today.valid_from.isoformat(),
            "valid_until": today.valid_until.isoformat(),
        },
    }


def test_an_overstay_and_the_day_end_checkout_are_told(
    lobby: Gate, django_capture_on_commit_callbacks: Capture
) -> None:
    start = timezone.now() - timedelta(days=1, hours=6)
    pass_record = any_zone_pass(make_visit(starts=start, hours=2))
    decide_scan(gate=lobby, token=slip_token(pass_record), now=start + timedelta(minutes=10))
    screen = Screen()

    with django_capture_on_commit_callbacks(execute=True):
        note_overstays()
        check_out_at_day_end()
    overstay, checked_out = screen.payloads(about_visit(pass_record.visit_id), count=2)

    assert (overstay["change"], overstay["person"]["overstay"]) == ("overstay", True)
    assert overstay["person"]["gate"] == "大堂 1"
    assert (checked_out["change"], checked_out["person"]) == ("checked_out", None)
    assert checked_out["seq"] == overstay["seq"] + 1


def test_a_cancelled_request_and_a_revoked_expected_pass_are_told(
    in_alpha: Building, django_capture_on_commit_callbacks: Capture
) -> None:
    waiting = make_visit(status=VisitStatus.PENDING_APPROVAL)
    expected = any_zone_pass(make_visit(visitor=make_visitor(name="王五", mobile="13800000002")))
    screen = Screen()

    with django_capture_on_commit_callbacks(execute=True):
        cancel_request(SYSTEM, waiting)
        revoke_pass(SYSTEM, expected, "test")
    told = screen.payloads(
        lambda p: p["type"] == "visit" and p["visit_id"] in (waiting.pk, expected.visit_id),
        count=2,
    )

    assert [(p["visit_id"], p["change"]) for p in told] == [
        (waiting.pk, "cancelled"),
        (expected.visit_id, "cancelled"),
    ]


def test_an_invitation_the_host_cancelled_is_told(
    in_alpha: Building, django_capture_on_commit_callbacks: Capture
) -> None:
    expected = any_zone_pass(make_visit(visitor=make_visitor(name="赵六", mobile="13800000003")))
    screen = Screen()

    with django_capture_on_commit_callbacks(execute=True):
        cancel_invitation(SYSTEM, expected.visit)
    (told,) = screen.payloads(about_visit(expected.visit_id))

    assert (told["type"], told["change"]) == ("visit", "cancelled")


def test_a_visit_extended_or_checked_out_on_a_hosts_word_is_told(
    lobby: Gate, django_capture_on_commit_callbacks: Capture
) -> None:
    set_building_at_midday(Building.objects.get(schema_name=connection.schema_name))
    staying = any_zone_pass(make_visit(visitor=make_visitor(name="韩梅梅", id_number=""), hours=1))
    leaving = any_zone_pass(make_visit(visitor=make_visitor(name="王五", mobile="13800000002")))
    decide_scan(gate=lobby, token=slip_token(staying))
    decide_scan(gate=lobby, token=slip_token(leaving))
    visit = Visit.objects.get(pk=staying.visit_id)
    new_end = min(visit.valid_until + timedelta(minutes=30), lobby_day_end())
    screen = Screen()

    with django_capture_on_commit_callbacks(execute=True):
        extend_visit(SYSTEM, visit, new_end)
        check_out_on_word(SYSTEM, Visit.objects.get(pk=leaving.visit_id), word_of=LeftOnWordOf.HOST)
    extended, left = screen.payloads(
        lambda p: p["type"] == "visit" and p["visit_id"] in (visit.pk, leaving.visit_id),
        count=2,
    )

    assert (extended["change"], extended["person"]["name"]) == ("extended", "韩梅梅")
    # The same moment, whatever the zone it is written in (the day end is in the building's).
    assert datetime.fromisoformat(extended["person"]["valid_until"]) == new_end
    assert (left["visit_id"], left["change"], left["person"]) == (
        leaving.visit_id,
        "checked_out",
        None,
    )


def lobby_day_end() -> Any:
    building = Building.objects.get(schema_name=connection.schema_name)
    return building.next_day_end(timezone.now())
