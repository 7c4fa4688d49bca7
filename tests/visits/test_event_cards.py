"""Event cards (seed 5.2.5): the organiser downloads one PDF with a card or badge per attendee
whose pass still opens the gate, at A6 or a label size. The PDF is read back with pdfium, each
page rendered and its QR code decoded with zxing-cpp (both self-contained wheels), and the
decoded token is presented at a gate."""

from __future__ import annotations

from typing import Any

import pypdfium2 as pdfium
import pytest
import zxingcpp
from django.test import Client
from django_tenants.utils import schema_context

from kernel import pass_tokens as tokens
from tenants.models import Building
from tests.access.conftest import make_gate, slip_token
from tests.conftest import admin_of, client_for, member
from tests.visits.test_events import english, make_company, make_event, pending_id, upload, xlsx
from visit_platform.access.actions import decide_scan, revoke_pass
from visit_platform.access.models import Pass
from visit_platform.audit.actions import Actor
from visit_platform.audit.models import AuditEntry
from visit_platform.directory.choices import Role
from visit_platform.directory.models import Company
from visit_platform.visits import event_cards
from visit_platform.visits.models import Event
from workflows.actions import add_to_watchlist

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system("tests")
POINTS_PER_MM = 72 / 25.4
ATTENDEES = [
    ["韩梅梅", "13800000001", "青木咨询", "", ""],
    ["欧阳娜娜", "13800000002", "", "", ""],
    ["李雷", "13800000003", "", "", ""],
    ["王五", "13800000004", "", "", ""],
]


def invite(client: Client, event: Event, rows: list[list[str]]) -> None:
    client.post(f"/events/{event.pk}/upload/", {"file": upload("list.xlsx", xlsx(rows))})
    client.post(f"/events/{event.pk}/confirm/", {"import": pending_id(event)})


def pass_of(mobile: str) -> Pass:
    return Pass.objects.get(visit__visitor__mobile=f"+86{mobile}")


def pages_of(pdf: bytes) -> list[tuple[float, float, str, list[str]]]:
    """Each page: width and height in mm, its text, and the QR codes found on it at 300 dpi."""
    document = pdfium.PdfDocument(pdf)
    try:
        found = []
        for page in document:
            width, height = page.get_size()
            text = page.get_textpage().get_text_range()
            image = page.render(scale=300 / 72).to_pil()
            codes = [
                result.text
                for result in zxingcpp.read_barcodes(image)
                if result.format == zxingcpp.BarcodeFormat.QRCode
            ]
            found.append(
                (round(width / POINTS_PER_MM, 1), round(height / POINTS_PER_MM, 1), text, codes)
            )
        return found
    finally:
        document.close()


def card_audits(event: Event) -> list[dict[str, Any]]:
    return list(
        AuditEntry.objects.filter(verb="event.cards_downloaded", object_id=str(event.pk))
        .order_by("pk")
        .values_list("detail", flat=True)
    )


@pytest.fixture
def company(in_alpha: Building) -> Company:
    return make_company()


@pytest.fixture
def event(in_alpha: Building, company: Company) -> Event:
    return make_event(company, admin_of(in_alpha))


@pytest.fixture
def organiser(in_alpha: Building) -> Client:
    return english(client_for(in_alpha, admin_of(in_alpha)))


@pytest.fixture
def invited(event: Event, organiser: Client) -> Event:
    """Four attendees invited; then one pass revoked and one attendee watchlisted, so two
    cards are left to print."""
    invite(organiser, event, ATTENDEES)
    revoke_pass(SYSTEM, pass_of("13800000003"), "证件遗失")
    add_to_watchlist(SYSTEM, reason="扰乱秩序", mobile="13800000004")
    return event


# --- The cards ------------------------------------------------------------------------------


def test_badges_are_one_page_per_live_pass_and_each_qr_code_opens_the_gate(
    in_alpha: Building, invited: Event, organiser: Client
) -> None:
    gate = make_gate()
    expected = [pass_of("13800000001"), pass_of("13800000002")]

    response = organiser.get(f"/events/{invited.pk}/cards.pdf", {"kind": "badge", "size": "90x54"})

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        f'attachment; filename="event-{invited.pk}-badge-90x54.pdf"'
    )
    pages = pages_of(response.content)
    assert [(width, height) for width, height, _text, _codes in pages] == [(90.0, 54.0)] * 2
    assert [codes for _w, _h, _text, codes in pages] == [[slip_token(one)] for one in expected]
    assert "韩梅梅" in pages[0][2] and "青木咨询" in pages[0][2]
    assert "欧阳娜娜" in pages[1][2]
    for text in (pages[0][2], pages[1][2]):
        assert "2026 年度合作伙伴大会" in text and "三楼报告厅" in text
        assert "上海云途信息科技有限公司" in text and "参会证" in text
    for (_w, _h, _text, codes), pass_record in zip(pages, expected, strict=True):
        claims = tokens.parse_token(codes[0]).claims
        assert claims.pass_id == pass_record.pk
        assert claims.not_after == int(pass_record.valid_until.timestamp())
        assert decide_scan(gate=gate, token=codes[0]).granted
    assert card_audits(invited) == [
        {
            "kind": "badge",
            "size": "90x54",
            "part": 1,
            "count": 2,
            "left_out": 2,
            "full_names": True,
        }
    ]


@pytest.mark.parametrize(
    ("kind", "size", "page_size", "title"),
    [
        ("invitation", "a6", (105.0, 148.0), "邀请函"),
        ("badge", "a6", (105.0, 148.0), "参会证"),
        ("invitation", "90x54", (90.0, 54.0), "邀请函"),
        ("invitation", "100x70", (100.0, 70.0), "邀请函"),
        ("badge", "100x70", (100.0, 70.0), "参会证"),
    ],
)
def test_every_kind_and_size_prints_its_page_size_and_a_readable_code(
    in_alpha: Building,
    invited: Event,
    organiser: Client,
    kind: str,
    size: str,
    page_size: tuple[float, float],
    title: str,
) -> None:
    response = organiser.get(f"/events/{invited.pk}/cards.pdf", {"kind": kind, "size": size})

    pages = pages_of(response.content)
    assert [(width, height) for width, height, _text, _codes in pages] == [page_size] * 2
    assert [codes for _w, _h, _text, codes in pages] == [
        [slip_token(pass_of("13800000001"))],
        [slip_token(pass_of("13800000002"))],
    ]
    assert all(title in text and "欧阳娜娜" in pages[1][2] for _w, _h, text, _c in pages)


def test_the_event_page_offers_the_cards_and_counts_who_is_left_out(
    in_alpha: Building, invited: Event, organiser: Client
) -> None:
    page = organiser.get(f"/events/{invited.pk}/").content.decode()

    assert f'action="/events/{invited.pk}/cards.pdf"' in page
    assert '<option value="badge" selected>Badge</option>' in page
    assert '<option value="90x54" selected>Badge insert (90 × 54 mm)</option>' in page
    assert "One card per attendee whose pass still opens the gate: 2 cards." in page
    assert (
        '<span id="cards-left-out">2 attendees are left out: their visit was cancelled, their '
        "pass revoked (a watchlist entry revokes it) or expired.</span>"
    ) in page


def test_a_company_admin_downloads_their_own_companys_cards(
    in_alpha: Building, invited: Event
) -> None:
    own = client_for(
        in_alpha, member(in_alpha, "a@yuntu.example", Role.COMPANY_ADMIN, invited.company)
    )

    response = own.get(f"/events/{invited.pk}/cards.pdf", {"kind": "invitation", "size": "a6"})

    assert response.status_code == 200
    assert len(pages_of(response.content)) == 2


def test_a_large_event_comes_in_parts_each_with_its_own_cards(
    in_alpha: Building, invited: Event, organiser: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(event_cards, "CARDS_PER_FILE", 1)
    page = organiser.get(f"/events/{invited.pk}/").content.decode()

    response = organiser.get(
        f"/events/{invited.pk}/cards.pdf", {"kind": "badge", "size": "a6", "part": "2"}
    )
    beyond = organiser.get(
        f"/events/{invited.pk}/cards.pdf", {"kind": "badge", "size": "a6", "part": "3"}
    )

    assert (
        '<select name="part" id="cards-part" aria-label="Part"><option value="1">Attendees 1–1'
        '</option><option value="2">Attendees 2–2</option></select>'
    ) in page
    assert response["Content-Disposition"] == (
        f'attachment; filename="event-{invited.pk}-badge-a6-2.pdf"'
    )
    assert [codes for _w, _h, _t, codes in pages_of(response.content)] == [
        [slip_token(pass_of("13800000002"))]
    ]
    assert beyond.status_code == 400
    assert "Part: The cards of this event come in 2 files." in beyond.content.decode()
    assert [(entry["part"], entry["count"]) for entry in card_audits(invited)] == [(2, 1)]


# --- Bad requests ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        {"kind": "poster", "size": "a6"},
        {"kind": "badge", "size": "a4"},
        {"kind": "badge"},
        {},
        {"kind": "badge" * 2000, "size": "90x54"},
        {"kind": "Badge", "size": "90X54"},
        {"kind": "badge", "size": "a6", "part": "abc"},
        {"kind": "badge", "size": "a6", "part": "0"},
        {"kind": "badge", "size": "a6", "part": "-1"},
        {"kind": "badge", "size": "a6", "part": "9" * 40},
        {"kind": "badge", "size": "a6", "part": "2"},
    ],
)
def test_a_malformed_kind_or_size_is_a_clear_error_and_no_pdf(
    in_alpha: Building, invited: Event, organiser: Client, query: dict[str, str]
) -> None:
    response = organiser.get(f"/events/{invited.pk}/cards.pdf", query)

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert "Choose the card, the size and the part from the lists on the event page." in (
        response.content.decode()
    )
    assert card_audits(invited) == []


def test_an_event_whose_attendees_are_not_invited_yet_has_no_cards(
    in_alpha: Building, event: Event, organiser: Client
) -> None:
    response = organiser.get(f"/events/{event.pk}/cards.pdf", {"kind": "badge", "size": "a6"})

    assert response.status_code == 409
    assert "there is no card to print" in response.content.decode()
    assert card_audits(event) == []


def test_cards_of_someone_elses_event_are_refused(
    in_alpha: Building, invited: Event, company: Company
) -> None:
    query = {"kind": "badge", "size": "90x54"}
    other = make_company("杭州青木咨询有限公司")
    outsider = client_for(in_alpha, member(in_alpha, "b@qingmu.example", Role.COMPANY_ADMIN, other))
    reception = client_for(in_alpha, member(in_alpha, "desk@alpha.example", Role.RECEPTION))
    host = client_for(in_alpha, member(in_alpha, "host@yuntu.example", Role.HOST, company))

    assert outsider.get(f"/events/{invited.pk}/cards.pdf", query).status_code == 404
    assert reception.get(f"/events/{invited.pk}/cards.pdf", query).status_code == 403
    assert host.get(f"/events/{invited.pk}/cards.pdf", query).status_code == 403
    assert client_for(in_alpha).get(f"/events/{invited.pk}/cards.pdf", query).status_code == 302
    assert card_audits(invited) == []


def test_a_forged_event_id_is_a_404(in_alpha: Building, invited: Event, organiser: Client) -> None:
    query = {"kind": "badge", "size": "90x54"}

    for forged in ("999999", "0", str(invited.pk + 1)):
        assert organiser.get(f"/events/{forged}/cards.pdf", query).status_code == 404
    assert organiser.get(f"/events/{invited.pk}x/cards.pdf", query).status_code == 404
    assert organiser.post(f"/events/{invited.pk}/cards.pdf", query).status_code == 405


def test_another_building_never_prints_an_events_cards(
    in_alpha: Building, beta: Building, invited: Event
) -> None:
    beta_admin = client_for(beta, admin_of(beta))

    with schema_context("beta"):
        response = beta_admin.get(
            f"/events/{invited.pk}/cards.pdf", {"kind": "badge", "size": "90x54"}
        )

    assert response.status_code == 404
    assert card_audits(invited) == []
