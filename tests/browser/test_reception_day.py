"""Reception's day in headless Chromium, on a desk's screen and on a phone: the expected
visitor is checked in with one tap that opens the slip, and a visitor is found by mobile."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.browser.conftest import LiveBuilding, run_committed, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
# One visitor each viewport checks in, and one who stays expected on the list.
VISITORS = {
    "desktop": ("欧阳明", "13700001111", "310104198506152010"),
    "phone": ("司马青", "13700002222", "440305199201013416"),
}


def expect_today(
    live: LiveBuilding, django_db_blocker: Any, name: str, mobile: str, number: str
) -> int:
    """An invited visitor expected this afternoon, with a pass: what the flows leave behind."""

    def make() -> int:
        from django.utils import timezone

        from visit_platform.access.actions import issue_pass
        from visit_platform.audit.actions import Actor
        from visit_platform.directory.models import Host
        from visit_platform.visits.actions import create_visit, register_visitor
        from visit_platform.visits.choices import Scenario, VisitStatus

        actor = Actor.system("tests")
        visitor = register_visitor(
            actor,
            name=name,
            mobile=mobile,
            id_type="resident_id" if number else "",
            id_number=number,
        )
        host = Host.objects.filter(is_active=True).order_by("pk").first()
        start = timezone.now() - timedelta(minutes=20)
        visit = create_visit(
            actor,
            scenario=Scenario.INVITE,
            visitor=visitor,
            host=host,
            valid_from=start,
            valid_until=start + timedelta(hours=3),
            status=VisitStatus.APPROVED,
            companions=1,
        )
        issue_pass(actor, visit)
        return visit.pk

    return run_committed(live, django_db_blocker, make)


def audit_count(live: LiveBuilding, django_db_blocker: Any, verb: str) -> int:
    def count() -> int:
        from visit_platform.audit.models import AuditEntry

        return AuditEntry.objects.filter(verb=verb).count()

    return run_committed(live, django_db_blocker, count)


def sign_in_as_reception(page: Any, live: LiveBuilding) -> None:
    page.goto(f"{live.url}/login/")
    page.fill("input[name=username]", "reception@demo.example.com")
    page.fill("input[name=password]", live.password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login/" not in url)


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_reception_checks_in_an_expected_visitor_in_one_tap_and_the_slip_opens(
    live_building: LiveBuilding, browser: Any, django_db_blocker: Any, width: str
) -> None:
    live = live_building
    name, mobile, number = VISITORS[width]
    visit_id = expect_today(live, django_db_blocker, name, mobile, number)
    context = browser.new_context(
        viewport=VIEWPORTS[width], is_mobile=width == "phone", locale="zh-CN"
    )
    page = context.new_page()
    sign_in_as_reception(page, live)
    page.goto(f"{live.url}/today/")
    row = page.locator(f"tr[data-visit='{visit_id}']")
    assert row.get_attribute("data-state") == "expected"
    assert row.locator("[data-test=visitor-name]").inner_text() == name  # the whole name
    screenshot(page, f"reception-today-{width}")
    printed_before = audit_count(live, django_db_blocker, "pass.slip_printed")

    with page.expect_popup() as popup:
        row.locator("[data-test=check-in]").click()
    slip_tab = popup.value
    slip_tab.wait_for_load_state()
    # The slip's tab: fetched by the page itself (the browser resolves *.localhost).
    head = page.evaluate(
        """async (url) => {
            const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
            return String.fromCharCode(...bytes.slice(0, 5));
        }""",
        slip_tab.url,
    )
    assert head == "%PDF-"
    assert "print=" in slip_tab.url
    page.bring_to_front()
    page.reload()
    assert page.locator(f"tr[data-visit='{visit_id}']").get_attribute("data-state") == "arrived"
    # The tab and the fetch above are one print.
    assert audit_count(live, django_db_blocker, "pass.slip_printed") == printed_before + 1
    screenshot(page, f"reception-today-checked-in-{width}")
    context.close()


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_reception_finds_a_visitor_by_mobile(
    live_building: LiveBuilding, browser: Any, django_db_blocker: Any, width: str
) -> None:
    live = live_building
    found = expect_today(
        live, django_db_blocker, f"诸葛{width[0]}", f"1360000{width == 'phone':d}444", ""
    )
    other = expect_today(
        live, django_db_blocker, f"上官{width[0]}", f"1360000{width == 'phone':d}555", ""
    )
    context = browser.new_context(
        viewport=VIEWPORTS[width], is_mobile=width == "phone", locale="zh-CN"
    )
    page = context.new_page()
    sign_in_as_reception(page, live)
    page.goto(f"{live.url}/visits/")
    typed = f"136 0000 {width == 'phone':d}444"
    page.fill("[data-test=visit-search]", typed)
    page.press("[data-test=visit-search]", "Enter")
    page.wait_for_url(lambda url: "q=" in url)

    table = page.locator("#visits table.data").inner_text()
    assert f"诸葛{width[0]}" in table
    assert f"上官{width[0]}" not in table
    screenshot(page, f"visit-search-mobile-{width}")
    page.goto(f"{live.url}/today/")
    page.fill("[data-test=today-search]", typed.replace(" ", "-"))
    page.press("[data-test=today-search]", "Enter")
    page.wait_for_url(lambda url: "q=" in url)
    assert page.locator(f"tr[data-visit='{found}']").count() == 1
    assert page.locator(f"tr[data-visit='{other}']").count() == 0
    context.close()


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_reception_finds_a_visitor_by_full_name_only_and_the_box_says_so(
    live_building: LiveBuilding, browser: Any, django_db_blocker: Any, width: str
) -> None:
    live = live_building
    found = expect_today(
        live, django_db_blocker, f"欧阳{width[0]}锋", f"1370000{width == 'phone':d}444", ""
    )
    other = expect_today(
        live, django_db_blocker, f"欧阳{width[0]}克", f"1370000{width == 'phone':d}555", ""
    )
    context = browser.new_context(
        viewport=VIEWPORTS[width], is_mobile=width == "phone", locale="zh-CN"
    )
    page = context.new_page()
    sign_in_as_reception(page, live)
    page.goto(f"{live.url}/today/")
    page.fill("[data-test=today-search]", f"欧阳{width[0]}")
    page.press("[data-test=today-search]", "Enter")
    page.wait_for_url(lambda url: "q=" in url)
    assert page.locator(f"tr[data-visit='{found}'], tr[data-visit='{other}']").count() == 0

    page.fill("[data-test=today-search]", f" 欧阳 {width[0]}锋 ")
    with page.expect_navigation():
        page.press("[data-test=today-search]", "Enter")

    assert page.locator(f"tr[data-visit='{found}']").count() == 1
    assert page.locator(f"tr[data-visit='{other}']").count() == 0
    assert page.locator("[data-test=search-help]").inner_text() == (
        "姓名为加密存储，请输入完整姓名：只输入部分姓名查不到任何人。"
    )
    screenshot(page, f"today-search-full-name-{width}")
    context.close()
