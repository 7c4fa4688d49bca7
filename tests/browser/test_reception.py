"""Reception completes a walk-in in headless Chromium, from the task queue to the printed
slip, in three screens; the test prints the screens, clicks and seconds it took (recorded in
docs/performance.md against the paper register's 5 to 8 minutes a visitor)."""

from __future__ import annotations

import base64
import io
import time
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.browser.conftest import LiveBuilding, screenshot, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

# 张伟 of the demo directory, who has a mobile number (his consent is taken by phone).
HOST_MOBILE = "13911110001"


def chip_reading() -> dict[str, str]:
    """What a desk reader reports for a resident identity card (the chip's photo is a BMP)."""
    photo = io.BytesIO()
    Image.new("RGB", (102, 126), (210, 190, 170)).save(photo, "BMP")
    return {
        "name": "赵敏",
        "id_number": "11010519491231002X",
        "birth_date": "19491231",
        "address": "北京市朝阳区某街道1号",
        "photo": base64.b64encode(photo.getvalue()).decode(),
    }


def face_photo(tmp_path: Path) -> Path:
    path = tmp_path / "face.jpg"
    buffer = io.BytesIO()
    Image.new("RGB", (120, 160), (200, 180, 160)).save(buffer, "JPEG")
    path.write_bytes(buffer.getvalue())
    return path


def test_reception_completes_a_walk_in_from_the_queue_to_the_printed_slip(
    live_building: LiveBuilding, page: Any, tmp_path: Path
) -> None:
    live = live_building
    page.goto(f"{live.url}/login/")
    page.fill("input[name=username]", "reception@demo.example.com")
    page.fill("input[name=password]", live.password)
    page.click("button[type=submit]")
    page.goto(f"{live.url}/tasks/")
    screenshot(page, "reception-queue")
    clicks = 0
    screens = []

    started = time.monotonic()
    page.click("[data-test=new-visitor]")  # screen 1: the visitor, from the ID-card reader
    clicks += 1
    screens.append(page.url)
    # The card on the reader: the reader's software hands the page what the chip holds.
    wait_for(page, "() => typeof window.visitIdCard === 'function'")
    assert page.evaluate("(card) => window.visitIdCard(card)", chip_reading())
    assert page.input_value("input[name=visitor_name]") == "赵敏"
    assert page.input_value("input[name=id_document_1]") == "11010519491231002X"
    assert page.locator("#id-card-photo").is_visible()
    page.fill("input[name=visitor_mobile]", "13500135000")
    page.fill("input[name=host_mobile]", HOST_MOBILE)
    page.select_option("select[name=purpose]", "business")
    page.check("input[name=privacy_consent]")
    clicks += 2  # the purpose and the consent box
    screenshot(page, "reception-walk-in-1-register")
    page.click("#registration button[type=submit]")
    clicks += 1

    page.wait_for_selector("[data-test=verify]")  # screen 2: consent, photo, face match
    screens.append(page.url)
    page.check("input[name=host_consent][value=yes]")
    page.fill("input[name=consent_note]", "张伟 电话同意")
    # No face consent asked: the check by eye, preselected, takes no photo (ADR 0036).
    page.check("input[name=identity_check][value=eye]")  # this desk has no terminal
    page.check("input[name=checked_by_eye]")
    clicks += 3  # the consent choice, the route and the tick
    screenshot(page, "reception-walk-in-2-verify")
    page.click("[data-test=verify]")
    clicks += 1

    page.wait_for_selector("[data-test=print-slip]")  # screen 3: hand the pass over
    screens.append(page.url)
    screenshot(page, "reception-walk-in-3-slip")
    with page.expect_popup() as popup:
        page.click("[data-test=print-slip]")
    clicks += 1
    slip_tab = popup.value
    page.wait_for_url(f"{live.url}/tasks/")
    seconds = time.monotonic() - started

    # Fetched by the page itself: the browser resolves *.localhost, Playwright's client does not.
    head = page.evaluate(
        """async (url) => {
            const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
            return String.fromCharCode(...bytes.slice(0, 5));
        }""",
        slip_tab.url,
    )
    assert head == "%PDF-"
    assert len(screens) == 3
    assert "/tasks/" in screens[1] and "/tasks/" in screens[2]
    assert page.locator("tr[data-task]").count() == 0  # the finished walk-in left the queue
    print(
        f"\nwalk-in at the desk: {len(screens)} screens, {clicks} clicks, {seconds:.1f} s "
        "(ID card read by the reader; mobile, host and note typed at machine speed)"
    )


# Two people on file, each known by a resident ID with their own name and mobile.
ON_FILE = {
    "desktop": ("310104198506152010", "13600002222"),
    "phone": ("440305199201013416", "13600003333"),
}
VIEWPORTS = {"desktop": {"width": 1360, "height": 820}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(scope="module")
def visitors_on_file(live_building: LiveBuilding, django_db_blocker: Any) -> None:
    """赵敏 twice, committed in the live building (the live server sees committed rows only)."""
    from django.db import close_old_connections
    from django_tenants.utils import schema_context

    from visit_platform.audit.actions import Actor
    from visit_platform.visits.actions import register_visitor

    with django_db_blocker.unblock(), schema_context(live_building.building.schema_name):
        close_old_connections()
        for number, mobile in ON_FILE.values():
            register_visitor(
                Actor.system("tests"),
                name="赵敏",
                mobile=mobile,
                id_type="resident_id",
                id_number=number,
            )


def texts_to(live: LiveBuilding, purpose: str) -> list[str]:
    from django_tenants.utils import schema_context

    from visit_platform.notifications.models import Notification

    with schema_context(live.building.schema_name):
        return [
            note.recipient for note in Notification.objects.filter(purpose=purpose).order_by("pk")
        ]


@pytest.mark.parametrize(("width", "keep"), [("desktop", "typed"), ("phone", "stored")])
def test_reception_settles_a_known_document_typed_with_another_name_and_mobile(
    live_building: LiveBuilding,
    visitors_on_file: None,
    browser: Any,
    tmp_path: Path,
    width: str,
    keep: str,
) -> None:
    live = live_building
    number, stored_mobile = ON_FILE[width]
    context = browser.new_context(
        viewport=VIEWPORTS[width], is_mobile=width == "phone", locale="zh-CN"
    )
    page = context.new_page()
    suffix = "" if width == "desktop" else "-phone"
    sent_before = len(texts_to(live, "pass_link"))
    page.goto(f"{live.url}/login/")
    page.fill("input[name=username]", "reception@demo.example.com")
    page.fill("input[name=password]", live.password)
    page.click("button[type=submit]")
    page.goto(f"{live.url}/reception/walk_in/")
    page.fill("input[name=visitor_name]", "钱多多")
    page.fill("input[name=visitor_mobile]", "13500135000")
    page.select_option("select[name=id_document_0]", "resident_id")
    page.fill("input[name=id_document_1]", number)
    page.fill("input[name=host_mobile]", HOST_MOBILE)
    page.select_option("select[name=purpose]", "business")
    if width == "phone":
        screenshot(page, "reception-walk-in-1-register-phone")
    page.check("input[name=privacy_consent]")
    page.click("#registration button[type=submit]")

    page.wait_for_selector("[data-test=identity-conflict]")  # the identity check
    assert page.inner_text("[data-test=stored-name]") == "赵*"
    assert (
        page.inner_text("[data-test=stored-mobile]")
        == f"{stored_mobile[:3]} **** {stored_mobile[-4:]}"
    )
    assert page.inner_text("[data-test=typed-name]").startswith("钱多多")
    assert page.inner_text("[data-test=typed-mobile]").startswith("135 0013 5000")
    assert "赵敏" not in page.content()
    screenshot(page, f"reception-walk-in-identity-check{suffix}")
    assert len(texts_to(live, "pass_link")) == sent_before  # nothing sent while deciding
    page.click(f"[data-test=keep-{keep}]")

    page.wait_for_selector("[data-test=verify]")  # screen 2, under the details now settled
    head = page.inner_text(".page-head")
    # Reception sees the whole name on its task screens (ADR 0027): the one now settled.
    assert ("钱多多" in head) is (keep == "typed") and ("赵敏" in head) is (keep == "stored")
    page.check("input[name=host_consent][value=yes]")
    page.check("input[name=identity_check][value=eye]")
    page.check("input[name=checked_by_eye]")
    if width == "phone":
        screenshot(page, "reception-walk-in-2-verify-phone")
    page.click("[data-test=verify]")

    page.wait_for_selector("[data-test=print-slip]")  # screen 3: the pass link by text
    if width == "phone":
        screenshot(page, "reception-walk-in-3-slip-phone")
    page.click("button[name=how][value=sms]")
    page.wait_for_url(f"{live.url}/tasks/")
    context.close()

    confirmed = "+8613500135000" if keep == "typed" else f"+86{stored_mobile}"
    assert texts_to(live, "pass_link")[sent_before:] == [confirmed]
