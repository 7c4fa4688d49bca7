"""A visitor's identity document, checked: used by the visits' actions, the watchlist, the
attendee imports and the forms' document field, so it sits below all of them."""

from __future__ import annotations

from datetime import date

from django.utils.translation import gettext as _

from kernel.errors import DomainError
from kernel.resident_ids import (
    birth_date_from_resident_id,
    is_valid_resident_id,
    normalise_id_number,
)
from visit_platform.visits.choices import DocumentType


def clean_identity(id_type: str, id_number: str) -> tuple[str, str, date | None]:
    """Validate a document: (type, normalised number, birth date from a resident ID)."""
    number = normalise_id_number(id_number or "")
    if not number:
        return "", "", None
    if id_type not in DocumentType.values:
        raise DomainError("id_type_invalid", _("Choose the document type."), field="id_type")
    if len(number) > 40:
        raise DomainError(
            "id_number_invalid", _("The document number is too long."), field="id_number"
        )
    if id_type == DocumentType.RESIDENT_ID:
        if not is_valid_resident_id(number):
            raise DomainError(
                "id_number_invalid",
                _("This is not a valid resident identity number."),
                field="id_number",
            )
        return id_type, number, birth_date_from_resident_id(number)
    return id_type, number, None
