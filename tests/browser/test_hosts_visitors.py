"""A host's visitors in a real browser (issue 16): a host invites a visitor, finds them under
My visitors and (on the desktop) calls the approved invitation off; a company admin invites
for an employee of their company with the host picker. Desktop (1280 wide) and phone
(390 x 844)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import LiveBuilding, run_committed, screenshot, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(params=list(VIEWPORTS))
def device(request: pytest.FixtureRequest, browser: Any) -> Iterator[tuple[str, Any]]:
    name = request.param
    context = browser.new_context(
        viewport=VIEWPORTS[name],
        locale="zh-CN",
        is_mobile=name == "phone",
        has_touch=name == "phone",
    )
    yield name, context.new_page()
    context.close()


def sign_in(page: Any, live: LiveBuilding, email: str) -> None:
    page.goto(f"{live.url}/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", live.password)
    with page.expect_navigation():
        page.click("button[type=submit]")


def fill_invitation(page: Any, name: str, mobile: str) -> None:
    page.fill("#registration input[name=visitor_name]", name)
    page.fill("#registration input[name=visitor_mobile]", mobile)
    page.select_option("#registration select[name=purpose]", "business")


def test_a_host_invites_a_visitor_and_finds_them_under_my_visitors(
    device: tuple[str, Any], live_building: LiveBuilding, django_db_blocker: Any
) -> None:
    name, page = device
    visitor = {"desktop": "王芳", "phone": "陈静"}[name]
    sign_in(page, live_building, "zhang.wei@demo.example.com")

    page.goto(f"{live_building.url}/invite/")
    assert page.locator("#host-search").count() == 0  # a host invites as themselves
    fill_invitation(page, visitor, {"desktop": "137 0000 1111", "phone": "137 0000 2222"}[name])
    with page.expect_navigation():
        page.click("#registration button[type=submit]")

    assert "/invite/" in page.url
    assert page.locator("#invitation-share").count() == 1
    with page.expect_navigation():
        page.click("#to-my-visitors")
    assert page.url.endswith("/my-visitors/")
    today_or_upcoming = page.locator("#today, #upcoming")
    assert today_or_upcoming.get_by_text(visitor).count() == 1
    assert page.locator("nav.nav a[href='/my-visitors/']").count() == 1
    row = today_or_upcoming.locator("li.mv-item", has_text=visitor)
    assert row.locator("form[data-confirm] button").count() == 1  # approved, not yet come
    screenshot(page, f"my-visitors-{name}")
    if name != "desktop":
        return

    # The host calls the visit off: the confirm is accepted, the row reads cancelled.
    questions: list[str] = []

    def accept(dialog: Any) -> None:
        questions.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    with page.expect_navigation():
        row.locator("form[data-confirm] button").click()
    assert questions and "通行证将立即失效" in questions[0]
    row = page.locator("#today li.mv-item, #upcoming li.mv-item").filter(has_text=visitor)
    assert row.locator(".mv-status").inner_text().strip() == "已取消"
    assert row.locator("form[data-confirm]").count() == 0

    def visit_and_passes() -> tuple[str, bool]:
        from visit_platform.access.models import Pass
        from visit_platform.visits.models import Visit, index_of_name

        visit = Visit.objects.get(visitor__name_index=index_of_name(visitor), scenario="invite")
        live = Pass.objects.filter(visit=visit, revoked_at__isnull=True).exists()
        return visit.status, live

    assert run_committed(live_building, django_db_blocker, visit_and_passes) == (
        "cancelled",
        False,
    )


def test_a_company_admin_invites_for_an_employee_with_the_picker(
    device: tuple[str, Any], live_building: LiveBuilding, django_db_blocker: Any
) -> None:
    name, page = device
    visitor = {"desktop": "周敏", "phone": "吴昊"}[name]
    sign_in(page, live_building, "company-admin@demo.example.com")

    page.goto(f"{live_building.url}/invite/")
    page.fill("#host-search", "刘")
    wait_for(page, "() => document.querySelectorAll('#host-results [data-host-id]').length === 1")
    page.click("#host-results [data-host-id]")
    wait_for(page, "() => document.getElementById('chosen-host').value !== ''")
    assert "刘洋" in page.locator("#invite-for").inner_text()
    fill_invitation(page, visitor, {"desktop": "137 0000 3333", "phone": "137 0000 4444"}[name])
    screenshot(page, f"invite-on-behalf-{name}")
    with page.expect_navigation():
        page.click("#registration button[type=submit]")

    assert page.locator("#invitation-share").count() == 1

    def invited() -> tuple[str, str]:
        from visit_platform.visits.models import Visit, index_of_name

        visit = Visit.objects.select_related("host", "invited_by").get(
            visitor__name_index=index_of_name(visitor), scenario="invite"
        )
        return visit.host.name, visit.invited_by.email

    assert run_committed(live_building, django_db_blocker, invited) == (
        "刘洋",
        "company-admin@demo.example.com",
    )


def test_a_visitor_names_the_host_by_company_and_name_on_a_phone(
    browser: Any, live_building: LiveBuilding, django_db_blocker: Any
) -> None:
    context = browser.new_context(
        viewport=VIEWPORTS["phone"], locale="zh-CN", is_mobile=True, has_touch=True
    )
    page = context.new_page()
    try:
        page.goto(f"{live_building.url}/visit/request/")
        page.fill("#registration input[name=visitor_name]", "郑凯")
        page.fill("#registration input[name=visitor_mobile]", "137 0000 5555")
        page.select_option("#id_host_company", label="星河科技有限公司")
        page.fill("#id_host_name", " 张伟 ")
        page.select_option("#registration select[name=purpose]", "business")
        screenshot(page, "visitor-names-host-phone")
        with page.expect_navigation():
            page.click("#registration button[type=submit]")

        assert page.url.endswith("/visit/request/sent/")
    finally:
        context.close()

    def host_of_request() -> str:
        from visit_platform.visits.models import Visit, index_of_name

        return Visit.objects.get(
            visitor__name_index=index_of_name("郑凯"), scenario="request"
        ).host.name

    assert run_committed(live_building, django_db_blocker, host_of_request) == "张伟"
