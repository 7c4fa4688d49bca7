"""Records (issue 17) in a real browser, at desk and phone width: filter a month of visits by
company, page to the last page and back, save the filter and open it again, and look at the
gate events tab."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import LiveBuilding, run_committed, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

DESKTOP = {"width": 1280, "height": 820}
PHONE = {"width": 390, "height": 844}
# 星河 has 2 of every 3 visits: 80 of 120. Its first page is the 50 newest, its last page the
# 50 oldest (keyset pages count from their end, ADR 0038).
VISITS = 120


@pytest.fixture(scope="module")
def november(live_building: LiveBuilding, django_db_blocker: Any) -> dict[str, Any]:
    """120 visits in November 2026, two of three to 星河科技 (invited by its company admin)
    and one of three to 云帆 (registered at the desk), each with a gate event."""

    def seed() -> dict[str, Any]:
        import uuid
        from datetime import datetime, timedelta
        from zoneinfo import ZoneInfo

        from tenants.models import User
        from visit_platform.access.actions import create_gate
        from visit_platform.access.models import AccessEvent
        from visit_platform.audit.actions import Actor
        from visit_platform.directory.models import Host
        from visit_platform.visits.actions import register_visitor
        from visit_platform.visits.models import Visit

        system = Actor.system("tests")
        zhang = Host.objects.get(name="张伟")
        zhou = Host.objects.get(name="周杰")
        boss = User.objects.get(email="company-admin@demo.example.com")
        desk = User.objects.get(email="reception@demo.example.com")
        gate = create_gate(system, name="东门闸机", zone="", direction="both", checks_zone=False)
        start = datetime(2026, 11, 1, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
        visits = []
        for n in range(VISITS):
            visitor = register_visitor(system, name=f"访客{n:03d}", mobile=f"138{n:08d}")
            ours = n % 3 != 2
            visits.append(
                Visit(
                    scenario="invite" if ours else "walk_in",
                    status="checked_out",
                    visitor=visitor,
                    host=zhang if ours else zhou,
                    company=zhang.company if ours else zhou.company,
                    valid_from=start + timedelta(hours=5 * n),
                    valid_until=start + timedelta(hours=5 * n + 2),
                    invited_by=boss if ours else None,
                    registered_by=None if ours else desk,
                )
            )
        Visit.objects.bulk_create(visits)
        AccessEvent.objects.bulk_create(
            AccessEvent(
                event_id=uuid.uuid4(),
                gate=gate,
                visit=visit,
                direction="in",
                granted=visit.pk % 7 != 0,
                reason="granted" if visit.pk % 7 else "expired",
                occurred_at=visit.valid_from + timedelta(minutes=3),
            )
            for visit in visits
        )
        return {"star": zhang.company_id}

    return run_committed(live_building, django_db_blocker, seed)


def new_page(browser: Any, viewport: str) -> Any:
    context = browser.new_context(
        viewport=DESKTOP if viewport == "desktop" else PHONE,
        is_mobile=viewport == "phone",
        has_touch=viewport == "phone",
        locale="zh-CN",
    )
    return context.new_page()


def sign_in(page: Any, live: LiveBuilding, email: str) -> None:
    page.goto(f"{live.url}/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", live.password)
    with page.expect_navigation():
        page.click("button[type=submit]")


def fits(page: Any) -> bool:
    return bool(
        page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
    )


def first_cells(page: Any) -> list[str]:
    return [
        text.strip()
        for text in page.locator(
            "[data-test=records-table] tbody tr td:first-child div:first-child"
        ).all_inner_texts()
    ]


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_filter_page_to_the_last_page_and_save_the_filter(
    browser: Any, live_building: LiveBuilding, november: dict[str, Any], viewport: str
) -> None:
    page = new_page(browser, viewport)
    sign_in(page, live_building, "admin@demo.example.com")

    # Given the records page, when the admin filters November's visits to 星河科技
    if viewport == "phone":
        page.click("[data-menu-button]")
    page.click("nav a[href='/records/']")
    page.fill("input[name=start]", "2026-11-01")
    page.fill("input[name=end]", "2026-11-30")
    page.select_option("select[name=company]", str(november["star"]))
    with page.expect_navigation():
        page.click("[data-test=records-filter] button[type=submit]")

    # then the newest 50 of its 80 visits show, with who invited them
    rows = page.locator("[data-test=records-table] tbody tr")
    assert rows.count() == 50
    assert first_cells(page)[0] == "2026-11-25 23:00"  # visit 118, the newest of 星河's
    assert "company-admin@demo.example.com" in rows.first.inner_text()
    assert "访*" in rows.first.inner_text()
    assert fits(page)
    screenshot(page, f"records-visits-{viewport}")

    # When they go to the last page: the 50 oldest, ending with the month's first visit, and
    # a page back from there the 30 newer ones, the newest first, with no page before them
    with page.expect_navigation():
        page.click("[data-test=last]")
    assert rows.count() == 50
    assert first_cells(page)[-1] == "2026-11-01 09:00"
    assert page.locator("[data-test=next]").count() == 0
    screenshot(page, f"records-last-page-{viewport}")
    with page.expect_navigation():
        page.click("[data-test=previous]")
    assert rows.count() == 30 and first_cells(page)[0] == "2026-11-25 23:00"
    assert page.locator("[data-test=previous]").count() == 0

    # When they save the filter, it is listed and opens the same records again
    name = f"星河十一月 {viewport}"
    page.fill("[data-test=save-filter] input[name=name]", name)
    with page.expect_navigation():
        page.click("[data-test=save-filter] button[type=submit]")
    assert f"筛选条件“{name}”已保存。" in page.locator(".messages").inner_text()
    saved = page.locator("[data-test=saved-filter]", has_text=name)
    assert saved.count() == 1
    screenshot(page, f"records-saved-{viewport}")
    page.goto(f"{live_building.url}/")
    page.goto(f"{live_building.url}/records/")
    with page.expect_navigation():
        page.locator("[data-test=saved-filter]", has_text=name).click()
    assert page.input_value("select[name=company]") == str(november["star"])
    assert rows.count() == 50

    # And the gate events tab keeps the filter
    with page.expect_navigation():
        page.click("[data-test=tab-events]")
    assert rows.count() == 50
    assert "东门闸机" in rows.first.inner_text()
    assert fits(page)
    screenshot(page, f"records-events-{viewport}")
    page.context.close()


def test_a_bad_filter_reads_as_a_message_in_the_browser(
    browser: Any, live_building: LiveBuilding
) -> None:
    page = new_page(browser, "desktop")
    sign_in(page, live_building, "security@demo.example.com")

    response = page.goto(f"{live_building.url}/records/?start=2026-11-30&end=2026-11-01")

    assert response.status == 400
    assert page.locator("[data-test=records-error]").inner_text() == "开始日期晚于结束日期。"
    assert page.locator("[data-test=records-table]").count() == 0
    page.context.close()
