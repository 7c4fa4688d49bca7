"""Register maps: which coil opens which gate, which registers count passages, which inputs
raise alerts. Maps are data, checked here by the platform's forms and by the agent alike.

Every error names the field it is about (``gates[0].open_coil: must be an integer
0..65535``), so a property admin who pastes a vendor's map learns exactly what to fix.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAX_ADDRESS = 0xFFFF
MAX_GATES_PER_CONTROLLER = 64
MIN_PULSE_MS = 50
MAX_PULSE_MS = 10_000
COUNTER_TABLES = ("input", "holding")
COUNTER_BITS = (16, 32)
WORD_ORDERS = ("high_first", "low_first")
MAPS_DIRECTORY = Path(__file__).resolve().parent / "maps"


class RegisterMapError(ValueError):
    """A map that cannot be used; ``problems`` lists ``(field, message)`` pairs."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{field}: {message}" for field, message in problems))

    @property
    def fields(self) -> list[str]:
        return [field for field, _message in self.problems]


@dataclass(frozen=True)
class Counter:
    """A passage counter: one register (16 bits) or two (32 bits) that count up and wrap."""

    address: int
    bits: int = 16
    table: str = "input"
    word_order: str = "high_first"

    @property
    def registers(self) -> int:
        return self.bits // 16

    @property
    def modulus(self) -> int:
        return 1 << self.bits

    def value(self, registers: list[int]) -> int:
        """The counter's value from the registers read at ``address``."""
        if self.bits == 16:
            return registers[0] & 0xFFFF
        high, low = registers[0], registers[1]
        if self.word_order == "low_first":
            high, low = low, high
        return ((high & 0xFFFF) << 16) | (low & 0xFFFF)

    def registers_for(self, value: int) -> list[int]:
        """The inverse of ``value``, for simulators."""
        value %= self.modulus
        if self.bits == 16:
            return [value]
        words = [value >> 16, value & 0xFFFF]
        return words[::-1] if self.word_order == "low_first" else words

    def step(self, previous: int, current: int) -> int:
        """How far the counter moved forward between two readings, across a wrap-around. A
        counter that was reset (a controller replaced or cleared) shows a step far larger
        than any traffic: the agent bounds what it believes (``controller.COUNTER_JUMP_*``)."""
        return (current - previous) % self.modulus


@dataclass(frozen=True)
class GateMap:
    """One lane of a controller: the coil that opens it and what counts it."""

    lane: int
    open_coil: int
    pulse_ms: int = 500
    exit_coil: int | None = None
    entry_counter: Counter | None = None
    exit_counter: Counter | None = None
    door_forced_input: int | None = None
    alarm_input: int | None = None

    def coil_for(self, direction: str) -> int:
        """The coil to pulse for a passage in ``direction`` ("in" or "out")."""
        if direction == "out" and self.exit_coil is not None:
            return self.exit_coil
        return self.open_coil


@dataclass(frozen=True)
class RegisterMap:
    """What a controller model exposes over Modbus, lane by lane."""

    model: str
    gates: tuple[GateMap, ...]

    def gate(self, lane: int) -> GateMap | None:
        return next((gate for gate in self.gates if gate.lane == lane), None)

    @property
    def lanes(self) -> list[int]:
        return [gate.lane for gate in self.gates]


# --- Validation -----------------------------------------------------------------------------

_GATE_FIELDS = {
    "lane",
    "open_coil",
    "pulse_ms",
    "exit_coil",
    "entry_counter",
    "exit_counter",
    "door_forced_input",
    "alarm_input",
}
_COUNTER_FIELDS = {"address", "bits", "table", "word_order"}


class _Checker:
    def __init__(self) -> None:
        self.problems: list[tuple[str, str]] = []

    def fail(self, field: str, message: str) -> None:
        self.problems.append((field, message))

    def integer(
        self, data: dict[str, Any], key: str, path: str, low: int, high: int, default: Any = ...
    ) -> Any:
        if key not in data or data[key] is None:
            if default is ...:
                self.fail(f"{path}.{key}", "is required")
            return None if default is ... else default
        value = data[key]
        # bool is an int in Python, and "true" for a coil address is surely a mistake.
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.fail(f"{path}.{key}", f"must be an integer {low}..{high}")
            return None
        return value

    def choice(
        self, data: dict[str, Any], key: str, path: str, options: tuple[Any, ...], default: Any
    ) -> Any:
        value = data.get(key, default)
        if value not in options or isinstance(value, bool):
            listed = ", ".join(str(option) for option in options)
            self.fail(f"{path}.{key}", f"must be one of {listed}")
            return None
        return value

    def unknown(self, data: dict[str, Any], allowed: set[str], path: str) -> None:
        for key in sorted(set(data) - allowed, key=str):
            self.fail(f"{path}.{key}", "is not a known field")


def _counter(checker: _Checker, data: Any, path: str) -> Counter | None:
    if data is None:
        return None
    if not isinstance(data, dict):
        checker.fail(path, "must be an object with address, bits, table and word_order")
        return None
    checker.unknown(data, _COUNTER_FIELDS, path)
    bits = checker.choice(data, "bits", path, COUNTER_BITS, 16)
    address = checker.integer(data, "address", path, 0, MAX_ADDRESS - (1 if bits == 32 else 0))
    table = checker.choice(data, "table", path, COUNTER_TABLES, "input")
    word_order = checker.choice(data, "word_order", path, WORD_ORDERS, "high_first")
    if None in (bits, address, table, word_order):
        return None
    return Counter(address=address, bits=bits, table=table, word_order=word_order)


def _gate(checker: _Checker, data: Any, path: str) -> GateMap | None:
    if not isinstance(data, dict):
        checker.fail(path, "must be an object")
        return None
    before = len(checker.problems)
    checker.unknown(data, _GATE_FIELDS, path)
    lane = checker.integer(data, "lane", path, 1, 255)
    open_coil = checker.integer(data, "open_coil", path, 0, MAX_ADDRESS)
    pulse_ms = checker.integer(data, "pulse_ms", path, MIN_PULSE_MS, MAX_PULSE_MS, 500)
    exit_coil = checker.integer(data, "exit_coil", path, 0, MAX_ADDRESS, None)
    entry = _counter(checker, data.get("entry_counter"), f"{path}.entry_counter")
    exit_ = _counter(checker, data.get("exit_counter"), f"{path}.exit_counter")
    door = checker.integer(data, "door_forced_input", path, 0, MAX_ADDRESS, None)
    alarm = checker.integer(data, "alarm_input", path, 0, MAX_ADDRESS, None)
    if len(checker.problems) > before:
        return None
    return GateMap(
        lane=lane,
        open_coil=open_coil,
        pulse_ms=pulse_ms,
        exit_coil=exit_coil,
        entry_counter=entry,
        exit_counter=exit_,
        door_forced_input=door,
        alarm_input=alarm,
    )


def _check_overlaps(checker: _Checker, gates: list[tuple[int, GateMap]]) -> None:
    """Two lanes on one coil would open together; two counters on one register would each
    count the other's passages. Both are mistakes in the map, not in the turnstile."""
    lanes: dict[int, int] = {}
    coils: dict[int, str] = {}
    registers: dict[tuple[str, int], str] = {}
    inputs: dict[int, str] = {}
    for index, gate in gates:
        path = f"gates[{index}]"
        if gate.lane in lanes:
            checker.fail(
                f"{path}.lane", f"lane {gate.lane} is already used by gates[{lanes[gate.lane]}]"
            )
        lanes[gate.lane] = index
        for key, coil in (("open_coil", gate.open_coil), ("exit_coil", gate.exit_coil)):
            if coil is None or (key == "exit_coil" and coil == gate.open_coil):
                continue
            if coil in coils:
                checker.fail(f"{path}.{key}", f"coil {coil} is already used by {coils[coil]}")
            coils[coil] = f"{path}.{key}"
        for key, counter in (
            ("entry_counter", gate.entry_counter),
            ("exit_counter", gate.exit_counter),
        ):
            if counter is None:
                continue
            for offset in range(counter.registers):
                slot = (counter.table, counter.address + offset)
                if slot in registers:
                    checker.fail(
                        f"{path}.{key}.address",
                        f"{counter.table} register {slot[1]} is already used by {registers[slot]}",
                    )
                    break
                registers[slot] = f"{path}.{key}"
        for key, bit in (
            ("door_forced_input", gate.door_forced_input),
            ("alarm_input", gate.alarm_input),
        ):
            if bit is None:
                continue
            if bit in inputs:
                checker.fail(f"{path}.{key}", f"input {bit} is already used by {inputs[bit]}")
            inputs[bit] = f"{path}.{key}"


def parse_register_map(data: Any) -> RegisterMap:
    """Check a map (parsed JSON) and return it as typed data; raises RegisterMapError naming
    every field that is wrong."""
    checker = _Checker()
    if not isinstance(data, dict):
        raise RegisterMapError([("map", "must be a JSON object with model and gates")])
    checker.unknown(data, {"model", "gates", "description"}, "map")
    model = data.get("model", "")
    if not isinstance(model, str) or not 1 <= len(model.strip()) <= 100:
        checker.fail("model", "must be a name of 1..100 characters")
    description = data.get("description", "")
    if not isinstance(description, str):
        checker.fail("description", "must be text")
    raw_gates = data.get("gates")
    gates: list[tuple[int, GateMap]] = []
    if not isinstance(raw_gates, list) or not raw_gates:
        checker.fail("gates", "must be a list of at least one gate")
    elif len(raw_gates) > MAX_GATES_PER_CONTROLLER:
        checker.fail("gates", f"at most {MAX_GATES_PER_CONTROLLER} gates per controller")
    else:
        for index, raw in enumerate(raw_gates):
            gate = _gate(checker, raw, f"gates[{index}]")
            if gate is not None:
                gates.append((index, gate))
        _check_overlaps(checker, gates)
    if checker.problems:
        raise RegisterMapError(checker.problems)
    return RegisterMap(model=str(model).strip(), gates=tuple(gate for _index, gate in gates))


def parse_register_map_text(text: str) -> RegisterMap:
    """The same for JSON text, as pasted into the console."""
    try:
        data = json.loads(text)
    except ValueError as error:
        raise RegisterMapError([("map", f"is not valid JSON: {error}")]) from error
    return parse_register_map(data)


def shipped_map(name: str) -> dict[str, Any]:
    """A map that ships with the project (``maps/<name>.json``), as JSON data."""
    path = MAPS_DIRECTORY / f"{name}.json"
    if not path.is_file() or path.parent != MAPS_DIRECTORY:
        raise KeyError(name)
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    parse_register_map(data)
    return data


GENERIC_TURNSTILE = "generic-turnstile"
