"""Plain words in a real browser: our own 404 and 403 pages (desktop and phone), the audit
log's verbs and details, a walk-in's timeline in sentences, and a flow diagram whose text is
readable at the size the policy page shows it."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from tests.browser.conftest import LiveBuilding, run_committed, screenshot
from tests.conftest import client_for, member
from tests.forms.conftest import make_host
from tests.workflows.test_flows import FACE_CHECK, consent_to_face, photo_upload, register_walk_in
from visit_platform.audit.actions import Actor
from visit_platform.directory.choices import Role
from visit_platform.visits.models import Visit
from workflows.actions.terminals import record_face_match, register_desk_terminal

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

PHONE = {"width": 390, "height": 844}


def sign_in(page: Any, live: LiveBuilding, email: str) -> None:
    page.goto(f"{live.url}/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", live.password)
    with page.expect_navigation():
        page.click("button[type=submit]")


def test_a_missing_page_shows_our_404_on_desktop_and_phone(
    page: Any, browser: Any, live_building: LiveBuilding
) -> None:
    response = page.goto(f"{live_building.url}/no-such-page/")

    assert response.status == 404
    assert page.locator("h1").inner_text() == "页面不存在"
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    screenshot(page, "not-found-desktop")
    with page.expect_navigation():
        page.get_by_role("link", name="返回首页").click()
    assert "/login/" in page.url  # home, which asks a stranger to sign in

    phone = browser.new_context(viewport=PHONE, locale="en-US", is_mobile=True)
    try:
        on_phone = phone.new_page()
        on_phone.goto(f"{live_building.url}/no-such-page/")
        card = on_phone.locator(".m-card").bounding_box()
        assert card is not None and card["width"] <= PHONE["width"]
        assert on_phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        screenshot(on_phone, "not-found-phone")
    finally:
        phone.close()


def test_a_form_sent_after_its_token_is_gone_shows_a_readable_403_and_goes_back(
    page: Any, live_building: LiveBuilding
) -> None:
    page.goto(f"{live_building.url}/login/")
    page.context.clear_cookies()
    page.fill("input[name=username]", live_building.login_email("admin"))
    page.fill("input[name=password]", live_building.password)
    with page.expect_navigation():
        page.click("button[type=submit]")

    assert page.locator("h1").inner_text() == "页面已过期"
    assert "CSRF" not in page.content()
    with page.expect_navigation():
        page.get_by_role("link", name="返回上一页").click()
    assert page.url.endswith("/login/")  # back to the form, to reload and send again


def _walk_in_checked_at_the_desk(live: LiveBuilding) -> int:
    """A walk-in registered, checked (host agreed, the desk terminal's face match 93) and
    handed over, through the reception's own pages, committed for the live server."""
    make_host("13900139000")
    desk = client_for(live.building, member(live.building, "desk@words.example", Role.RECEPTION))
    verify_url = register_walk_in(desk)["Location"]
    visit = Visit.objects.filter(scenario="walk_in").latest("pk")
    consent_to_face(desk, verify_url)
    terminal, _key = register_desk_terminal(Actor.system("tests"), name="大堂访客机")
    record_face_match(
        terminal,
        visit_id=visit.pk,
        score=93,
        vendor="ZKTeco",
        model="FaceDepot-7B",
        taken_at=timezone.now(),
        nonce=uuid.uuid4().hex,
    )
    hand_over_url = desk.post(verify_url, {**FACE_CHECK, "photo": photo_upload()})["Location"]
    desk.post(hand_over_url, {"how": "slip"})
    connection.close()
    return int(visit.pk)


def test_the_audit_log_and_a_timeline_read_as_words_and_the_chart_at_full_size(
    page: Any, live_building: LiveBuilding, django_db_blocker: Any
) -> None:
    visit_pk = run_committed(
        live_building, django_db_blocker, lambda: _walk_in_checked_at_the_desk(live_building)
    )
    sign_in(page, live_building, live_building.login_email("admin"))

    page.goto(f"{live_building.url}/audit/")
    table = page.locator("table.data").inner_text()
    assert "完成了待办" in table
    assert "被访人已同意: 是" in table and "人脸比对: 93" in table
    assert "步骤: 前台核验访客" in table
    for raw in ("task.done", "step=", "host_consent", "True"):
        assert raw not in table
    screenshot(page, "audit-log-desktop")

    page.goto(f"{live_building.url}/visits/{visit_pk}/timeline/")
    timeline = page.locator("#timeline table.data").inner_text()
    assert "被访人已同意 · 人证核验: 人脸比对" in timeline and "人脸比对 93 分" in timeline
    assert "host_consent" not in timeline and "{" not in timeline
    screenshot(page, "timeline-desktop")

    page.goto(f"{live_building.url}/policies/walk_in/")
    chart = page.locator("img.flow-chart")
    page.wait_for_load_state("load")
    natural, shown = chart.evaluate("img => [img.naturalWidth, img.getBoundingClientRect().width]")
    assert natural > 0 and shown == natural  # not shrunk: its 14 px text stays 14 px
    chart.scroll_into_view_if_needed()
    screenshot(page, "policy-chart-desktop")
