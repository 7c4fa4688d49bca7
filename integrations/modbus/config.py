"""What the agent runs with: the platform's address and key, its local ports, and the
controllers it drives (from the platform's config endpoint, or from the database when started
with ``manage.py gate_agent``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from integrations.modbus.journal import DEFAULT_USE_RETENTION
from integrations.modbus.reader import LINE_TIMEOUT
from integrations.modbus.register_map import RegisterMap, RegisterMapError, parse_register_map
from kernel.zones import checked_zone

# A counter step beyond allowance + rate x seconds since the last reading is not traffic but
# a controller reset or replaced: it becomes an alert and a new baseline, not passages.
COUNTER_JUMP_ALLOWANCE = 20
COUNTER_MAX_RATE = 1.0  # passages per second, one lane one way; a turnstile manages ~0.5


@dataclass(frozen=True)
class GateBinding:
    """A platform gate wired to one lane of a controller."""

    gate_id: int
    name: str
    lane: int
    direction: str = "both"
    is_active: bool = True
    # The zone the gate checks passes against; empty for a common area every pass may use
    # (``kernel.zones.checked_zone``: the platform sends ``checks_zone`` with the zone).
    zone: str = ""


@dataclass(frozen=True)
class ControllerConfig:
    id: int
    name: str
    host: str
    port: int
    device_id: int
    poll_interval_ms: int
    register_map: RegisterMap
    gates: tuple[GateBinding, ...] = ()

    def binding(self, lane: int) -> GateBinding | None:
        return next((gate for gate in self.gates if gate.lane == lane), None)


def controllers_from_data(items: Any) -> list[ControllerConfig]:
    """Controllers as the platform describes them (``GET /api/gate/config``); a bad map is
    refused with the field named, prefixed by the controller it belongs to."""
    if not isinstance(items, list):
        raise ValueError("controllers: must be a list")
    controllers = []
    for index, item in enumerate(items):
        try:
            register_map = parse_register_map(item.get("register_map"))
        except RegisterMapError as error:
            raise ValueError(f"controllers[{index}].register_map: {error}") from error
        gates = tuple(
            GateBinding(
                gate_id=int(gate["id"]),
                name=str(gate.get("name", "")),
                lane=int(gate["lane"]),
                direction=str(gate.get("direction", "both")),
                is_active=bool(gate.get("is_active", True)),
                zone=checked_zone(str(gate.get("zone") or ""), bool(gate.get("checks_zone"))),
            )
            for gate in item.get("gates", [])
        )
        controllers.append(
            ControllerConfig(
                id=int(item["id"]),
                name=str(item.get("name", "")),
                host=str(item["host"]),
                port=int(item["port"]),
                device_id=int(item["device_id"]),
                poll_interval_ms=int(item["poll_interval_ms"]),
                register_map=register_map,
                gates=gates,
            )
        )
    return controllers


@dataclass
class AgentConfig:
    """Everything the agent needs; defaults suit a small building."""

    platform_url: str
    agent_key: str
    journal_path: Path
    # The building's domain when platform_url is an address (the platform routes by Host).
    platform_host: str | None = None
    reader_host: str = "127.0.0.1"
    reader_port: int = 7000
    http_host: str = "127.0.0.1"
    http_port: int = 7001
    # Given by `manage.py gate_agent` from the database; otherwise fetched from the platform.
    controllers: list[ControllerConfig] | None = None
    scan_timeout: float = 1.5
    sync_interval: float = 60.0
    upload_interval: float = 2.0
    command_interval: float = 2.0
    # A heartbeat (controllers' links, journal depth) this often, and at once when a
    # controller's link changes; a heartbeat the platform does not answer in time is dropped.
    heartbeat_interval: float = 15.0
    heartbeat_timeout: float = 5.0
    # After a failed call the agent decides offline at once for this long, instead of making
    # every visitor wait for a timeout, while a background probe looks for the platform.
    offline_hold: float = 5.0
    reconnect_initial: float = 0.2
    reconnect_max: float = 10.0
    # /health and /sync on the HTTP port need "Authorization: Bearer <token>": this token, or
    # the agent key itself.
    http_token: str = ""
    # A reader line started and not finished within this time closes that connection.
    line_timeout: float = LINE_TIMEOUT
    # A counter step above allowance + rate x seconds since the last reading is a reset.
    counter_jump_allowance: int = COUNTER_JUMP_ALLOWANCE
    counter_max_rate: float = COUNTER_MAX_RATE
    # How long a pass's uses are remembered when its code does not say when it ends.
    use_retention: float = DEFAULT_USE_RETENTION
    extra: dict[str, Any] = field(default_factory=dict)
