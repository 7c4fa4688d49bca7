"""The security screen's socket (issue 14, ADR 0022) over the real ASGI application and the
Redis channel layer: a snapshot on connect, then numbered deltas; a resync after a gap; full
names for security only (audited), masks for the other roles; one building's events never
reach another's screens; no query per event however many screens listen; junk from a client
ignored."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tenants.actions import building_domain
from tenants.models import Building, User
from tests.access.conftest import make_gate, make_pass, make_visit, make_visitor, slip_token
from tests.sockets import DEADLINE, next_message, socket, watcher
from visit_platform.access import live
from visit_platform.access.actions import decide_scan
from visit_platform.access.consumers import MAX_CLIENT_MESSAGE, masked
from visit_platform.access.models import Gate, Pass
from visit_platform.audit.models import AuditEntry
from visit_platform.directory.choices import Role
from visit_platform.visits.models import Visit

pytestmark = pytest.mark.usefixtures("keep_the_test_transaction")

Capture = Callable[..., Any]


def any_zone_pass(visit: Visit | None = None) -> Pass:
    """A pass for every zone: these tests are about the screens, not the zone rule
    (ADR 0021), and their gates are named for the screens."""
    return make_pass(visit, zones=[])


async def connected(building: Building, user: User) -> tuple[WebsocketCommunicator, dict]:
    # The session is made in the test's thread, with the test's transaction.
    communicator = await sync_to_async(socket)(building_domain(building.schema_name), user)
    accepted, _code = await communicator.connect(timeout=DEADLINE)
    assert accepted
    snapshot = await communicator.receive_json_from(timeout=DEADLINE)
    assert snapshot["type"] == "snapshot"
    return communicator, snapshot


async def next_about(communicator: WebsocketCommunicator, event_ids: set[str]) -> dict:
    """The next message about one of ``event_ids`` (or a snapshot): an earlier test's event
    still in flight to the same building is skipped."""
    while True:
        message = await next_message(communicator)
        if message["type"] == "snapshot" or message.get("event_id") in event_ids:
            return message


def committed_scans(
    capture: Capture, gate: Gate, passes: list[Pass], direction: str = "in"
) -> Callable[[], Any]:
    """A synchronous step that scans each pass at ``gate`` and commits (the screens hear of
    it after commit); returns the event ids."""

    def run() -> set[str]:
        with capture(execute=True):
            decisions = [
                decide_scan(gate=gate, token=slip_token(p), direction=direction) for p in passes
            ]
        assert all(decision.granted for decision in decisions)
        return {str(decision.event.event_id) for decision in decisions}

    return sync_to_async(run)


def a_pass(name: str = "韩梅梅", mobile: str = "13800000001") -> Pass:
    return any_zone_pass(make_visit(visitor=make_visitor(name=name, mobile=mobile, id_number="")))


@pytest.fixture
def lobby(in_alpha: Building) -> Gate:
    return make_gate(name="大堂 1", zone="A座")


def test_a_screen_gets_a_snapshot_then_each_scan_as_a_numbered_delta(
    alpha: Building, lobby: Gate, django_capture_on_commit_callbacks: Capture
) -> None:
    already_inside, arriving = a_pass(), a_pass("王五", "13800000002")
    decide_scan(gate=lobby, token=slip_token(already_inside))
    user = watcher(alpha)

    @async_to_sync
    async def scenario() -> tuple[dict, list[dict]]:
        communicator, snapshot = await connected(alpha, user)
        try:
            deltas = []
            for step in (
                committed_scans(django_capture_on_commit_callbacks, lobby, [arriving]),
                committed_scans(django_capture_on_commit_callbacks, lobby, [arriving], "out"),
            ):
                deltas.append(await next_about(communicator, await step()))
            return snapshot, deltas
        finally:
            await communicator.disconnect(timeout=DEADLINE)

    snapshot, (entry, exit_) = scenario()

    assert snapshot["names"] == "full"
    assert [person["name"] for person in snapshot["inside"]] == ["韩梅梅"]
    assert entry["seq"] > snapshot["seq"]
    assert exit_["seq"] == entry["seq"] + 1
    assert (entry["type"], entry["direction"], entry["granted"]) == ("access_event", "in", True)
    assert (entry["visit_id"], entry["first_entry"]) == (arriving.visit_id, True)
    assert entry["person"]["name"] == "王五"
    assert (entry["gate_id"], entry["zone"], entry["person"]["zone"]) == (lobby.pk, "A座", "A座")
    assert (exit_["direction"], exit_["first_entry"]) == ("out", False)


def test_scans_published_together_arrive_in_order_with_consecutive_numbers(
    alpha: Building, lobby: Gate, django_capture_on_commit_callbacks: Capture
) -> None:
    passes = [a_pass(f"访客{n}", f"1380000001{n}") for n in range(3)]
    user = watcher(alpha)

    @async_to_sync
    async def scenario() -> list[dict]:
        communicator, _snapshot = await connected(alpha, user)
        try:
            ids = await committed_scans(django_capture_on_commit_callbacks, lobby, passes)()
            return [await next_about(communicator, ids) for _ in passes]
        finally:
            await communicator.disconnect(timeout=DEADLINE)

    deltas = scenario()

    assert [delta["person"]["name"] for delta in deltas] == ["访客0", "访客1", "访客2"]
    first = deltas[0]["seq"]
    assert [delta["seq"] for delta in deltas] == [first, first + 1, first + 2]


def test_a_screen_that_sees_a_gap_resyncs_and_gets_the_current_state(
    alpha: Building, lobby: Gate, django_capture_on_commit_callbacks: Capture
) -> None:
    """A number taken and never delivered (a send lost between Redis and this screen) shows
    as a gap; the screen asks for a snapshot, which holds what the lost message said."""
    arriving = a_pass()
    user = watcher(alpha)

    @async_to_sync
    async def scenario() -> tuple[dict, dict, dict]:
        communicator, snapshot = await connected(alpha, user)
        try:
            layer = get_channel_layer()
            await live._take_seqs(layer, {live.occupancy_group("alpha"): 1})  # lost
            ids = await committed_scans(django_capture_on_commit_callbacks, lobby, [arriving])()
            delta = await next_about(communicator, ids)
            await communicator.send_json_to({"type": "resync"})
            return snapshot, delta, await next_about(communicator, set())
        finally:
            await communicator.disconnect(timeout=DEADLINE)

    before, delta, after = scenario()

    assert delta["seq"] >= before["seq"] + 2
    assert after["type"] == "snapshot"
    assert after["seq"] >= delta["seq"]
    assert [person["visit_id"] for person in after["inside"]] == [arriving.visit_id]


@pytest.mark.parametrize(
    ("role", "names", "shown"),
    [
        (Role.SECURITY, "full", "韩梅梅"),
        (Role.PROPERTY_ADMIN, "masked", "韩**"),
        (Role.OPERATOR, "masked", "韩**"),
        (Role.RECEPTION, "masked", "韩**"),
    ],
)
def test_only_security_sees_full_names(
    alpha: Building,
    lobby: Gate,
    django_capture_on_commit_callbacks: Capture,
    role: str,
    names: str,
    shown: str,
) -> None:
    decide_scan(gate=lobby, token=slip_token(a_pass()))
    arriving = a_pass("韩梅梅", "13800000002")
    user = watcher(alpha, role)

    @async_to_sync
    async def scenario() -> tuple[dict, dict]:
        communicator, snapshot = await connected(alpha, user)
        try:
            ids = await committed_scans(django_capture_on_commit_callbacks, lobby, [arriving])()
            return snapshot, await next_about(communicator, ids)
        finally:
            await communicator.disconnect(timeout=DEADLINE)

    snapshot, delta = scenario()

    assert snapshot["names"] == names
    assert [person["name"] for person in snapshot["inside"]] == [shown]
    assert delta["person"]["name"] == shown
    assert delta["person"]["host"] == "李雷"  # hosts are staff: never masked


def test_masking_covers_every_name_field_and_nothing_else() -> None:
    person = {"visit_id": 1, "name": "韩梅梅", "host": "李雷", "gate": "大堂"}
    snapshot = {
        "type": "snapshot",
        "building": "Alpha Tower",
        "inside": [person],
        "expected": [{**person, "name": "John Smith"}],
        "alerts": [{"type": "alert", "visitor": "王五", "gate": "大堂"}],
        "gates": [{"name": "大堂"}],
    }

    assert masked(snapshot) == {
        **snapshot,
        "inside": [{**person, "name": "韩**"}],
        "expected": [{**person, "name": "J*** S****"}],
        "alerts": [{"type": "alert", "visitor": "王*", "gate": "大堂"}],
    }
    assert masked({"type": "access_event", "person": person, "gate": "大堂"}) == {
        "type": "access_event",
        "person": {**person, "name": "韩**"},
        "gate": "大堂",
    }
    assert masked({"type": "visit", "person": None}) == {"type": "visit", "person": None}
    assert snapshot["inside"][0]["name"] == "韩梅梅"  # a copy: the input is untouched


def test_securitys_first_snapshot_of_a_connection_is_audited_with_the_number_of_people(
    alpha: Building, lobby: Gate
) -> None:
    decide_scan(gate=lobby, token=slip_token(a_pass()))
    guard, receptionist = watcher(alpha, Role.SECURITY), watcher(alpha, Role.RECEPTION)

    @async_to_sync
    async def scenario() -> None:
        for user in (guard, receptionist):
            communicator, _snapshot = await connected(alpha, user)
            await communicator.send_json_to({"type": "resync"})
            assert (await communicator.receive_json_from(timeout=DEADLINE))["type"] == "snapshot"
            await communicator.disconnect(timeout=DEADLINE)

    scenario()

    views = AuditEntry.objects.filter(verb="occupancy.viewed")
    assert [(entry.actor_id, entry.detail) for entry in views] == [(guard.pk, {"people": 1})]


def test_a_buildings_events_never_reach_another_buildings_screens(
    alpha: Building,
    beta: Building,
    lobby: Gate,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    """Beta's screen shows none of alpha's people and hears none of alpha's scans; an alpha
    guard cannot watch beta."""
    decide_scan(gate=lobby, token=slip_token(a_pass("阿尔法", "13800000001")))
    arriving_in_alpha = a_pass("阿尔法二", "13800000003")
    alpha_guard = watcher(alpha)
    connection.set_tenant(beta)
    beta_gate = make_gate(name="B 门")
    arriving_in_beta = a_pass("贝塔", "13800000002")
    beta_guard = watcher(beta)

    def scan_in(building: Building, gate: Gate, pass_record: Pass) -> Callable[[], Any]:
        def run() -> set[str]:
            connection.set_tenant(building)
            with django_capture_on_commit_callbacks(execute=True):
                decision = decide_scan(gate=gate, token=slip_token(pass_record))
            return {str(decision.event.event_id)}

        return sync_to_async(run)

    @async_to_sync
    async def scenario() -> tuple[dict, dict, tuple[bool, Any]]:
        communicator, snapshot = await connected(beta, beta_guard)
        try:
            alpha_ids = await scan_in(alpha, lobby, arriving_in_alpha)()
            beta_ids = await scan_in(beta, beta_gate, arriving_in_beta)()
            # Sent first, alpha's event would arrive first.
            first = await next_about(communicator, alpha_ids | beta_ids)
            refused = await sync_to_async(socket)(building_domain("beta"), alpha_guard)
            return snapshot, first, await refused.connect(timeout=DEADLINE)
        finally:
            await communicator.disconnect(timeout=DEADLINE)

    snapshot, first, alpha_guard_on_beta = scenario()

    assert (snapshot["building"], snapshot["inside"]) == ("Beta Park", [])
    assert (first["gate"], first["person"]["name"]) == ("B 门", "贝塔")
    assert alpha_guard_on_beta == (False, 4403)


def test_one_event_reaches_twenty_screens_without_a_query(
    alpha: Building, lobby: Gate, django_capture_on_commit_callbacks: Capture
) -> None:
    """Delivery, masking included, reads nothing: ten security screens and ten reception
    screens get the same scan with no database query while it fans out."""
    users = [watcher(alpha, Role.SECURITY if n < 10 else Role.RECEPTION) for n in range(20)]
    arriving = a_pass("韩梅梅")
    queries = CaptureQueriesContext(connection)

    @async_to_sync
    async def scenario() -> list[dict]:
        screens = [(await connected(alpha, user))[0] for user in users]
        try:
            ids = await committed_scans(django_capture_on_commit_callbacks, lobby, [arriving])()
            await sync_to_async(queries.__enter__)()
            try:
                return [await next_about(screen, ids) for screen in screens]
            finally:
                await sync_to_async(queries.__exit__)(None, None, None)
        finally:
            for screen in screens:
                await screen.disconnect(timeout=DEADLINE)

    received = scenario()

    assert len(queries) == 0
    assert [delta["person"]["name"] for delta in received] == ["韩梅梅"] * 10 + ["韩**"] * 10
    assert len({delta["seq"] for delta in received}) == 1


@pytest.mark.parametrize(
    "junk",
    [
        "not json",
        "{",
        "[]",
        '"resync"',
        '{"type": 5}',
        '{"type": "snapshot"}',
        json.dumps({"type": "resync", "padding": "x" * MAX_CLIENT_MESSAGE}),
        "{" * 100_000,
        b"\x00\x01binary",
    ],
)
def test_junk_from_a_screen_is_ignored_and_the_socket_stays_usable(
    alpha: Building, lobby: Gate, junk: str | bytes
) -> None:
    user = watcher(alpha)

    @async_to_sync
    async def scenario() -> tuple[bool, dict]:
        communicator, _snapshot = await connected(alpha, user)
        try:
            if isinstance(junk, bytes):
                await communicator.send_to(bytes_data=junk)
            else:
                await communicator.send_to(text_data=junk)
            quiet = await communicator.receive_nothing(timeout=0.3)
            await communicator.send_json_to({"type": "resync"})
            return quiet, await communicator.receive_json_from(timeout=DEADLINE)
        finally:
            await communicator.disconnect(timeout=DEADLINE)

    quiet, answer = scenario()

    assert quiet
    assert answer["type"] == "snapshot"
