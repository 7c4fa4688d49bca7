"""The statistics dashboard in Chromium, with real data: visits, decisions and gate scans made
through the actions over the last ten days. ECharts draws every chart (SVG in each chart's box),
each chart's series hold exactly the numbers of the table under it, the labels are Chinese by
default and English on request, and the charts follow the window's width down to a phone."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings

from tests.browser.conftest import LiveBuilding, run_committed, screenshot, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1360, "height": 900}
DAYS = 10

# Every drawn chart's series data, and the numbers of the table under it (cells after the
# first, column by column), read from the page.
DRAWN = """() => Array.from(document.querySelectorAll("[data-chart]")).map(box => {
  const option = echarts.getInstanceByDom(box).getOption();
  const rows = Array.from(document.querySelectorAll(
    `[data-table="${box.dataset.chart}"] tbody tr`));
  const columns = option.series.map((_, index) =>
    rows.map(row => Number(row.children[index + 1].textContent)));
  return {
    key: box.dataset.chart,
    svg: box.querySelectorAll("svg").length,
    width: Math.round(box.querySelector("svg").getBoundingClientRect().width),
    series: option.series.map(series => series.data),
    names: option.series.map(series => series.name),
    categories: (option.xAxis[0].type === "category" ? option.xAxis[0] : option.yAxis[0]).data,
    labels: rows.map(row => row.children[0].textContent),
    columns,
  };
})"""


@pytest.fixture(scope="module")
def statistics_data(live_building: LiveBuilding, django_db_blocker: Any) -> LiveBuilding:
    """Over the last ten local days, for two demo companies: invitations at different hours,
    most of which come through the gate and leave, some never come (refused later at the gate,
    their pass expired), and requests a person approved."""

    def seed() -> None:
        from django.utils import timezone

        from tenants.models import Building, User
        from tests.access.conftest import make_gate, slip_token
        from visit_platform.access import actions as access_actions
        from visit_platform.audit.actions import Actor
        from visit_platform.directory.models import Host
        from visit_platform.visits.actions import create_visit, decide_visit, register_visitor
        from visit_platform.visits.choices import Scenario, VisitStatus
        from visit_platform.visits.models import Visit

        system = Actor.system("tests")
        building = Building.objects.get(schema_name=live_building.building.schema_name)
        zone = ZoneInfo(building.time_zone)
        admin = Actor(user=User.objects.get(email=live_building.login_email("admin")))
        gate = make_gate("大堂 1 号闸机")
        hosts = list(Host.objects.order_by("company__name", "pk").distinct("company__name")[:2])
        today = timezone.localdate(timezone.now(), zone)
        number = 0
        for days_ago in range(DAYS, 0, -1):
            day = today - timedelta(days=days_ago)
            for index in range(days_ago % 4 + 2):
                number += 1
                host = hosts[index % 2]
                starts = datetime.combine(day, time(8 + (index * 3) % 9, 15), tzinfo=zone)
                visitor = register_visitor(system, name="访客", mobile=f"1370000{number:04d}")
                scenario = Scenario.REQUEST if index == 1 else Scenario.INVITE
                visit = create_visit(
                    system,
                    scenario=scenario,
                    visitor=visitor,
                    host=host,
                    valid_from=starts,
                    valid_until=starts + timedelta(hours=3),
                    status=VisitStatus.PENDING_APPROVAL
                    if scenario == Scenario.REQUEST
                    else VisitStatus.APPROVED,
                )
                if scenario == Scenario.REQUEST:
                    decide_visit(admin, visit, approve=True)
                    Visit.objects.filter(pk=visit.pk).update(
                        created_at=starts - timedelta(hours=20),
                        decided_at=starts - timedelta(hours=20 - index - days_ago % 3),
                    )
                    visit.refresh_from_db()
                token = slip_token(access_actions.issue_pass(system, visit).pass_record)
                if number % 5 == 0:
                    access_actions.decide_scan(
                        gate=gate, token=token, direction="in", now=starts + timedelta(hours=4)
                    )
                    continue
                entered = starts + timedelta(minutes=10 + number % 7)
                access_actions.decide_scan(gate=gate, token=token, direction="in", now=entered)
                access_actions.decide_scan(
                    gate=gate,
                    token=token,
                    direction="out",
                    now=entered + timedelta(minutes=35 + 13 * (number % 6)),
                )

    run_committed(live_building, django_db_blocker, seed)
    return live_building


@pytest.fixture
def signed_in(browser: Any, statistics_data: LiveBuilding) -> Iterator[Any]:
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{statistics_data.url}/login/")
    page.fill("input[name=username]", statistics_data.login_email("admin"))
    page.fill("input[name=password]", statistics_data.password)
    with page.expect_navigation():
        page.click("button[type=submit]")
    yield page
    context.close()


def open_dashboard(page: Any, live: LiveBuilding) -> list[dict[str, Any]]:
    page.goto(f"{live.url}/")
    page.click("nav.nav a[href='/statistics/']")
    wait_for(page, "() => document.documentElement.dataset.chartsDrawn")
    drawn: list[dict[str, Any]] = page.evaluate(DRAWN)
    return drawn


def test_echarts_draws_every_statistic_with_the_tables_numbers(
    signed_in: Any, statistics_data: LiveBuilding
) -> None:
    drawn = open_dashboard(signed_in, statistics_data)

    assert [chart["key"] for chart in drawn] == [
        "visits_by_hour",
        "visits_by_day",
        "visits_by_week",
        "visits_by_month",
        "by_company",
        "by_scenario",
        "denial_reasons",
        "dwell_time",
        "approval_turnaround",
        "no_shows",
        "peak_hours",
    ]
    for chart in drawn:
        assert chart["svg"] == 1, chart["key"]
        assert chart["series"] == chart["columns"], chart["key"]
        assert chart["categories"] == chart["labels"], chart["key"]
    by_key = {chart["key"]: chart for chart in drawn}
    # Ten days of 2 to 5 visits each (days_ago % 4 + 2): 4+3+2+5+4+3+2+5+4+3.
    assert sum(by_key["visits_by_day"]["series"][0]) == 35
    assert by_key["visits_by_day"]["names"] == ["来访数", "已到访"]
    assert by_key["by_scenario"]["categories"] == [
        "邀请",
        "预约登记",
        "现场登记（有证件）",
        "现场登记（无证件）",
        "活动参会",
    ]
    assert by_key["denial_reasons"]["categories"] == ["通行证已过期"]
    assert signed_in.locator("[data-empty='event_attendance']").is_visible()
    screenshot(signed_in, "statistics-desktop")


def test_the_charts_follow_the_width_down_to_a_phone(
    signed_in: Any, statistics_data: LiveBuilding
) -> None:
    wide = {chart["key"]: chart["width"] for chart in open_dashboard(signed_in, statistics_data)}

    signed_in.set_viewport_size(PHONE)
    wait_for(
        signed_in,
        """() => Array.from(document.querySelectorAll("[data-chart] svg"))
             .every(svg => svg.getBoundingClientRect().width <= 390)""",
    )
    narrow = {chart["key"]: chart["width"] for chart in signed_in.evaluate(DRAWN)}

    assert signed_in.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    assert all(narrow[key] < wide[key] for key in wide), (wide, narrow)
    screenshot(signed_in, "statistics-phone")


def test_the_labels_are_english_when_the_reader_chose_english(
    signed_in: Any, statistics_data: LiveBuilding
) -> None:
    signed_in.context.add_cookies(
        [{"name": settings.LANGUAGE_COOKIE_NAME, "value": "en", "url": statistics_data.url}]
    )

    by_key = {chart["key"]: chart for chart in open_dashboard(signed_in, statistics_data)}

    assert by_key["visits_by_day"]["names"] == ["Number of visits", "Arrived"]
    assert by_key["denial_reasons"]["categories"] == ["The pass has expired"]
    assert by_key["by_scenario"]["categories"][0] == "Invitation"
    assert signed_in.locator("#statistic-dwell_time h2").inner_text() == "Time spent inside"
