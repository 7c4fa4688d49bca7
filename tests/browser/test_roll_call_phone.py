"""The evacuation roll call on two marshals' phones, in a real browser over a real ASGI server
(the page is live through a WebSocket, so the building is served by the live ASGI server): a tap on
one phone shows on the other."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import close_old_connections
from django_tenants.utils import schema_context

from tests.access.conftest import make_pass, make_visit, make_visitor, slip_token
from tests.browser.conftest import LiveBuilding, screenshot, wait_for
from visit_platform.access.actions import close_roll_call, create_gate, decide_scan, start_roll_call
from visit_platform.access.models import RollCall
from visit_platform.audit.actions import Actor
from visit_platform.directory.models import Host

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

PHONE = {"width": 390, "height": 844}
SYSTEM = Actor.system("tests")


@pytest.fixture(scope="module")
def roll_call(live_asgi_building: LiveBuilding, django_db_blocker: Any) -> Iterator[RollCall]:
    """Three visitors inside, in two zones, and an open roll call: committed, for the server."""
    with django_db_blocker.unblock(), schema_context(live_asgi_building.building.schema_name):
        close_old_connections()
        lobby = create_gate(SYSTEM, name="大堂闸机", zone="A座大堂", direction="both")
        garage = create_gate(SYSTEM, name="车库闸机", zone="地下车库", direction="both")
        zhang_wei = Host.objects.get(mobile="+8613911110001")
        for name, mobile, gate, companions in (
            ("韩梅梅", "13800138101", lobby, 2),
            ("王五", "13800138102", lobby, 0),
            ("赵六", "13800138103", garage, 0),
        ):
            visit = make_visit(
                visitor=make_visitor(name=name, mobile=mobile, id_number=""), host=zhang_wei
            )
            type(visit).objects.filter(pk=visit.pk).update(companions=companions)
            decide_scan(gate=gate, token=slip_token(make_pass(visit)))
        started = start_roll_call(SYSTEM)
    yield started
    with django_db_blocker.unblock(), schema_context(live_asgi_building.building.schema_name):
        close_old_connections()
        close_roll_call(SYSTEM, started)


def phone_of(browser: Any, url: str, email: str, password: str) -> Any:
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-CN"
    )
    page = context.new_page()
    page.goto(f"{url}/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("button[type=submit]")
    return page


def test_two_marshals_phones_show_each_others_marks_live(
    asgi_browser: Any, live_asgi_building: LiveBuilding, roll_call: RollCall
) -> None:
    password = live_asgi_building.password
    first = phone_of(asgi_browser, live_asgi_building.url, "security@demo.example.com", password)
    second = phone_of(asgi_browser, live_asgi_building.url, "admin@demo.example.com", password)
    try:
        for phone in (first, second):
            phone.goto(f"{live_asgi_building.url}/roll-call/{roll_call.pk}/")
            wait_for(phone, "document.getElementById('live').textContent === '实时'")
        assert first.locator(".rc-zone h2").all_inner_texts() == ["A座大堂", "地下车库"]
        assert first.locator("#count-unaccounted").inner_text() == "5"

        with schema_context(live_asgi_building.building.schema_name):
            hanmeimei = roll_call.entries.get(name="韩梅梅").pk
            wangwu = roll_call.entries.get(name="王五").pk
        first.locator(f"#entry-{hanmeimei} button.to-safe").tap()
        second.locator(f"#entry-{wangwu} button.to-missing").tap()

        for phone in (first, second):
            wait_for(
                phone,
                f"document.getElementById('entry-{hanmeimei}').dataset.status === 'safe' && "
                f"document.getElementById('entry-{wangwu}').dataset.status === 'missing'",
            )
            assert phone.locator(f"#entry-{hanmeimei} [data-role=status]").inner_text() == "安全"
            assert phone.locator("#count-safe").inner_text() == "3"
            assert phone.locator("#count-missing").inner_text() == "1"
            assert phone.locator("#count-unaccounted").inner_text() == "1"
        width = first.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"]  # nothing runs off the side of the phone
        screenshot(first, "roll-call-phone")
    finally:
        first.context.close()
        second.context.close()
