"""One Modbus/TCP controller: its connection (kept up with backoff), gate pulses, counter
polling (entries and exits, across wrap-around and restarts) and alert inputs.

It fails secure: every coil of the map is switched off on each connection (so also when the
agent starts) and when the link closes, and each coil set is noted in the journal before it
is set, so that a crash mid-pulse is repaired when the agent connects again.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException

from integrations.modbus.config import (
    COUNTER_JUMP_ALLOWANCE,
    COUNTER_MAX_RATE,
    ControllerConfig,
)
from integrations.modbus.journal import Journal
from integrations.modbus.register_map import Counter, GateMap

logger = logging.getLogger(__name__)

# A granted scan expects the turnstile to count one passage soon after the gate opens; that
# count is the scan's own passage, not an anonymous one. A visitor who does not walk through
# within this time (after the pulse) leaves the credit unused.
CREDIT_SECONDS = 15.0
ALERT_KINDS = ("door_forced", "alarm")
COUNTER_RESET = "counter_reset"
# Switching the coils off when the link closes must not hold a stopping agent for long.
CLOSE_TIMEOUT = 2.0


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
        counter_allowance: int = COUNTER_JUMP_ALLOWANCE,
        counter_rate: float = COUNTER_MAX_RATE,
        on_link_change: Callable[[], None] | None = None,
    ) -> None:
        self.config = config
        self.journal = journal
        self.timeout = timeout
        self.reconnect_initial = reconnect_initial
        self.reconnect_max = reconnect_max
        self.on_events = on_events or (lambda: None)
        self.on_link_change = on_link_change or (lambda: None)
        self.counter_allowance = counter_allowance
        self.counter_rate = counter_rate
        self._connected = False
        # Whether a connection has been tried yet: until then the link is neither up nor down.
        self.attempted = False
        # When the link entered its present state (time.monotonic()), for the heartbeat.
        self.link_changed_at = time.monotonic()
        self.connects = 0
        self.polls = 0
        self.last_error = ""
        self._client: AsyncModbusTcpClient | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        # When each counter was last read (time.time()), to bound what a step may be.
        self._read_at: dict[tuple[int, str], float] = {}

    # --- connection -------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._connected

    @connected.setter
    def connected(self, value: bool) -> None:
        if value != self._connected:
            self._connected = value
            self.link_changed_at = time.monotonic()
            self.on_link_change()

    def link_state_seconds(self) -> float:
        """For how long the link has been up (or down)."""
        return max(0.0, time.monotonic() - self.link_changed_at)

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
                # Whatever a lost connection or a crashed agent left on goes off before the
                # link counts as connected (and before any scan can pulse).
                await self._switch_off_every_coil(client)
                self.attempted = True
                self.connected = True
                self.connects += 1
                delay = self.reconnect_initial
                logger.info("controller %s connected", self.config.name)
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
            if not self.attempted:  # the first try failed: the link is known to be down
                self.attempted = True
                self.link_changed_at = time.monotonic()
                self.on_link_change()
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.reconnect_max)

    async def close(self) -> None:
        """Stop pulsing and switch every coil off (the agent is stopping). A coil that cannot
        be switched off now stays in the journal and goes off on the next connection."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        client = self._client
        if client is None or not self.connected:
            return
        self.journal.touch_counters(self.config.id, time.time())
        try:
            await asyncio.wait_for(self._switch_off_every_coil(client), CLOSE_TIMEOUT)
        except Exception as error:
            logger.warning("controller %s: coils not switched off: %s", self.config.name, error)

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

    async def pulse(self, lane: int, direction: str, kind: str = "scan") -> None:
        """Open the gate: set its coil now, release it after the map's pulse length.

        Before the coil is set, the journal notes that it must be switched off and that the
        passage it lets through is accounted for: by the scan (``kind`` "scan", recorded
        with the scan) or as a test passage ("test", the console's test pulse). Returns once
        the coil is set, so the reader hears the answer without waiting for the pulse to end.
        """
        gate = self.gate_map(lane)
        coil = gate.coil_for(direction)
        client = self._require_client()
        now, length = time.time(), gate.pulse_ms / 1000
        expires = now + length + CREDIT_SECONDS
        credit = self.journal.raise_coil(
            self.config.id, coil, now + length, (lane, direction, kind, expires)
        )
        try:
            await self._write_coil(coil, True, client)
        except Exception:
            # Not opened, so nobody walks through on it; the coil's row stays, to be switched
            # off on the next connection in case the write did arrive.
            self.journal.remove_credit(credit)
            raise
        task = asyncio.create_task(self._release(coil, length))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _release(self, coil: int, after: float) -> None:
        await asyncio.sleep(after)
        try:
            await self._write_coil(coil, False)
            self.journal.released(self.config.id, [coil])
        except Exception as error:
            # Switched off on the next connection (see _switch_off_every_coil).
            logger.warning("could not release coil %s: %s", coil, error)

    def coils(self) -> list[int]:
        """Every coil of the map."""
        return sorted(
            {
                coil
                for gate in self.config.register_map.gates
                for coil in (gate.open_coil, gate.exit_coil)
                if coil is not None
            }
        )

    async def _switch_off_every_coil(self, client: AsyncModbusTcpClient) -> None:
        """Every coil of the map off, and any coil the journal says was left on (a map may
        have changed since)."""
        left_on = self.journal.pending_releases(self.config.id)
        pending = {coil for _controller, coil, _due in left_on}
        coils = sorted(set(self.coils()) | pending)
        for coil in coils:
            await self._write_coil(coil, False, client)
        self.journal.released(self.config.id, coils)
        if pending and not self.connected:  # on connecting: something was left on
            logger.warning(
                "controller %s: switched off coils %s left on", self.config.name, sorted(pending)
            )

    async def _write_coil(
        self, address: int, value: bool, client: AsyncModbusTcpClient | None = None
    ) -> None:
        client = client or self._require_client()
        try:
            response = await client.write_coil(address, value, device_id=self.config.device_id)
        except ModbusException as error:
            raise ControllerUnavailableError(str(error)) from error
        if response.isError():
            raise ControllerUnavailableError(f"coil {address} refused: {response}")

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
        baseline: what a counter showed before the agent knew it is not ours to count. A step
        larger than the turnstile could have counted since the last reading is a reset: a
        new baseline and an alert, not passages."""
        key, now = (gate.lane, direction), time.time()
        reading = self.journal.counter_reading(self.config.id, gate.lane, direction)
        last_read = self._read_at.get(key, reading[1] if reading else None)
        self._read_at[key] = now
        if reading is None:
            self.journal.advance_counter(self.config.id, gate.lane, direction, value)
            return False
        previous = reading[0]
        if previous == value:
            return False
        step = counter.step(previous, value)
        elapsed = max(now - last_read, 0.0) if last_read is not None else 0.0
        binding = self.config.binding(gate.lane)
        if step > self.counter_allowance + self.counter_rate * elapsed:
            logger.warning(
                "controller %s lane %s %s: counter went from %s to %s; taken as a reset",
                self.config.name,
                gate.lane,
                direction,
                previous,
                value,
            )
            alert = self._alert(COUNTER_RESET, binding.gate_id if binding else None, now)
            self.journal.advance_counter(self.config.id, gate.lane, direction, value, alert=alert)
            return True

        def passage(reason: str) -> dict[str, Any]:
            assert binding is not None
            return {
                "event_id": str(uuid.uuid4()),
                "gate_id": binding.gate_id,
                "direction": direction,
                "occurred_at": iso_time(now),
                "granted": True,
                "reason": reason,
                "mode": "offline",
            }

        events = self.journal.advance_counter(
            self.config.id,
            gate.lane,
            direction,
            value,
            increments=step,
            event_for=passage if binding is not None else None,
        )
        return bool(events)

    def _alert(self, kind: str, gate_id: int | None, at: float) -> dict[str, Any]:
        return {
            "event_id": str(uuid.uuid4()),
            "kind": kind,
            "controller_id": self.config.id,
            "gate_id": gate_id,
            "occurred_at": iso_time(at),
        }

    def _input(self, gate: GateMap, kind: str, address: int, value: bool) -> bool:
        """An alert when an input goes on (or is on when first seen); stored so that a
        restart does not report the same alarm twice."""
        previous = self.journal.input_state(self.config.id, address)
        if previous == value:
            return False
        alert = None
        if value:
            binding = self.config.binding(gate.lane)
            alert = self._alert(kind, binding.gate_id if binding else None, time.time())
        self.journal.set_input_state(self.config.id, address, value, alert)
        return alert is not None
