"""A simulated turnstile controller: a real pymodbus server laid out by a register map.

Used by the tests, the benchmark and the demo. It records every coil write with its time,
counts passages the way the real hardware does (a counter register that wraps), and can walk
a person through the gate whenever the gate is opened, like a visitor who does not dawdle.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from integrations.modbus.register_map import Counter, RegisterMap

WRITE_COIL_CODES = (5, 15)
READ_COILS, READ_DISCRETE_INPUTS, READ_HOLDING, READ_INPUT = 1, 2, 3, 4


@dataclass(frozen=True)
class CoilWrite:
    at: float  # time.monotonic()
    address: int
    value: bool


def _block_size(addresses: list[int]) -> int:
    # Whole 16-bit registers for bit tables, and room for every mapped address.
    return ((max(addresses, default=0) // 16) + 1) * 16


class TurnstileSimulator:
    """A Modbus/TCP server with the coils, inputs and counters of ``register_map``."""

    def __init__(
        self,
        register_map: RegisterMap,
        *,
        device_id: int = 1,
        host: str = "127.0.0.1",
        port: int = 0,
        walk_through: bool = False,
    ) -> None:
        self.register_map = register_map
        self.device_id = device_id
        self.host = host
        self.port = port
        self.walk_through = walk_through
        self.coil_writes: list[CoilWrite] = []
        self.values: dict[tuple[str, int], int] = {}  # counters survive a restart
        self._server: ModbusTcpServer | None = None
        self._changed = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()

    def _device(self) -> SimDevice:
        coils, inputs = [], []
        registers: dict[str, list[int]] = {"input": [], "holding": []}
        for gate in self.register_map.gates:
            coils += [gate.open_coil] + ([gate.exit_coil] if gate.exit_coil is not None else [])
            inputs += [bit for bit in (gate.door_forced_input, gate.alarm_input) if bit is not None]
            for counter in (gate.entry_counter, gate.exit_counter):
                if counter is not None:
                    registers[counter.table] += [counter.address, counter.address + 1]
        bits = DataType.BITS
        words = DataType.REGISTERS
        return SimDevice(
            id=self.device_id,
            simdata=(
                [SimData(0, count=_block_size(coils) // 16, values=0, datatype=bits)],
                [SimData(0, count=_block_size(inputs) // 16, values=0, datatype=bits)],
                [SimData(0, count=_block_size(registers["holding"]), values=0, datatype=words)],
                [SimData(0, count=_block_size(registers["input"]), values=0, datatype=words)],
            ),
            action=self._on_request,
        )

    async def _on_request(
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        values: list[int] | list[bool] | None,
    ) -> None:
        if function_code in WRITE_COIL_CODES and values is not None:
            now = time.monotonic()
            for offset, value in enumerate(values):
                self.coil_writes.append(CoilWrite(now, address + offset, bool(value)))
                if value and self.walk_through:
                    self._walk_through_later(address + offset)
            self._changed.set()
        return None

    def _walk_through_later(self, coil: int) -> None:
        for gate in self.register_map.gates:
            for direction, gate_coil in (("in", gate.open_coil), ("out", gate.coil_for("out"))):
                if gate_coil == coil:
                    task = asyncio.create_task(self._walk(gate.lane, direction, gate.pulse_ms))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
                    return

    async def _walk(self, lane: int, direction: str, pulse_ms: int) -> None:
        await asyncio.sleep(pulse_ms / 2000)
        await self.pass_through(lane, direction)

    async def start(self) -> None:
        server = ModbusTcpServer(self._device(), address=(self.host, self.port))
        await server.serve_forever(background=True)
        self._server = server
        self.port = server.transport.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        for (table, address), value in self.values.items():
            await self._set_registers(table, address, [value])

    async def stop(self) -> None:
        """Drop the server and every connection to it, as a power cut would."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.shutdown()
            self._server = None

    @property
    def is_running(self) -> bool:
        return self._server is not None

    # --- the hardware side ------------------------------------------------------------------

    def _counter(self, lane: int, direction: str) -> Counter:
        gate = self.register_map.gate(lane)
        counter = (
            None
            if gate is None
            else (gate.entry_counter if direction == "in" else gate.exit_counter)
        )
        if counter is None:
            raise KeyError(f"lane {lane} has no {direction} counter")
        return counter

    def counter_value(self, lane: int, direction: str) -> int:
        counter = self._counter(lane, direction)
        words = [
            self.values.get((counter.table, counter.address + offset), 0)
            for offset in range(counter.registers)
        ]
        return counter.value(words)

    async def set_counter(self, lane: int, direction: str, value: int) -> None:
        """Set a counter as the controller would show it (the agent sees it on its next poll),
        also while the server is down: a controller keeps counting without its network."""
        counter = self._counter(lane, direction)
        words = counter.registers_for(value)
        for offset, word in enumerate(words):
            self.values[(counter.table, counter.address + offset)] = word
        if self._server is not None:
            await self._set_registers(counter.table, counter.address, words)

    async def pass_through(self, lane: int, direction: str, people: int = 1) -> None:
        await self.set_counter(lane, direction, self.counter_value(lane, direction) + people)

    async def _set_registers(self, table: str, address: int, words: list[int]) -> None:
        assert self._server is not None
        code = READ_INPUT if table == "input" else READ_HOLDING
        await self._server.async_setValues(self.device_id, code, address, words)

    async def set_input(self, address: int, value: bool) -> None:
        assert self._server is not None
        await self._server.async_setValues(self.device_id, READ_DISCRETE_INPUTS, address, [value])

    async def coil(self, address: int) -> bool:
        assert self._server is not None
        values = await self._server.async_getValues(self.device_id, READ_COILS, address, 1)
        return bool(values[0])

    async def wait_for_coil_write(self, count: int, timeout: float = 10.0) -> list[CoilWrite]:
        """Wait until at least ``count`` coil writes were seen; returns them all."""
        deadline = time.monotonic() + timeout
        while len(self.coil_writes) < count:
            self._changed.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"saw {len(self.coil_writes)} coil writes, not {count}")
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                continue
        return list(self.coil_writes)
