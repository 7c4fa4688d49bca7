"""The security screen against a live ASGI server (uvicorn in a thread): the page, its
static files and its WebSocket to the occupancy consumer, as a browser meets them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import LiveBuilding

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
