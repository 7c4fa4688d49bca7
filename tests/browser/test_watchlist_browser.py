"""The watchlist in a real browser: security proposes, a property admin approves, the list
shows the entry enforced."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import LiveBuilding, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db]


def sign_in(page: Any, live: LiveBuilding, email: str) -> None:
    page.goto(f"{live.url}/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", live.password)
    with page.expect_navigation():
        page.click("button[type=submit]")


def test_security_proposes_a_property_admin_approves_and_the_list_shows_it_enforced(
    browser: Any, live_building: LiveBuilding
) -> None:
    guard = browser.new_context(viewport={"width": 1360, "height": 820}).new_page()
    sign_in(guard, live_building, "security@demo.example.com")
    with guard.expect_navigation():
        guard.click("nav.nav a[href='/watchlist/']")
    guard.click("text=+ ")  # the page's one "propose" button
    guard.wait_for_url("**/watchlist/new/")
    guard.fill("input[name=name]", "钱推销")
    guard.fill("input[name=mobile]", "139 0000 7788")
    guard.fill("textarea[name=reason]", "多次进入楼层推销贷款，业主投诉")
    with guard.expect_navigation():
        guard.click("#watchlist-proposal button[type=submit]")
    assert guard.locator("#entry-status").get_attribute("data-status") == "proposed"
    assert guard.locator("button[value=approve]").count() == 0
    entry_url = guard.url
    guard.context.close()

    admin = browser.new_context(viewport={"width": 1360, "height": 820}).new_page()
    sign_in(admin, live_building, "admin@demo.example.com")
    admin.goto(f"{live_building.url}/watchlist/")
    assert admin.locator("#waiting").count() == 1
    admin.goto(entry_url)
    admin.fill("#review textarea[name=reason]", "已核实投诉记录")
    with admin.expect_navigation():
        admin.click("button[value=approve]")
    assert admin.locator("#entry-status").get_attribute("data-status") == "enforced"
    admin.goto(f"{live_building.url}/watchlist/")
    with admin.expect_navigation():
        admin.select_option("select[name=language]", "en")

    assert admin.locator("h1").inner_text() == "Watchlist"
    row = admin.locator("#watchlist tbody tr").first
    assert row.locator("[data-status]").get_attribute("data-status") == "enforced"
    assert "钱**" in row.inner_text()
    assert "7788" in row.inner_text() and "0000 7788" not in row.inner_text()
    screenshot(admin, "console-watchlist")
    # Who did what, as the entry's page shows it (the test thread keeps off the database: a
    # previous browser module's teardown may have ended its session).
    admin.goto(entry_url)
    details = admin.locator("main table.data").inner_text()
    assert "security@demo.example.com" in details and "admin@demo.example.com" in details
    admin.context.close()
