"""The staff console in a real browser: sign-in, navigation by role, a change end to end."""

from __future__ import annotations

from typing import Any

import pytest
from django_tenants.utils import schema_context

from tests.browser.conftest import LiveBuilding, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db]


def sign_in(page: Any, live: LiveBuilding, email: str) -> None:
    page.goto(f"{live.url}/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", live.password)
    with page.expect_navigation():
        page.click("button[type=submit]")


def test_property_admin_adds_a_company_in_chinese_ui_and_sees_it_listed(
    page: Any, live_building: LiveBuilding
) -> None:
    sign_in(page, live_building, live_building.login_email("admin"))

    assert page.locator("html").get_attribute("lang") == "zh-hans"
    page.goto(f"{live_building.url}/companies/new/")
    page.fill("input[name=name]", "晨光咨询有限公司")
    page.fill("input[name=floors]", "9")
    page.fill("input[name=contact_mobile]", "138 0013 8099")
    with page.expect_navigation():
        page.click("main form.form button[type=submit]")

    assert page.url.endswith("/companies/")
    assert page.locator("table.data").get_by_text("晨光咨询有限公司").count() == 1
    screenshot(page, "console-companies-zh")
    from visit_platform.directory.models import Company

    with schema_context(live_building.building.schema_name):
        assert Company.objects.get(name="晨光咨询有限公司").contact_mobile == "+8613800138099"


def test_switching_to_english_keeps_the_choice_across_pages(
    page: Any, live_building: LiveBuilding
) -> None:
    sign_in(page, live_building, "admin@demo.example.com")

    with page.expect_navigation():
        page.select_option("select[name=language]", "en")
    page.goto(f"{live_building.url}/employees/")

    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == "Employees"


def test_host_sees_only_their_own_pages_in_the_navigation(
    page: Any, live_building: LiveBuilding
) -> None:
    sign_in(page, live_building, "zhang.wei@demo.example.com")

    links = page.locator("nav.nav a").all_inner_texts()

    # The overview, their tasks, inviting a visitor, their visitors, and roll calls (to mark
    # their own visitors).
    assert len(links) == 5
    response = page.goto(f"{live_building.url}/audit/")
    assert response.status == 403
    assert page.locator("h1").count() == 1


def test_wrong_password_shows_a_readable_error_and_stays_signed_out(
    page: Any, live_building: LiveBuilding
) -> None:
    page.goto(f"{live_building.url}/login/")
    page.fill("input[name=username]", live_building.login_email("admin"))
    page.fill("input[name=password]", "not the password")
    with page.expect_navigation():
        page.click("button[type=submit]")

    assert page.locator("[role=alert]").count() == 1
    assert page.url.endswith("/login/")


def test_the_main_pages_break_no_content_security_policy_rule(
    page: Any, live_building: LiveBuilding
) -> None:
    """Every page sends a Content-Security-Policy: a script without the page's nonce, an inline
    handler or a resource from elsewhere would be blocked, and Chromium says so in the console.
    The language switch (once an inline handler) must still send its form."""
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    sign_in(page, live_building, live_building.login_email("admin"))

    for path in ("/", "/visits/", "/people/", "/tasks/", "/forms/", "/security/", "/roll-call/"):
        response = page.goto(f"{live_building.url}{path}")
        assert response.status == 200, path
        assert "'nonce-" in response.headers["content-security-policy"]
        page.wait_for_load_state("networkidle")
    with page.expect_navigation():
        page.select_option("select[name=language]", "en")

    assert page.locator("html").get_attribute("lang") == "en"
    assert violations == []
