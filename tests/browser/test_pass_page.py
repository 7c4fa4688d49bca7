"""The visitor's pass page on a phone, in a real browser: the QR code shows and rotates."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.db import close_old_connections
from django.utils import timezone
from django_tenants.utils import schema_context

from tests.browser.conftest import LiveBuilding, screenshot, wait_for
from visit_platform.access.actions import issue_pass
from visit_platform.audit.actions import Actor
from visit_platform.directory.models import Host
from visit_platform.visits.actions import create_visit, register_visitor
from visit_platform.visits.choices import Scenario, VisitStatus

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def link_code(live_building: LiveBuilding, django_db_blocker: Any) -> str:
    """A committed pass in the live building (the live server sees only committed rows).

    Module-scoped, so it is made before a test's rolled-back transaction opens. A connection
    left over from an earlier browser module may have been ended by its clean-up: start afresh.
    """
    actor = Actor.system("tests")
    with django_db_blocker.unblock(), schema_context(live_building.building.schema_name):
        close_old_connections()
        visitor = register_visitor(actor, name="韩梅梅", mobile="13800138000")
        start = timezone.now() - timedelta(minutes=10)
        visit = create_visit(
            actor,
            scenario=Scenario.INVITE,
            visitor=visitor,
            host=Host.objects.get(mobile="+8613911110001"),  # 张伟 of the demo directory
            valid_from=start,
            valid_until=start + timedelta(hours=3),
            status=VisitStatus.APPROVED,
        )
        return issue_pass(actor, visit, max_uses=2).link_code


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-CN"
    )
    page = context.new_page()
    yield page
    context.close()


def test_visitor_sees_the_qr_code_and_it_changes_after_the_refresh(
    link_code: str, phone: Any, live_building: LiveBuilding
) -> None:
    response = phone.goto(f"{live_building.url}/p/{link_code}/?refresh=1")

    assert response.status == 200
    assert response.headers["cache-control"] == "no-store"
    qr = phone.locator("#qr svg")
    assert qr.count() == 1
    assert qr.bounding_box()["width"] > 250  # fills the phone's width, easy to scan
    first = qr.evaluate("svg => svg.outerHTML")
    assert phone.get_by_text("韩**").count() == 1
    assert phone.get_by_text("韩梅梅").count() == 0

    wait_for(
        phone,
        "first => { const svg = document.querySelector('#qr svg');"
        " return svg !== null && svg.outerHTML !== first; }",
        arg=first,
        timeout=10_000,
    )

    assert phone.locator("#qr svg").count() == 1
    assert phone.locator("#state-label").inner_text() == "有效"
    phone.goto(f"{live_building.url}/p/{link_code}/")  # as the visitor sees it: every 30 s
    screenshot(phone, "visitor-pass")


def test_an_unknown_link_shows_a_friendly_page_on_the_phone(
    phone: Any, live_building: LiveBuilding
) -> None:
    response = phone.goto(f"{live_building.url}/p/not-a-real-code-0000000/")

    assert response.status == 404
    assert phone.locator("h1").count() == 1
    assert phone.locator("svg").count() == 0
