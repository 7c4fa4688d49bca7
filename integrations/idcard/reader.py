"""Reading a resident identity card at the reception desk.

The reader's software on the desk computer (every vendor ships one) reads the card's chip and
hands the page a JSON object: name, ID number, birth date, address and the chip's photo. The
page posts it to ``/reception/id-card/``, which checks it here and gives back the fields to
fill in. Nothing of it is stored: the address is read and dropped (the building's forms do
not ask for it), the photo is shown to reception to compare with the face and then forgotten.

A card read is not proof on its own (anyone can post JSON), so it only fills in the form; the
number still passes the same checks as a typed one, and the face match at the desk decides.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import io
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from kernel.errors import DomainError
from kernel.resident_ids import (
    birth_date_from_resident_id,
    is_valid_resident_id,
    normalise_id_number,
)

MAX_PAYLOAD_BYTES = 256 * 1024
# The chip's photo is 102 x 126 pixels; decoded as BMP it is about 40 KB.
MAX_PHOTO_BYTES = 128 * 1024
MAX_PHOTO_SIDE = 1024
_FIELDS = {"name", "id_number", "birth_date", "address", "photo", "sex", "nation", "issuer"}
_PHOTO_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "BMP": "image/bmp"}


@dataclass(frozen=True)
class CardRead:
    name: str
    id_number: str
    birth_date: datetime.date
    photo_data_url: str  # "" when the reader sent none

    def as_fields(self) -> dict[str, str]:
        return {
            "name": self.name,
            "id_type": "resident_id",
            "id_number": self.id_number,
            "birth_date": self.birth_date.isoformat(),
            "photo": self.photo_data_url,
        }


def _invalid(code: str, message: str, field: str) -> DomainError:
    return DomainError(code, message, field=field)


def _text(payload: dict[str, Any], key: str, longest: int, required: bool = True) -> str:
    value = payload.get(key, "")
    if not isinstance(value, str):
        raise _invalid("card_invalid", _("The card reader sent something unreadable."), key)
    value = value.strip()
    if required and not value:
        raise _invalid(
            "card_incomplete", _("The card reader sent no %(field)s.") % {"field": key}, key
        )
    if len(value) > longest:
        raise _invalid("card_invalid", _("The card reader sent something unreadable."), key)
    return value


def _birth_date(text: str) -> datetime.date:
    digits = text.replace("-", "")
    if len(digits) != 8 or not digits.isdigit():
        raise _invalid(
            "card_invalid", _("The card reader sent an unreadable birth date."), "birth_date"
        )
    try:
        return datetime.date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        raise _invalid(
            "card_invalid", _("The card reader sent an unreadable birth date."), "birth_date"
        ) from None


def _photo(text: str) -> str:
    """The chip's photo as a data URL the page can show, after checking it is an image."""
    from PIL import Image, UnidentifiedImageError

    if not text:
        return ""
    if len(text) > MAX_PHOTO_BYTES * 4 // 3 + 4:
        raise _invalid("card_photo_too_large", _("The card's photo is too large."), "photo")
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise _invalid(
            "card_photo_invalid", _("The card's photo is not an image."), "photo"
        ) from None
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = _PHOTO_TYPES.get(image.format or "")
            if kind is None or max(image.size) > MAX_PHOTO_SIDE:
                raise _invalid(
                    "card_photo_invalid", _("The card's photo is not an image."), "photo"
                )
            image.verify()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        raise _invalid(
            "card_photo_invalid", _("The card's photo is not an image."), "photo"
        ) from None
    return f"data:{kind};base64,{base64.b64encode(data).decode()}"


def read_card(payload: Any) -> CardRead:
    """Check what the reader reported; raise a DomainError naming the first problem."""
    if not isinstance(payload, dict) or not payload:
        raise DomainError("card_invalid", _("The card reader sent something unreadable."))
    unknown = set(payload) - _FIELDS
    if unknown:
        raise DomainError(
            "card_invalid",
            _("The card reader sent unknown fields: %(fields)s.")
            % {"fields": ", ".join(sorted(unknown))[:200]},
        )
    name = _text(payload, "name", 50)
    number = normalise_id_number(_text(payload, "id_number", 40))
    if not is_valid_resident_id(number):
        raise _invalid(
            "card_number_invalid",
            _("The card's number is not a valid resident identity number: read the card again."),
            "id_number",
        )
    birth_date = _birth_date(_text(payload, "birth_date", 10))
    if birth_date != birth_date_from_resident_id(number):
        raise _invalid(
            "card_inconsistent",
            _("The card's birth date does not match its number: read the card again."),
            "birth_date",
        )
    _text(payload, "address", 200, required=False)  # read, checked, never kept
    photo = payload.get("photo", "")
    if not isinstance(photo, str):
        raise _invalid("card_photo_invalid", _("The card's photo is not an image."), "photo")
    return CardRead(
        name=name, id_number=number, birth_date=birth_date, photo_data_url=_photo(photo)
    )
