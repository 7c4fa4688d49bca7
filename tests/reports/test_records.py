"""Records (issue 17): visits and gate events over any period, every filter narrowing exactly,
who invited, approved or registered each visit shown and filterable, role scoping, and the
person search through the blind indexes."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

import pytest
from django.http import QueryDict
from django.utils import translation

from kernel.errors import DomainError, PermissionDeniedError
from tenants.models import Building, User
from tests.conftest import admin_of, member
from tests.reports.conftest import ID_NUMBER, NOVEMBER, SYSTEM, World, at
from visit_platform.access.models import AccessEvent
from visit_platform.directory.choices import Role
from visit_platform.directory.roles import FIND_PEOPLE, ROLE_PERMISSIONS, VIEW_RECORDS
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
from visit_platform.visits.choices import Scenario
from visit_platform.visits.models import Visit

pytestmark = pytest.mark.django_db
TODAY = date(2026, 11, 30)


def chosen(query: str = "") -> ReportFilter:
    return ReportFilter.from_query(QueryDict(query), today=TODAY)


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
    ids = w.ids()

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

    found = events(f"{NOVEMBER}&{query.format(**w.ids())}", w.admin)

    assert found == [w.events[key] for key in expected]


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
    with pytest.raises(DomainError) as refused:
        visit_records(chosen(f"{NOVEMBER}&person=韩梅梅"), world.guard)

    assert refused.value.code == "bad_filter"


def test_the_role_table_gives_records_and_the_person_search_to_those_who_answer_for_them() -> None:
    def holders(permission: str) -> set[str]:
        return {role for role, granted in ROLE_PERMISSIONS.items() if permission in granted}

    assert holders(VIEW_RECORDS) == {
        Role.OPERATOR,
        Role.PROPERTY_ADMIN,
        Role.COMPANY_ADMIN,
        Role.SECURITY,
    }
    assert holders(FIND_PEOPLE) == {Role.OPERATOR, Role.PROPERTY_ADMIN, Role.SECURITY}
