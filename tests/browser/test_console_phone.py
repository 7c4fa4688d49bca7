"""The staff console on a phone (390 x 844): every page in each staff role's navigation, and the
detail pages those lists link to, fit the screen's width; the menu opens and closes with its
button. The same pages at 1280 keep the sidebar.

The pages walked are read from the navigation each role sees, so a page added to it later is
walked too without touching this test."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from tests.browser.conftest import LiveBuilding, run_committed, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 820}
STAFF = {
    "property_admin": "admin@demo.example.com",
    "company_admin": "company-admin@demo.example.com",
    "host": "zhang.wei@demo.example.com",
    "reception": "reception@demo.example.com",
    "security": "security@demo.example.com",
}
# The detail pages the lists link to: a task, a visit's timeline, a company, an employee, an
# event, a form in the designer. The first link of each kind on a role's pages is walked.
DETAIL_LINK = re.compile(
    r"^/(tasks/\d+|visits/\d+/timeline|companies/\d+|employees/\d+|events/\d+|forms/\d+)/$"
)
# Detail pages the walk must reach (the demo's waiting request is in 张伟's own tasks).
DETAILS_SEEN = {
    "property_admin": {"visits", "companies", "employees", "events", "forms"},
    "host": {"tasks"},
}
# Pages are measured here, not styled: these selectors find the menu and its button.
MENU_BUTTON = "[data-menu-button]"
NAV_LINKS = "nav.nav a"


@pytest.fixture(scope="module")
def demo_data(live_building: LiveBuilding, django_db_blocker: Any) -> LiveBuilding:
    """The demo's forms, gates, waiting flows and an event of 星河科技, so the lists have
    rows and the detail pages exist."""

    def seed() -> None:
        from django.utils import timezone

        from forms.demo import seed_demo_forms
        from visit_platform.access.demo import seed_demo_access
        from visit_platform.audit.actions import Actor
        from visit_platform.directory.models import Company
        from workflows.actions.events import create_event
        from workflows.demo import seed_demo_flows

        seed_demo_access()
        seed_demo_forms()
        seed_demo_flows()
        start = timezone.now() + timedelta(days=1)
        create_event(
            Actor(user=None, label="system"),
            name="2026 年度合作伙伴大会暨新品发布会",
            company=Company.objects.get(name="星河科技有限公司"),
            starts_at=start,
            ends_at=start + timedelta(hours=8),
            place="三楼报告厅",
        )

    run_committed(live_building, django_db_blocker, seed)
    return live_building


def signed_in(browser: Any, live: LiveBuilding, email: str, viewport: dict[str, int]) -> Any:
    context = browser.new_context(viewport=viewport, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{live.url}/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", live.password)
    with page.expect_navigation():
        page.click("button[type=submit]")
    return page


@pytest.fixture
def close_after() -> Iterator[list[Any]]:
    pages: list[Any] = []
    yield pages
    for page in pages:
        page.context.close()


def page_width(page: Any) -> int:
    width: int = page.evaluate("() => document.documentElement.scrollWidth")
    return width


# Text squeezed into a column a character or two wide (the symptom of a layout that fits the
# screen only by crushing a column): an element holding a run of text that is narrower than
# 40 px yet taller than four lines.
SQUEEZED_TEXT = """() => Array.from(document.querySelectorAll("main *")).filter(element => {
  const text = Array.from(element.childNodes).filter(node => node.nodeType === 3)
    .map(node => node.textContent.trim()).join("");
  const box = element.getBoundingClientRect();
  return text.length >= 6 && box.width > 0 && box.width < 40 && box.height > 90;
}).map(element => element.textContent.trim().slice(0, 30))"""


def measure(page: Any, live: LiveBuilding, path: str, too_wide: dict[str, int]) -> None:
    """Record the page's width if it is wider than the screen, or -1 if it fits only by
    squeezing text into a sliver."""
    response = page.goto(f"{live.url}{path}")
    assert response.status == 200, path
    width = page_width(page)
    if width > page.viewport_size["width"]:
        too_wide[path] = width
    elif page.evaluate(SQUEEZED_TEXT):
        too_wide[path] = -1


def walk_role(page: Any, live: LiveBuilding) -> tuple[list[str], dict[str, int]]:
    """Visit every page of the role's navigation, then the first detail page of each kind
    those pages link to; return the paths visited and those wider than the viewport, with
    their widths."""
    page.goto(f"{live.url}/")
    paths: list[str] = page.eval_on_selector_all(
        NAV_LINKS, "links => links.map(link => link.getAttribute('href'))"
    )
    too_wide: dict[str, int] = {}
    details: dict[str, str] = {}
    for path in paths:
        measure(page, live, path, too_wide)
        for href in page.eval_on_selector_all(
            "main a[href]", "links => links.map(link => link.getAttribute('href'))"
        ):
            found = DETAIL_LINK.match(href)
            if found:
                details.setdefault(found.group(1).split("/")[0], href)
    for path in details.values():
        measure(page, live, path, too_wide)
    return paths + list(details.values()), too_wide


@pytest.mark.parametrize("role", list(STAFF))
def test_every_console_page_of_the_role_fits_a_phone_screen(
    browser: Any, demo_data: LiveBuilding, close_after: list[Any], role: str
) -> None:
    page = signed_in(browser, demo_data, STAFF[role], PHONE)
    close_after.append(page)
    paths, too_wide = walk_role(page, demo_data)

    assert len(paths) >= 3, paths
    assert too_wide == {}
    walked_details = {path.split("/")[1] for path in paths if DETAIL_LINK.match(path)}
    assert walked_details >= DETAILS_SEEN.get(role, set())


@pytest.mark.parametrize("role", list(STAFF))
def test_every_console_page_of_the_role_still_fits_a_desktop_with_the_sidebar_shown(
    browser: Any, demo_data: LiveBuilding, close_after: list[Any], role: str
) -> None:
    page = signed_in(browser, demo_data, STAFF[role], DESKTOP)
    close_after.append(page)
    _paths, too_wide = walk_role(page, demo_data)

    assert too_wide == {}
    assert not page.locator(MENU_BUTTON).is_visible()
    assert page.locator(NAV_LINKS).first.is_visible()
    if role == "property_admin":
        # The audit log's details now break inside their column instead of widening the page.
        page.goto(f"{demo_data.url}/audit/")
        screenshot(page, "console-desktop-audit", full_page=False)


def test_the_menu_button_opens_and_closes_the_navigation_on_a_phone(
    browser: Any, demo_data: LiveBuilding, close_after: list[Any]
) -> None:
    page = signed_in(browser, demo_data, STAFF["property_admin"], PHONE)
    close_after.append(page)
    button = page.locator(MENU_BUTTON)
    screenshot(page, "console-phone-home")

    assert button.is_visible()
    assert button.get_attribute("aria-expanded") == "false"
    assert not page.locator(NAV_LINKS).first.is_visible()

    button.click()
    assert button.get_attribute("aria-expanded") == "true"
    assert page.locator(NAV_LINKS).first.is_visible()
    assert page_width(page) <= PHONE["width"]
    screenshot(page, "console-phone-menu-open")

    button.click()
    assert button.get_attribute("aria-expanded") == "false"
    assert not page.locator(NAV_LINKS).first.is_visible()


def test_the_menu_opens_from_the_keyboard_and_escape_closes_it(
    browser: Any, demo_data: LiveBuilding, close_after: list[Any]
) -> None:
    page = signed_in(browser, demo_data, STAFF["host"], PHONE)
    close_after.append(page)
    button = page.locator(MENU_BUTTON)

    button.focus()
    page.keyboard.press("Enter")
    assert button.get_attribute("aria-expanded") == "true"
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.matches('nav.nav a')")
    page.keyboard.press("Escape")

    assert button.get_attribute("aria-expanded") == "false"
    assert not page.locator(NAV_LINKS).first.is_visible()
    assert page.evaluate("() => document.activeElement.matches('[data-menu-button]')")


def test_without_scripts_the_navigation_is_still_reachable_on_a_phone(
    browser: Any, demo_data: LiveBuilding
) -> None:
    context = browser.new_context(viewport=PHONE, locale="zh-CN", java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(f"{demo_data.url}/login/")
        page.fill("input[name=username]", STAFF["host"])
        page.fill("input[name=password]", demo_data.password)
        with page.expect_navigation():
            page.click("button[type=submit]")

        assert page.locator(NAV_LINKS).first.is_visible()
        assert page_width(page) <= PHONE["width"]
    finally:
        context.close()


def test_a_table_becomes_cards_with_the_column_names_on_a_phone(
    browser: Any, demo_data: LiveBuilding, close_after: list[Any]
) -> None:
    page = signed_in(browser, demo_data, STAFF["property_admin"], PHONE)
    close_after.append(page)
    page.goto(f"{demo_data.url}/companies/")
    first_cell = page.locator("table.data tbody tr").first.locator("td").first
    heading = page.locator("table.data thead th").first.inner_text()

    assert first_cell.get_attribute("data-label") == heading
    assert page.locator("table.data thead").first.is_hidden()
    assert page_width(page) <= PHONE["width"]
    screenshot(page, "console-phone-companies")
    for path, name in (
        ("/visits/", "console-phone-visits"),
        ("/tasks/", "console-phone-tasks"),
        ("/employees/", "console-phone-employees"),
        ("/audit/", "console-phone-audit"),
    ):
        page.goto(f"{demo_data.url}{path}")
        screenshot(page, name)
