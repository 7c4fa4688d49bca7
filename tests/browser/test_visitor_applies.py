"""A visitor applies from their phone, the host approves from the texted link, the visitor
opens the texted pass and then finds the visit again under "My visits", signed in with a code
texted to them: every message is read from the building's outbox, as the phones would get it."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.browser.conftest import LiveBuilding, screenshot
from visit_platform.notifications.models import Notification

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

PHONE = {"width": 390, "height": 844}
VISITOR_MOBILE = "13800138555"
HOST_MOBILE = "13911110001"  # 张伟 of the demo directory


def texted(live: LiveBuilding, purpose: str, mobile: str) -> str:
    """The newest text of this purpose to this number, as the live server committed it, read
    through a connection of this test's own (an earlier browser module's clean-up may have
    ended the usual one) and decrypted by the model's own fields."""
    from django.db import connections

    recipient_field = Notification._meta.get_field("recipient")
    text_field = Notification._meta.get_field("text")
    own = connections.create_connection("default")
    try:
        with own.cursor() as cursor:
            cursor.execute(f'SET search_path TO "{live.building.schema_name}", public')
            cursor.execute(
                "SELECT recipient, text FROM notifications_notification "
                "WHERE purpose = %s ORDER BY id DESC",
                [purpose],
            )
            rows = cursor.fetchall()
    finally:
        own.close()
    texts = [
        text_field.from_db_value(text, None, own)  # type: ignore[attr-defined]
        for recipient, text in rows
        if recipient_field.from_db_value(recipient, None, own)  # type: ignore[attr-defined]
        == f"+86{mobile}"
    ]
    assert texts, f"no {purpose} text to {mobile}"
    return str(texts[0])


def link_path(text: str, prefix: str) -> str:
    match = re.search(rf"https?://[^/\s]+(/{prefix}/[\w-]+/)", text)
    assert match is not None, text
    return match.group(1)


def new_phone(browser: Any, language: str) -> Any:
    context = browser.new_context(
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN" if language == "zh-hans" else "en-US",
    )
    return context


def test_a_visitor_applies_is_approved_opens_the_pass_and_finds_it_under_my_visits(
    browser: Any, live_building: LiveBuilding
) -> None:
    from playwright.sync_api import expect

    url = live_building.url
    # The visitor chose English with the language switch (the cookie it sets); the host
    # reads the building's default, Simplified Chinese.
    visitor_context = new_phone(browser, "en")
    visitor_context.add_cookies([{"name": "django_language", "value": "en", "url": url}])
    visitor = visitor_context.new_page()

    # 1. The request form.
    visitor.goto(f"{url}/visit/request/")
    visitor.fill("#id_visitor_name", "Li Hua")
    visitor.fill("#id_visitor_mobile", VISITOR_MOBILE)
    visitor.fill("#id_host_mobile", HOST_MOBILE)
    visitor.select_option("#id_purpose", "business")
    # From now (in the building's time) rather than the suggested next hour, so that the
    # pass is valid at once and shows its QR code.
    now = datetime.now(ZoneInfo(live_building.building.time_zone))
    visitor.fill("#id_visit_start", f"{now:%Y-%m-%dT%H:%M}")
    visitor.fill("#id_visit_end", f"{now + timedelta(hours=2):%Y-%m-%dT%H:%M}")
    with visitor.expect_navigation():
        visitor.click("button.ff-submit")
    expect(visitor.locator("#sent")).to_be_visible()
    expect(visitor.locator("#my-visits")).to_be_visible()
    screenshot(visitor, "visitor-request-sent")

    # 2. The host opens the texted link on their phone and approves.
    decision = link_path(texted(live_building, "approval_request", HOST_MOBILE), "a")
    host_context = new_phone(browser, "zh-hans")
    host = host_context.new_page()
    response = host.goto(f"{url}{decision}")
    assert response.status == 200
    expect(host.locator("dl.m-facts")).to_contain_text("L* H**")  # the visitor, masked
    screenshot(host, "visitor-host-decision")
    with host.expect_navigation():
        host.click('button[name="decision"][value="approve"]')
    expect(host.locator("h1")).to_have_text("已批准")
    host_context.close()

    # 3. The visitor opens the pass texted to them: the QR code shows.
    pass_path = link_path(texted(live_building, "pass_link", VISITOR_MOBILE), "p")
    response = visitor.goto(f"{url}{pass_path}")
    assert response.status == 200
    qr = visitor.locator("#qr svg")
    expect(qr).to_have_count(1)
    assert qr.bounding_box()["width"] > 250
    screenshot(visitor, "visitor-pass-from-text")

    # 4. "My visits", from the pass page: the number, then the code texted to it.
    with visitor.expect_navigation():
        visitor.click("#my-visits")
    expect(visitor.locator("#sign-in")).to_have_attribute("data-step", "mobile")
    visitor.fill("#mobile", VISITOR_MOBILE)
    with visitor.expect_navigation():
        visitor.click("#mobile-form button[type=submit]")
    expect(visitor.locator("#sign-in")).to_have_attribute("data-step", "code")
    expect(visitor.locator("#sign-in")).to_contain_text("138 **** 8555")
    code = re.search(r"\b(\d{6})\b", texted(live_building, "one_time_code", VISITOR_MOBILE))
    assert code is not None
    visitor.fill("#code", code.group(1))
    screenshot(visitor, "visitor-my-visits-code")
    with visitor.expect_navigation():
        visitor.click("#code-form button[type=submit]")

    visit = visitor.locator("article.m-visit")
    expect(visit).to_have_count(1)
    expect(visit).to_have_attribute("data-state", "approved")
    expect(visit.locator(".m-badge")).to_have_text("Approved")
    expect(visit).to_contain_text("张*")  # the host, masked
    expect(visit.locator('[data-action="pass"]')).to_be_visible()
    assert visitor.locator("article.m-visit").bounding_box()["width"] <= PHONE["width"]
    screenshot(visitor, "visitor-my-visits")

    # 5. Its pass link opens the same pass, QR code and all.
    with visitor.expect_navigation():
        visitor.click('[data-action="pass"]')
    assert re.search(r"/p/[\w-]+/$", visitor.url)
    expect(visitor.locator("#qr svg")).to_have_count(1)
    visitor_context.close()
