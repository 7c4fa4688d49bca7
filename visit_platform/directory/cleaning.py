"""The checks a company's or an employee's fields pass, whether typed in the console or read
from a spreadsheet row: the action and the import preview share them."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from kernel.errors import DomainError
from kernel.phones import normalise_mobile

COMPANY_FIELDS = ("name", "floors", "zone", "contact_name", "contact_mobile")
HOST_FIELDS = ("name", "mobile", "email", "department")


def clean_company_fields(values: dict[str, Any]) -> dict[str, str]:
    """Validate and normalise company fields, raising a DomainError that names the field."""
    cleaned = {field: str(values.get(field) or "").strip() for field in COMPANY_FIELDS}
    if not cleaned["name"]:
        raise DomainError("name_required", _("The company name is required."), field="name")
    if len(cleaned["name"]) > 200:
        raise DomainError("too_long", _("The company name is too long."), field="name")
    for field in ("floors", "zone", "contact_name"):
        if len(cleaned[field]) > 100:
            raise DomainError("too_long", _("This value is too long."), field=field)
    if cleaned["contact_mobile"]:
        try:
            cleaned["contact_mobile"] = normalise_mobile(cleaned["contact_mobile"])
        except DomainError as error:
            error.details["field"] = "contact_mobile"
            raise
    return cleaned


def clean_host_fields(values: dict[str, Any]) -> dict[str, str]:
    cleaned = {field: str(values.get(field) or "").strip() for field in HOST_FIELDS}
    if not cleaned["name"]:
        raise DomainError("name_required", _("The host's name is required."), field="name")
    if len(cleaned["name"]) > 100 or len(cleaned["department"]) > 100:
        field = "name" if len(cleaned["name"]) > 100 else "department"
        raise DomainError("too_long", _("This value is too long."), field=field)
    try:
        cleaned["mobile"] = normalise_mobile(cleaned["mobile"])
    except DomainError as error:
        error.details["field"] = "mobile"
        raise
    if cleaned["email"]:
        cleaned["email"] = cleaned["email"].lower()
        try:
            validate_email(cleaned["email"])
        except ValidationError as error:
            raise DomainError(
                "email_invalid", _("Enter a valid e-mail address."), field="email"
            ) from error
    return cleaned
