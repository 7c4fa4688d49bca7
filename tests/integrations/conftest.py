"""The gate agent against the real platform and a simulated turnstile.

The platform runs in a live server thread, which sees only committed rows, so these tests
work in a committed building of their own ("gates"), dropped when the test session ends
(once: the platform keeps a building's keys in process caches, so it must not come back
with new ones under the same name between modules); they never touch the rolled-back alpha
and beta. The turnstile is a real pymodbus server on 127.0.0.1
(``integrations.modbus.simulator``). "The platform is unreachable" is a real relay between
agent and platform that the test stops and starts again.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test.testcases import LiveServerThread
from django_tenants.utils import schema_context

from integrations.modbus.agent import GateAgent
from integrations.modbus.config import AgentConfig
from integrations.modbus.register_map import GENERIC_TURNSTILE, parse_register_map, shipped_map
from integrations.modbus.simulator import TurnstileSimulator
from tenants.actions import building_domain, create_building
from tenants.models import Building
from tests.conftest import end_other_database_sessions
from visit_platform.access import actions
from visit_platform.access.models import Controller, Gate
from visit_platform.audit.actions import Actor

SLUG = "gates"
HTTP_TOKEN = "local-http-token"
SYSTEM = Actor.system("tests")


@dataclass
class LivePlatform:
    building: Building
    port: int
    host: str  # the building's domain: the platform routes by the Host header


@pytest.fixture(scope="session")
def live_platform(django_db_setup: None, django_db_blocker: Any) -> Iterator[LivePlatform]:
    with django_db_blocker.unblock():
        result = create_building(
            slug=SLUG, name="闸机测试大厦", admin_email=f"admin@{SLUG}.example"
        )
        server = LiveServerThread("127.0.0.1", _plain_handler, port=0)
        server.daemon = True
        server.start()
        server.is_ready.wait()
        if server.error:
            raise server.error
        try:
            yield LivePlatform(result.building, server.port, building_domain(SLUG))
        finally:
            server.terminate()
            connection.set_schema_to_public()
            result.building.delete(force_drop=True)
            # Sessions the server's threads opened would keep the test database from being
            # dropped at the end of the run; the pool goes too, so that no later module is
            # handed one of the ended sessions.
            end_other_database_sessions()


def _plain_handler(application: Any) -> Any:
    return application


@pytest.fixture
def committed(
    live_platform: LivePlatform, django_db_blocker: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[LivePlatform]:
    """Work in the "gates" building with every write committed (the live server must see
    it), also from inside the test's event loop."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with django_db_blocker.unblock(), schema_context(SLUG):
        yield live_platform
    connection.set_schema_to_public()


class Relay:
    """A TCP relay between the agent and the platform that can be cut and restored, on the
    same port: the platform "goes away" for real, not through a mock."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        # Seconds each request waits before it goes on to the platform: a slow platform.
        self.delay = 0.0
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._pipes):
                writer.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await self._server.wait_closed()
            self._server = None

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(
                "127.0.0.1", self.target_port
            )
        except OSError:
            writer.close()
            return
        self._pipes |= {writer, upstream_writer}
        tasks = [
            asyncio.create_task(self._pipe(reader, upstream_writer, slow=True)),
            asyncio.create_task(self._pipe(upstream_reader, writer)),
        ]
        self._tasks.update(tasks)
        for task in tasks:
            task.add_done_callback(self._tasks.discard)

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, slow: bool = False
    ) -> None:
        try:
            while data := await reader.read(65536):
                if slow and self.delay:
                    await asyncio.sleep(self.delay)
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._pipes.discard(writer)
            writer.close()


@dataclass
class Site:
    """A building's gate installation: a turnstile (simulated), its controller and gates on
    the platform, and an agent, reached through a relay."""

    platform: LivePlatform
    simulator: TurnstileSimulator
    relay: Relay
    controller: Controller
    gates: dict[int, Gate]  # by lane
    agent_key: str
    journal: Path
    agent: GateAgent | None = None
    extra_agents: list[GateAgent] = field(default_factory=list)
    # AgentConfig fields a test sets otherwise (say, a heartbeat interval).
    config_overrides: dict[str, Any] = field(default_factory=dict)

    def agent_config(self) -> AgentConfig:
        return dataclasses.replace(self._agent_config(), **self.config_overrides)

    def _agent_config(self) -> AgentConfig:
        return AgentConfig(
            platform_url=f"http://127.0.0.1:{self.relay.port}",
            platform_host=self.platform.host,
            agent_key=self.agent_key,
            journal_path=self.journal,
            reader_port=0,
            http_port=0,
            scan_timeout=2.0,
            sync_interval=0.5,
            upload_interval=0.2,
            command_interval=0.2,
            offline_hold=0.3,
            reconnect_initial=0.05,
            reconnect_max=0.3,
            http_token=HTTP_TOKEN,
            line_timeout=1.0,
        )

    async def start_agent(self, *, keep_writes: bool = False) -> GateAgent:
        """Start the agent and wait until it drives the controller. On connecting it switches
        every coil off (fail secure); unless ``keep_writes``, those writes are forgotten so
        that a test sees only the coil writes its own scans cause."""
        self.agent = GateAgent(self.agent_config())
        await self.agent.start()
        await wait_until(lambda: self.link.connected, "the agent connects to the controller")
        if not keep_writes:
            self.simulator.coil_writes.clear()
        return self.agent

    async def stop_agent(self) -> None:
        if self.agent is not None:
            await self.agent.stop()
            self.agent = None

    @property
    def link(self) -> Any:
        assert self.agent is not None
        return self.agent.links[self.controller.pk]

    async def send_lines(self, *lines: bytes) -> list[str]:
        """Send reader lines on one connection; returns the answers (one per line)."""
        assert self.agent is not None
        reader, writer = await asyncio.open_connection("127.0.0.1", self.agent.reader.line_port)
        answers = []
        try:
            for line in lines:
                writer.write(line)
                await writer.drain()
                answer = await asyncio.wait_for(reader.readline(), 10)
                answers.append(answer.decode().rstrip("\n"))
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
        return answers

    async def scan(self, gate: Gate, token: str, direction: str | None = None) -> str:
        gate_part = f"{gate.pk}:{direction}" if direction else str(gate.pk)
        return (await self.send_lines(f"{gate_part} {token}\n".encode()))[0]


async def wait_until(
    condition: Callable[[], Any] | Callable[[], Awaitable[Any]], what: str, timeout: float = 15
) -> Any:
    """Poll ``condition`` until it is truthy; fail the test with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def running_site(
    platform: LivePlatform, tmp_path: Path, *, register_map: dict[str, Any] | None = None
) -> AsyncIterator[Site]:
    """Simulator, controller, two gates (lane 1 both ways, lane 2 exit only), an agent."""
    data = register_map or shipped_map(GENERIC_TURNSTILE)
    simulator = TurnstileSimulator(parse_register_map(data))
    await simulator.start()
    relay = Relay(platform.port)
    await relay.start()
    agent_record, key = actions.create_gate_agent(SYSTEM, name=f"agent {simulator.port}")
    controller = actions.save_controller(
        SYSTEM,
        actions.ControllerFields(
            name=f"turnstile {simulator.port}",
            host="127.0.0.1",
            port=simulator.port,
            poll_interval_ms=50,
            register_map=data,
            # Only this site's agent drives it, whatever other tests leave in the building.
            agent=agent_record,
        ),
    )
    gates = {}
    for lane, direction in ((1, "both"), (2, "out")):
        gate = actions.create_gate(
            SYSTEM, name=f"lane {lane} · {simulator.port}", direction=direction
        )
        gates[lane] = actions.wire_gate(SYSTEM, gate, controller, lane)
    site = Site(platform, simulator, relay, controller, gates, key, tmp_path / "journal.db")
    try:
        yield site
    finally:
        await site.stop_agent()
        await relay.stop()
        await simulator.stop()
        # Other sites in this building must not drive this controller.
        Controller.objects.filter(pk=controller.pk).update(is_active=False)
