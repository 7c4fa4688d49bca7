"""Reception's desk check in headless Chromium: the visitor's separate consent to face data,
shown with its text and version before any photo; the visitor terminal's face match appears
on the open page as the terminal reports it through the desk API, and reception completes the
check; a visitor who refuses the face comes in by eye with no face data; a walk-in the host
refuses is ended without a photo, a score or a tick."""

from __future__ import annotations

import http.client
import io
import json
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.utils import timezone
from PIL import Image

from tests.browser.conftest import LiveBuilding, run_committed, screenshot, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

HOST_MOBILE = "13911110001"  # 张伟 of the demo directory
VIEWPORTS = {"desktop": {"width": 1280, "height": 820}, "phone": {"width": 390, "height": 844}}


def face_photo(tmp_path: Path) -> Path:
    path = tmp_path / "face.jpg"
    buffer = io.BytesIO()
    Image.new("RGB", (120, 160), (200, 180, 160)).save(buffer, "JPEG")
    path.write_bytes(buffer.getvalue())
    return path


@pytest.fixture(scope="module")
def terminal_key(live_building: LiveBuilding, django_db_blocker: Any) -> str:
    from visit_platform.audit.actions import Actor
    from workflows.actions.terminals import register_desk_terminal

    def register() -> str:
        return register_desk_terminal(Actor.system("tests"), name="大堂访客机")[1]

    return run_committed(live_building, django_db_blocker, register)


def terminal_reports(live: LiveBuilding, key: str, visit_id: int, score: int) -> dict[str, Any]:
    """The terminal's POST to the desk API over HTTP, as the device sends it (Python resolves
    no *.localhost name, so it connects to the port and names the building in Host)."""
    address = urlsplit(live.url)
    connection = http.client.HTTPConnection("127.0.0.1", address.port, timeout=30)
    body = {
        "visit_id": visit_id,
        "score": score,
        "vendor": "ZKTeco",
        "model": "FaceDepot-7B",
        "taken_at": timezone.now().isoformat(),
        "nonce": uuid.uuid4().hex,
    }
    connection.request(
        "POST",
        "/api/desk/face-matches",
        body=json.dumps(body),
        headers={
            "Host": address.netloc,
            "Authorization": f"Bearer {key}",
            "Content-Type": "application/json",
        },
    )
    response = connection.getresponse()
    answer = json.loads(response.read())
    connection.close()
    assert response.status == 201, answer
    return dict(answer)


# Visitors of the tests below, each a different person: (name, mobile, ID number).
ZHAO_MIN = ("赵敏", "13500135000", "11010519491231002X")
NEW_VISITORS = {
    "desktop": ("周芷若", "13500135001", "110105198001010016"),
    "phone": ("小昭", "13500135002", "110105198502020028"),
}
REFUSING_VISITORS = {
    "desktop": ("殷离", "13500135003", "110105199003030031"),
    "phone": ("黛绮丝", "13500135004", "110105199504040043"),
}


def register_at_the_desk(
    live: LiveBuilding, page: Any, visitor: tuple[str, str, str] = ZHAO_MIN
) -> None:
    """Screen 1: reception signs in and registers a visitor (赵敏 unless told), who walked in
    with their ID card."""
    name, mobile, id_number = visitor
    page.goto(f"{live.url}/login/")
    page.fill("input[name=username]", "reception@demo.example.com")
    page.fill("input[name=password]", live.password)
    page.click("button[type=submit]")
    page.goto(f"{live.url}/reception/walk_in/")
    page.fill("input[name=visitor_name]", name)
    page.fill("input[name=visitor_mobile]", mobile)
    page.select_option("select[name=id_document_0]", "resident_id")
    page.fill("input[name=id_document_1]", id_number)
    page.fill("input[name=host_mobile]", HOST_MOBILE)
    page.select_option("select[name=purpose]", "business")
    page.check("input[name=privacy_consent]")
    page.click("#registration button[type=submit]")
    page.wait_for_selector("[data-test=verify]")


def process_of(live: LiveBuilding, django_db_blocker: Any, visit_id: int) -> tuple[Any, ...]:
    from workflows.models import VisitProcess

    def read() -> tuple[Any, ...]:
        process = VisitProcess.objects.select_related("visit").get(visit_id=visit_id)
        return (
            process.visit.status,
            process.identity_check,
            process.face_consent,
            process.face_match_score,
        )

    return run_committed(live, django_db_blocker, read)


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_the_terminals_score_appears_on_the_open_desk_check_and_reception_completes_it(
    live_building: LiveBuilding,
    browser: Any,
    terminal_key: str,
    django_db_blocker: Any,
    tmp_path: Path,
    width: str,
) -> None:
    live = live_building
    context = browser.new_context(
        viewport=VIEWPORTS[width], is_mobile=width == "phone", locale="zh-CN"
    )
    page = context.new_page()
    register_at_the_desk(live, page)
    visit_id = int(page.get_attribute("[data-face-score]", "data-visit-id"))
    page.check("input[name=host_consent][value=yes]")
    page.fill("input[name=consent_note]", "张伟 电话同意")
    page.click("[data-test=face-consent-agree]")  # the visitor's separate consent, first
    page.wait_for_selector("[data-test=face-consent-given]", state="visible")
    page.check("input[name=identity_check][value=face]")
    page.set_input_files("input[name=photo]", str(face_photo(tmp_path)))
    assert page.inner_text(".file-picker .file-name >> nth=0") == "face.jpg"
    assert "92" not in page.inner_text("[data-test=face-score]")
    assert page.locator("input[name=face_match_score]").count() == 0  # nobody types a score

    terminal_reports(live, terminal_key, visit_id, 92)  # the visitor looks into the terminal

    wait_for(
        page, "() => document.querySelector('[data-test=face-score]').textContent.includes('92')"
    )
    assert "大堂访客机" in page.inner_text("[data-test=face-score]")
    assert "ok" in page.get_attribute("[data-face-score]", "class")
    screenshot(page, f"desk-check-terminal-{width}")
    page.click("[data-test=verify]")

    page.wait_for_selector("[data-test=print-slip]")  # screen 3
    context.close()
    assert process_of(live, django_db_blocker, visit_id) == ("approved", "face", True, 92)


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_a_walk_in_the_host_refuses_ends_without_a_photo_score_or_tick(
    live_building: LiveBuilding, browser: Any, django_db_blocker: Any, width: str
) -> None:
    live = live_building
    context = browser.new_context(
        viewport=VIEWPORTS[width], is_mobile=width == "phone", locale="zh-CN"
    )
    page = context.new_page()
    register_at_the_desk(live, page)
    visit_id = int(page.get_attribute("[data-face-score]", "data-visit-id"))

    page.check("input[name=host_consent][value=no]")
    page.fill("input[name=consent_note]", "张伟 不认识访客")

    from playwright.sync_api import expect

    # Nothing more is asked. The page's script hides it on the change: wait for it (a busy
    # machine runs the script a moment after the click).
    expect(page.locator("[data-face-score]")).to_be_hidden()
    expect(page.locator("input[name=checked_by_eye]")).to_be_hidden()
    assert page.evaluate("document.documentElement.scrollWidth") <= VIEWPORTS[width]["width"]
    screenshot(page, f"desk-check-refusal-{width}")
    page.click("[data-test=verify]")
    page.wait_for_url(f"{live.url}/tasks/")
    context.close()
    assert process_of(live, django_db_blocker, visit_id) == ("rejected", "", False, None)


def consent_of(live: LiveBuilding, django_db_blocker: Any, visit_id: int) -> tuple[Any, ...]:
    from visit_platform.visits.models import Visit
    from workflows.models import FaceMatchReport, VisitProcess

    def read() -> tuple[Any, ...]:
        process = VisitProcess.objects.select_related("face_consent_text", "face_consent_by").get(
            visit_id=visit_id
        )
        visit = Visit.objects.select_related("visitor").get(pk=visit_id)
        return (
            process.face_consent_text.version if process.face_consent_text else None,
            process.face_consent_by.email if process.face_consent_by else None,
            bool(visit.visitor.photo),
            FaceMatchReport.objects.filter(process=process).count(),
        )

    return run_committed(live, django_db_blocker, read)


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_the_face_consent_text_comes_before_any_photo_and_is_recorded_with_its_version(
    live_building: LiveBuilding, browser: Any, django_db_blocker: Any, width: str
) -> None:
    live = live_building
    context = browser.new_context(
        viewport=VIEWPORTS[width], is_mobile=width == "phone", locale="zh-CN"
    )
    page = context.new_page()
    register_at_the_desk(live, page, NEW_VISITORS[width])
    visit_id = int(page.get_attribute("[data-face-score]", "data-visit-id"))
    page.check("input[name=host_consent][value=yes]")

    text = page.inner_text("[data-test=face-consent-text]")
    version = page.get_attribute("[data-test=face-consent-text]", "data-version")
    assert "人脸" in text and "您可以拒绝" in text
    assert not page.locator("input[name=photo]").is_visible()  # no photo before consent
    assert page.is_checked("input[name=identity_check][value=eye]")  # the way without a face
    assert page.evaluate("document.documentElement.scrollWidth") <= VIEWPORTS[width]["width"]
    screenshot(page, f"desk-check-face-consent-{width}")

    page.click("[data-test=face-consent-agree]")
    page.wait_for_selector("[data-test=face-consent-given]", state="visible")

    given = page.inner_text("[data-test=face-consent-given]")
    assert f"第 {version} 版" in given and "reception@demo.example.com" in given
    assert page.locator("input[name=photo]").is_visible()
    assert page.is_checked("input[name=host_consent][value=yes]")  # nothing filled in is lost
    screenshot(page, f"desk-check-face-consent-given-{width}")
    context.close()
    assert consent_of(live, django_db_blocker, visit_id) == (
        int(version),
        "reception@demo.example.com",
        False,
        0,
    )


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_a_visitor_who_refuses_the_face_comes_in_by_eye_with_no_face_data(
    live_building: LiveBuilding, browser: Any, django_db_blocker: Any, width: str
) -> None:
    live = live_building
    context = browser.new_context(
        viewport=VIEWPORTS[width], is_mobile=width == "phone", locale="zh-CN"
    )
    page = context.new_page()
    register_at_the_desk(live, page, REFUSING_VISITORS[width])
    visit_id = int(page.get_attribute("[data-face-score]", "data-visit-id"))

    page.check("input[name=host_consent][value=yes]")
    page.fill("input[name=consent_note]", "张伟 电话同意")
    page.check("input[name=checked_by_eye]")  # the eye route is preselected
    page.click("[data-test=verify]")

    page.wait_for_selector("[data-test=print-slip]")  # screen 3: the pass, no face taken
    context.close()
    assert process_of(live, django_db_blocker, visit_id) == ("approved", "eye", False, None)
    assert consent_of(live, django_db_blocker, visit_id) == (None, None, False, 0)


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_the_property_admin_changes_the_face_consent_text_into_a_new_version(
    live_building: LiveBuilding, browser: Any, width: str
) -> None:
    """Last in this module: the text it saves keeps the words the tests above look for."""
    live = live_building
    context = browser.new_context(
        viewport=VIEWPORTS[width], is_mobile=width == "phone", locale="zh-CN"
    )
    page = context.new_page()
    page.goto(f"{live.url}/login/")
    page.fill("input[name=username]", live.login_email("admin"))
    page.fill("input[name=password]", live.password)
    page.click("button[type=submit]")
    page.goto(f"{live.url}/policies/")
    page.click("a[href='/face-consent/']")
    before = page.inner_text("[data-test=consent-version]")
    number = int("".join(ch for ch in before if ch.isdigit()))
    chinese = page.input_value("textarea[name=text_zh]")

    page.fill("textarea[name=text_zh]", f"{chinese}如有疑问，请咨询前台（{width}）。")
    page.click("[data-test=save-consent-text]")
    page.wait_for_selector(".message.success")

    assert f"第 {number + 1} 版" in page.inner_text(".message.success")
    assert page.inner_text("[data-test=consent-version]") == f"现行：第 {number + 1} 版"
    assert page.evaluate("document.documentElement.scrollWidth") <= VIEWPORTS[width]["width"]
    screenshot(page, f"face-consent-text-{width}")
    context.close()
