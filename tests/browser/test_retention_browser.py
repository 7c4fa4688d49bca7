"""The retention pages in a real browser, in Chinese, at desktop and phone widths: a property
admin changes a period and previews what the job would anonymise (ADR 0034)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from tests.browser.conftest import LiveBuilding, run_committed, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

ADMIN = "admin@demo.example.com"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 820}


@pytest.fixture(scope="module")
def past_visit(live_building: LiveBuilding, django_db_blocker: Any) -> LiveBuilding:
    """A visitor whose visit ended sixty days ago: past the ID numbers' thirty days."""

    def seed() -> None:
        from django.utils import timezone

        from tests.access.conftest import make_visit, make_visitor
        from visit_platform.visits.choices import VisitStatus

        visitor = make_visitor(name="欧阳娜娜", mobile="13912345678")
        make_visit(
            visitor=visitor,
            status=VisitStatus.EXPIRED,
            starts=timezone.now() - timedelta(days=60),
        )

    run_committed(live_building, django_db_blocker, seed)
    return live_building


@pytest.fixture
def pages() -> Iterator[list[Any]]:
    opened: list[Any] = []
    yield opened
    for page in opened:
        page.context.close()


def signed_in(browser: Any, live: LiveBuilding, viewport: dict[str, int]) -> Any:
    page = browser.new_context(viewport=viewport, locale="zh-CN").new_page()
    page.goto(f"{live.url}/login/")
    page.fill("input[name=username]", ADMIN)
    page.fill("input[name=password]", live.password)
    with page.expect_navigation():
        page.click("button[type=submit]")
    return page


def test_a_property_admin_changes_a_period_and_previews_the_run(
    browser: Any, past_visit: LiveBuilding, pages: list[Any]
) -> None:
    page = signed_in(browser, past_visit, DESKTOP)
    pages.append(page)

    with page.expect_navigation():
        page.click("nav.nav a[href='/settings/retention/']")
    page.fill("input[name=photos]", "14")
    with page.expect_navigation():
        page.click("main form button[type=submit]")

    assert page.locator(".message").first.inner_text().strip() == "保存期限已保存。"
    assert page.input_value("input[name=photos]") == "14"
    screenshot(page, "retention-settings")
    with page.expect_navigation():
        page.click("text=预览将被匿名化的数据")
    rows = page.locator("table.data tbody tr")
    assert rows.count() == 5
    assert rows.nth(0).locator("td").nth(0).inner_text() == "证件号码"
    assert rows.nth(0).locator("td").nth(3).inner_text() == "1"
    assert rows.nth(1).locator("td").nth(1).inner_text() == "14"
    screenshot(page, "retention-preview")


def test_the_pages_fit_a_phone(browser: Any, past_visit: LiveBuilding, pages: list[Any]) -> None:
    page = signed_in(browser, past_visit, PHONE)
    pages.append(page)

    for path, name in (
        ("/settings/retention/", "retention-settings-phone"),
        ("/settings/retention/preview/", "retention-preview-phone"),
    ):
        assert page.goto(f"{past_visit.url}{path}").status == 200
        assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
        screenshot(page, name)
