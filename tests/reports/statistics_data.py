"""The known data set behind the statistics tests: visits, decisions and gate scans made through
the real actions at chosen moments of a few Shanghai days (see ``data``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.http import QueryDict

from tenants.models import Building, User
from tests.access.conftest import make_gate, slip_token
from tests.conftest import admin_of
from visit_platform.access import actions as access_actions
from visit_platform.access.models import Gate
from visit_platform.audit.actions import Actor
from visit_platform.directory.actions import create_company, create_host
from visit_platform.directory.models import Company, Host
from visit_platform.reports.filters import ReportFilter
from visit_platform.visits.actions import create_visit, decide_visit, register_visitor
from visit_platform.visits.choices import Scenario, VisitStatus
from visit_platform.visits.models import Visit

SHANGHAI = ZoneInfo("Asia/Shanghai")
SYSTEM = Actor.system("tests")
RANGE = "start=2026-10-26&end=2026-11-08"


def local(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


def parse(query: str) -> ReportFilter:
    return ReportFilter.from_query(QueryDict(query), today=date(2026, 12, 6))


@dataclass
class DataSet:
    a: Company
    b: Company
    host_a: Host
    host_b: Host
    gate: Gate
    approver: User
    visits: dict[int, Visit]


_mobiles = iter(range(10**6))


def visit(
    host: Host,
    scenario: str,
    starts: datetime,
    hours: float,
    status: str = VisitStatus.APPROVED,
) -> Visit:
    visitor = register_visitor(SYSTEM, name="访客", mobile=f"1370000{next(_mobiles):04d}")
    return create_visit(
        SYSTEM,
        scenario=scenario,
        visitor=visitor,
        host=host,
        valid_from=starts,
        valid_until=starts + timedelta(hours=hours),
        status=status,
    )


def came(gate: Gate, visit: Visit, entered: datetime, left: datetime) -> None:
    """The visitor scans their slip at the gate at ``entered`` and again going out."""
    token = slip_token(access_actions.issue_pass(SYSTEM, visit).pass_record)
    assert access_actions.decide_scan(gate=gate, token=token, now=entered).granted
    assert access_actions.decide_scan(gate=gate, token=token, direction="out", now=left).granted


def refused(gate: Gate, visit: Visit | None, at: datetime) -> str:
    token = slip_token(access_actions.issue_pass(SYSTEM, visit).pass_record) if visit else "x"
    decision = access_actions.decide_scan(gate=gate, token=token, direction="in", now=at)
    assert not decision.granted
    return decision.reason


def decided(visit: Visit, actor: Actor, created: datetime, at: datetime, approve: bool) -> None:
    """A person decides the request; its creation and decision are then moved to the moments
    the data set needs (the action stamps them with the real clock)."""
    decide_visit(actor, visit, approve=approve, reason="" if approve else "会议取消")
    Visit.objects.filter(pk=visit.pk).update(created_at=created, decided_at=at)


@pytest.fixture
def data(in_alpha: Building) -> DataSet:
    """Nine visits over 31 October to 4 November (Shanghai), two companies.

    =====  =======  ========  ================  =====  =======================================
    visit  company  scenario  starts (local)    hours  what happened
    =====  =======  ========  ================  =====  =======================================
    1      A        invite    31 Oct 23:30      2      in 23:40, out 1 Nov 00:40 (60 min)
    2      A        invite    1 Nov 00:30       3      in 00:45, out 02:45 (120 min)
    3      B        walk_in   2 Nov 09:00       4      in 09:05, out 09:35 (30 min)
    4      B        request   2 Nov 14:00       4      asked 10:00, approved 10:30; never came,
                                                       refused at 19:00 (pass expired)
    5      A        request   3 Nov 10:00       4      asked 08:00, refused 09:30
    6      B        invite    3 Nov 08:00       2      never came; refused at 11:00 (expired)
    7      A        invite    3 Nov 09:00       8      in 09:30, out 13:30 (240 min)
    8      A        walk_in   3 Nov 11:00       3      in 11:00, out 11:45 (45 min)
    9      B        request   4 Nov 09:00       2      asked 3 Nov 09:00, approved 09:10; never
                                                       came
    =====  =======  ========  ================  =====  =======================================

    And a code that is no pass at all, scanned on 2 Nov at 12:00 (no visit, no company).
    """
    assert in_alpha.time_zone == "Asia/Shanghai"
    a = create_company(SYSTEM, name="甲公司", floors="3")
    b = create_company(SYSTEM, name="乙公司", floors="5")
    host_a = create_host(SYSTEM, a, name="李雷", mobile="13900000001")
    host_b = create_host(SYSTEM, b, name="王芳", mobile="13900000002")
    gate = make_gate()
    approver = admin_of(in_alpha)
    person = Actor(user=approver)
    visits = {
        1: visit(host_a, Scenario.INVITE, local(10, 31, 23, 30), 2),
        2: visit(host_a, Scenario.INVITE, local(11, 1, 0, 30), 3),
        3: visit(host_b, Scenario.WALK_IN, local(11, 2, 9), 4),
        4: visit(host_b, Scenario.REQUEST, local(11, 2, 14), 4, VisitStatus.PENDING_APPROVAL),
        5: visit(host_a, Scenario.REQUEST, local(11, 3, 10), 4, VisitStatus.PENDING_APPROVAL),
        6: visit(host_b, Scenario.INVITE, local(11, 3, 8), 2),
        7: visit(host_a, Scenario.INVITE, local(11, 3, 9), 8),
        8: visit(host_a, Scenario.WALK_IN, local(11, 3, 11), 3),
        9: visit(host_b, Scenario.REQUEST, local(11, 4, 9), 2, VisitStatus.PENDING_APPROVAL),
    }
    came(gate, visits[1], local(10, 31, 23, 40), local(11, 1, 0, 40))
    came(gate, visits[2], local(11, 1, 0, 45), local(11, 1, 2, 45))
    came(gate, visits[3], local(11, 2, 9, 5), local(11, 2, 9, 35))
    came(gate, visits[7], local(11, 3, 9, 30), local(11, 3, 13, 30))
    came(gate, visits[8], local(11, 3, 11), local(11, 3, 11, 45))
    decided(visits[4], person, local(11, 2, 10), local(11, 2, 10, 30), approve=True)
    decided(visits[5], person, local(11, 3, 8), local(11, 3, 9, 30), approve=False)
    decided(visits[9], person, local(11, 3, 9), local(11, 3, 9, 10), approve=True)
    assert refused(gate, visits[4], local(11, 2, 19)) == "expired"
    assert refused(gate, visits[6], local(11, 3, 11)) == "expired"
    assert refused(gate, None, local(11, 2, 12)) == "invalid_token"
    return DataSet(a, b, host_a, host_b, gate, approver, visits)
