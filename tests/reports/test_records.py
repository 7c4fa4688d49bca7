"""Records (issue 17): visits and gate events over any period, every filter narrowing exactly,
who invited, approved or registered each visit shown and filterable, role scoping, and the
person search through the blind indexes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
from django.http import QueryDict
from django.utils import translation

from kernel.errors import PermissionDeniedError
from tenants.models import Building, User
from tests.conftest import admin_of, member
from visit_platform.access.actions import create_gate
from visit_platform.access.models import AccessEvent, Gate
from visit_platform.audit.actions import Actor
from visit_platform.directory.actions import create_company, create_host
from visit_platform.directory.choices import Role
from visit_platform.directory.models import Company, Host
from visit_platform.reports.filters import ReportFilter
from visit_platform.reports.records import (
    EVENT_COLUMNS,
    VISIT_COLUMNS,
    event_records,
    event_row,
    visit_records,
    visit_row,
)
from visit_platform.visits.actions import create_visit, register_visitor
from visit_platform.visits.choices import Scenario, VisitStatus
from visit_platform.visits.models import Visit

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("tests")
SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 11, 30)
ID_NUMBER = "11010519491231002X"


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


def chosen(query: str = "") -> ReportFilter:
    return ReportFilter.from_query(QueryDict(query), today=TODAY)


NOVEMBER = "start=2026-11-01&end=2026-11-10"


def visits(query: str, user: User) -> list[Visit]:
    return list(visit_records(chosen(query), user))


def events(query: str, user: User) -> list[AccessEvent]:
    return list(event_records(chosen(query), user))


def test_a_property_admin_sees_every_visit_and_event_of_the_range_newest_first(
    world: World,
) -> None:
    w = world

    assert visits(NOVEMBER, w.admin) == [w.request, w.walk_in, w.invited]
    assert events(NOVEMBER, w.admin) == [
        w.events[key] for key in ("refused", "nobody", "walk_in", "out", "in")
    ]
    assert visits("start=2026-11-11&end=2026-11-30", w.admin) == [w.late]
    assert events("start=2026-11-20&end=2026-11-20", w.admin) == [w.events["late"]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("company={star}", ["walk_in", "invited"]),
        ("company={hill}", ["request"]),
        ("host={li}", ["walk_in"]),
        ("host={zhang}&host={wang}", ["request", "invited"]),
        ("scenario=walk_in", ["walk_in"]),
        ("scenario=invite&scenario=request", ["request", "invited"]),
        ("status=pending_approval", ["request"]),
        ("status=checked_out&status=approved", ["walk_in", "invited"]),
        ("gate={east}", ["invited"]),
        ("gate={west}", ["request", "walk_in"]),
        ("invited_by={company_admin}", ["invited"]),
        ("approved_by={admin}", ["invited"]),
        ("approved_by={company_admin}", ["walk_in"]),
        ("registered_by={desk}", ["walk_in"]),
        ("result=denied", ["request"]),
        ("result=granted", ["walk_in", "invited"]),
        ("company={star}&scenario=invite&invited_by={company_admin}", ["invited"]),
        ("company={hill}&registered_by={desk}", []),
    ],
)
def test_each_filter_narrows_the_visits_exactly(world: World, query: str, expected: list) -> None:
    w = world
    ids = _ids(w)

    found = visits(f"{NOVEMBER}&{query.format(**ids)}", w.admin)

    assert found == [getattr(w, name) for name in expected]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("company={star}", ["walk_in", "out", "in"]),
        ("company={hill}", ["refused"]),
        ("host={zhang}", ["out", "in"]),
        ("gate={west}", ["refused", "nobody", "walk_in"]),
        ("scenario=walk_in", ["walk_in"]),
        ("status=pending_approval", ["refused"]),
        ("invited_by={company_admin}", ["out", "in"]),
        ("approved_by={company_admin}", ["walk_in"]),
        ("registered_by={desk}", ["walk_in"]),
        ("result=denied", ["refused"]),
        ("result=granted&gate={west}", ["nobody", "walk_in"]),
    ],
)
def test_each_filter_narrows_the_gate_events_exactly(
    world: World, query: str, expected: list
) -> None:
    w = world

    found = events(f"{NOVEMBER}&{query.format(**_ids(w))}", w.admin)

    assert found == [w.events[key] for key in expected]


def _ids(w: World) -> dict[str, int]:
    return {
        "star": w.star.pk,
        "hill": w.hill.pk,
        "zhang": w.zhang.pk,
        "li": w.li.pk,
        "wang": w.wang.pk,
        "east": w.east.pk,
        "west": w.west.pk,
        "admin": w.admin.pk,
        "company_admin": w.company_admin.pk,
        "desk": w.desk.pk,
    }


def test_a_visit_row_names_who_invited_approved_and_registered_it(world: World) -> None:
    w = world
    w.company_admin.display_name = "陈经理"
    w.company_admin.save()
    invited = visit_records(chosen(f"{NOVEMBER}&scenario=invite"), w.admin).get()
    walk_in = visit_records(chosen(f"{NOVEMBER}&scenario=walk_in"), w.guard).get()

    with translation.override("en"):
        headings = [str(column.label) for column in VISIT_COLUMNS]
        row = visit_row(invited, w.admin)

    assert headings[9:12] == ["Invited by", "Approved by", "Registered by"]
    assert row == [
        at(2, 9),
        at(2, 12),
        "韩**",
        "138 **** 0001",
        "1101**********002X",
        "星河科技",
        "张伟",
        "Invitation",
        "Approved",
        "陈经理",
        "admin@alpha.example",
        "",
        None,
        None,
    ]
    # Security sees whole names (they greet and call out visitors).
    assert visit_row(walk_in, w.guard)[2:3] + visit_row(walk_in, w.guard)[9:] == [
        "李雷",
        "",
        "陈经理",
        "desk@alpha.example",
        at(3, 10, 5),
        at(3, 12),
    ]


def test_an_event_row_says_where_which_way_and_what_was_decided(world: World) -> None:
    w = world
    refused = event_records(chosen(f"{NOVEMBER}&result=denied"), w.admin).get()
    nobody = event_records(chosen(f"{NOVEMBER}&gate={w.west.pk}&status=checked_out"), w.admin)

    with translation.override("en"):
        headings = [str(column.label) for column in EVENT_COLUMNS]
        row = event_row(refused, w.admin)

    assert headings == ["Time", "Gate", "Direction", "Result", "Reason", "Visitor", "Company"]
    assert row == [
        at(4, 11, 5),
        "西门",
        "Entry",
        "Refused",
        "The visit is not approved",
        "韩**",
        "远山律所",
    ]
    assert [event_row(event, w.admin)[5] for event in nobody] == ["李*"]
    assert event_row(w.events["nobody"], w.admin)[5:] == ["", ""]


def test_a_company_admin_sees_their_own_company_only_even_when_naming_another(
    world: World,
) -> None:
    w = world

    assert visits(NOVEMBER, w.company_admin) == [w.walk_in, w.invited]
    assert visits(f"{NOVEMBER}&company={w.hill.pk}", w.company_admin) == []
    assert visits(f"{NOVEMBER}&host={w.wang.pk}", w.company_admin) == []
    # Their company's events; a passage nobody can be tied to is the building's.
    assert events(NOVEMBER, w.company_admin) == [w.events[key] for key in ("walk_in", "out", "in")]
    assert events(f"{NOVEMBER}&company={w.hill.pk}", w.company_admin) == []


def test_security_sees_the_whole_building_and_reception_and_hosts_see_no_records(
    world: World, alpha: Building
) -> None:
    w = world
    host_user = member(alpha, "zhang@star.example", Role.HOST, w.star)

    assert visits(NOVEMBER, w.guard) == [w.request, w.walk_in, w.invited]
    assert len(events(NOVEMBER, w.guard)) == 5
    assert visits(NOVEMBER, w.desk) == []
    assert events(NOVEMBER, w.desk) == []
    assert visits(NOVEMBER, host_user) == []
    assert events(NOVEMBER, host_user) == []


def test_another_buildings_admin_sees_nothing_here(world: World, beta: Building) -> None:
    stranger = admin_of(beta)

    assert visits(NOVEMBER, stranger) == []
    assert events(NOVEMBER, stranger) == []


@pytest.mark.parametrize(
    "person", ["13800000001", "+86 138 0000 0001", "138-0000-0001", ID_NUMBER, ID_NUMBER.lower()]
)
def test_security_finds_a_persons_visits_and_passages_by_mobile_or_id_number(
    world: World, person: str
) -> None:
    w = world
    query = f"{NOVEMBER}&{urlencode({'person': person})}"
    by_id = person.upper() == ID_NUMBER

    found_visits = list(visit_records(chosen(query), w.guard))
    found_events = list(event_records(chosen(query), w.guard))

    # The ID number is on file for the first visit's visitor only; the mobile finds both.
    assert found_visits == ([w.invited] if by_id else [w.request, w.invited])
    expected = ["out", "in"] if by_id else ["refused", "out", "in"]
    assert found_events == [w.events[key] for key in expected]


def test_a_mobile_given_for_the_visit_finds_it_too(world: World) -> None:
    w = world
    visitor = register_visitor(SYSTEM, name="韩梅梅", mobile="13800000001")
    borrowed = create_visit(
        SYSTEM,
        scenario=Scenario.INVITE,
        visitor=visitor,
        host=w.zhang,
        valid_from=at(5, 9),
        valid_until=at(5, 10),
        given_name="韩梅",
        given_mobile="13600000009",
    )

    assert visits(f"{NOVEMBER}&person=13600000009", w.admin) == [borrowed]


def test_a_person_search_is_refused_to_roles_without_the_permission(world: World) -> None:
    w = world

    for records in (visit_records, event_records):
        with pytest.raises(PermissionDeniedError) as refused:
            records(chosen(f"{NOVEMBER}&person=13800000001"), w.company_admin)
        assert refused.value.code == "person_search_not_allowed"


def test_a_person_that_is_neither_a_mobile_nor_a_document_number_is_a_bad_filter(
    world: World,
) -> None:
    from kernel.errors import DomainError

    with pytest.raises(DomainError) as refused:
        visit_records(chosen(f"{NOVEMBER}&person=韩梅梅"), world.guard)

    assert refused.value.code == "bad_filter"
