"""Gates, a gate agent and one visitor with a live pass, for the demo building."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from visit_platform.access.actions import create_gate, issue_pass, revoke_passes_of_visitors
from visit_platform.access.models import Gate
from visit_platform.audit.actions import Actor
from visit_platform.directory.models import Host
from visit_platform.visits.actions import create_visit, register_visitor
from visit_platform.visits.choices import Scenario, VisitStatus

DEMO_GATES = [("大堂 1 号闸机", "大堂", "in"), ("大堂 2 号闸机", "大堂", "out")]


@dataclass(frozen=True)
class DemoPass:
    visitor_name: str
    path: str


def seed_demo_access() -> DemoPass:
    """Create the demo gates once, and give the demo visitor a fresh pass on every run (the
    link code is shown only when a pass is issued, so the previous one is revoked)."""
    actor = Actor.system("demo")
    for name, zone, direction in DEMO_GATES:
        if not Gate.objects.filter(name=name).exists():
            create_gate(actor, name=name, zone=zone, direction=direction)
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
    return DemoPass(visitor.name, reverse("pass_page", kwargs={"code": issued.link_code}))
