"""Demo data for the flows: something waiting in the task queues when the demo starts."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from tenants.models import User
from visit_platform.audit.actions import Actor
from visit_platform.directory.models import Host
from visit_platform.visits.actions import create_visit, register_visitor
from visit_platform.visits.choices import Scenario
from workflows.actions import start_visit_flow
from workflows.models import VisitProcess

# 张伟 of the demo directory, who has an account (zhang.wei@demo.example.com).
DEMO_HOST_MOBILE = "+8613911110001"


def seed_demo_flows() -> int:
    """A visit request waiting for 张伟's approval (in his *Tasks*, with his decision link
    under *Messages*) and a walk-in waiting at reception's desk check. Only once: returns how
    many flows it started."""
    if VisitProcess.objects.exists():
        return 0
    host = Host.objects.get(mobile=DEMO_HOST_MOBILE)
    start = timezone.now().replace(second=0, microsecond=0) + timedelta(hours=2)
    visitor_actor = Actor(user=None, label="visitor")
    request = create_visit(
        visitor_actor,
        scenario=Scenario.REQUEST,
        visitor=register_visitor(visitor_actor, name="韩梅梅", mobile="13800138000"),
        host=host,
        valid_from=start,
        valid_until=start + timedelta(hours=2),
        purpose="商务洽谈",
    )
    start_visit_flow(visitor_actor, request)
    desk = Actor(user=User.objects.get(email="reception@demo.example.com"))
    walk_in = create_visit(
        desk,
        scenario=Scenario.WALK_IN,
        visitor=register_visitor(
            desk,
            name="李娜",
            mobile="13700137001",
            id_type="resident_id",
            id_number="11010519491231002X",
        ),
        host=host,
        valid_from=timezone.now(),
        valid_until=timezone.now() + timedelta(hours=3),
        purpose="面试",
    )
    start_visit_flow(desk, walk_in)
    return 2
