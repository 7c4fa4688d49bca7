"""Gates on a (simulated) turnstile controller, a gate agent and one visitor with a live
pass, for the demo building."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from integrations.modbus.register_map import GENERIC_TURNSTILE, shipped_map
from visit_platform.access.actions import (
    ControllerFields,
    create_gate,
    create_gate_agent,
    deactivate_gate_agents,
    issue_pass,
    revoke_passes_of_visitors,
    save_controller,
    wire_gate,
)
from visit_platform.access.models import Controller, Gate
from visit_platform.audit.actions import Actor
from visit_platform.directory.models import Host
from visit_platform.visits.actions import create_visit, register_visitor
from visit_platform.visits.choices import Scenario, VisitStatus

# The lobby's lanes name their zone for the security screen and the roll call but do not check
# it: a common area every pass opens (ADR 0021), whichever floors a visitor's pass is for.
DEMO_GATES = [("大堂 1 号闸机", "大堂", "in"), ("大堂 2 号闸机", "大堂", "out")]
DEMO_CONTROLLER = "大堂闸机控制器（模拟）"
DEMO_AGENT = "演示闸机代理"
DEMO_MODBUS_PORT = 15020


@dataclass(frozen=True)
class DemoPass:
    visitor_name: str
    path: str
    pass_id: int = 0
    gate_ids: tuple[int, ...] = ()
    agent_key: str = ""


def seed_demo_access(modbus_port: int = DEMO_MODBUS_PORT) -> DemoPass:
    """Create the demo gates and their controller once (the demo's simulated turnstile on
    ``modbus_port``), a fresh gate agent key (keys are shown once, so the previous demo agent
    is retired), and a fresh pass for the demo visitor (the link code is shown only when a
    pass is issued, so the previous one is revoked)."""
    actor = Actor.system("demo")
    controller = Controller.objects.filter(name=DEMO_CONTROLLER).first()
    fields = ControllerFields(
        name=DEMO_CONTROLLER,
        host="127.0.0.1",
        port=modbus_port,
        poll_interval_ms=200,
        register_map=shipped_map(GENERIC_TURNSTILE),
    )
    if controller is None or controller.port != modbus_port:
        controller = save_controller(actor, fields, controller)
    gate_ids = []
    for lane, (name, zone, direction) in enumerate(DEMO_GATES, start=1):
        gate = Gate.objects.filter(name=name).first()
        if gate is None:
            gate = create_gate(actor, name=name, zone=zone, direction=direction)
        if gate.controller_id != controller.pk:
            wire_gate(actor, gate, controller, lane)
        gate_ids.append(gate.pk)
    deactivate_gate_agents(actor, name=DEMO_AGENT)
    _agent, agent_key = create_gate_agent(actor, name=DEMO_AGENT)
    host = Host.objects.get(mobile="+8613911110001")
    visitor = register_visitor(
        actor,
        name="韩梅梅",
        mobile="13700137000",
        id_type="resident_id",
        id_number="11010519491231002X",
    )
    revoke_passes_of_visitors(actor, [visitor.pk], "demo restarted")
    start = timezone.now().replace(minute=0, second=0, microsecond=0)
    visit = create_visit(
        actor,
        scenario=Scenario.INVITE,
        visitor=visitor,
        host=host,
        valid_from=start,
        valid_until=start + timedelta(hours=10),
        purpose="项目洽谈",
        status=VisitStatus.APPROVED,
    )
    issued = issue_pass(actor, visit, max_uses=4)
    return DemoPass(
        visitor.name,
        reverse("pass_page", kwargs={"code": issued.link_code}),
        issued.pass_record.pk,
        tuple(gate_ids),
        agent_key,
    )
