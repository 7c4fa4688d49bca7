"""The security screen's snapshot (issue 14): who is inside with host, company, companions and
the gate and zone of their latest passage, today's arrivals, departures and expected visits
on the building's clock, anonymous passages, open alerts, gates and zones; in a fixed number
of queries whatever the number of people."""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from integrations.modbus.register_map import GENERIC_TURNSTILE, shipped_map
from tenants.models import Building
from tests.access.conftest import (
    SYSTEM,
    make_agent,
    make_gate,
    make_host,
    make_pass,
    make_visit,
    make_visitor,
    slip_token,
)
from visit_platform.access import actions
from visit_platform.access.actions import (
    ReportedPassage,
    check_out_at_day_end,
    decide_scan,
    raise_alert,
    record_passage,
    revoke_pass,
)
from visit_platform.access.choices import AlertKind
from visit_platform.access.models import Controller, Gate, GateAgent, Pass
from visit_platform.access.queries import screen_snapshot
from visit_platform.visits.models import Visit

pytestmark = pytest.mark.django_db


def any_zone_pass(visit: Visit | None = None) -> Pass:
    """A pass for every zone: these tests are about the screens, not the zone rule
    (ADR 0021), and their gates are named for the screens."""
    return make_pass(visit, zones=[])


def visitor_pass(name: str, mobile: str, *, hours: int = 4, starts: datetime | None = None) -> Pass:
    visitor = make_visitor(name=name, mobile=mobile, id_number="")
    return any_zone_pass(make_visit(visitor=visitor, starts=starts, hours=hours))


def scan(gate: Gate, pass_record: Pass, direction: str = "in", **kwargs: object) -> None:
    decision = decide_scan(gate=gate, token=slip_token(pass_record), direction=direction, **kwargs)
    assert decision.granted, decision.reason


@pytest.fixture
def lobby(in_alpha: Building) -> Gate:
    return make_gate(name="大堂 1", zone="A座")


def test_a_person_inside_shows_host_company_companions_and_their_latest_gate(
    lobby: Gate,
) -> None:
    """Their location is the gate of their latest passage: in at the lobby, out, back in at
    the east door."""
    east = make_gate(name="东门", zone="B座")
    host = make_host()
    visit = make_visit(visitor=make_visitor(name="韩梅梅", id_number=""), host=host)
    Visit.objects.filter(pk=visit.pk).update(companions=2)
    pass_record = any_zone_pass(Visit.objects.get(pk=visit.pk))
    now = timezone.now()
    scan(lobby, pass_record, now=now - timedelta(minutes=20))
    scan(lobby, pass_record, "out", now=now - timedelta(minutes=10))
    scan(east, pass_record, now=now - timedelta(minutes=5))

    snapshot = screen_snapshot(now)

    assert snapshot["inside"] == [
        {
            "visit_id": visit.pk,
            "pass_id": pass_record.pk,
            "name": "韩梅梅",
            "host": "李雷",
            "company": host.company.name,
            "companions": 2,
            "since": (now - timedelta(minutes=5)).isoformat(),
            "gate": "东门",
            "gate_id": east.pk,
            "zone": "B座",
            "valid_until": visit.valid_until.isoformat(),
            "overstay": False,
        }
    ]
    assert snapshot["arrived_today"] == [visit.pk]
    assert snapshot["left_today"] == []


def test_arrived_left_and_expected_are_counted_on_the_buildings_day(
    alpha: Building, lobby: Gate
) -> None:
    inside = visitor_pass("甲", "13800000011")
    left = visitor_pass("乙", "13800000012")
    expected = visitor_pass("丙", "13800000013")
    tomorrow = visitor_pass("丁", "13800000014", starts=timezone.now() + timedelta(days=1))
    revoked = visitor_pass("戊", "13800000015")
    revoke_pass(SYSTEM, revoked, "test")
    scan(lobby, inside)
    scan(lobby, left)
    scan(lobby, left, "out")

    snapshot = screen_snapshot()

    assert [person["visit_id"] for person in snapshot["inside"]] == [inside.visit_id]
    assert sorted(snapshot["arrived_today"]) == sorted([inside.visit_id, left.visit_id])
    assert snapshot["left_today"] == [left.visit_id]
    assert [person["visit_id"] for person in snapshot["expected"]] == [expected.visit_id]
    assert snapshot["expected"][0]["name"] == "丙"
    assert tomorrow.visit_id not in [person["visit_id"] for person in snapshot["expected"]]
    local_midnight = datetime.combine(
        alpha.local_time(timezone.now()).date(),
        time(0),
        tzinfo=alpha.local_time(timezone.now()).tzinfo,
    )
    assert snapshot["day_start"] == local_midnight.isoformat()
    assert (snapshot["building"], snapshot["grace_minutes"]) == ("Alpha Tower", 30)


def test_a_visit_checked_out_at_day_end_is_no_longer_inside(lobby: Gate) -> None:
    """The end-of-day sweep checks out visits the turnstile missed leaving; the screen (and
    the visits page) must not list them inside for ever."""
    start = timezone.now() - timedelta(days=1, hours=6)
    pass_record = visitor_pass("甲", "13800000011", starts=start, hours=2)
    scan(lobby, pass_record, now=start + timedelta(minutes=10))
    assert len(screen_snapshot()["inside"]) == 1

    check_out_at_day_end()

    assert screen_snapshot()["inside"] == []


def test_anonymous_passages_open_alerts_gates_and_zones(lobby: Gate) -> None:
    now = timezone.now()
    record_passage(ReportedPassage(uuid.uuid4(), lobby, "in", now - timedelta(minutes=2)))
    record_passage(ReportedPassage(uuid.uuid4(), lobby, "out", now - timedelta(minutes=1)))
    record_passage(ReportedPassage(uuid.uuid4(), lobby, "out", now - timedelta(minutes=1)))
    older, _ = raise_alert(
        AlertKind.DENIAL_BURST, key="b1", gate=lobby, occurred_at=now - timedelta(minutes=5)
    )
    newer, _ = raise_alert(AlertKind.DOOR_FORCED, key="d1", gate=lobby, occurred_at=now)
    done, _ = raise_alert(AlertKind.ALARM, key="a1", gate=lobby)
    actions.acknowledge_alert(SYSTEM, done, "checked")
    controller = actions.save_controller(
        SYSTEM,
        actions.ControllerFields(
            name="大堂控制器", host="10.0.0.7", register_map=shipped_map(GENERIC_TURNSTILE)
        ),
    )
    agent, _key = make_agent()
    controller.agent = agent
    controller.save()
    actions.wire_gate(SYSTEM, lobby, controller, 1)
    GateAgent.objects.filter(pk=agent.pk).update(last_seen_at=now - timedelta(seconds=30))
    silent = make_gate(name="北门", zone="C座")
    make_gate(name="东门", zone="A座")

    snapshot = screen_snapshot(now)

    assert snapshot["anonymous"] == {"entries": 1, "exits": 2}
    assert [alert["id"] for alert in snapshot["alerts"]] == [newer.pk, older.pk]
    assert snapshot["alerts"][0]["kind"] == "door_forced"
    gates = {gate["name"]: gate for gate in snapshot["gates"]}
    assert gates["大堂 1"] == {
        "id": lobby.pk,
        "name": "大堂 1",
        "zone": "A座",
        "direction": "both",
        "online": True,
        "controller": "大堂控制器",
    }
    assert (gates["北门"]["online"], gates["北门"]["controller"]) == (None, None)
    assert silent.pk == gates["北门"]["id"]
    assert snapshot["zones"] == ["A座", "C座"]

    # The agent is heard from but says the controller's link is down (ADR 0019).
    Controller.objects.filter(pk=controller.pk).update(link_up=False, link_changed_at=now)
    assert {gate["name"]: gate for gate in screen_snapshot(now)["gates"]}["大堂 1"][
        "online"
    ] is False
    Controller.objects.filter(pk=controller.pk).update(link_up=True)
    GateAgent.objects.filter(pk=agent.pk).update(last_seen_at=now - timedelta(minutes=10))
    assert {gate["name"]: gate for gate in screen_snapshot(now)["gates"]}["大堂 1"][
        "online"
    ] is False


def snapshot_queries() -> int:
    with CaptureQueriesContext(connection) as queries:
        screen_snapshot()
    return len(queries)


def test_the_snapshot_costs_the_same_queries_for_one_person_or_many(lobby: Gate) -> None:
    scan(lobby, visitor_pass("甲", "13800000011"))
    visitor_pass("乙", "13800000012")
    raise_alert(AlertKind.DOOR_FORCED, key="d1", gate=lobby)
    few = snapshot_queries()
    for number in range(5):
        scan(lobby, visitor_pass(f"人{number}", f"1380000010{number}"))
        visitor_pass(f"客{number}", f"1380000020{number}")
        raise_alert(AlertKind.DOOR_FORCED, key=f"d{number + 2}", gate=lobby)

    assert snapshot_queries() == few
    assert few <= 8
