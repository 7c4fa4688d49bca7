"""The alerts the gate decision raises: a watchlisted person at a gate (online and in an agent's
offline journal), and a burst of refusals at one gate, counted in Redis without ever costing
or failing a gate decision."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import redis
from django.conf import settings
from django.utils import timezone

from tenants.models import Building
from tests.access.conftest import SYSTEM, VALID_RESIDENT_ID, make_agent, make_pass, slip_token
from visit_platform.access.actions import (
    Decision,
    PassageReport,
    bursts,
    decide_scan,
    record_passages,
)
from visit_platform.access.choices import AlertKind, Mode, Reason
from visit_platform.access.models import AccessEvent, Alert, Gate, Pass
from workflows.actions import add_to_watchlist

BROKEN_REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1


@pytest.fixture(autouse=True)
def fresh_counting() -> Iterator[None]:
    """Each test starts with no refusals counted in this building and counting not paused."""
    client = redis.Redis.from_url(str(settings.REDIS_URL))
    for key in client.scan_iter("alpha:access:refusal*"):
        client.delete(key)
    bursts.resume_counting()
    yield
    bursts.resume_counting()


@pytest.fixture
def burst_of_three(in_alpha: Building) -> Building:
    in_alpha.denial_burst_count = 3
    in_alpha.denial_burst_seconds = 60
    return in_alpha


def watchlist(pass_record: Pass) -> None:
    add_to_watchlist(SYSTEM, reason="骚扰业主", id_type="resident_id", id_number=VALID_RESIDENT_ID)


def scan(gate: Gate, token: str, capture: Any, **options: Any) -> Decision:
    """A scan, with what it does after commit done as a request's commit would."""
    with capture(execute=True):
        return decide_scan(gate=gate, token=token, **options)


def refuse(gate: Gate, capture: Any, at: datetime) -> Decision:
    decision = scan(gate, "not-a-pass", capture, now=at)
    assert decision.reason == Reason.INVALID_TOKEN
    return decision


def bursts_at(gate: Gate) -> list[Alert]:
    return list(Alert.objects.filter(kind=AlertKind.DENIAL_BURST, gate=gate).order_by("id"))


# --- Watchlist hits --------------------------------------------------------------------------


def test_a_watchlisted_scan_raises_one_alert_and_its_replay_none(
    gate: Gate, pass_record: Pass, django_capture_on_commit_callbacks: Any
) -> None:
    watchlist(pass_record)
    event_id = uuid.uuid4()

    first = scan(
        gate, slip_token(pass_record), django_capture_on_commit_callbacks, event_id=event_id
    )
    again = scan(
        gate, slip_token(pass_record), django_capture_on_commit_callbacks, event_id=event_id
    )

    assert (first.reason, again.replayed) == (Reason.WATCHLISTED, True)
    alert = Alert.objects.get(kind=AlertKind.WATCHLIST_HIT)
    assert (alert.gate, alert.visit_id) == (gate, pass_record.visit_id)
    assert alert.details["event_id"] == str(event_id)


def test_an_offline_watchlisted_decision_in_a_journal_raises_one_alert_however_often_sent(
    gate: Gate, pass_record: Pass
) -> None:
    agent, _key = make_agent()
    journal = [
        PassageReport(
            event_id=uuid.uuid4(),
            gate_id=gate.pk,
            direction="in",
            occurred_at=timezone.now() - timedelta(minutes=5),
            pass_id=pass_record.pk,
            granted=False,
            reason=Reason.WATCHLISTED,
            mode=Mode.OFFLINE,
        )
    ]

    record_passages(journal, agent)
    record_passages(journal, agent)  # the agent did not hear the answer and sends it again

    alert = Alert.objects.get(kind=AlertKind.WATCHLIST_HIT)
    assert (alert.gate, alert.agent, alert.visit_id) == (gate, agent, pass_record.visit_id)
    assert alert.occurred_at == journal[0].occurred_at


def test_other_refusals_and_granted_scans_raise_no_watchlist_alert(
    gate: Gate, pass_record: Pass, django_capture_on_commit_callbacks: Any
) -> None:
    scan(gate, slip_token(pass_record), django_capture_on_commit_callbacks)
    scan(gate, "not-a-pass", django_capture_on_commit_callbacks)

    assert not Alert.objects.exists()


# --- Bursts of refusals ----------------------------------------------------------------------


def test_a_burst_raises_one_alert_at_the_threshold_and_none_again_within_the_window(
    gate: Gate, burst_of_three: Building, django_capture_on_commit_callbacks: Any
) -> None:
    start = timezone.now()
    refuse(gate, django_capture_on_commit_callbacks, start)
    refuse(gate, django_capture_on_commit_callbacks, start + timedelta(seconds=10))
    assert bursts_at(gate) == []

    refuse(gate, django_capture_on_commit_callbacks, start + timedelta(seconds=20))
    for second in (30, 40, 90):  # the burst goes on: still the one alert
        refuse(gate, django_capture_on_commit_callbacks, start + timedelta(seconds=second))

    [alert] = bursts_at(gate)
    assert alert.details == {"count": 3, "window_seconds": 60, "reasons": ["invalid_token"]}
    assert alert.occurred_at == start + timedelta(seconds=20)


def test_a_new_burst_after_a_quiet_window_raises_another_alert(
    gate: Gate, burst_of_three: Building, django_capture_on_commit_callbacks: Any
) -> None:
    start = timezone.now()
    for second in (0, 1, 2):
        refuse(gate, django_capture_on_commit_callbacks, start + timedelta(seconds=second))
    for second in (100, 101, 102):
        refuse(gate, django_capture_on_commit_callbacks, start + timedelta(seconds=second))

    assert len(bursts_at(gate)) == 2


def test_refusals_spread_wider_than_the_window_or_over_gates_make_no_burst(
    gate: Gate, burst_of_three: Building, django_capture_on_commit_callbacks: Any
) -> None:
    other = Gate.objects.create(name="B2 闸机")
    start = timezone.now()
    for second in (0, 40, 80, 120):
        refuse(gate, django_capture_on_commit_callbacks, start + timedelta(seconds=second))
    refuse(other, django_capture_on_commit_callbacks, start + timedelta(seconds=121))

    assert not Alert.objects.exists()


def test_wrong_direction_and_an_inactive_gate_are_not_counted(
    burst_of_three: Building, pass_record: Pass, django_capture_on_commit_callbacks: Any
) -> None:
    one_way = Gate.objects.create(name="出口", direction="out")
    closed = Gate.objects.create(name="维修中", is_active=False)
    token = slip_token(pass_record)
    for _ in range(4):
        assert scan(one_way, token, django_capture_on_commit_callbacks, direction="in").reason == (
            Reason.WRONG_DIRECTION
        )
        assert scan(closed, token, django_capture_on_commit_callbacks).reason == (
            Reason.GATE_INACTIVE
        )

    assert not Alert.objects.exists()


def test_a_burst_names_every_reason_it_saw(
    gate: Gate,
    pass_record: Pass,
    burst_of_three: Building,
    django_capture_on_commit_callbacks: Any,
) -> None:
    watchlist(pass_record)
    start = timezone.now()
    refuse(gate, django_capture_on_commit_callbacks, start)
    scan(gate, slip_token(pass_record), django_capture_on_commit_callbacks, now=start)
    refuse(gate, django_capture_on_commit_callbacks, start + timedelta(seconds=1))

    [alert] = bursts_at(gate)
    assert alert.details["reasons"] == ["invalid_token", "watchlisted"]


# --- Redis stays out of the gate's way --------------------------------------------------------


def test_granted_scans_never_touch_redis(
    gate: Gate,
    burst_of_three: Building,
    settings: Any,
    caplog: pytest.LogCaptureFixture,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """With the counting client's Redis broken, a granted entry and exit log nothing and leave
    counting unpaused; the refusal after them does reach for Redis (so the test would see it)."""
    settings.REDIS_URL = BROKEN_REDIS_URL
    pass_record = make_pass()
    caplog.set_level(logging.WARNING, logger=bursts.__name__)

    entry = scan(gate, slip_token(pass_record), django_capture_on_commit_callbacks)
    exit_ = scan(gate, slip_token(pass_record), django_capture_on_commit_callbacks, direction="out")

    assert (entry.granted, exit_.granted) == (True, True)
    assert caplog.records == []
    assert bursts._paused_until == 0.0

    refuse(gate, django_capture_on_commit_callbacks, timezone.now())
    assert [record.getMessage() for record in caplog.records] == [
        "Refusals are not counted for 30.0s: Redis failed"
    ]


def test_a_broken_redis_does_not_fail_a_refusal_and_is_then_left_alone(
    gate: Gate,
    burst_of_three: Building,
    settings: Any,
    caplog: pytest.LogCaptureFixture,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.REDIS_URL = BROKEN_REDIS_URL
    caplog.set_level(logging.WARNING, logger=bursts.__name__)
    start = timezone.now()

    decisions = [
        refuse(gate, django_capture_on_commit_callbacks, start + timedelta(seconds=second))
        for second in range(4)
    ]

    assert [decision.granted for decision in decisions] == [False] * 4
    assert AccessEvent.objects.filter(gate=gate, granted=False).count() == 4
    assert len(caplog.records) == 1  # paused after the first failure: one timeout at most
    assert not Alert.objects.exists()
