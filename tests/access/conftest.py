"""Factories for access tests: visitors, approved visits, passes, gates, agents, tokens.

Everything goes through the real actions, in whichever building schema is active (use the
``in_alpha`` / ``in_beta`` fixtures from tests/conftest.py).
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from django.utils import timezone

from kernel import pass_tokens as tokens
from visit_platform.access import actions
from visit_platform.access.models import Gate, GateAgent, Pass
from visit_platform.audit.actions import Actor
from visit_platform.directory.actions import create_company, create_host
from visit_platform.directory.models import Host
from visit_platform.visits.actions import create_visit, register_visitor
from visit_platform.visits.choices import Scenario, VisitStatus
from visit_platform.visits.models import Visit, Visitor

SYSTEM = Actor.system("tests")
VALID_RESIDENT_ID = "11010519491231002X"


def make_host(mobile: str | None = None) -> Host:
    """A host in a company of their own; each call makes a new one."""
    # Random, not a counter: pytest may import this module twice under two names.
    mobile = mobile or f"139{secrets.randbelow(10**8):08d}"
    company = create_company(SYSTEM, name=f"测试企业 {mobile}", floors="8")
    return create_host(SYSTEM, company, name="李雷", mobile=mobile)


def make_visitor(
    name: str = "韩梅梅", mobile: str = "13800000001", id_number: str = VALID_RESIDENT_ID
) -> Visitor:
    return register_visitor(
        SYSTEM,
        name=name,
        mobile=mobile,
        id_type="resident_id" if id_number else "",
        id_number=id_number,
    )


def make_visit(
    *,
    visitor: Visitor | None = None,
    host: Host | None = None,
    status: str = VisitStatus.APPROVED,
    starts: datetime | None = None,
    hours: int = 4,
    companions: int = 0,
) -> Visit:
    start = starts or timezone.now() - timedelta(minutes=30)
    return create_visit(
        SYSTEM,
        scenario=Scenario.INVITE,
        visitor=visitor or make_visitor(),
        host=host or make_host(),
        valid_from=start,
        valid_until=start + timedelta(hours=hours),
        status=status,
        companions=companions,
    )


def make_pass(visit: Visit | None = None, **options: Any) -> Pass:
    return actions.issue_pass(SYSTEM, visit or make_visit(), **options).pass_record


def make_gate(
    name: str = "A1 闸机", zone: str = "", direction: str = "both", checks_zone: bool = False
) -> Gate:
    return actions.create_gate(
        SYSTEM, name=name, zone=zone, direction=direction, checks_zone=checks_zone
    )


def make_agent(name: str = "lobby agent") -> tuple[GateAgent, str]:
    return actions.create_gate_agent(SYSTEM, name=name)


def slip_token(pass_record: Pass) -> str:
    return actions.pass_token(pass_record, tokens.TokenKind.SLIP)


def rotating_token(pass_record: Pass, now: datetime | None = None) -> str:
    return actions.pass_token(pass_record, tokens.TokenKind.ROTATING, now=now)


def set_building_at_midday(building: Any) -> None:
    """Move the building to a time zone where its clock reads about one in the afternoon now,
    keeping its day end at 23:00: then a visit that ended a few hours ago ended on a day that
    is not over, and an extension of a few hours fits before the day ends, at whatever hour
    the suite runs (at 23:34 in Shanghai the day-end check-out had taken the test's visits)."""
    utc_hour = timezone.now().astimezone(UTC).hour
    offset = 13 - utc_hour  # from +13 to -10, all real Etc/GMT zones
    # Etc/GMT names count the other way: Etc/GMT-8 is eight hours ahead of UTC.
    building.time_zone = f"Etc/GMT{-offset:+d}" if offset else "Etc/GMT"
    building.day_end_time = time(23, 0)
    building.save(update_fields=["time_zone", "day_end_time"])


@pytest.fixture
def gate(in_alpha: Any) -> Gate:
    return make_gate()


@pytest.fixture
def pass_record(in_alpha: Any) -> Pass:
    return make_pass()
