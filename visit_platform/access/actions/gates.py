"""Gates, controllers and gate agents: creating and changing them, wiring a gate to a
controller's lane, and which agent drives which controller."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from integrations.modbus.register_map import RegisterMapError, parse_register_map
from kernel.errors import DomainError
from kernel.privacy import secret_hash
from visit_platform.access.actions._common import invalid
from visit_platform.access.choices import GateDirection
from visit_platform.access.models import Controller, Gate, GateAgent
from visit_platform.access.queries import AGENT_KEY_PREFIX_LENGTH
from visit_platform.audit.actions import Actor, record

MIN_POLL_INTERVAL_MS = 50
MAX_POLL_INTERVAL_MS = 60_000


@dataclass(frozen=True)
class GateFields:
    """What a property admin sets on a gate in the console; see ``save_gate``."""

    name: str
    zone: str = ""
    checks_zone: bool = False
    direction: str = GateDirection.BOTH
    is_active: bool = True
    controller: Controller | None = None
    lane: int | None = None


def _checked_gate_name(name: str, direction: str) -> str:
    """The gate's name, stripped, once it and the direction are valid."""
    name = name.strip()
    if not name or len(name) > 100:
        raise invalid("name", "name_required", _("The gate needs a name."))
    if direction not in GateDirection.values:
        raise invalid("direction", "direction_invalid", _("Unknown direction."))
    return name


@transaction.atomic
def save_gate(actor: Actor, fields: GateFields, gate: Gate | None = None) -> Gate:
    """Create a gate, or change one, and wire it as the console's form says: all of it or,
    on any error (which names its field), none of it."""
    if gate is None:
        gate = create_gate(actor, name=fields.name, zone=fields.zone, direction=fields.direction)
    update_gate(
        actor,
        gate,
        name=fields.name,
        zone=fields.zone,
        direction=fields.direction,
        is_active=fields.is_active,
        checks_zone=fields.checks_zone,
    )
    return wire_gate(actor, gate, fields.controller, fields.lane)


@transaction.atomic
def create_gate(
    actor: Actor,
    *,
    name: str,
    zone: str = "",
    direction: str = GateDirection.BOTH,
    checks_zone: bool = False,
) -> Gate:
    name = _checked_gate_name(name, direction)
    zone = zone.strip()[:100]
    gate = Gate.objects.create(
        name=name, zone=zone, direction=direction, checks_zone=checks_zone and bool(zone)
    )
    record(actor, "gate.created", gate)
    return gate


@transaction.atomic
def update_gate(
    actor: Actor,
    gate: Gate,
    *,
    name: str,
    zone: str,
    direction: str,
    is_active: bool,
    checks_zone: bool = False,
) -> Gate:
    """Change a gate. ``checks_zone`` needs a zone: a gate with none is a common area."""
    name = _checked_gate_name(name, direction)
    zone = zone.strip()[:100]
    if checks_zone and not zone:
        raise invalid(
            "checks_zone", "zone_required", _("Name the zone this gate lets passes into.")
        )
    gate.name, gate.zone, gate.direction, gate.is_active, gate.checks_zone = (
        name,
        zone,
        direction,
        is_active,
        checks_zone,
    )
    gate.save(update_fields=["name", "zone", "direction", "is_active", "checks_zone"])
    record(
        actor,
        "gate.changed",
        gate,
        direction=direction,
        is_active=is_active,
        zone=zone,
        checks_zone=checks_zone,
    )
    return gate


@transaction.atomic
def create_gate_agent(actor: Actor, *, name: str) -> tuple[GateAgent, str]:
    """Register an agent; returns it with its key, which is shown once and stored hashed."""
    prefix = secrets.token_hex(AGENT_KEY_PREFIX_LENGTH // 2)
    secret = secrets.token_urlsafe(32)
    agent = GateAgent.objects.create(
        name=name.strip()[:100] or "agent", key_prefix=prefix, key_hash=secret_hash(secret)
    )
    record(actor, "gate_agent.created", agent)
    return agent, f"{prefix}.{secret}"


@transaction.atomic
def deactivate_gate_agents(actor: Actor, *, name: str) -> int:
    """Retire every active agent of this name (the demo replaces its agent on each run)."""
    agents = list(GateAgent.objects.filter(name=name, is_active=True))
    for agent in agents:
        agent.is_active = False
        agent.save(update_fields=["is_active"])  # a save, so that cached keys are dropped
        record(actor, "gate_agent.deactivated", agent)
    return len(agents)


# How finely any call (not only a heartbeat) keeps an agent's last contact: one UPDATE per
# agent this often, however many scans it sends, and well inside any sensible silence limit.
CONTACT_RESOLUTION = timedelta(seconds=15)


def touch_agent(agent: GateAgent) -> None:
    """Note that the agent was heard from (every authenticated call counts as contact), at
    most once per ``CONTACT_RESOLUTION``: the gate path pays one small UPDATE now and then.
    An agent marked offline is marked online again by its next heartbeat or the next silence
    check (ADR 0019), not here."""
    now = timezone.now()
    if agent.last_seen_at is None or now - agent.last_seen_at > CONTACT_RESOLUTION:
        GateAgent.objects.filter(pk=agent.pk).update(last_seen_at=now)
        agent.last_seen_at = now


@dataclass(frozen=True)
class ControllerFields:
    """What a property admin sets on a controller; checked by ``_checked_controller``."""

    name: str
    host: str
    port: int = 502
    device_id: int = 1
    poll_interval_ms: int = 200
    register_map: Any = None
    agent: GateAgent | None = None
    is_active: bool = True


def _checked_controller(fields: ControllerFields, controller: Controller | None) -> None:
    name, host = fields.name.strip(), fields.host.strip()
    if not name or len(name) > 100:
        raise invalid("name", "name_required", _("The controller needs a name."))
    if not host or len(host) > 255 or any(character.isspace() for character in host):
        raise invalid("host", "host_invalid", _("Enter the controller's IP address or host name."))
    if not 1 <= fields.port <= 65535:
        raise invalid("port", "port_invalid", _("The port must be between 1 and 65535."))
    if not 0 <= fields.device_id <= 255:
        raise invalid("device_id", "device_id_invalid", _("The device id must be 0 to 255."))
    if not MIN_POLL_INTERVAL_MS <= fields.poll_interval_ms <= MAX_POLL_INTERVAL_MS:
        raise invalid(
            "poll_interval_ms",
            "poll_interval_invalid",
            _("The poll interval must be between %(low)d and %(high)d ms.")
            % {"low": MIN_POLL_INTERVAL_MS, "high": MAX_POLL_INTERVAL_MS},
        )
    try:
        register_map = parse_register_map(fields.register_map)
    except RegisterMapError as error:
        raise DomainError(
            "register_map_invalid",
            _("The register map is not valid: %(problems)s") % {"problems": error},
            field="register_map",
            problems=[{"field": field, "message": message} for field, message in error.problems],
        ) from error
    if fields.is_active:
        same_address = Controller.objects.filter(
            host__iexact=host, port=fields.port, device_id=fields.device_id, is_active=True
        )
        if controller is not None:
            same_address = same_address.exclude(pk=controller.pk)
        other = same_address.first()
        if other is not None:
            raise _address_taken(other)
    if controller is not None:
        lanes = set(register_map.lanes)
        for gate in controller.gates.all():
            if gate.lane not in lanes:
                raise invalid(
                    "register_map",
                    "lane_in_use",
                    _("Gate %(gate)s is wired to lane %(lane)s, which the new map lacks.")
                    % {"gate": gate.name, "lane": gate.lane},
                )


def _address_taken(other: Controller) -> DomainError:
    return invalid(
        "host",
        "controller_address_taken",
        _(
            "Controller %(name)s is already in service at this address (host, port and device "
            "id); one device polled twice would count every passage twice."
        )
        % {"name": other.name},
    )


@transaction.atomic
def save_controller(
    actor: Actor, fields: ControllerFields, controller: Controller | None = None
) -> Controller:
    """Create a controller, or change one; the register map is checked by the same code the
    gate agent uses, and every error names the field."""
    _checked_controller(fields, controller)
    created = controller is None
    controller = controller or Controller()
    controller.name = fields.name.strip()
    controller.host = fields.host.strip()
    controller.port = fields.port
    controller.device_id = fields.device_id
    controller.poll_interval_ms = fields.poll_interval_ms
    controller.register_map = fields.register_map
    controller.agent = fields.agent
    controller.is_active = fields.is_active
    try:
        with transaction.atomic():
            controller.save()
    except IntegrityError as error:
        # Another admin saved a controller at this address at the same moment.
        other = Controller.objects.filter(
            host__iexact=controller.host,
            port=controller.port,
            device_id=controller.device_id,
            is_active=True,
        ).first()
        if other is None:
            raise
        raise _address_taken(other) from error
    record(
        actor,
        "controller.created" if created else "controller.changed",
        controller,
        host=controller.host,
        port=controller.port,
    )
    return controller


@transaction.atomic
def wire_gate(actor: Actor, gate: Gate, controller: Controller | None, lane: int | None) -> Gate:
    """Connect a gate to a lane of a controller (or disconnect it with ``None``)."""
    if controller is None:
        gate.controller, gate.lane = None, None
    else:
        lanes = parse_register_map(controller.register_map).lanes
        if lane not in lanes:
            raise invalid(
                "lane",
                "lane_unknown",
                _("The controller's map has lanes %(lanes)s.")
                % {"lanes": ", ".join(map(str, lanes))},
            )
        taken = Gate.objects.filter(controller=controller, lane=lane).exclude(pk=gate.pk)
        if taken.exists():
            raise invalid("lane", "lane_taken", _("Another gate is already wired to this lane."))
        gate.controller, gate.lane = controller, lane
    gate.save(update_fields=["controller", "lane"])
    record(actor, "gate.wired", gate, controller=controller.pk if controller else None, lane=lane)
    return gate


@transaction.atomic
def claim_controllers(agent: GateAgent) -> list[Controller]:
    """Give the agent the controllers in service that no active agent holds, and return the
    ones it now drives: each controller is polled by one agent, or its passages would be
    counted once per agent. The first agent that syncs claims a free controller; one whose
    agent was deactivated (a replaced key) is free again. Rows are locked, so two agents
    syncing at once cannot both claim one."""
    free = list(
        Controller.objects.select_for_update(of=("self",))
        .filter(is_active=True)
        .filter(Q(agent__isnull=True) | Q(agent__is_active=False))
        .order_by("pk")
    )
    actor = Actor.system(f"gate agent {agent.name}")
    for controller in free:
        previous = controller.agent_id
        controller.agent = agent
        controller.save(update_fields=["agent"])
        record(actor, "controller.claimed", controller, agent=agent.pk, previous_agent=previous)
    return list(Controller.objects.filter(is_active=True, agent=agent).order_by("pk"))
