"""What every printed pass shares (the visitor slip, the roll call sheet, event cards): the
embedded Chinese font, text that fits its box, the visit window as printed, and the QR code of
a pass token, drawn as vector rectangles or as inline SVG."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

PDF_FONT = "WenQuanYiZenHei"
# Debian's fonts-wqy-zenhei: a TrueType collection reportlab can embed (Noto CJK is CFF).
PDF_FONT_PATHS = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/wqy-zenhei/wqy-zenhei.ttc",
)


def pdf_font() -> str:
    """The name of the registered Chinese font, registering it on first use."""
    if PDF_FONT in pdfmetrics.getRegisteredFontNames():
        return PDF_FONT
    configured = getattr(settings, "SLIP_FONT_PATH", "")
    paths = [configured] if configured else list(PDF_FONT_PATHS)
    path = next((p for p in paths if Path(p).is_file()), None)
    if path is None:
        raise ImproperlyConfigured(
            "Printed passes need a Chinese TrueType font: install Debian's fonts-wqy-zenhei "
            "(`make browser` does) or set SLIP_FONT_PATH to a .ttf/.ttc file."
        )
    pdfmetrics.registerFont(TTFont(PDF_FONT, path, subfontIndex=0))
    return PDF_FONT


def wrap_text(text: str, font: str, size: float, width: float) -> list[str]:
    """Greedy wrap by character: Chinese has no spaces to break at."""
    lines: list[str] = []
    line = ""
    for character in text:
        if line and pdfmetrics.stringWidth(line + character, font, size) > width:
            lines.append(line.rstrip())
            line = character.lstrip()
        else:
            line += character
    if line:
        lines.append(line)
    return lines or [""]


def fit_text(text: str, font: str, size: float, width: float) -> str:
    """Cut ``text`` to fit its column, with an ellipsis."""
    if pdfmetrics.stringWidth(text, font, size) <= width:
        return text
    while text and pdfmetrics.stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text + "…"


def format_window(start: datetime, end: datetime) -> str:
    """A visit's window in the current time zone; the date once when it is one day."""
    start, end = timezone.localtime(start), timezone.localtime(end)
    if start.date() == end.date():
        return f"{start:%Y-%m-%d %H:%M} – {end:%H:%M}"
    return f"{start:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M}"


def _qr_code(data: str, **options: object) -> qrcode.QRCode:
    """Pass tokens are base45, exactly the QR alphanumeric alphabet, so qrcode picks the
    compact alphanumeric mode by itself; level M survives a scuffed slip or a cracked screen."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4, **options)
    code.add_data(data)
    code.make(fit=True)
    return code


def qr_matrix(data: str) -> list[list[bool]]:
    """QR modules for ``data``, quiet zone included (True is dark)."""
    return [list(row) for row in _qr_code(data).get_matrix()]


def qr_svg(data: str) -> SafeString:
    """An inline SVG QR code for ``data`` (one path, scales to any size with CSS)."""
    image = _qr_code(data, image_factory=qrcode.image.svg.SvgPathImage).make_image()
    svg = image.to_string(encoding="unicode")
    # Built from base45 text only: nothing here came from a person.
    return mark_safe(svg.replace("<svg ", '<svg role="img" focusable="false" ', 1))  # noqa: S308


def draw_qr(canvas: Canvas, data: str, x: float, y: float, size: float) -> None:
    """The QR code of ``data`` as a ``size`` square (quiet zone included) with its lower left
    corner at ``x``, ``y``: vector runs of dark modules, sharp at any printer resolution."""
    matrix = qr_matrix(data)
    module = size / len(matrix)
    canvas.setFillColorRGB(0, 0, 0)
    for row_index, row in enumerate(matrix):
        top = y + size - (row_index + 1) * module
        column = 0
        while column < len(row):
            if not row[column]:
                column += 1
                continue
            run = column
            while run < len(row) and row[run]:
                run += 1
            # A hair wider than the module so neighbouring runs leave no white seams.
            canvas.rect(
                x + column * module,
                top,
                (run - column) * module + 0.05,
                module + 0.05,
                stroke=0,
                fill=1,
            )
            column = run
