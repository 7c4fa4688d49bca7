"""The real gate agent against a simulated turnstile (a pymodbus server) and the real
platform (a live server): scans open the right coil, counters become passages exactly once,
the controller and the platform may go away and come back without losing anything."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.db import connection

from integrations.modbus.agent import GateAgent
from integrations.modbus.simulator import CoilWrite
from kernel import pass_tokens as tokens
from tests.access.conftest import make_pass, make_visit, slip_token
from tests.integrations.conftest import SLUG, SYSTEM, LivePlatform, Site, running_site, wait_until
from visit_platform.access import actions
from visit_platform.access.management.commands.scan_at_gate import present
from visit_platform.access.models import AccessEvent, Controller, Gate, Pass
from visit_platform.access.queries import people_inside
from visit_platform.visits.choices import VisitStatus


def run(scenario: Coroutine[Any, Any, None]) -> None:
    """Run a scenario in an event loop. Django gives code in the loop a database connection
    of its own (connections are per context), so it is pointed at the building here and
    closed at the end."""

    async def main() -> None:
        # The connection this context sees may be one an earlier test's cleanup ended (the
        # browser tests terminate stray sessions): start from a fresh one.
        connection.close()
        connection.set_schema(SLUG)
        try:
            await scenario
        finally:
            connection.close()

    asyncio.run(main())


def events_at(gate: Gate, **filters: object) -> list[AccessEvent]:
    return list(AccessEvent.objects.filter(gate=gate, **filters).order_by("id"))


def coils_written(site: Site) -> list[tuple[int, bool]]:
    return [(write.address, write.value) for write in site.simulator.coil_writes]


def on_time(writes: list[CoilWrite], coil: int) -> float:
    [raised] = [write for write in writes if write.address == coil and write.value]
    [released] = [write for write in writes if write.address == coil and not write.value]
    return released.at - raised.at


# --- Scans ----------------------------------------------------------------------------------


def test_a_granted_scan_pulses_the_lanes_entry_coil_for_the_configured_time(
    committed: LivePlatform, tmp_path: Path
) -> None:
    pass_record = make_pass()

    async def scenario() -> None:
        async with running_site(committed, tmp_path) as site:
            await site.start_agent()
            answer = await site.scan(site.gates[1], slip_token(pass_record))
            assert answer.startswith("GRANT granted ")
            writes = await site.simulator.wait_for_coil_write(2)

            # Lane 1's entry coil (0 in the generic map), raised then released: nothing else.
            assert coils_written(site) == [(0, True), (0, False)]
            # The map's pulse is 500 ms; the coil is released after it, never before.
            assert on_time(writes, 0) >= 0.5 - 0.005

    run(scenario())
    [event] = events_at(Gate.objects.filter(events__pass_record=pass_record).first())
    assert (event.granted, event.reason, event.mode, event.direction) == (
        True,
        "granted",
        "online",
        "in",
    )
    pass_record.refresh_from_db()
    assert pass_record.uses == 1
    assert pass_record.visit.status == VisitStatus.CHECKED_IN


def test_an_exit_scan_pulses_the_lanes_exit_coil(committed: LivePlatform, tmp_path: Path) -> None:
    pass_record = make_pass()

    async def scenario() -> None:
        async with running_site(committed, tmp_path) as site:
            await site.start_agent()
            answer = await site.scan(site.gates[1], slip_token(pass_record), direction="out")
            assert answer.startswith("GRANT granted")
            await site.simulator.wait_for_coil_write(2)
            assert coils_written(site) == [(1, True), (1, False)]

    run(scenario())


def test_a_denied_scan_never_touches_a_coil(committed: LivePlatform, tmp_path: Path) -> None:
    revoked = make_pass()
    actions.revoke_pass(SYSTEM, revoked, "lost")

    async def scenario() -> None:
        async with running_site(committed, tmp_path) as site:
            await site.start_agent()
            answers = await site.send_lines(
                f"{site.gates[1].pk} {slip_token(revoked)}\n".encode(),
                f"{site.gates[1].pk} NOT-A-TOKEN\n".encode(),
            )
            assert [answer.split(" ")[:2] for answer in answers] == [
                ["DENY", "revoked"],
                ["DENY", "invalid_token"],
            ]
            # The answer comes after the coil would have been set: nothing was written.
            assert site.simulator.coil_writes == []
            gate = site.gates[1]
        assert [event.reason for event in events_at(gate)] == ["revoked", "invalid_token"]

    run(scenario())


# --- Counters -------------------------------------------------------------------------------


def test_counter_increments_become_one_passage_each_across_a_wrap_and_an_agent_restart(
    committed: LivePlatform, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with running_site(committed, tmp_path) as site:
            simulator, gate = site.simulator, site.gates[1]
            # The generic map's counters are 32 bits: start two short of the wrap.
            await simulator.set_counter(1, "in", 2**32 - 2)
            await site.start_agent()
            await wait_until(
                lambda: site.agent.journal.counter(site.controller.pk, 1, "in") == 2**32 - 2,
                "the agent takes the first reading as its baseline",
            )

            await simulator.pass_through(1, "in", 3)  # ..., 2**32 - 1, 0, 1
            assert simulator.counter_value(1, "in") == 1
            await wait_until(lambda: len(events_at(gate)) == 3, "three passages arrive")

            await site.stop_agent()
            await simulator.pass_through(1, "in", 2)  # while the agent is down
            await site.start_agent()
            await wait_until(lambda: len(events_at(gate)) == 5, "two more arrive after restart")
            # Let it poll and upload a few more rounds: nothing is counted twice.
            polls = site.link.polls
            await wait_until(lambda: site.link.polls >= polls + 5, "five more polls")
            await wait_until(lambda: site.agent.journal.depth() == 0, "the journal is empty")

        events = events_at(gate)
        assert len(events) == 5
        assert {(event.reason, event.direction, event.pass_record_id) for event in events} == {
            ("passage", "in", None)
        }
        assert len({event.event_id for event in events}) == 5

    run(scenario())


def test_a_controller_that_drops_and_comes_back_loses_no_passage(
    committed: LivePlatform, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with running_site(committed, tmp_path) as site:
            simulator, gate = site.simulator, site.gates[2]  # lane 2: exit only
            await site.start_agent()
            await simulator.pass_through(2, "out", 2)
            await wait_until(lambda: len(events_at(gate)) == 2, "two exits arrive")

            await simulator.stop()
            await wait_until(lambda: not site.link.connected, "the agent notices the drop")
            assert site.agent.health()["controllers"][0]["connected"] is False
            await simulator.pass_through(2, "out", 3)  # counted by the controller meanwhile
            await simulator.start()  # same port, same counters
            await wait_until(lambda: site.link.connects == 2, "the agent reconnects")
            await wait_until(lambda: len(events_at(gate)) == 5, "the three exits arrive")
            polls = site.link.polls
            await wait_until(lambda: site.link.polls >= polls + 5, "five more polls")

        assert [event.direction for event in events_at(gate)] == ["out"] * 5

    run(scenario())


def test_a_counted_exit_without_a_scan_is_an_anonymous_exit_and_the_difference_shows(
    committed: LivePlatform, tmp_path: Path
) -> None:
    inside = make_pass()
    # The building is shared with other tests: what they counted is there already.
    before = people_inside()

    async def scenario() -> None:
        async with running_site(committed, tmp_path) as site:
            await site.start_agent()
            assert (await site.scan(site.gates[1], slip_token(inside))).startswith("GRANT")
            # The visitor walks in: the turnstile counts the scan's own passage, which is
            # not a second, anonymous entry.
            await site.simulator.pass_through(1, "in")
            # Someone leaves through lane 2 without scanning.
            await site.simulator.pass_through(2, "out")
            await wait_until(lambda: len(events_at(site.gates[2])) == 1, "the exit arrives")
            polls = site.link.polls
            await wait_until(lambda: site.link.polls >= polls + 3, "three more polls")
            assert len(events_at(site.gates[1])) == 1  # the scan only

    run(scenario())
    occupancy = people_inside()
    assert inside.pk in {presence.event.pass_record_id for presence in occupancy.people}
    assert (occupancy.anonymous_entries, occupancy.anonymous_exits) == (
        before.anonymous_entries,
        before.anonymous_exits + 1,
    )


def test_door_forced_and_alarm_inputs_are_reported_once_each(
    committed: LivePlatform, tmp_path: Path
) -> None:
    from visit_platform.access.models import Alert

    async def scenario() -> None:
        async with running_site(committed, tmp_path) as site:
            await site.start_agent()
            await site.simulator.set_input(0, True)  # lane 1 door forced
            await site.simulator.set_input(3, True)  # lane 2 alarm
            gates = site.gates
            await wait_until(
                lambda: Alert.objects.filter(gate__in=gates.values()).count() == 2,
                "both alerts arrive",
            )
            await site.stop_agent()
            await site.start_agent()  # still raised: not reported again
            polls = site.link.polls
            await wait_until(lambda: site.link.polls >= polls + 3, "three more polls")
            await wait_until(lambda: site.agent.journal.depth() == 0, "nothing waits")
            alerts = Alert.objects.filter(gate__in=gates.values())
            assert sorted((alert.kind, alert.gate.lane) for alert in alerts) == [
                ("alarm", 2),
                ("door_forced", 1),
            ]
            assert all(alert.controller_id == site.controller.pk for alert in alerts)

    run(scenario())


# --- Offline --------------------------------------------------------------------------------


def forged_token(pass_record: Pass) -> str:
    """A token of the right building and key id, signed by a key that is not the building's."""
    genuine = tokens.parse_token(slip_token(pass_record))
    return tokens.sign_token(genuine.claims, Ed25519PrivateKey.generate())


def test_while_the_platform_is_unreachable_scans_are_decided_offline_and_uploaded_once(
    committed: LivePlatform, tmp_path: Path
) -> None:
    good = make_pass()
    revoked = make_pass(make_visit())
    actions.revoke_pass(SYSTEM, revoked, "revoked before the outage")
    forged = forged_token(make_pass(make_visit()))

    async def scenario() -> None:
        async with running_site(committed, tmp_path) as site:
            gate = site.gates[1]
            await site.start_agent()  # syncs keys and the revocation list
            assert site.agent.state.revoked >= {revoked.pk}

            await site.relay.stop()
            answers = await site.send_lines(
                *(
                    f"{gate.pk} {token}\n".encode()
                    for token in (
                        slip_token(good),
                        slip_token(revoked),
                        forged,
                        slip_token(good),
                    )
                )
            )
            assert [answer.split(" ")[:2] for answer in answers] == [
                ["GRANT", "granted"],
                ["DENY", "revoked"],
                ["DENY", "invalid_signature"],
                ["DENY", "uses_exhausted"],  # one entry per pass while offline
            ]
            await site.simulator.wait_for_coil_write(2)
            assert coils_written(site) == [(0, True), (0, False)]
            assert site.agent.journal.depth() == 4
            assert site.agent.health()["platform_reachable"] is False
            assert events_at(gate) == []

            await site.relay.start()  # the link is back
            await wait_until(lambda: site.agent.journal.depth() == 0, "the journal is uploaded")
            assert site.agent.health()["platform_reachable"] is True
            journalled = {entry.event_id for entry in site.agent.journal.events("passage")}

            # An upload whose answer was lost is sent again: the platform answers, and
            # records nothing twice.
            site.agent.journal._db.execute("UPDATE events SET uploaded_at = NULL")
            assert await site.agent.upload_journal() == 4

        events = events_at(gate)
        assert {str(event.event_id) for event in events} == journalled
        assert [(event.reason, event.mode, event.pass_record_id) for event in events] == [
            ("granted", "offline", good.pk),
            ("revoked", "offline", revoked.pk),
            ("invalid_signature", "offline", None),
            ("uses_exhausted", "offline", good.pk),
        ]
        good.refresh_from_db()
        assert good.uses == 1
        assert good.visit.status == VisitStatus.CHECKED_IN

    run(scenario())


def test_offline_the_agent_refuses_a_pass_at_a_gate_of_another_zone_as_the_platform_does(
    committed: LivePlatform, tmp_path: Path
) -> None:
    """The agent syncs the zones of open passes (``/zones``) and its gates' zones, and applies
    the platform's own rule offline: a pass for floor 8 is refused at a floor 9 lane."""
    floor_eight = make_pass(zones=["8"])

    async def scenario() -> None:
        async with running_site(committed, tmp_path) as site:
            gate = site.gates[1]
            Gate.objects.filter(pk=gate.pk).update(zone="9", checks_zone=True)
            await site.start_agent()
            assert site.agent.state.pass_zones.get(floor_eight.pk) == ("8",)

            online = await site.scan(gate, slip_token(floor_eight))
            await site.relay.stop()
            offline = await site.scan(gate, slip_token(floor_eight))

            assert online.split(" ")[:2] == ["DENY", "wrong_zone"]
            assert offline.split(" ")[:2] == ["DENY", "wrong_zone"]

    run(scenario())


def test_an_agent_that_never_reached_the_platform_refuses_rather_than_guesses(
    committed: LivePlatform, tmp_path: Path
) -> None:
    """With no configuration cached yet (started by `python -m integrations.modbus`, which
    learns its controllers from the platform), the agent knows no gate: the reader is told
    so, and nothing opens."""
    pass_record = make_pass()

    async def scenario() -> None:
        async with running_site(committed, tmp_path) as site:
            await site.relay.stop()
            site.agent = GateAgent(site.agent_config())
            await site.agent.start()
            line = f"{site.gates[1].pk} {slip_token(pass_record)}\n".encode()
            [answer] = await site.send_lines(line)
            assert answer.startswith("ERROR unknown_gate")
            assert site.simulator.coil_writes == []

    run(scenario())


def test_an_agent_that_starts_offline_uses_the_configuration_it_cached(
    committed: LivePlatform, tmp_path: Path
) -> None:
    pass_record = make_pass()

    async def scenario() -> None:
        async with running_site(committed, tmp_path) as site:
            await site.start_agent()  # learns controllers, keys and lists
            await site.stop_agent()
            await site.relay.stop()
            await site.start_agent()  # from the journal alone
            answer = await site.scan(site.gates[1], slip_token(pass_record))
            assert answer.startswith("GRANT granted")
            await site.simulator.wait_for_coil_write(2)
            assert site.agent is not None
            assert site.agent.journal.depth() == 1

    run(scenario())


def test_a_journal_item_the_platform_refuses_is_set_aside_and_the_rest_uploaded(
    committed: LivePlatform, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with running_site(committed, tmp_path) as site:
            await site.start_agent()
            gate = site.gates[2]
            good = {
                "event_id": "6f1c3c1e-0d7b-4d3c-9a53-1f0e2d8e0a11",
                "gate_id": gate.pk,
                "direction": "out",
                "occurred_at": "2026-11-23T09:00:00+00:00",
            }
            bad = {**good, "event_id": "6f1c3c1e-0d7b-4d3c-9a53-1f0e2d8e0a12", "gate_id": 2**40}
            site.agent.journal.add_events("passage", [bad, good])

            await wait_until(lambda: site.agent.journal.depth() == 0, "the journal moves on")

            assert site.agent.journal.rejected() == 1
            assert [str(event.event_id) for event in events_at(gate)] == [good["event_id"]]

    run(scenario())


# --- The reader interface -------------------------------------------------------------------


def test_garbage_on_the_reader_lines_is_answered_with_errors_and_the_agent_keeps_working(
    committed: LivePlatform, tmp_path: Path
) -> None:
    pass_record = make_pass()

    async def scenario() -> None:
        async with running_site(committed, tmp_path) as site:
            await site.start_agent()
            gate = site.gates[1]
            answers = await site.send_lines(
                b"\xff\xfe\xfd garbage\n",
                b"hello\n",
                b"12\n",
                b"abc TOKEN\n",
                f"{gate.pk}:sideways TOKEN\n".encode(),
                b"999999999 TOKEN\n",
                f"{gate.pk} \n".encode(),
            )
            assert [answer.split(" ")[:2] for answer in answers] == [
                ["ERROR", "not_utf8"],
                ["ERROR", "malformed_line"],
                ["ERROR", "malformed_line"],
                ["ERROR", "malformed_line"],
                ["ERROR", "malformed_line"],
                ["ERROR", "unknown_gate"],
                ["ERROR", "empty_token"],
            ]
            # A line over 1 KB ends that connection, and only that one.
            [too_long] = await site.send_lines(b"1 " + b"A" * 5000 + b"\n")
            assert too_long.startswith("ERROR line_too_long")
            # A reader that hangs up mid-line does no harm either.
            _reader, writer = await asyncio.open_connection(
                "127.0.0.1", site.agent.reader.line_port
            )
            writer.write(b"12 half a li")
            writer.close()

            # manage.py scan_at_gate speaks the same protocol, from a plain socket.
            answer = await asyncio.to_thread(
                present, f"{gate.pk} {slip_token(pass_record)}", port=site.agent.reader.line_port
            )
            assert answer.startswith("GRANT granted")
            assert events_at(gate)[-1].pass_record_id == pass_record.pk

    run(scenario())


async def http(port: int, raw: bytes) -> tuple[int, dict[str, object]]:
    import json

    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    await writer.drain()
    response = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    head, _, body = response.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1])
    return status, json.loads(body) if body else {}


def request(method: str, path: str, body: bytes = b"", *, token: str | None = None) -> bytes:
    authorization = f"Authorization: Bearer {token}\r\n" if token is not None else ""
    return (
        f"{method} {path} HTTP/1.1\r\nHost: agent\r\n{authorization}"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def test_the_http_reader_interface_decides_scans_reports_health_and_refuses_garbage(
    committed: LivePlatform, tmp_path: Path
) -> None:
    import json

    pass_record = make_pass()

    async def scenario() -> None:
        async with running_site(committed, tmp_path) as site:
            await site.start_agent()
            port = site.agent.reader.http_port
            gate = site.gates[1]

            status, body = await http(
                port,
                request(
                    "POST",
                    "/scan",
                    json.dumps({"gate_id": gate.pk, "token": slip_token(pass_record)}).encode(),
                ),
            )
            assert (status, body["granted"], body["reason"], body["mode"]) == (
                200,
                True,
                "granted",
                "online",
            )

            refusals = [
                (request("POST", "/scan", b"{not json"), 400, "malformed_json"),
                (request("POST", "/scan", b"[1, 2]"), 422, "invalid_request"),
                (
                    request("POST", "/scan", b'{"gate_id": "1", "token": "x"}'),
                    422,
                    "invalid_request",
                ),
                (request("POST", "/scan", b'{"gate_id": 1, "token": ""}'), 422, "invalid_request"),
                (
                    request(
                        "POST", "/scan", json.dumps({"gate_id": 987654, "token": "X"}).encode()
                    ),
                    404,
                    "unknown_gate",
                ),
                (request("GET", "/scan"), 405, "method_not_allowed"),
                (request("GET", "/nowhere"), 404, "not_found"),
                (request("POST", "/scan", b"x" * 9000), 413, "too_large"),
                (b"GARBAGE\r\n\r\n", 400, "malformed_request"),
                (b"POST /scan HTTP/1.1\r\nContent-Length: -5\r\n\r\n", 400, "malformed_request"),
            ]
            for raw, expected_status, code in refusals:
                status, body = await http(port, raw)
                assert (status, body["code"]) == (expected_status, code), raw[:60]
                assert body["message"]

            status, health = await http(port, request("GET", "/health", token=site.agent_key))
            assert status == 200
            assert health["controllers"] == [
                {
                    "id": site.controller.pk,
                    "name": site.controller.name,
                    "connected": True,
                    "last_error": "",
                }
            ]
            assert health["platform_reachable"] is True
            assert health["last_platform_contact"]
            assert (health["journal_depth"], health["journal_rejected"]) == (0, 0)

            status, synced = await http(port, request("POST", "/sync", token=site.agent_key))
            assert (status, synced) == (200, {"synced": True})

    run(scenario())


# --- Commands from the console --------------------------------------------------------------


def test_the_consoles_test_button_pulses_the_gate_through_the_agent(
    committed: LivePlatform, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with running_site(committed, tmp_path) as site:
            await site.start_agent()
            command = actions.request_gate_pulse(SYSTEM, site.gates[2], "out")
            await site.simulator.wait_for_coil_write(2)
            # Lane 2's exit coil is 3 in the generic map.
            assert coils_written(site) == [(3, True), (3, False)]

            def finished() -> bool:
                command.refresh_from_db()
                return command.status == "done"

            await wait_until(finished, "the agent reports the command done")
            assert command.agent is not None

    run(scenario())


def test_reason_codes_the_agent_uses_offline_are_the_platforms() -> None:
    from integrations.modbus.offline import OFFLINE_REASONS
    from visit_platform.access.choices import Reason

    assert set(OFFLINE_REASONS) <= set(Reason.values)


# --- What the agent is told -----------------------------------------------------------------
# A rolled-back test in this module also makes pytest-django set up the test database when the
# module runs alone: it only does so for sessions that hold a test marked django_db.


@pytest.mark.django_db
def test_an_agent_is_told_the_active_controllers_it_drives_and_their_wired_gates(
    in_alpha: object,
) -> None:
    from integrations.modbus.register_map import GENERIC_TURNSTILE, shipped_map
    from visit_platform.access.models import Controller
    from visit_platform.access.queries import agent_controllers

    mine, _key = actions.create_gate_agent(SYSTEM, name="mine")
    other, _key = actions.create_gate_agent(SYSTEM, name="other")

    def controller(name: str, agent: object, is_active: bool = True) -> object:
        return actions.save_controller(
            SYSTEM,
            actions.ControllerFields(
                name=name,
                host=f"10.0.0.{5 + Controller.objects.count()}",  # one controller per address
                register_map=shipped_map(GENERIC_TURNSTILE),
                agent=agent,  # type: ignore[arg-type]
                is_active=is_active,
            ),
        )

    shared = controller("shared", None)
    controller("other's", other)
    controller("retired", mine, is_active=False)
    wired = actions.wire_gate(SYSTEM, actions.create_gate(SYSTEM, name="wired"), shared, 2)
    actions.create_gate(SYSTEM, name="not wired")

    actions.claim_controllers(mine)  # the agent's first sync: it claims the free one
    [described] = agent_controllers(mine)

    assert described["name"] == "shared"
    assert described["gates"] == [
        {
            "id": wired.pk,
            "name": "wired",
            "lane": 2,
            "direction": "both",
            "zone": "",
            "checks_zone": False,
            "is_active": True,
        }
    ]
    assert described["register_map"] == shipped_map(GENERIC_TURNSTILE)


def test_the_demos_background_turnstile_and_agent_open_the_gate_and_count_the_visitor_once(
    committed: LivePlatform, tmp_path: Path
) -> None:
    """What `manage.py demo` runs beside the web server: a simulated turnstile whose visitor
    walks through when the gate opens, and an agent configured from the database."""
    import socket
    import time

    from integrations.modbus.background import BackgroundSite
    from integrations.modbus.register_map import GENERIC_TURNSTILE, parse_register_map, shipped_map
    from visit_platform.access.agent_setup import agent_config_from_database

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        modbus_port = probe.getsockname()[1]
    agent, key = actions.create_gate_agent(SYSTEM, name="demo-like agent")
    controller = actions.save_controller(
        SYSTEM,
        actions.ControllerFields(
            name="demo-like turnstile",
            host="127.0.0.1",
            port=modbus_port,
            poll_interval_ms=50,
            register_map=shipped_map(GENERIC_TURNSTILE),
            agent=agent,
        ),
    )
    gate = actions.wire_gate(SYSTEM, actions.create_gate(SYSTEM, name="demo-like"), controller, 1)
    pass_record = make_pass()
    config = agent_config_from_database(
        SLUG,
        key,
        platform_url=f"http://127.0.0.1:{committed.port}",
        journal_path=tmp_path / "journal.db",
        reader_port=0,
        http_port=0,
    )
    site = BackgroundSite(config, parse_register_map(shipped_map(GENERIC_TURNSTILE)), modbus_port)
    site.start()
    try:
        assert site.agent is not None
        link = site.agent.links[controller.pk]
        deadline = time.monotonic() + 15
        while not link.connected and time.monotonic() < deadline:
            time.sleep(0.02)
        answer = present(f"{gate.pk} {slip_token(pass_record)}", port=site.agent.reader.line_port)
        assert answer.startswith("GRANT granted")
        # The simulated visitor walks through half-way into the pulse; give the agent time to
        # poll the counter several times.
        while site.simulator.counter_value(1, "in") != 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        polls = link.polls
        while link.polls < polls + 5 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert site.simulator.counter_value(1, "in") == 1
    finally:
        site.stop()
        Controller.objects.filter(pk=controller.pk).update(is_active=False)

    assert not site._thread.is_alive()
    # One event: the scan. The counted passage was the scan's own, not an anonymous entry.
    assert [(event.reason, event.pass_record_id) for event in events_at(gate)] == [
        ("granted", pass_record.pk)
    ]
    pass_record.refresh_from_db()
    assert pass_record.visit.status == VisitStatus.CHECKED_IN
