"""Reception's desk check in headless Chromium: the visitor terminal's face match appears on
the open page as the terminal reports it through the desk API, and reception completes the
check; a walk-in the host refuses is ended without a photo, a score or a tick."""

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


def register_at_the_desk(live: LiveBuilding, page: Any) -> None:
    """Screen 1: reception signs in and registers 赵敏, who walked in with her ID card."""
    page.goto(f"{live.url}/login/")
    page.fill("input[name=username]", "reception@demo.example.com")
    page.fill("input[name=password]", live.password)
    page.click("button[type=submit]")
    page.goto(f"{live.url}/reception/walk_in/")
    page.fill("input[name=visitor_name]", "赵敏")
    page.fill("input[name=visitor_mobile]", "13500135000")
    page.select_option("select[name=id_document_0]", "resident_id")
    page.fill("input[name=id_document_1]", "11010519491231002X")
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
    page.set_input_files("input[name=photo]", str(face_photo(tmp_path)))
    page.check("input[name=face_consent]")
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

    assert not page.locator("[data-face-score]").is_visible()  # nothing more is asked
    assert not page.locator("input[name=checked_by_eye]").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= VIEWPORTS[width]["width"]
    screenshot(page, f"desk-check-refusal-{width}")
    page.click("[data-test=verify]")
    page.wait_for_url(f"{live.url}/tasks/")
    context.close()
    assert process_of(live, django_db_blocker, visit_id) == ("rejected", "", False, None)
