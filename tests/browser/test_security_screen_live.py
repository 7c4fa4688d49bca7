"""The security screen against a live ASGI server (uvicorn in a thread): the page, its
static files and its WebSocket to the occupancy consumer, as a browser meets them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.access.conftest import make_gate, make_pass, make_visit, make_visitor, slip_token
from tests.browser.conftest import LiveBuilding, run_committed, wait_for
from visit_platform.access.actions import decide_scan, raise_alert
from visit_platform.access.choices import AlertKind
from visit_platform.access.models import Alert

pytestmark = [pytest.mark.browser, pytest.mark.django_db]


def sign_in(page: Any, live: LiveBuilding, email: str = "security@demo.example.com") -> None:
    page.goto(f"{live.url}/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", live.password)
    with page.expect_navigation():
        page.click("button[type=submit]")


@pytest.fixture
def guard(asgi_browser: Any, live_asgi_building: LiveBuilding) -> Iterator[Any]:
    context = asgi_browser.new_context(viewport={"width": 1360, "height": 820})
    context.add_cookies([{"name": "django_language", "value": "en", "url": live_asgi_building.url}])
    page = context.new_page()
    sign_in(page, live_asgi_building)
    yield page
    context.close()


def test_the_screen_opens_its_socket_on_the_live_asgi_server(
    guard: Any, live_asgi_building: LiveBuilding
) -> None:
    with guard.expect_websocket() as opened:
        guard.goto(f"{live_asgi_building.url}/security/")
    socket = opened.value
    first = socket.wait_for_event("framereceived", timeout=5000)

    assert socket.url.startswith("ws://") and socket.url.endswith("/ws/occupancy/")
    assert json.loads(first)["type"] in {"hello", "snapshot"}
    assert guard.evaluate("typeof window.securityScreen.apply") == "function"  # static served


@pytest.fixture
def committed(live_asgi_building: LiveBuilding, django_db_blocker: Any) -> Any:
    return lambda function: run_committed(live_asgi_building, django_db_blocker, function)


def open_live_screen(page: Any, live: LiveBuilding) -> None:
    page.goto(f"{live.url}/security/")
    wait_for(page, "document.getElementById('connection').dataset.state === 'live'", timeout=10_000)
    page.evaluate("window.__loadedOnce = true")  # gone if the page reloads


def test_a_scan_decided_at_a_gate_appears_on_the_open_screen_within_a_second(
    guard: Any, live_asgi_building: LiveBuilding, committed: Any
) -> None:
    gate = committed(lambda: make_gate("8F 闸机", zone="8", direction="in"))
    pass_record = committed(
        lambda: make_pass(make_visit(visitor=make_visitor("韩梅梅", "13800990001", "")))
    )
    open_live_screen(guard, live_asgi_building)
    row = guard.locator(f"#people-rows tr[data-visit='{pass_record.visit_id}']")
    assert row.count() == 0

    decision = committed(
        lambda: decide_scan(gate=gate, token=slip_token(pass_record), direction="in")
    )

    assert decision.granted
    row.wait_for(timeout=1_000)
    assert "韩梅梅" in row.inner_text()  # security sees full names
    assert "8F 闸机" in row.inner_text()
    assert guard.evaluate("window.__loadedOnce") is True  # no reload


def test_an_alert_appears_at_once_and_is_acknowledged_with_a_note_on_every_screen(
    guard: Any, asgi_browser: Any, live_asgi_building: LiveBuilding, committed: Any
) -> None:
    admin_context = asgi_browser.new_context(viewport={"width": 1360, "height": 820})
    admin = admin_context.new_page()
    sign_in(admin, live_asgi_building, "admin@demo.example.com")
    gate = committed(lambda: make_gate("北门闸机", zone="大堂"))
    open_live_screen(guard, live_asgi_building)
    open_live_screen(admin, live_asgi_building)

    alert, _raised_before = committed(
        lambda: raise_alert(AlertKind.DOOR_FORCED, key="live-screen-test", gate=gate)
    )
    on_guard = guard.locator(f"#alerts li[data-alert='{alert.pk}']")
    on_admin = admin.locator(f"#alerts li[data-alert='{alert.pk}']")
    on_guard.wait_for(timeout=1_000)
    on_admin.wait_for(timeout=1_000)
    assert "urgent" in (on_guard.get_attribute("class") or "")
    assert "Door forced open" in on_guard.inner_text()

    on_guard.locator("textarea").fill("Door checked and closed.")
    on_guard.locator("button[type=submit]").click()

    on_guard.wait_for(state="detached", timeout=5_000)
    on_admin.wait_for(state="detached", timeout=5_000)  # the alert_acknowledged delta
    saved = committed(lambda: Alert.objects.select_related("acknowledged_by").get(pk=alert.pk))
    assert saved.acknowledgement_note == "Door checked and closed."
    assert saved.acknowledged_by.email == "security@demo.example.com"
    admin_context.close()
