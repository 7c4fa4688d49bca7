"""A gate checks its zone only when the console says so: naming the lobby's zone for the
screens must not lock out every pass limited to a company's floors."""

from __future__ import annotations

import pytest

from integrations.modbus.config import controllers_from_data
from integrations.modbus.register_map import GENERIC_TURNSTILE, shipped_map
from kernel.errors import DomainError
from tests.access.conftest import SYSTEM, make_gate
from visit_platform.access.actions import (
    ControllerFields,
    GateFields,
    create_gate_agent,
    save_controller,
    save_gate,
)
from visit_platform.access.models import Gate
from visit_platform.access.queries import agent_controllers


def test_a_new_gate_names_its_zone_without_checking_it(gate: Gate) -> None:
    saved = save_gate(SYSTEM, GateFields(name="大堂闸机", zone="大堂"))

    assert (saved.zone, saved.checks_zone) == ("大堂", False)


def test_checking_a_zone_needs_a_zone_and_changes_nothing_when_refused(gate: Gate) -> None:
    lobby = make_gate(name="大堂", zone="")

    with pytest.raises(DomainError) as refused:
        save_gate(SYSTEM, GateFields(name="大堂", zone=" ", checks_zone=True), lobby)

    assert refused.value.code == "zone_required"
    assert refused.value.details["field"] == "checks_zone"
    lobby.refresh_from_db()
    assert (lobby.zone, lobby.checks_zone) == ("", False)


def test_agents_are_told_whether_each_gate_checks_its_zone(gate: Gate) -> None:
    agent, _key = create_gate_agent(SYSTEM, name="lobby agent")
    controller = save_controller(
        SYSTEM,
        ControllerFields(
            name="T1", host="192.0.2.10", register_map=shipped_map(GENERIC_TURNSTILE), agent=agent
        ),
    )
    save_gate(
        SYSTEM, GateFields(name="8F", zone="8", checks_zone=True, controller=controller, lane=1)
    )
    save_gate(SYSTEM, GateFields(name="大堂", zone="大堂", controller=controller, lane=2))

    bindings = {
        binding.name: binding.zone
        for config in controllers_from_data(agent_controllers(agent))
        for binding in config.gates
    }

    # The agent checks "8" at the floor's gate and nothing at the lobby's.
    assert bindings == {"8F": "8", "大堂": ""}
