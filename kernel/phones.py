"""Mobile numbers: one normal form (E.164) so that a host is found by any way of writing it."""

from __future__ import annotations

import phonenumbers
from django.utils.translation import gettext as _

from kernel.errors import DomainError

DEFAULT_REGION = "CN"


def normalise_mobile(text: str, region: str = DEFAULT_REGION) -> str:
    """Return ``text`` as E.164 (``+8613812345678``) or raise ``mobile_invalid``.

    Numbers without a country code are read as Chinese; spreadsheet artefacts such as a
    trailing ``.0`` or spaces and dashes are tolerated.
    """
    cleaned = (text or "").strip()
    if cleaned.endswith(".0"):
        cleaned = cleaned[:-2]
    if not cleaned or len(cleaned) > 32:
        raise DomainError("mobile_invalid", _("Enter a valid mobile number."))
    try:
        number = phonenumbers.parse(cleaned, region)
    except phonenumbers.NumberParseException as error:
        raise DomainError("mobile_invalid", _("Enter a valid mobile number.")) from error
    if not phonenumbers.is_valid_number(number) or phonenumbers.number_type(number) not in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        raise DomainError("mobile_invalid", _("Enter a valid mobile number."))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def display_mobile(e164: str) -> str:
    """Format a stored number for people: national format for China, international otherwise."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    if number.country_code == 86:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
