"""What people see when the platform says no (issue 15), in the real browser: the pass page of
a visitor inside whose pass is used up (it still shows the exit code), sign-in paused after
too many wrong passwords, too many code requests from one phone, and a search with a control
character. Each at the width its users have; screenshots under test-artifacts/."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import close_old_connections
from django.utils import timezone
from django_tenants.utils import schema_context

from tests.browser.conftest import LiveBuilding, screenshot
from visit_platform.access.actions import create_gate, decide_scan, issue_pass, pass_token
from visit_platform.audit.actions import Actor
from visit_platform.directory.models import Host
from visit_platform.visits.actions import create_visit, register_visitor
from visit_platform.visits.choices import Scenario, VisitStatus

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def inside_link(live_building: LiveBuilding, django_db_blocker: Any) -> str:
    """A single-use pass whose one entry has been taken: its holder is inside."""
    from kernel import pass_tokens as tokens

    actor = Actor.system("tests")
    with django_db_blocker.unblock(), schema_context(live_building.building.schema_name):
        close_old_connections()
        visitor = register_visitor(actor, name="韩梅梅", mobile="13800138001")
        start = timezone.now() - timedelta(minutes=10)
        visit = create_visit(
            actor,
            scenario=Scenario.INVITE,
            visitor=visitor,
            host=Host.objects.get(mobile="+8613911110001"),
            valid_from=start,
            valid_until=start + timedelta(hours=3),
            status=VisitStatus.APPROVED,
        )
        issued = issue_pass(actor, visit, max_uses=1, zones=[])
        gate = create_gate(actor, name="大堂闸机", zone="大堂")
        token = pass_token(issued.pass_record, tokens.TokenKind.SLIP)
        assert decide_scan(gate=gate, token=token, direction="in").granted
        return issued.link_code


@pytest.fixture
def phone(browser: Any) -> Any:
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, locale="zh-CN")
    page = context.new_page()
    yield page
    context.close()


def test_a_visitor_inside_on_a_used_up_pass_still_gets_the_exit_code(
    phone: Any, live_building: LiveBuilding, inside_link: str
) -> None:
    phone.goto(f"{live_building.url}/p/{inside_link}/")

    phone.locator("text=在楼内，仅可出场").first.wait_for(timeout=5000)
    assert phone.locator("canvas, svg, img").count() >= 1  # the code is shown
    # Nothing of the templates' own comments shows (a multi-line {# #} once did).
    assert "#}" not in phone.inner_text("body")
    screenshot(phone, "refusal-pass-exit-only-phone")


def test_sign_in_paused_after_wrong_passwords_says_so_without_naming_the_account(
    page: Any, live_building: LiveBuilding
) -> None:
    email = live_building.login_email("admin")
    for _ in range(6):
        page.goto(f"{live_building.url}/login/")
        page.fill("input[name=username]", email)
        page.fill("input[name=password]", "not the password")
        with page.expect_navigation():
            page.click("button[type=submit]")

    assert "已暂停登录" in page.inner_text("body")  # the building speaks Chinese
    assert email not in page.inner_text("[role=alert]")
    screenshot(page, "refusal-sign-in-paused")


def test_too_many_code_requests_from_one_phone_are_answered_readably(
    phone: Any, live_building: LiveBuilding
) -> None:
    answers = []
    for number in range(12):
        phone.goto(f"{live_building.url}/me/")
        field = phone.locator("input[name=mobile]")
        field.fill(f"1390000{number:04d}")
        with phone.expect_navigation():
            phone.locator("form button[type=submit]").first.click()
        answers.append(phone.inner_text("body"))

    assert "请求过于频繁" in answers[-1] and "分钟后再试" in answers[-1]
    screenshot(phone, "refusal-too-many-codes-phone")


def test_a_search_with_a_control_character_gets_a_readable_page(
    page: Any, live_building: LiveBuilding
) -> None:
    response = page.goto(f"{live_building.url}/people/?q=%00")

    assert response.status == 400
    assert page.locator("h1").count() == 1
    screenshot(page, "refusal-control-characters")
