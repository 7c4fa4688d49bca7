"""The November of building alpha that the records tests read: two companies' visits, who
invited, approved or registered each, and the gate events (``world``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tenants.models import Building, User
from tests.conftest import admin_of, member
from tests.reports.statistics_data import data  # noqa: F401 (the statistics tests' fixture)
from visit_platform.access.actions import create_gate
from visit_platform.access.models import AccessEvent, Gate
from visit_platform.audit.actions import Actor
from visit_platform.directory.actions import create_company, create_host
from visit_platform.directory.choices import Role
from visit_platform.directory.models import Company, Host
from visit_platform.visits.actions import create_visit, register_visitor
from visit_platform.visits.choices import Scenario, VisitStatus
from visit_platform.visits.models import Visit

SYSTEM = Actor.system("tests")
SHANGHAI = ZoneInfo("Asia/Shanghai")
ID_NUMBER = "11010519491231002X"
NOVEMBER = "start=2026-11-01&end=2026-11-10"


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI)


@dataclass
class World:
    """Two companies' visits and the gate events of a November in building alpha."""

    admin: User
    company_admin: User
    guard: User
    desk: User
    star: Company
    hill: Company
    zhang: Host
    li: Host
    wang: Host
    east: Gate
    west: Gate
    invited: Visit  # star, 张伟, invite, approved 11-02
    walk_in: Visit  # star, 李娜, walk-in, checked out 11-03
    request: Visit  # hill, 王强, request, pending 11-04 (the same visitor as ``invited``)
    late: Visit  # hill, 王强, invite, rejected 11-20
    events: dict[str, AccessEvent]

    def ids(self) -> dict[str, int]:
        """The keys a filter names, by the names the tests use."""
        return {
            name: getattr(self, name).pk
            for name in (
                *("star", "hill", "zhang", "li", "wang", "east", "west"),
                *("admin", "company_admin", "desk", "guard"),
            )
        }


def _event(
    gate: Gate, visit: Visit | None, when: datetime, granted: bool, **kw: str
) -> AccessEvent:
    return AccessEvent.objects.create(
        event_id=uuid.uuid4(),
        gate=gate,
        visit=visit,
        direction=kw.get("direction", "in"),
        granted=granted,
        reason=kw.get("reason", "granted" if granted else "not_approved"),
        occurred_at=when,
    )


def _visit(host: Host, name: str, mobile: str, start: datetime, scenario: str, **kw: str) -> Visit:
    visitor = register_visitor(
        SYSTEM,
        name=name,
        mobile=mobile,
        id_type="resident_id" if kw.get("id") else "",
        id_number=kw.get("id", ""),
    )
    return create_visit(
        SYSTEM,
        scenario=scenario,
        visitor=visitor,
        host=host,
        valid_from=start,
        valid_until=start.replace(hour=start.hour + 3),
        status=kw.get("status", VisitStatus.APPROVED),
    )


@pytest.fixture
def world(alpha: Building, in_alpha: Building) -> World:
    star = create_company(SYSTEM, name="星河科技", floors="12")
    hill = create_company(SYSTEM, name="远山律所", floors="8")
    zhang = create_host(SYSTEM, star, name="张伟", mobile="13911110001")
    li = create_host(SYSTEM, star, name="李娜", mobile="13911110002")
    wang = create_host(SYSTEM, hill, name="王强", mobile="13911110003")
    admin = admin_of(alpha)
    company_admin = member(alpha, "boss@star.example", Role.COMPANY_ADMIN, star)
    guard = member(alpha, "guard@alpha.example", Role.SECURITY)
    desk = member(alpha, "desk@alpha.example", Role.RECEPTION)
    east = create_gate(SYSTEM, name="东门", zone="", direction="both", checks_zone=False)
    west = create_gate(SYSTEM, name="西门", zone="", direction="both", checks_zone=False)
    invited = _visit(zhang, "韩梅梅", "13800000001", at(2, 9), Scenario.INVITE, id=ID_NUMBER)
    walk_in = _visit(li, "李雷", "13800000002", at(3, 10), Scenario.WALK_IN)
    request = _visit(
        wang,
        "韩梅梅",
        "13800000001",
        at(4, 11),
        Scenario.REQUEST,
        status=VisitStatus.PENDING_APPROVAL,
    )
    late = _visit(wang, "王芳", "13800000003", at(20, 14), Scenario.INVITE)
    Visit.objects.filter(pk=invited.pk).update(invited_by=company_admin, approved_by=admin)
    Visit.objects.filter(pk=walk_in.pk).update(
        registered_by=desk,
        approved_by=company_admin,
        status=VisitStatus.CHECKED_OUT,
        checked_in_at=at(3, 10, 5),
        checked_out_at=at(3, 12),
    )
    Visit.objects.filter(pk=late.pk).update(invited_by=admin, status=VisitStatus.REJECTED)
    events = {
        "in": _event(east, invited, at(2, 9, 5), True),
        "out": _event(east, invited, at(2, 11), True, direction="out"),
        "walk_in": _event(west, walk_in, at(3, 10, 5), True),
        "nobody": _event(west, None, at(3, 12), True, reason="passage", direction="out"),
        "refused": _event(west, request, at(4, 11, 5), False),
        "late": _event(east, late, at(20, 14, 10), False),
    }
    for visit in (invited, walk_in, request, late):
        visit.refresh_from_db()
    return World(
        admin,
        company_admin,
        guard,
        desk,
        star,
        hill,
        zhang,
        li,
        wang,
        east,
        west,
        invited,
        walk_in,
        request,
        late,
        events,
    )
