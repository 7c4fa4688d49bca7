"""One Modbus/TCP controller: its connection (kept up with backoff), gate pulses, counter
polling (entries and exits, across wrap-around and restarts) and alert inputs."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException

from integrations.modbus.config import ControllerConfig
from integrations.modbus.journal import Journal
from integrations.modbus.register_map import Counter, GateMap

logger = logging.getLogger(__name__)

# A granted scan expects the turnstile to count one passage soon after the gate opens; that
# count is the scan's own passage, not an anonymous one. A visitor who does not walk through
# within this time (after the pulse) leaves the credit unused.
CREDIT_SECONDS = 15.0
ALERT_KINDS = ("door_forced", "alarm")


class ControllerUnavailableError(Exception):
    """The controller is not connected, or refused the write."""


def iso_time(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat()


class ControllerLink:
    """Keeps one connection to one controller and does everything the agent asks of it."""

    def __init__(
        self,
        config: ControllerConfig,
        journal: Journal,
        *,
        timeout: float = 1.0,
        reconnect_initial: float = 0.2,
        reconnect_max: float = 10.0,
        on_events: Callable[[], None] | None = None,
    ) -> None:
        self.config = config
        self.journal = journal
        self.timeout = timeout
        self.reconnect_initial = reconnect_initial
        self.reconnect_max = reconnect_max
        self.on_events = on_events or (lambda: None)
        self.connected = False
        self.connects = 0
        self.polls = 0
        self.last_error = ""
        self._client: AsyncModbusTcpClient | None = None
        self._credits: dict[tuple[int, str], deque[float]] = {}
        # Coils set but not yet released: cleared on reconnect, so a connection lost in the
        # middle of a pulse does not leave a gate standing open.
        self._raised: set[int] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    # --- connection -------------------------------------------------------------------------

    async def run(self) -> None:
        """Connect, poll, and reconnect with exponential backoff, until cancelled."""
        delay = self.reconnect_initial
        while True:
            client = AsyncModbusTcpClient(
                self.config.host,
                port=self.config.port,
                timeout=self.timeout,
                retries=0,
                # Reconnection is ours (with our backoff and our state), not pymodbus's.
                reconnect_delay=0,
            )
            try:
                if not await client.connect():
                    raise ControllerUnavailableError("connection refused")
                self._client = client
                self.connected = True
                self.connects += 1
                delay = self.reconnect_initial
                logger.info("controller %s connected", self.config.name)
                await self._release_raised_coils()
                while True:
                    await self.poll_once()
                    await asyncio.sleep(self.config.poll_interval_ms / 1000)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # any failure means: drop the link and start again
                self.last_error = f"{type(error).__name__}: {error}"
                if self.connected:
                    logger.warning("controller %s lost: %s", self.config.name, self.last_error)
            finally:
                self.connected = False
                self._client = None
                client.close()
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.reconnect_max)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _require_client(self) -> AsyncModbusTcpClient:
        if self._client is None or not self.connected:
            raise ControllerUnavailableError(f"controller {self.config.name} is not connected")
        return self._client

    # --- gates ------------------------------------------------------------------------------

    def gate_map(self, lane: int) -> GateMap:
        gate = self.config.register_map.gate(lane)
        if gate is None:
            raise ControllerUnavailableError(f"lane {lane} is not in the register map")
        return gate

    async def pulse(self, lane: int, direction: str) -> None:
        """Open the gate: set its coil now, release it after the map's pulse length.

        Returns once the coil is set, so the reader hears the answer without waiting for
        the pulse to end.
        """
        gate = self.gate_map(lane)
        coil = gate.coil_for(direction)
        await self._write_coil(coil, True)
        self._raised.add(coil)
        self.credit(lane, direction, gate.pulse_ms / 1000 + CREDIT_SECONDS)
        task = asyncio.create_task(self._release(coil, gate.pulse_ms / 1000))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _release(self, coil: int, after: float) -> None:
        await asyncio.sleep(after)
        try:
            await self._write_coil(coil, False)
            self._raised.discard(coil)
        except Exception as error:
            # Released on reconnect (see _release_raised_coils).
            logger.warning("could not release coil %s: %s", coil, error)

    async def _release_raised_coils(self) -> None:
        for coil in sorted(self._raised):
            await self._write_coil(coil, False)
            self._raised.discard(coil)

    async def _write_coil(self, address: int, value: bool) -> None:
        client = self._require_client()
        try:
            response = await client.write_coil(address, value, device_id=self.config.device_id)
        except ModbusException as error:
            raise ControllerUnavailableError(str(error)) from error
        if response.isError():
            raise ControllerUnavailableError(f"coil {address} refused: {response}")

    def credit(self, lane: int, direction: str, seconds: float) -> None:
        """Expect one passage on this lane soon: it belongs to a scan already recorded."""
        self._credits.setdefault((lane, direction), deque()).append(time.monotonic() + seconds)

    def _use_credits(self, lane: int, direction: str, increments: int) -> int:
        credits = self._credits.get((lane, direction))
        if not credits:
            return 0
        now = time.monotonic()
        while credits and credits[0] < now:
            credits.popleft()
        used = min(len(credits), increments)
        for _ in range(used):
            credits.popleft()
        return used

    # --- polling ----------------------------------------------------------------------------

    async def poll_once(self) -> None:
        """Read every counter and alert input once and journal what changed."""
        produced = False
        for gate in self.config.register_map.gates:
            for direction, counter in (("in", gate.entry_counter), ("out", gate.exit_counter)):
                if counter is not None:
                    value = counter.value(await self._read_registers(counter))
                    produced |= self._counted(gate, direction, counter, value)
            for kind, address in zip(
                ALERT_KINDS, (gate.door_forced_input, gate.alarm_input), strict=True
            ):
                if address is not None:
                    produced |= self._input(gate, kind, address, await self._read_input(address))
        self.polls += 1
        if produced:
            self.on_events()

    async def _read_registers(self, counter: Counter) -> list[int]:
        client = self._require_client()
        read = (
            client.read_input_registers
            if counter.table == "input"
            else client.read_holding_registers
        )
        response = await read(
            counter.address, count=counter.registers, device_id=self.config.device_id
        )
        if response.isError():
            raise ControllerUnavailableError(f"register {counter.address} refused: {response}")
        return list(response.registers)

    async def _read_input(self, address: int) -> bool:
        client = self._require_client()
        response = await client.read_discrete_inputs(
            address, count=1, device_id=self.config.device_id
        )
        if response.isError():
            raise ControllerUnavailableError(f"input {address} refused: {response}")
        return bool(response.bits[0])

    def _counted(self, gate: GateMap, direction: str, counter: Counter, value: int) -> bool:
        """Turn a counter reading into passages. The first reading ever only sets the
        baseline: what a counter showed before the agent knew it is not ours to count."""
        previous = self.journal.counter(self.config.id, gate.lane, direction)
        if previous == value:
            return False
        increments = 0 if previous is None else counter.increments(previous, value)
        anonymous = increments - self._use_credits(gate.lane, direction, increments)
        binding = self.config.binding(gate.lane)
        events: list[dict[str, Any]] = []
        if binding is not None and anonymous > 0:
            occurred_at = iso_time(time.time())
            events = [
                {
                    "event_id": str(uuid.uuid4()),
                    "gate_id": binding.gate_id,
                    "direction": direction,
                    "occurred_at": occurred_at,
                    "granted": True,
                    "reason": "passage",
                    "mode": "offline",
                }
                for _ in range(anonymous)
            ]
        self.journal.advance_counter(self.config.id, gate.lane, direction, value, events)
        return bool(events)

    def _input(self, gate: GateMap, kind: str, address: int, value: bool) -> bool:
        """An alert when an input goes on (or is on when first seen); stored so that a
        restart does not report the same alarm twice."""
        previous = self.journal.input_state(self.config.id, address)
        if previous == value:
            return False
        alert = None
        if value:
            binding = self.config.binding(gate.lane)
            alert = {
                "event_id": str(uuid.uuid4()),
                "kind": kind,
                "controller_id": self.config.id,
                "gate_id": binding.gate_id if binding else None,
                "occurred_at": iso_time(time.time()),
            }
        self.journal.set_input_state(self.config.id, address, value, alert)
        return alert is not None
