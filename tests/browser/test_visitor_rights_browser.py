"""Visitors' rights in the browser, at desktop and phone width: on My visits the visitor
downloads their data and asks for its deletion; a property admin finds the request on the
privacy requests page and carries it out; the visitor reads the answer on My visits."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import LiveBuilding, run_committed, screenshot
from tests.browser.test_visitor_applies import texted

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

WIDTHS = {
    "desktop": {"width": 1360, "height": 820},
    "phone": {"width": 390, "height": 844},
}
# One visitor per width; the phone's is on the watchlist, so its answer says what is kept.
MOBILES = {"desktop": "13800138601", "phone": "13800138602"}
RESIDENT_IDS = {"desktop": "", "phone": "11010519491231002X"}


def seed_visitor(live: LiveBuilding, django_db_blocker: Any, width: str) -> None:
    def seed() -> None:
        from django.utils import timezone

        from tests.access.conftest import SYSTEM, make_host, make_visit, make_visitor
        from workflows.actions import add_to_watchlist

        visitor = make_visitor(name="韩梅梅", mobile=MOBILES[width], id_number=RESIDENT_IDS[width])
        make_visit(visitor=visitor, host=make_host(), starts=timezone.now() - timedelta(days=3))
        if width == "phone":
            add_to_watchlist(
                SYSTEM, reason="盗窃", id_type="resident_id", id_number=RESIDENT_IDS[width]
            )

    run_committed(live, django_db_blocker, seed)


def context_for(browser: Any, width: str) -> Any:
    if width == "phone":
        return browser.new_context(
            viewport=WIDTHS[width],
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
            locale="zh-CN",
            accept_downloads=True,
        )
    return browser.new_context(viewport=WIDTHS[width], locale="zh-CN", accept_downloads=True)


def sign_in_to_my_visits(page: Any, live: LiveBuilding, mobile: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"{live.url}/me/")
    page.fill("#mobile", mobile)
    with page.expect_navigation():
        page.click("#mobile-form button[type=submit]")
    expect(page.locator("#sign-in")).to_have_attribute("data-step", "code")
    code = re.search(r"\b(\d{6})\b", texted(live, "one_time_code", mobile))
    assert code is not None
    page.fill("#code", code.group(1))
    with page.expect_navigation():
        page.click("#code-form button[type=submit]")


def fits(page: Any) -> bool:
    width: int = page.evaluate("() => document.documentElement.scrollWidth")
    return width <= page.viewport_size["width"]


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_the_visitor_downloads_and_asks_for_deletion_and_staff_carry_it_out(
    browser: Any, live_building: LiveBuilding, django_db_blocker: Any, width: str
) -> None:
    from playwright.sync_api import expect

    seed_visitor(live_building, django_db_blocker, width)
    visitor = context_for(browser, width).new_page()

    # 1. The visitor signs in to My visits and downloads their data.
    sign_in_to_my_visits(visitor, live_building, MOBILES[width])
    expect(visitor.locator("#your-data")).to_be_visible()
    with visitor.expect_download() as download_info:
        visitor.click("#download-data")
    download = download_info.value
    assert re.fullmatch(r"my-data-\d{8}\.json", download.suggested_filename)
    data = json.loads(Path(download.path()).read_text(encoding="utf-8"))
    assert [record["name"] for record in data["visitor_records"]] == ["韩梅梅"]
    assert len(data["visits"]) == 1

    # 2. They confirm and ask for deletion; My visits shows the request waiting.
    visitor.check("#confirm-deletion")
    with visitor.expect_navigation():
        visitor.click("#ask-deletion")
    expect(visitor.locator("#deletion-request")).to_have_attribute("data-status", "open")
    expect(visitor.locator("#ask-deletion")).to_have_count(0)
    assert fits(visitor)
    screenshot(visitor, f"visitor-rights-requested-{width}")

    # 3. A property admin finds it among the open requests and carries it out.
    staff_context = browser.new_context(viewport=WIDTHS[width], locale="zh-CN")
    staff = staff_context.new_page()
    staff.goto(f"{live_building.url}/login/")
    staff.fill("input[name=username]", live_building.login_email("admin"))
    staff.fill("input[name=password]", live_building.password)
    with staff.expect_navigation():
        staff.click("button[type=submit]")
    staff.goto(f"{live_building.url}/privacy-requests/")
    row = staff.locator("#open-requests tbody tr").last
    expect(row).to_be_visible()
    assert fits(staff)
    screenshot(staff, f"staff-privacy-requests-{width}")
    with staff.expect_navigation():
        row.locator("a.btn").click()
    expect(staff.locator("#held")).to_contain_text("韩*")
    screenshot(staff, f"staff-privacy-request-{width}")
    staff.on("dialog", lambda dialog: dialog.accept())
    with staff.expect_navigation():
        staff.click("#carry-out-button")
    expect(staff.locator("#request-status")).to_have_attribute("data-status", "done")
    expect(staff.locator("#answer")).to_contain_text("已删除")
    assert fits(staff)
    screenshot(staff, f"staff-privacy-request-done-{width}")

    # 4. The visitor reads the answer on My visits; the phone's says what is kept, and why.
    visitor.reload()
    expect(visitor.locator("#deletion-request")).to_have_attribute("data-status", "done")
    answer = visitor.locator("#deletion-answer")
    expect(answer).to_contain_text("已删除")
    if width == "phone":
        expect(answer).to_contain_text("保留：证件号码、姓名和手机号")
        expect(answer).to_contain_text("《个人信息保护法》第十三条第一款第（三）项")
    else:
        expect(answer).not_to_contain_text("保留")
    assert fits(visitor)
    screenshot(visitor, f"visitor-rights-answered-{width}")
    staff_context.close()
    visitor.context.close()
