"""The real gate agent's heartbeats against the real platform (a live server) and a simulated
turnstile (a pymodbus server): the platform learns each controller's link at once when it
changes, and the agent's contact on a schedule; a heartbeat that fails disturbs nothing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from channels.layers import get_channel_layer
from django.db import connection

from integrations.modbus import AGENT_VERSION
from integrations.modbus.agent import GateAgent as Agent
from integrations.modbus.config import AgentConfig, controllers_from_data
from tests.access.conftest import make_pass, slip_token
from tests.integrations.conftest import SLUG, SYSTEM, LivePlatform, running_site, wait_until
from visit_platform.access import actions
from visit_platform.access.models import AccessEvent, Controller, GateAgent
from visit_platform.access.queries import agent_controllers


def run(scenario: Coroutine[Any, Any, None]) -> None:
    """Run a scenario in an event loop, with a fresh database connection in the building
    (as the agent tests do)."""

    async def main() -> None:
        connection.close()
        connection.set_schema(SLUG)
        try:
            await scenario
        finally:
            connection.close()

    asyncio.run(main())


def link_up(controller: Controller) -> bool | None:
    controller.refresh_from_db()
    return controller.link_up


class Screens:
    """A live screen of the building, listening to what the platform publishes."""

    def __init__(self) -> None:
        self.layer = get_channel_layer()
        self.channel = ""

    async def open(self) -> Screens:
        self.channel = await self.layer.new_channel()
        await self.layer.group_add(f"occupancy.{SLUG}", self.channel)
        return self

    async def close(self) -> None:
        await self.layer.group_discard(f"occupancy.{SLUG}", self.channel)

    async def gate_health(self, matches: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """The next ``gate_health`` payload that ``matches`` (other tests' and other kinds
        of messages are passed over)."""
        deadline = time.monotonic() + 15
        while True:
            remaining = deadline - time.monotonic()
            assert remaining > 0, "no matching gate_health message"
            message = await asyncio.wait_for(self.layer.receive(self.channel), remaining)
            messages = message["messages"] if message["type"] == "live.batch" else [message]
            for item in messages:
                payload = item["payload"]
                if payload["type"] == "gate_health" and matches(payload):
                    return payload


def test_the_agent_reports_a_controller_that_drops_and_comes_back_at_once(
    committed: LivePlatform, tmp_path: Path
) -> None:
    async def scenario() -> None:
        screens = await Screens().open()
        try:
            async with running_site(committed, tmp_path) as site:
                # No scheduled heartbeat during the test: what arrives came with a change.
                site.config_overrides = {"heartbeat_interval": 600.0}
                controller = site.controller

                def ours(payload: dict[str, Any]) -> bool:
                    return bool(payload["agent_id"] == controller.agent_id)

                await site.start_agent()
                await wait_until(lambda: link_up(controller) is True, "the platform hears: up")
                agent = GateAgent.objects.get(pk=controller.agent_id)
                assert (agent.version, agent.journal_depth) == (AGENT_VERSION, 0)
                assert agent.started_at is not None

                await site.simulator.stop()
                await wait_until(lambda: link_up(controller) is False, "the platform hears: down")
                controller.refresh_from_db()
                assert controller.last_error  # why, in the agent's words
                down = await screens.gate_health(
                    lambda payload: ours(payload) and not payload["controllers"][0]["online"]
                )
                assert down == {
                    "type": "gate_health",
                    "agent_id": agent.pk,
                    "agent": agent.name,
                    "online": True,
                    "controllers": [
                        {
                            "id": controller.pk,
                            "name": controller.name,
                            "online": False,
                            "gate_ids": sorted(gate.pk for gate in site.gates.values()),
                        }
                    ],
                }

                await site.simulator.start()
                await wait_until(lambda: link_up(controller) is True, "the platform hears: up")
                await screens.gate_health(
                    lambda payload: ours(payload) and payload["controllers"][0]["online"]
                )
        finally:
            await screens.close()

    run(scenario())


def test_the_agent_sends_a_heartbeat_on_schedule_without_any_change(
    committed: LivePlatform, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with running_site(committed, tmp_path) as site:
            site.config_overrides = {"heartbeat_interval": 0.2}
            await site.start_agent()
            agent = GateAgent.objects.get(pk=site.controller.agent_id)

            def last_seen() -> Any:
                agent.refresh_from_db()
                return agent.last_seen_at

            await wait_until(lambda: last_seen() is not None, "a first contact")
            # Other calls count as contact at most every 15 s: only heartbeats move it on.
            for _ in range(2):
                seen = last_seen()
                await wait_until(lambda seen=seen: last_seen() > seen, "the next heartbeat")

    run(scenario())


def test_a_refused_heartbeat_leaves_scans_online(committed: LivePlatform, tmp_path: Path) -> None:
    """The platform gave the controller to another agent: this agent's heartbeats are
    refused (it asks for its configuration again), and its scans are still decided online."""
    pass_record = make_pass()

    async def scenario() -> None:
        async with running_site(committed, tmp_path) as site:
            own_agent = GateAgent.objects.get(pk=site.controller.agent_id)
            # Started with its controllers given, like ``manage.py gate_agent``.
            site.config_overrides = {
                "controllers": controllers_from_data(agent_controllers(own_agent)),
                "heartbeat_interval": 0.2,
            }
            other, _key = actions.create_gate_agent(SYSTEM, name="another agent")
            Controller.objects.filter(pk=site.controller.pk).update(agent=other)
            await site.start_agent()
            assert site.agent is not None
            refused = await site.agent.send_heartbeat()

            answer = await site.scan(site.gates[1], slip_token(pass_record))

            assert refused is False
            assert answer.startswith("GRANT granted")
            assert link_up(site.controller) is None  # nothing recorded for another's controller

    run(scenario())
    [event] = AccessEvent.objects.filter(pass_record=pass_record)
    assert (event.granted, event.mode) == (True, "online")


def test_a_heartbeat_to_a_platform_that_never_answers_gives_up_quietly(tmp_path: Path) -> None:
    """A platform that accepts the connection and never answers: the heartbeat ends after
    its timeout, without raising, and without sending scans offline."""

    async def scenario() -> None:
        async def black_hole(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read()  # until the agent gives up and closes

        server = await asyncio.start_server(black_hole, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        agent = Agent(
            AgentConfig(
                platform_url=f"http://127.0.0.1:{port}",
                agent_key="abcdefgh.secret",
                journal_path=tmp_path / "journal.db",
                controllers=[],
                heartbeat_timeout=0.2,
            )
        )
        try:
            delivered = await asyncio.wait_for(agent.send_heartbeat(), 10)
            assert delivered is False
            assert agent.platform_reachable is False
            assert agent._offline_until == 0.0  # scans still ask the platform first
        finally:
            agent.platform.close()
            agent.journal.close()
            server.close()
            await server.wait_closed()

    asyncio.run(scenario())
