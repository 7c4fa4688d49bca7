"""Event cards in a real browser: the company admin of 星河科技 opens their event, picks a kind
of card and a size, clicks the button and receives a PDF download, at desktop and phone width;
each card's QR code in the download decodes to the attendee's pass token."""

from __future__ import annotations

import io
import os
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import pytest
import zxingcpp

from tests.access.conftest import slip_token
from tests.browser.conftest import (
    ARTIFACTS,
    DOCS_SCREENSHOTS,
    LiveBuilding,
    run_committed,
    screenshot,
)
from tests.browser.test_console_phone import signed_in
from tests.visits.test_events import xlsx

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 820}
ORGANISER = "company-admin@demo.example.com"
ATTENDEES = [
    ["韩梅梅", "13800138201", "青木咨询", "", ""],
    ["欧阳娜娜", "13800138202", "", "", ""],
    ["李雷", "13800138203", "", "", ""],
]


@pytest.fixture(scope="module")
def invited_event(live_building: LiveBuilding, django_db_blocker: Any) -> tuple[int, list[str]]:
    """An event of 星河科技 tomorrow with three invited attendees, committed for the live
    server; its id and the attendees' pass tokens in list order."""

    def seed() -> tuple[int, list[str]]:
        from django.utils import timezone

        from tenants.models import User
        from visit_platform.access.models import Pass
        from visit_platform.audit.actions import Actor
        from visit_platform.directory.models import Company
        from visit_platform.visits.models import EventImport
        from workflows.actions import events

        organiser = Actor(user=User.objects.get(email=ORGANISER))
        start = timezone.now() + timedelta(days=1)
        event = events.create_event(
            organiser,
            name="2026 年度合作伙伴大会暨新品发布会",
            company=Company.objects.get(name="星河科技有限公司"),
            starts_at=start,
            ends_at=start + timedelta(hours=8),
            place="三楼报告厅",
        )
        events.check_list(organiser, event, "list.xlsx", xlsx(ATTENDEES))
        events.confirm_list(organiser, event, EventImport.objects.get(event=event).pk)
        passes = Pass.objects.filter(visit__attendee__event=event).order_by("visit__attendee__line")
        return event.pk, [slip_token(one) for one in passes]

    return run_committed(live_building, django_db_blocker, seed)


def downloaded_cards(page: Any) -> tuple[str, list[tuple[int, int]], list[Any]]:
    """Click the button; the file's suggested name, its pages' sizes in whole millimetres and
    the pages rendered at 300 dpi."""
    with page.expect_download() as download_info:
        page.click("#download-cards")
    download = download_info.value
    data = Path(download.path()).read_bytes()
    assert data.startswith(b"%PDF-")
    document = pdfium.PdfDocument(data)
    try:
        sizes = [tuple(round(side * 25.4 / 72) for side in one.get_size()) for one in document]
        images = [one.render(scale=300 / 72).to_pil() for one in document]
    finally:
        document.close()
    return download.suggested_filename, sizes, images  # type: ignore[return-value]


def qr_texts(image: Any) -> list[str]:
    return [result.text for result in zxingcpp.read_barcodes(image)]


def keep_picture(image: Any, name: str) -> None:
    """A card as PNG beside the screenshots (docs/screenshots with UPDATE_SCREENSHOTS=1)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    path.write_bytes(buffer.getvalue())
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOCS_SCREENSHOTS / path.name)


def test_the_organiser_downloads_invitation_cards_from_the_event_page(
    browser: Any, live_building: LiveBuilding, invited_event: tuple[int, list[str]]
) -> None:
    event_id, tokens = invited_event
    page = signed_in(browser, live_building, ORGANISER, DESKTOP)
    try:
        page.goto(f"{live_building.url}/events/{event_id}/")
        assert page.locator("#cards-count").inner_text() == (
            "每位通行证仍可通过闸机的参会人一张卡片：共 3 张。"
        )
        assert page.locator("#cards-left-out").count() == 0
        page.select_option("#cards-kind", "invitation")
        page.select_option("#cards-size", "a6")
        screenshot(page, "event-cards")

        name, sizes, cards = downloaded_cards(page)

        assert name == f"event-{event_id}-invitation-a6.pdf"
        assert sizes == [(105, 148)] * 3
        assert [qr_texts(card) for card in cards] == [[token] for token in tokens]
        keep_picture(cards[0], "event-card-invitation-a6")
    finally:
        page.context.close()


def test_on_a_phone_the_organiser_downloads_badges_at_the_default_label_size(
    browser: Any, live_building: LiveBuilding, invited_event: tuple[int, list[str]]
) -> None:
    event_id, tokens = invited_event
    page = signed_in(browser, live_building, ORGANISER, PHONE)
    try:
        page.goto(f"{live_building.url}/events/{event_id}/")
        page.locator("#event-cards").scroll_into_view_if_needed()
        assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
        assert page.locator("#download-cards").is_visible()
        screenshot(page, "event-cards-phone")

        name, sizes, cards = downloaded_cards(page)

        assert name == f"event-{event_id}-badge-90x54.pdf"
        assert sizes == [(90, 54)] * 3
        assert [qr_texts(card) for card in cards] == [[token] for token in tokens]
        keep_picture(cards[0], "event-card-badge-90x54")
    finally:
        page.context.close()
