"""The home page: per role, what needs doing now; never a block the role may not see; a fixed
number of queries whatever the number of tasks, visits, people inside and alerts."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kernel.privacy import mask_name
from tenants.models import Building, User
from tests.access.conftest import make_gate, make_host, make_pass, make_visit, make_visitor
from tests.access.conftest import slip_token as token_of
from tests.conftest import admin_of, client_for, member
from tests.forms.conftest import make_host as make_requested_host
from tests.workflows.test_flows import open_task, set_policy, submit_request
from visit_platform.access import actions
from visit_platform.access.choices import AlertKind
from visit_platform.audit.models import AuditEntry
from visit_platform.directory.choices import Role
from visit_platform.directory.models import Host
from visit_platform.visits.choices import Scenario

pytestmark = pytest.mark.django_db

BLOCKS = ("home-tasks", "home-my-visitors", "home-expected", "home-inside", "home-alerts")


def blocks_on(page: str) -> set[str]:
    return {block for block in BLOCKS if f'id="{block}"' in page}


def expected_later_today(host: Host | None = None) -> Any:
    visit = make_visit(host=host, starts=timezone.now() + timedelta(minutes=2), hours=1)
    return make_pass(visit)


def inside(host: Host | None = None) -> Any:
    """A visitor who came in through a gate, as the gate decision records it."""
    pass_record = make_pass(make_visit(host=host))
    decision = actions.decide_scan(
        gate=make_gate(name=f"gate {uuid.uuid4().hex[:6]}"), token=token_of(pass_record)
    )
    assert decision.granted
    return pass_record


def alert(kind: str, minutes_ago: int) -> Any:
    found, _replay = actions.record_alert(
        actions.ReportedAlert(
            event_id=uuid.uuid4(),
            kind=kind,
            occurred_at=timezone.now() - timedelta(minutes=minutes_ago),
        )
    )
    return found


def home(building: Building, user: User) -> str:
    response = client_for(building, user).get("/")
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def host_user(in_alpha: Building) -> tuple[Host, User]:
    host = make_host()
    user = member(in_alpha, "lilei@alpha.example", Role.HOST, host.company)
    Host.objects.filter(pk=host.pk).update(user=user)
    return host, user


def test_the_property_admin_sees_tasks_expected_inside_and_alerts(in_alpha: Building) -> None:
    expected_later_today()
    inside()
    alert(AlertKind.COUNTER_RESET, minutes_ago=1)
    urgent = alert(AlertKind.DOOR_FORCED, minutes_ago=30)

    page = home(in_alpha, admin_of(in_alpha))

    assert blocks_on(page) == {"home-tasks", "home-expected", "home-inside", "home-alerts"}
    # Reception's day is where today's visitors are worked through.
    assert 'href="/today/"' in page
    assert 'href="/security/"' in page
    assert 'href="/alerts/?state=open"' in page
    # The urgent alert comes first, although it is older.
    alerts = page[page.index('id="home-alerts"') :]
    assert alerts.index(str(urgent.get_kind_display())) < alerts.index(
        str(AlertKind.COUNTER_RESET.label)
    )


def in_alpha_zone(building: Building) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(building.time_zone)


def test_reception_sees_no_alerts_and_no_security_screen(in_alpha: Building) -> None:
    expected_later_today()
    inside()
    alert(AlertKind.DOOR_FORCED, minutes_ago=1)
    reception = member(in_alpha, "desk@alpha.example", Role.RECEPTION)

    page = home(in_alpha, reception)

    assert blocks_on(page) == {"home-tasks", "home-expected", "home-inside"}
    assert 'href="/security/"' not in page
    assert 'href="/visits/#inside"' in page
    assert 'href="/today/"' in page
    assert "/alerts/" not in page


def test_reception_sees_whole_names_and_the_view_is_audited(in_alpha: Building) -> None:
    visit = expected_later_today().visit
    reception = member(in_alpha, "desk@alpha.example", Role.RECEPTION)

    page = home(in_alpha, reception)

    expected = page[page.index('id="home-expected"') :]
    assert visit.visitor_name in expected
    entry = AuditEntry.objects.filter(verb="visits.viewed", actor=reception).get()
    assert entry.detail == {"page": "home", "visits": [visit.pk], "full_names": True}


def test_a_property_admin_sees_masked_names_and_nothing_is_audited(in_alpha: Building) -> None:
    visit = expected_later_today().visit
    admin = admin_of(in_alpha)

    page = home(in_alpha, admin)

    assert mask_name(visit.visitor_name) in page
    assert visit.visitor_name not in page
    assert not AuditEntry.objects.filter(verb="visits.viewed", actor=admin).exists()


def test_security_sees_the_security_screen_and_alerts(in_alpha: Building) -> None:
    guard = member(in_alpha, "guard@alpha.example", Role.SECURITY)

    page = home(in_alpha, guard)

    assert blocks_on(page) == {"home-tasks", "home-expected", "home-inside", "home-alerts"}
    assert 'href="/security/"' in page


def test_a_host_sees_their_own_coming_visitors_and_nothing_of_the_building(
    in_alpha: Building, host_user: tuple[Host, User]
) -> None:
    host, user = host_user
    tomorrow = timezone.now() + timedelta(days=1)
    make_pass(make_visit(host=host, visitor=make_visitor("王小明", "13800000011", id_number="")))
    make_visit(
        host=host,
        visitor=make_visitor("赵大海", "13800000012", id_number=""),
        status="pending_approval",
        starts=tomorrow,
    )
    make_pass(
        make_visit(visitor=make_visitor("钱多多", "13800000013", id_number=""))
    )  # another host's
    inside()
    alert(AlertKind.DOOR_FORCED, minutes_ago=1)

    page = home(in_alpha, user)

    assert blocks_on(page) == {"home-tasks", "home-my-visitors"}
    visitors = page[page.index('id="home-my-visitors"') :]
    assert '<span class="home-count num">2</span>' in visitors
    assert 'class="home-pending"' in visitors
    assert "王*" in visitors and "赵*" in visitors
    assert "钱*" not in page
    assert 'href="/my-visitors/"' in visitors


def test_a_company_admin_sees_their_own_companys_expected_visits_and_tasks(
    alpha: Building, in_alpha: Building
) -> None:
    set_policy(Scenario.REQUEST, approver="company_admin", escalate_to="")
    make_requested_host()
    visit = submit_request(alpha)
    task = open_task(visit, "approve")
    boss = member(alpha, "boss@alpha.example", Role.COMPANY_ADMIN, visit.host.company)
    expected_later_today()  # another company's

    page = home(alpha, boss)

    assert blocks_on(page) == {"home-tasks", "home-expected", "home-inside"}
    assert f'href="/tasks/{task.pk}/"' in page
    # A company admin has no reception's day: the visit list, filtered to today, instead.
    day = timezone.localtime(timezone=in_alpha_zone(alpha)).date().isoformat()
    assert f'href="/visits/?date={day}#visits"' in page
    assert 'href="/today/"' not in page
    expected = page[page.index('id="home-expected"') : page.index('id="home-inside"')]
    assert '<span class="home-count num">0</span>' in expected


def count_queries(building: Building, user: User) -> int:
    client = client_for(building, user)
    client.get("/")  # sessions and caches warm
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/").status_code == 200
    return len(captured.captured_queries)


def test_the_home_page_reads_a_fixed_number_of_queries(
    alpha: Building, in_alpha: Building, django_assert_max_num_queries: Any
) -> None:
    set_policy(Scenario.REQUEST, approver="property", escalate_to="")
    admin = admin_of(alpha)
    make_requested_host()
    numbers = iter(range(100))

    def add(count: int) -> None:
        """More of everything than a block lists (so every count is asked too)."""
        for _each in range(count):
            number = next(numbers)
            submit_request(alpha, visitor_mobile=f"1380013{number:04d}")
            expected_later_today()
            inside()
            alert(AlertKind.ALARM, minutes_ago=number)

    add(6)
    some = count_queries(alpha, admin)
    add(10)
    client = client_for(alpha, admin)
    client.get("/")

    with django_assert_max_num_queries(some):
        page = client.get("/").content.decode()
    assert len(re.findall(r'href="/tasks/\d+/"', page)) == 5
    assert '<span class="home-count num">16</span> ' in page
    assert some <= 14
