"""Issue 16 in a real browser: the home page per role (desk and phone), a pass revoked from
its visit's timeline and then refused by the gate API, and the outbox's clickable links."""

from __future__ import annotations

import json
import urllib.request
import uuid
from typing import Any

import pytest
from django.test import override_settings

from tests.browser.conftest import LiveBuilding, run_committed, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

DESKTOP = {"width": 1280, "height": 820}
PHONE = {"width": 390, "height": 844}


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


def seed_the_day() -> dict[str, Any]:
    """张伟 of the demo directory expects a visitor later today and one tomorrow who waits for
    his approval; another visitor came in at a gate; a door was forced open."""
    from datetime import timedelta

    from django.utils import timezone

    from tests.access.conftest import (
        SYSTEM,
        make_agent,
        make_gate,
        make_pass,
        make_visit,
        make_visitor,
        slip_token,
    )
    from visit_platform.access import actions
    from visit_platform.directory.models import Host

    zhang_wei = Host.objects.get(user__email="zhang.wei@demo.example.com")
    soon = timezone.now() + timedelta(minutes=20)
    expected = make_pass(
        make_visit(host=zhang_wei, visitor=make_visitor("韩梅梅", "13800000021", ""), starts=soon)
    )
    make_visit(
        host=zhang_wei,
        visitor=make_visitor("李小龙", "13800000022", ""),
        status="pending_approval",
        starts=soon + timedelta(days=1),
    )
    gate = make_gate(name="东门闸机")
    came_in = make_pass(make_visit(host=zhang_wei, visitor=make_visitor("王芳", "13800000023", "")))
    assert actions.decide_scan(gate=gate, token=slip_token(came_in)).granted
    actions.record_alert(
        actions.ReportedAlert(
            event_id=uuid.uuid4(), kind="door_forced", occurred_at=timezone.now(), gate=gate
        )
    )
    _agent, key = make_agent("东门 agent")
    del SYSTEM
    return {
        "pass_id": expected.pk,
        "visit_id": expected.visit_id,
        "token": slip_token(expected),
        "gate_id": gate.pk,
        "agent_key": key,
    }


@pytest.fixture(scope="module")
def day(live_building: LiveBuilding, django_db_blocker: Any) -> dict[str, Any]:
    return run_committed(live_building, django_db_blocker, seed_the_day)


def blocks(page: Any) -> list[str]:
    return page.eval_on_selector_all(".home-block", "sections => sections.map(s => s.id)")


@pytest.mark.parametrize(
    ("role", "viewport", "shown"),
    [
        ("reception", "desktop", ["home-tasks", "home-expected", "home-inside"]),
        ("security", "phone", ["home-tasks", "home-expected", "home-inside", "home-alerts"]),
        ("host", "phone", ["home-tasks", "home-my-visitors"]),
        ("admin", "desktop", ["home-tasks", "home-expected", "home-inside", "home-alerts"]),
    ],
)
def test_the_home_page_shows_each_role_what_needs_doing(
    browser: Any,
    live_building: LiveBuilding,
    day: dict[str, Any],
    role: str,
    viewport: str,
    shown: list[str],
) -> None:
    emails = {
        "reception": "reception@demo.example.com",
        "security": "security@demo.example.com",
        "host": "zhang.wei@demo.example.com",
        "admin": "admin@demo.example.com",
    }
    page = new_page(browser, viewport)
    sign_in(page, live_building, emails[role])
    page.goto(f"{live_building.url}/")

    assert blocks(page) == shown
    if "home-expected" in shown:
        expected = page.locator("#home-expected")
        assert expected.locator(".home-count").inner_text() == "1"
        # Reception and security greet visitors: whole names (audited); others see a mask.
        name = "韩梅梅" if role in {"reception", "security"} else "韩**"
        assert name in expected.inner_text()
        with page.expect_navigation():
            expected.locator("a.home-more").click()
        # Reception, security and property admins work through reception's day.
        assert page.url.endswith("/today/")
        page.go_back()
    if "home-inside" in shown:
        assert page.locator("#home-inside .home-count").inner_text() == "1"
        link = page.locator("#home-inside a.home-more").get_attribute("href")
        assert link == ("/security/" if role in {"security", "admin"} else "/visits/#inside")
    if "home-alerts" in shown:
        alerts = page.locator("#home-alerts")
        assert alerts.locator(".home-count").inner_text() == "1"
        assert alerts.locator(".badge.bad").count() == 1  # a forced door is urgent
    if role == "host":
        mine = page.locator("#home-my-visitors")
        assert mine.locator(".home-count").inner_text() == "2"  # not the one inside
        assert mine.locator(".home-pending").count() == 1
        assert page.locator("#home-my-visitors li").count() == 2
    # Nothing is wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
    if role != "admin":
        screenshot(page, f"home-{role}-{viewport}")
    page.context.close()


def gate_api(live: LiveBuilding, key: str, path: str, body: Any = None) -> Any:
    """Call the gate API on the live server (on loopback, with the building's Host header)."""
    host = live.url.split("://", 1)[1]
    request = urllib.request.Request(
        f"http://127.0.0.1:{host.rsplit(':', 1)[1]}/api/gate{path}",
        data=None if body is None else json.dumps(body).encode(),
        headers={
            "Host": host,
            "Authorization": f"Bearer {key}",
            "Content-Type": "application/json",
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        assert response.status == 200
        return json.loads(response.read())


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_a_pass_revoked_in_the_console_is_refused_at_the_gate(
    browser: Any, live_building: LiveBuilding, django_db_blocker: Any, viewport: str
) -> None:
    def seed() -> dict[str, Any]:
        from tests.access.conftest import (
            make_agent,
            make_gate,
            make_pass,
            make_visit,
            make_visitor,
            slip_token,
        )

        pass_record = make_pass(make_visit(visitor=make_visitor("周杰", "13800000031", "")))
        _agent, key = make_agent(f"agent {viewport}")
        return {
            "pass_id": pass_record.pk,
            "visit_id": pass_record.visit_id,
            "token": slip_token(pass_record),
            "gate_id": make_gate(name=f"西门 {viewport}").pk,
            "agent_key": key,
        }

    seeded = run_committed(live_building, django_db_blocker, seed)
    page = new_page(browser, viewport)
    sign_in(page, live_building, "security@demo.example.com")
    page.goto(f"{live_building.url}/visits/{seeded['visit_id']}/timeline/")
    row = page.locator(f"tr[data-pass='{seeded['pass_id']}']")
    questions: list[str] = []

    def answer(dialog: Any) -> None:
        questions.append(dialog.message)
        dialog.accept()

    page.on("dialog", answer)
    form = page.locator(f"form[action='/passes/{seeded['pass_id']}/revoke/']")
    form.locator("input[name=reason]").fill("访客手机遗失")
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
    with page.expect_navigation():
        form.locator("button[type=submit]").click()

    assert len(questions) == 1
    assert page.locator(".message.success").count() == 1
    assert row.locator(".badge.bad").count() == 1
    assert "访客手机遗失" in row.inner_text()
    assert form.count() == 0

    # The gate agent's calls, as it makes them: to the building's host, with its key.
    scan = gate_api(
        live_building,
        seeded["agent_key"],
        "/scans",
        {"gate_id": seeded["gate_id"], "token": seeded["token"], "event_id": str(uuid.uuid4())},
    )
    revocations = gate_api(live_building, seeded["agent_key"], "/revocations")

    assert (scan["granted"], scan["reason"]) == (False, "revoked")
    assert seeded["pass_id"] in revocations["pass_ids"]
    # The refusal is on the visits page, where the desk looks for it.
    page.goto(f"{live_building.url}/visits/?denied=1#events")
    refused = page.locator("#events tbody tr").first
    assert refused.locator(".badge.bad").count() == 1
    assert "周杰" in refused.inner_text()  # security sees whole names
    if viewport == "desktop":
        page.goto(f"{live_building.url}/visits/{seeded['visit_id']}/timeline/")
        screenshot(page, "revoke-pass-desktop")
    page.context.close()


def test_the_outbox_links_open_the_texted_pass_page(
    browser: Any, live_building: LiveBuilding, django_db_blocker: Any
) -> None:
    port = live_building.url.rsplit(":", 1)[1]

    def text_a_pass() -> str:
        from tests.access.conftest import SYSTEM, make_visit, make_visitor
        from visit_platform.access.actions import issue_pass, pass_url
        from visit_platform.notifications.actions import send_notification

        issued = issue_pass(SYSTEM, make_visit(visitor=make_visitor("孙丽", "13800000041", "")))
        link = pass_url(issued.link_code)
        send_notification(
            SYSTEM,
            channel="sms",
            to="13800000041",
            purpose="pass_link",
            text=f"【浏览器测试大厦】您的通行证：{link} 请勿转发。另见 http://evil.example/x/",
        )
        return link

    with override_settings(PUBLIC_PORT=port):
        link = run_committed(live_building, django_db_blocker, text_a_pass)
    page = new_page(browser, "desktop")
    sign_in(page, live_building, "admin@demo.example.com")
    page.goto(f"{live_building.url}/notifications/")

    anchor = page.locator(f"a[href='{link}']")
    assert link.startswith(f"{live_building.url}/p/")
    assert anchor.count() == 1
    assert page.locator("a[href^='http://evil.example']").count() == 0
    assert "http://evil.example/x/" in page.locator("table.data").inner_text()
    screenshot(page, "outbox-links-desktop")
    with page.context.expect_page() as opened:
        anchor.click()
    pass_page = opened.value
    pass_page.wait_for_load_state()
    assert pass_page.url == link
    assert pass_page.locator("img, svg").count() >= 1
    page.context.close()
