"""Resident identity numbers (GB 11643-1999): normalising and validating them, and reading the
birth date they encode. Pure rules of a national standard, used by the domain and by the
ID-card reader alike.

Catching a mistyped number at registration is much cheaper than a guard finding at the gate
that the visitor's card does not match the invitation.
"""

from __future__ import annotations

import datetime
import re

from django.utils import timezone
from django.utils.translation import gettext as _

from kernel.errors import DomainError

# GB 11643-1999: 17 digits, then a check character that may be X (standing for 10).
_RESIDENT_ID = re.compile(r"[0-9]{17}[0-9X]")
_CHECK_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARACTERS = "10X98765432"
EARLIEST_BIRTH_DATE = datetime.date(1900, 1, 1)


def normalise_id_number(text: str) -> str:
    """Remove all whitespace and upper-case a trailing 'x', the two usual typing differences.

    Only the final 'x' is changed, because that is where resident numbers have a letter;
    other documents keep their letters as typed.
    """
    compact = "".join(text.split())
    if compact.endswith("x"):
        compact = compact[:-1] + "X"
    return compact


def _check_character(first_17_digits: str) -> str:
    total = sum(
        int(digit) * weight for digit, weight in zip(first_17_digits, _CHECK_WEIGHTS, strict=True)
    )
    return _CHECK_CHARACTERS[total % 11]


def _encoded_birth_date(number: str) -> datetime.date:
    """Read characters 7-14 (YYYYMMDD); raises ValueError for a date that does not exist."""
    return datetime.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def is_valid_resident_id(number: str, *, today: datetime.date | None = None) -> bool:
    """Check an 18-character resident identity number: format, check character and birth date.

    The number must already be normalised (see ``normalise_id_number``): a lowercase 'x' is
    refused here so that stored numbers have one spelling. The birth date must exist, be no
    earlier than 1900 and not after ``today`` (the local date by default).
    """
    if not isinstance(number, str) or not _RESIDENT_ID.fullmatch(number):
        return False
    if _check_character(number[:17]) != number[17]:
        return False
    try:
        birth_date = _encoded_birth_date(number)
    except ValueError:
        return False
    return EARLIEST_BIRTH_DATE <= birth_date <= (today or timezone.localdate())


def birth_date_from_resident_id(
    number: str, *, today: datetime.date | None = None
) -> datetime.date:
    """Return the birth date in a valid resident identity number, or raise ``id_number_invalid``.

    The whole number is validated first, so a date is never read out of a mistyped number.
    """
    if not is_valid_resident_id(number, today=today):
        raise DomainError("id_number_invalid", _("Enter a valid resident identity number."))
    return _encoded_birth_date(number)
