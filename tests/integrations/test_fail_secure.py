"""The gate agent fails secure and counts honestly, against the real platform and a simulated
turnstile: no coil stays on after a stop, a crash or a reconnect; a crash does not count a
visitor twice; a pass gets no more entries offline than it has; a counter reset is an alert,
not passages; a test pulse's passage is recorded as one; a half line does not hold a reader
connection; health and sync need credentials.

A crash is real: the agent runs as ``python -m integrations.modbus`` in a child process that
the test kills with SIGKILL."""

from __future__ import annotations

import asyncio
import copy
import signal
import socket
import sqlite3
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from integrations.modbus.register_map import GENERIC_TURNSTILE, shipped_map
from tests.access.conftest import make_pass, slip_token
from tests.integrations.conftest import (
    HTTP_TOKEN,
    SYSTEM,
    LivePlatform,
    Site,
    running_site,
    wait_until,
)
from tests.integrations.test_agent_standalone import ROOT, clean_environment
from tests.integrations.test_gate_agent import coils_written, events_at, http, request, run
from visit_platform.access import actions
from visit_platform.access.models import Alert

EVERY_COIL_OFF = [(0, False), (1, False), (2, False), (3, False)]


def long_pulse_map() -> dict[str, Any]:
    """The generic map with lane 1 held open for ten seconds: long enough to stop or kill the
    agent while the gate stands open."""
    data = copy.deepcopy(shipped_map(GENERIC_TURNSTILE))
    data["gates"][0]["pulse_ms"] = 10_000
    return data


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class AgentProcess:
    """The standalone agent in a child process, configured from the platform like any
    agent at a building."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.line_port = free_port()
        self.http_port = free_port()
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        environment = {
            **clean_environment(),
            "GATE_AGENT_KEY": self.site.agent_key,
            "GATE_AGENT_HTTP_TOKEN": HTTP_TOKEN,
        }
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "integrations.modbus",
            "--platform",
            f"http://127.0.0.1:{self.site.relay.port}",
            "--host-header",
            self.site.platform.host,
            "--journal",
            str(self.site.journal),
            "--reader",
            f"127.0.0.1:{self.line_port}",
            "--http",
            f"127.0.0.1:{self.http_port}",
            env=environment,
            cwd=ROOT,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        await wait_until(self.drives_the_controller, "the agent process drives the controller")

    async def drives_the_controller(self) -> bool:
        try:
            status, health = await http(self.http_port, request("GET", "/health", token=HTTP_TOKEN))
        except OSError:
            return False
        controllers = health.get("controllers") or []
        connected = (
            status == 200
            and bool(health.get("started"))
            and any(isinstance(item, dict) and item.get("connected") for item in controllers)
        )
        return connected and self.counter_read()

    def counter_read(self) -> bool:
        """The agent has read lane 1's entry counter once (its baseline)."""
        with sqlite3.connect(self.site.journal) as journal:
            row = journal.execute(
                "SELECT 1 FROM counters WHERE controller_id = ? AND lane = 1 AND direction = 'in'",
                (self.site.controller.pk,),
            ).fetchone()
        return row is not None

    async def scan(self, line: str) -> str:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.line_port)
        writer.write(line.encode() + b"\n")
        await writer.drain()
        answer = await asyncio.wait_for(reader.readline(), 10)
        writer.close()
        return answer.decode().rstrip("\n")

    async def end(self, how: signal.Signals) -> int:
        assert self.process is not None
        self.process.send_signal(how)
        return await asyncio.wait_for(self.process.wait(), 15)


@asynccontextmanager
async def agent_process(site: Site) -> AsyncIterator[AgentProcess]:
    agent = AgentProcess(site)
    try:
        await agent.start()
        yield agent
    finally:
        if agent.process is not None and agent.process.returncode is None:
            agent.process.kill()
            await agent.process.wait()


# --- Coils ----------------------------------------------------------------------------------


def test_an_agent_killed_mid_pulse_switches_the_coil_off_on_restart_and_counts_one_entry(
    committed: LivePlatform, tmp_path: Path
) -> None:
    pass_record = make_pass()

    async def scenario() -> None:
        async with running_site(committed, tmp_path, register_map=long_pulse_map()) as site:
            gate = site.gates[1]
            async with agent_process(site) as agent:
                answer = await agent.scan(f"{gate.pk} {slip_token(pass_record)}")
                assert answer.startswith("GRANT granted")
                assert await site.simulator.coil(0) is True
                assert await agent.end(signal.SIGKILL) == -signal.SIGKILL

            # The visitor walks through the gate the dead agent left open.
            await site.simulator.pass_through(1, "in")
            assert await site.simulator.coil(0) is True

            await site.start_agent(keep_writes=True)
            assert await site.simulator.coil(0) is False
            assert site.agent is not None
            assert site.agent.journal.pending_releases() == []
            polls = site.link.polls
            await wait_until(lambda: site.link.polls >= polls + 5, "five polls after restart")
            await wait_until(lambda: site.agent.journal.depth() == 0, "nothing waits")

        # The scan, and not a second, anonymous entry for the same visitor.
        assert [(event.reason, event.pass_record_id) for event in events_at(gate)] == [
            ("granted", pass_record.pk)
        ]

    run(scenario())


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_an_agent_stopped_mid_pulse_switches_the_coil_off_before_it_exits(
    committed: LivePlatform, tmp_path: Path, how: signal.Signals
) -> None:
    pass_record = make_pass()

    async def scenario() -> None:
        async with running_site(committed, tmp_path, register_map=long_pulse_map()) as site:
            async with agent_process(site) as agent:
                answer = await agent.scan(f"{site.gates[1].pk} {slip_token(pass_record)}")
                assert answer.startswith("GRANT granted")
                assert await site.simulator.coil(0) is True

                assert await agent.end(how) == 0

            assert await site.simulator.coil(0) is False

    run(scenario())


def test_every_coil_is_switched_off_when_the_agent_starts_and_stops(
    committed: LivePlatform, tmp_path: Path
) -> None:
    pass_record = make_pass()

    async def scenario() -> None:
        async with running_site(committed, tmp_path, register_map=long_pulse_map()) as site:
            await site.start_agent(keep_writes=True)
            assert coils_written(site) == EVERY_COIL_OFF
            site.simulator.coil_writes.clear()

            assert (await site.scan(site.gates[1], slip_token(pass_record))).startswith("GRANT")
            assert await site.simulator.coil(0) is True
            await site.stop_agent()

            assert await site.simulator.coil(0) is False
            assert coils_written(site) == [(0, True), *EVERY_COIL_OFF]

    run(scenario())


def test_every_coil_is_switched_off_when_the_controller_comes_back(
    committed: LivePlatform, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with running_site(committed, tmp_path) as site:
            await site.start_agent()
            await site.simulator.stop()
            await wait_until(lambda: not site.link.connected, "the agent notices the drop")
            await site.simulator.start()
            await wait_until(lambda: site.link.connects == 2, "the agent reconnects")

            assert coils_written(site) == EVERY_COIL_OFF

    run(scenario())


# --- Offline uses ---------------------------------------------------------------------------


def test_a_spent_single_use_pass_is_refused_offline_when_the_platform_is_too_slow(
    committed: LivePlatform, tmp_path: Path
) -> None:
    refused_once = make_pass(max_uses=1)
    used_once = make_pass(max_uses=1)

    async def scenario() -> None:
        async with running_site(committed, tmp_path) as site:
            await site.start_agent()
            gate = site.gates[1]
            answers = await site.send_lines(
                f"{gate.pk} {slip_token(refused_once)}\n".encode(),
                f"{gate.pk} {slip_token(refused_once)}\n".encode(),
                f"{gate.pk} {slip_token(used_once)}\n".encode(),
            )
            assert [answer.split(" ")[:2] for answer in answers] == [
                ["GRANT", "granted"],
                ["DENY", "uses_exhausted"],
                ["GRANT", "granted"],
            ]
            await site.simulator.wait_for_coil_write(4)

            # Slower than the agent waits (2 s): it decides offline, from what it has seen.
            site.relay.delay = 3.0
            answers = await site.send_lines(
                f"{gate.pk} {slip_token(refused_once)}\n".encode(),
                f"{gate.pk} {slip_token(used_once)}\n".encode(),
            )
            assert [answer.split(" ")[:2] for answer in answers] == [
                ["DENY", "uses_exhausted"],
                ["DENY", "uses_exhausted"],
            ]
            assert site.agent is not None
            offline = [entry.payload for entry in site.agent.journal.events("passage")]
            assert [(item["mode"], item["granted"]) for item in offline] == [("offline", False)] * 2
            # Two pulses, both for the online grants.
            assert [write for write in coils_written(site) if write[1]] == [(0, True), (0, True)]

            site.relay.delay = 0.0
            await wait_until(lambda: site.agent.journal.depth() == 0, "the journal is uploaded")

        for pass_record in (refused_once, used_once):
            pass_record.refresh_from_db()
            assert pass_record.uses == 1

    run(scenario())


def test_a_journal_upload_or_a_restart_gives_a_pass_no_further_offline_entry(
    committed: LivePlatform, tmp_path: Path
) -> None:
    single_use = make_pass(max_uses=1)

    async def scenario() -> None:
        async with running_site(committed, tmp_path) as site:
            gate = site.gates[1]
            await site.start_agent()
            await site.relay.stop()
            assert (await site.scan(gate, slip_token(single_use))).startswith("GRANT granted")

            await site.relay.start()
            await wait_until(lambda: site.agent.journal.depth() == 0, "the journal is uploaded")
            await site.relay.stop()  # the next outage
            assert (await site.scan(gate, slip_token(single_use))).startswith("DENY uses_exhausted")

            await site.stop_agent()
            await site.start_agent()  # offline, from the journal
            assert (await site.scan(gate, slip_token(single_use))).startswith("DENY uses_exhausted")

    run(scenario())
    single_use.refresh_from_db()
    assert single_use.uses == 1


# --- Counters and test pulses ---------------------------------------------------------------


def test_a_counter_jump_is_a_reset_with_an_alert_and_no_passages(
    committed: LivePlatform, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with running_site(committed, tmp_path) as site:
            gate = site.gates[1]
            await site.simulator.set_counter(1, "in", 100)
            await site.start_agent()
            await wait_until(
                lambda: site.agent.journal.counter(site.controller.pk, 1, "in") == 100,
                "the agent takes 100 as its baseline",
            )

            await site.simulator.set_counter(1, "in", 65_530)
            await wait_until(
                lambda: Alert.objects.filter(gate=gate, kind="counter_reset").exists(),
                "the reset is reported",
            )
            # Counted from the new baseline on.
            await site.simulator.pass_through(1, "in", 2)
            await wait_until(lambda: len(events_at(gate)) == 2, "two passages arrive")
            polls = site.link.polls
            await wait_until(lambda: site.link.polls >= polls + 3, "three more polls")

            [alert] = Alert.objects.filter(gate=gate)
            assert (alert.kind, alert.controller_id) == ("counter_reset", site.controller.pk)
            assert [event.reason for event in events_at(gate)] == ["passage", "passage"]

    run(scenario())


def test_a_passage_on_the_consoles_test_pulse_is_recorded_as_a_test_passage(
    committed: LivePlatform, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with running_site(committed, tmp_path) as site:
            gate = site.gates[1]
            await site.start_agent()
            actions.request_gate_pulse(SYSTEM, gate, "in")
            await site.simulator.wait_for_coil_write(1)
            await site.simulator.pass_through(1, "in")  # someone walks through on the test

            await wait_until(lambda: len(events_at(gate)) == 1, "the passage arrives")
            polls = site.link.polls
            await wait_until(lambda: site.link.polls >= polls + 3, "three more polls")

            [event] = events_at(gate)
            assert (event.reason, event.granted, event.direction, event.pass_record_id) == (
                "test_passage",
                True,
                "in",
                None,
            )

    run(scenario())


# --- The local interfaces -------------------------------------------------------------------


def test_a_reader_that_sends_half_a_line_is_disconnected_and_an_idle_one_is_not(
    committed: LivePlatform, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with running_site(committed, tmp_path) as site:
            await site.start_agent()
            assert site.agent is not None
            port = site.agent.reader.line_port

            idle_reader, idle_writer = await asyncio.open_connection("127.0.0.1", port)
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"12 half a li")
            await writer.drain()
            # Answered and closed (read() returns at the end of the stream).
            answer = await asyncio.wait_for(reader.read(), 10)
            assert answer.startswith(b"ERROR line_timeout")
            writer.close()

            # A reader that has said nothing for longer than that may still scan.
            idle_writer.write(b"hello\n")
            await idle_writer.drain()
            assert (await asyncio.wait_for(idle_reader.readline(), 10)).startswith(
                b"ERROR malformed_line"
            )
            idle_writer.close()

    run(scenario())


def test_health_and_sync_refuse_a_caller_without_the_agents_credentials(
    committed: LivePlatform, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with running_site(committed, tmp_path) as site:
            await site.start_agent()
            assert site.agent is not None
            port = site.agent.reader.http_port
            refused = [
                request("GET", "/health"),
                request("GET", "/health", token="wrong"),
                request("GET", "/health", token=""),
                request("POST", "/sync"),
                request("POST", "/sync", token=HTTP_TOKEN + "x"),
                # The right secret in the wrong scheme.
                request("GET", "/health").replace(
                    b"Host: agent\r\n",
                    f"Host: agent\r\nAuthorization: Basic {HTTP_TOKEN}\r\n".encode(),
                ),
            ]
            for raw in refused:
                status, body = await http(port, raw)
                assert (status, body["code"]) == (401, "unauthorized"), raw[:80]
                assert "controllers" not in body

            for token in (HTTP_TOKEN, site.agent_key):
                status, health = await http(port, request("GET", "/health", token=token))
                assert (status, health["platform_reachable"]) == (200, True)
                status, synced = await http(port, request("POST", "/sync", token=token))
                assert (status, synced) == (200, {"synced": True})

    run(scenario())


def test_the_standalone_agent_takes_its_http_token_from_the_environment() -> None:
    from integrations.modbus.__main__ import parse_arguments

    environment = {"GATE_AGENT_KEY": "abc.def", "GATE_AGENT_HTTP_TOKEN": "local"}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in environment.items():
            patch.setenv(name, value)
        config = parse_arguments(
            [
                "--platform",
                "http://127.0.0.1:8000",
                "--line-timeout",
                "3",
                "--counter-allowance",
                "7",
            ]
        )

    assert (config.http_token, config.line_timeout, config.counter_jump_allowance) == (
        "local",
        3.0,
        7,
    )


# A rolled-back test here also makes pytest-django set up the test database when this module
# runs alone (it does so only for sessions that hold a test marked django_db).


@pytest.mark.django_db
def test_the_platform_takes_a_counter_reset_alert_in_the_buildings_words(in_alpha: object) -> None:
    from django.utils import translation

    from visit_platform.access.actions import ReportedAlert, record_alert

    stored, replayed = record_alert(ReportedAlert(uuid.uuid4(), "counter_reset", timezone.now()))

    with translation.override("zh-hans"):
        assert (stored.get_kind_display(), replayed) == ("闸机计数器已重置", False)
