"""Event cards (seed 5.2.5): a PDF with one invitation card or badge per attendee, each with the
QR code of the attendee's pass, at an A6 page or a label size. Chinese and English side by
side, like the visitor slip, whatever language the organiser's console speaks."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone
from reportlab.lib.pagesizes import A6
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas

from kernel import pass_tokens as tokens
from visit_platform.access.actions import pass_token
from visit_platform.access.choices import PRINTABLE_STATES
from visit_platform.access.models import Pass
from visit_platform.access.printing import draw_qr, fit_text, format_window, pdf_font, wrap_text
from visit_platform.access.queries import pass_state
from visit_platform.visits.choices import CardKind, CardSize
from visit_platform.visits.models import Attendee, Event

# Width × height in points; A6 stands, the labels lie.
PAGE_SIZES: dict[str, tuple[float, float]] = {
    CardSize.A6: A6,
    CardSize.BADGE_90X54: (90 * mm, 54 * mm),
    CardSize.LABEL_100X70: (100 * mm, 70 * mm),
}
TITLES = {
    CardKind.INVITATION: ("邀请函", "INVITATION"),
    CardKind.BADGE: ("参会证", "ATTENDEE"),
}
SCAN_HINT_ZH = "请在闸机处扫描二维码入场，入场即签到。"
SCAN_HINT_EN = "Scan the QR code at the gate to enter: that is your sign-in."
INK, GREY, ACCENT = (0.09, 0.13, 0.17), (0.42, 0.47, 0.52), (0.05, 0.37, 0.27)
# Cards in one file. A card costs some 30 to 80 ms (most of it choosing the QR code's mask), so a
# conference of thousands comes in parts, each answered within seconds like any page.
CARDS_PER_FILE = 200


@dataclass(frozen=True)
class EventCard:
    """What one card says, already formatted in the building's time zone."""

    building_name: str
    event_name: str
    window: str
    place: str
    company_name: str
    attendee_name: str
    organisation: str
    pass_number: str
    token: str


def event_card(building_name: str, event: Event, pass_record: Pass) -> EventCard:
    """The card of one attendee's pass. The name is printed whole: a badge is worn to be
    read, and the organiser already sees their attendees' names in full (ADR 0035). The QR
    code holds a window-long token, the one a printed slip carries."""
    visit = pass_record.visit
    return EventCard(
        building_name=building_name,
        event_name=event.name,
        window=format_window(event.starts_at, event.ends_at),
        place=event.place or event.company.floors or "—",
        company_name=event.company.name,
        attendee_name=visit.visitor_name,
        organisation=visit.attendee.organisation,
        pass_number=f"{pass_record.pk:06d}",
        token=pass_token(pass_record, tokens.TokenKind.SLIP),
    )


@dataclass(frozen=True)
class CardHolders:
    """The event's passes that get in (or will, once the event begins), one per attendee in
    file order, and how many attendees have none: cancelled, refused, revoked (a watchlist
    entry revokes passes), expired or used up."""

    passes: list[Pass]
    left_out: int

    @property
    def parts(self) -> int:
        """How many files the cards come in (at least one, even with no card)."""
        return max(1, -(-len(self.passes) // CARDS_PER_FILE))

    def part(self, number: int) -> list[Pass]:
        """The passes of file ``number`` (from 1): ``CARDS_PER_FILE`` in list order."""
        start = (number - 1) * CARDS_PER_FILE
        return self.passes[start : start + CARDS_PER_FILE]

    def part_labels(self) -> list[tuple[int, str]]:
        """Each file's number and the attendees it holds ("201–400"), for the event page."""
        total = len(self.passes)
        return [
            (number, f"{(number - 1) * CARDS_PER_FILE + 1}–{min(number * CARDS_PER_FILE, total)}")
            for number in range(1, self.parts + 1)
        ]


def event_card_holders(event: Event, now: datetime | None = None) -> CardHolders:
    """Whose card may be printed: each attendee's newest pass in a state a printed code still
    opens the gate with (the slip's own rule, ``PRINTABLE_STATES``)."""
    now = now or timezone.now()
    attendees = Attendee.objects.filter(event=event).count()
    live: dict[int, Pass] = {}
    passes = (
        Pass.objects.filter(visit__attendee__event=event)
        .select_related("visit__visitor", "visit__attendee")
        .order_by("visit__attendee__line", "-pk")
    )
    for pass_record in passes:
        if pass_record.visit_id not in live and pass_state(pass_record, now) in PRINTABLE_STATES:
            live[pass_record.visit_id] = pass_record
    return CardHolders(passes=list(live.values()), left_out=attendees - len(live))


def render_event_cards(cards: list[EventCard], kind: CardKind, size: CardSize) -> bytes:
    """One page per card, the page the size of the card, so a label printer or a cutter
    needs no imposition."""
    font = pdf_font()
    width, height = PAGE_SIZES[size]
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=(width, height), pageCompression=1, initialFontName=font)
    title_zh, title_en = TITLES[kind]
    canvas.setTitle(f"{cards[0].event_name} · {title_zh} {title_en}" if cards else title_en)
    canvas.setCreator("visit-platform")
    draw = _draw_portrait if height > width else _draw_landscape
    for card in cards:
        draw(canvas, card, kind, font, width, height)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _largest_size(text: str, font: str, largest: float, smallest: float, width: float) -> float:
    """The largest font size from ``largest`` down to ``smallest`` at which ``text`` fits."""
    size = largest
    while size > smallest and pdfmetrics.stringWidth(text, font, size) > width:
        size -= 0.5
    return size


def _band(
    canvas: Canvas, card: EventCard, kind: CardKind, font: str, width: float, top: float
) -> float:
    """The coloured band at the top: the card's kind and the building. Returns its bottom."""
    title_zh, title_en = TITLES[kind]
    band = 9 * mm
    canvas.setFillColorRGB(*ACCENT)
    canvas.rect(0, top - band, width, band, stroke=0, fill=1)
    canvas.setFillColorRGB(1, 1, 1)
    canvas.setFont(font, 10)
    canvas.drawString(4 * mm, top - band + 3.2 * mm, f"{title_zh} · {title_en}")
    canvas.setFont(font, 7)
    room = width - 8 * mm - pdfmetrics.stringWidth(f"{title_zh} · {title_en}", font, 10) - 4 * mm
    canvas.drawRightString(
        width - 4 * mm, top - band + 3.4 * mm, fit_text(card.building_name, font, 7, room)
    )
    return top - band


def _details(
    canvas: Canvas,
    card: EventCard,
    font: str,
    at: tuple[float, float],
    width: float,
    size: float,
    step: float,
) -> None:
    """Time, place and host company, each a grey label beside its value (two lines at most:
    a window over several days is long)."""
    x, y = at
    label_width = size * 2.6
    for label, value in (
        ("时间 Time", card.window),
        ("地点 Place", card.place),
        ("主办 Host", card.company_name),
    ):
        canvas.setFont(font, size * 0.62)
        canvas.setFillColorRGB(*GREY)
        canvas.drawString(x, y, label.split()[0])
        canvas.drawString(x, y - size * 0.62, label.split()[1])
        canvas.setFont(font, size)
        canvas.setFillColorRGB(*INK)
        room = width - label_width
        if pdfmetrics.stringWidth(value, font, size) <= room:
            lines = [value]
        elif " – " in value:  # a window: break after its start, not inside a date
            start, end = value.split(" – ", 1)
            lines = [f"{start} –", end]
        else:
            lines = wrap_text(value, font, size, room)[:2]
        lines = [fit_text(line, font, size, room) for line in lines]
        for index, line in enumerate(lines):
            canvas.drawString(x + label_width, y - size * 0.3 - index * size * 1.15, line)
        y -= step + (len(lines) - 1) * size * 1.15


def _draw_portrait(
    canvas: Canvas, card: EventCard, kind: CardKind, font: str, width: float, height: float
) -> None:
    """A6: band, event, the attendee (greeted on an invitation, large on a badge), the QR
    code in the middle, then when, where, who invites, and what to do at the gate."""
    margin = 7 * mm
    inner = width - 2 * margin
    y = _band(canvas, card, kind, font, width, height) - 8 * mm
    canvas.setFillColorRGB(*INK)
    for line in wrap_text(card.event_name, font, 13, inner)[:2]:
        canvas.setFont(font, 13)
        canvas.drawCentredString(width / 2, y, line)
        y -= 5.5 * mm
    y -= 2 * mm
    if kind == CardKind.INVITATION:
        canvas.setFont(font, 11)
        greeting = fit_text(f"尊敬的 {card.attendee_name}：", font, 11, inner)
        canvas.drawString(margin, y, greeting)
        y -= 4.5 * mm
        canvas.setFont(font, 8)
        canvas.setFillColorRGB(*GREY)
        canvas.drawString(margin, y, "诚邀您出席。We are pleased to invite you.")
        y -= 3 * mm
    else:
        size = _largest_size(card.attendee_name, font, 24, 12, inner)
        canvas.setFont(font, size)
        canvas.drawCentredString(width / 2, y - 3 * mm, card.attendee_name)
        y -= 8 * mm
        if card.organisation:
            canvas.setFont(font, 9)
            canvas.setFillColorRGB(*GREY)
            canvas.drawCentredString(width / 2, y, fit_text(card.organisation, font, 9, inner))
        y -= 2 * mm
    qr_size = 56 * mm
    draw_qr(canvas, card.token, (width - qr_size) / 2, y - qr_size, qr_size)
    y -= qr_size + 5 * mm
    _details(canvas, card, font, (margin, y), inner, 10, 7 * mm)
    canvas.setFont(font, 6.5)
    canvas.setFillColorRGB(*ACCENT)
    canvas.drawString(margin, margin + 3 * mm, fit_text(SCAN_HINT_ZH, font, 6.5, inner))
    canvas.setFont(font, 5.5)
    canvas.drawString(margin, margin, fit_text(SCAN_HINT_EN, font, 5.5, inner - 14 * mm))
    canvas.setFillColorRGB(*GREY)
    canvas.drawRightString(width - margin, margin, f"No. {card.pass_number}")


def _draw_landscape(
    canvas: Canvas, card: EventCard, kind: CardKind, font: str, width: float, height: float
) -> None:
    """A label: band across the top, the QR code on the right as tall as the label allows,
    the attendee and the event on the left."""
    margin = 3.5 * mm
    top = _band(canvas, card, kind, font, width, height)
    qr_size = min(top - 2 * margin, width * 0.45)
    qr_x = width - margin - qr_size
    draw_qr(canvas, card.token, qr_x, (top - qr_size) / 2, qr_size)
    # The QR code's quiet zone (4 modules) is white already: the text may come that close.
    text_width = qr_x - margin
    y = top - 6.5 * mm
    canvas.setFillColorRGB(*INK)
    if kind == CardKind.INVITATION:
        canvas.setFont(font, 6.5)
        canvas.setFillColorRGB(*GREY)
        canvas.drawString(margin, y + 1 * mm, "诚邀 We invite")
        y -= 4.5 * mm
    size = _largest_size(card.attendee_name, font, 16, 9, text_width)
    canvas.setFont(font, size)
    canvas.setFillColorRGB(*INK)
    canvas.drawString(margin, y, fit_text(card.attendee_name, font, size, text_width))
    y -= 4 * mm
    if card.organisation and kind == CardKind.BADGE:
        canvas.setFont(font, 7)
        canvas.setFillColorRGB(*GREY)
        canvas.drawString(margin, y, fit_text(card.organisation, font, 7, text_width))
        y -= 4 * mm
    canvas.setFillColorRGB(*INK)
    for line in wrap_text(card.event_name, font, 8.5, text_width)[:2]:
        canvas.setFont(font, 8.5)
        canvas.drawString(margin, y, line)
        y -= 3.6 * mm
    y -= 0.5 * mm
    step = 4.2 * mm if height < 60 * mm else 5 * mm
    _details(canvas, card, font, (margin, y), text_width, 7.5, step)
    canvas.setFont(font, 5.5)
    canvas.setFillColorRGB(*GREY)
    canvas.drawString(margin, margin - 1.5 * mm, f"No. {card.pass_number}")
