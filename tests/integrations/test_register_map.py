"""Register maps are data: the shipped map is valid, and every malformed map is refused with
a message naming the field, by the same code on the platform and in the agent."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from integrations.modbus.register_map import (
    GENERIC_TURNSTILE,
    MAPS_DIRECTORY,
    Counter,
    RegisterMapError,
    parse_register_map,
    parse_register_map_text,
    shipped_map,
)


def generic() -> dict[str, Any]:
    return copy.deepcopy(shipped_map(GENERIC_TURNSTILE))


def test_the_generic_turnstile_map_has_two_lanes_with_coils_counters_and_alarms() -> None:
    register_map = parse_register_map(generic())

    assert register_map.model == "generic-turnstile"
    assert register_map.lanes == [1, 2]
    lane = register_map.gate(2)
    assert lane is not None
    assert (lane.open_coil, lane.coil_for("in"), lane.coil_for("out"), lane.pulse_ms) == (
        2,
        2,
        3,
        500,
    )
    assert lane.entry_counter == Counter(address=4, bits=32, table="input")
    assert (lane.door_forced_input, lane.alarm_input) == (2, 3)


def broken(change: Any) -> dict[str, Any]:
    data = generic()
    change(data)
    return data


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ([], "map", "must be a JSON object"),
        (broken(lambda m: m.pop("gates")), "gates", "must be a list of at least one gate"),
        (broken(lambda m: m.update(gates=[])), "gates", "must be a list of at least one gate"),
        (broken(lambda m: m.update(model="")), "model", "must be a name of 1..100 characters"),
        (broken(lambda m: m.update(vendor="x")), "map.vendor", "is not a known field"),
        (broken(lambda m: m["gates"].__setitem__(0, "lane 1")), "gates[0]", "must be an object"),
        (
            broken(lambda m: m["gates"][0].update(open_coil=70000)),
            "gates[0].open_coil",
            "must be an integer 0..65535",
        ),
        (
            broken(lambda m: m["gates"][0].update(open_coil="0")),
            "gates[0].open_coil",
            "must be an integer 0..65535",
        ),
        (
            broken(lambda m: m["gates"][0].update(open_coil=True)),
            "gates[0].open_coil",
            "must be an integer 0..65535",
        ),
        (
            broken(lambda m: m["gates"][1].pop("open_coil")),
            "gates[1].open_coil",
            "is required",
        ),
        (
            broken(lambda m: m["gates"][0].update(pulse_ms=10)),
            "gates[0].pulse_ms",
            "must be an integer 50..10000",
        ),
        (
            broken(lambda m: m["gates"][1].update(lane=0)),
            "gates[1].lane",
            "must be an integer 1..255",
        ),
        (
            broken(lambda m: m["gates"][1].update(lane=1)),
            "gates[1].lane",
            "lane 1 is already used by gates[0]",
        ),
        (
            broken(lambda m: m["gates"][1].update(open_coil=1)),
            "gates[1].open_coil",
            "coil 1 is already used by gates[0].exit_coil",
        ),
        (
            broken(lambda m: m["gates"][0]["entry_counter"].update(bits=24)),
            "gates[0].entry_counter.bits",
            "must be one of 16, 32",
        ),
        (
            broken(lambda m: m["gates"][0]["exit_counter"].update(table="coils")),
            "gates[0].exit_counter.table",
            "must be one of input, holding",
        ),
        (
            broken(lambda m: m["gates"][0]["exit_counter"].update(word_order="middle")),
            "gates[0].exit_counter.word_order",
            "must be one of high_first, low_first",
        ),
        (
            broken(lambda m: m["gates"][0]["exit_counter"].update(address=1)),
            "gates[0].exit_counter.address",
            "input register 1 is already used by gates[0].entry_counter",
        ),
        (
            broken(lambda m: m["gates"][0]["entry_counter"].update(address=65535)),
            "gates[0].entry_counter.address",
            "must be an integer 0..65534",
        ),
        (
            broken(lambda m: m["gates"][0].update(entry_counter=5)),
            "gates[0].entry_counter",
            "must be an object",
        ),
        (
            broken(lambda m: m["gates"][0]["entry_counter"].update(offset=2)),
            "gates[0].entry_counter.offset",
            "is not a known field",
        ),
        (
            broken(lambda m: m["gates"][1].update(alarm_input=0)),
            "gates[1].alarm_input",
            "input 0 is already used by gates[0].door_forced_input",
        ),
        (
            broken(lambda m: m["gates"][0].update(door_forced_input=-1)),
            "gates[0].door_forced_input",
            "must be an integer 0..65535",
        ),
    ],
)
def test_a_malformed_map_is_refused_with_a_message_naming_the_field(
    data: Any, field: str, message: str
) -> None:
    with pytest.raises(RegisterMapError) as refused:
        parse_register_map(data)

    assert field in refused.value.fields
    assert f"{field}: {message}" in str(refused.value)


def test_every_problem_of_a_map_is_named_at_once() -> None:
    data = generic()
    data["gates"][0]["open_coil"] = -1
    data["gates"][1]["pulse_ms"] = "long"

    with pytest.raises(RegisterMapError) as refused:
        parse_register_map(data)

    assert refused.value.fields == ["gates[0].open_coil", "gates[1].pulse_ms"]


def test_text_that_is_not_json_is_refused_as_the_map() -> None:
    with pytest.raises(RegisterMapError) as refused:
        parse_register_map_text("{gates: [")

    assert refused.value.fields == ["map"]
    assert "is not valid JSON" in str(refused.value)


def test_a_16_bit_counter_wraps_after_65535() -> None:
    counter = Counter(address=0, bits=16)

    assert counter.step(65534, 1) == 3
    assert counter.step(7, 7) == 0
    assert counter.value([0x1FFFF]) == 0xFFFF


def test_a_counter_that_jumps_back_steps_almost_its_whole_range() -> None:
    counter = Counter(address=0, bits=16)

    # 1000 -> 5 is 64541 steps forward: no turnstile counts that between two polls, so the
    # agent takes it for a reset (tests/integrations/test_fail_secure.py).
    assert counter.step(1000, 5) == 64541
    assert counter.step(65530, 5) == 11  # a wrap is still a wrap


def test_a_32_bit_counter_reads_both_word_orders_and_wraps() -> None:
    high_first = Counter(address=0, bits=32)
    low_first = Counter(address=0, bits=32, word_order="low_first")

    assert high_first.value([0x0001, 0x0002]) == 0x0001_0002
    assert low_first.value([0x0002, 0x0001]) == 0x0001_0002
    assert low_first.registers_for(0x0001_0002) == [0x0002, 0x0001]
    assert high_first.step(2**32 - 1, 0) == 1


@pytest.mark.parametrize(
    "name", sorted(path.stem for path in MAPS_DIRECTORY.glob("*.json")) or ["(none shipped)"]
)
def test_every_shipped_map_is_valid(name: str) -> None:
    data = shipped_map(name)  # validates, or raises naming the field

    assert parse_register_map(data).model == name


def test_only_shipped_maps_can_be_loaded_by_name() -> None:
    with pytest.raises(KeyError):
        shipped_map("../../pyproject")
    with pytest.raises(KeyError):
        shipped_map("no-such-turnstile")
