"""Choices for forms: field types, privacy classes, and the fields each scenario must have."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from visit_platform.visits.choices import Scenario


class FieldType(models.TextChoices):
    TEXT = "text", _("Short text")
    LONG_TEXT = "long_text", _("Long text")
    NUMBER = "number", _("Number")
    DATE = "date", _("Date")
    DATETIME = "datetime", _("Date and time")
    CHOICE = "choice", _("Single choice")
    MULTIPLE_CHOICE = "multiple_choice", _("Multiple choice")
    MOBILE = "mobile", _("Mobile number")
    EMAIL = "email", _("E-mail")
    ID_DOCUMENT = "id_document", _("Identity document")
    PLATE = "plate", _("Licence plate")
    PHOTO = "photo", _("Photo")
    FILE = "file", _("File")
    YES_NO = "yes_no", _("Yes / no")
    CONSENT = "consent", _("Consent")
    COMPANIONS = "companions", _("Companions")


class PrivacyClass(models.TextChoices):
    """How personal a field's answers are. Encryption, masking and retention follow it."""

    NONE = "none", _("Not personal")
    PERSONAL = "personal", _("Personal")
    SENSITIVE = "sensitive", _("Sensitive")


PRIVACY_RANK = {PrivacyClass.NONE: 0, PrivacyClass.PERSONAL: 1, PrivacyClass.SENSITIVE: 2}

# How long answers of each class are kept after the visit ends, unless the building sets
# shorter: sensitive data (ID numbers, faces) goes first. Read by the retention job.
DEFAULT_RETENTION_DAYS = {
    PrivacyClass.NONE: 365,
    PrivacyClass.PERSONAL: 180,
    PrivacyClass.SENSITIVE: 30,
}

# Fields the flows read. Every form of the scenario has them, with this type; the designer
# may change their labels and help text but not remove or retype them. Their answers are
# stored in the visit's and visitor's own columns, not in ``Visit.answers``.
VISITOR_NAME = "visitor_name"
VISITOR_MOBILE = "visitor_mobile"
HOST_MOBILE = "host_mobile"
VISIT_START = "visit_start"
VISIT_END = "visit_end"
PURPOSE = "purpose"

_EVERYWHERE = {
    VISITOR_NAME: FieldType.TEXT,
    VISITOR_MOBILE: FieldType.MOBILE,
    VISIT_START: FieldType.DATETIME,
    VISIT_END: FieldType.DATETIME,
}
LOCKED_FIELDS: dict[str, dict[str, str]] = {
    Scenario.INVITE: dict(_EVERYWHERE),
    Scenario.REQUEST: {**_EVERYWHERE, HOST_MOBILE: FieldType.MOBILE},
    Scenario.WALK_IN: dict(_EVERYWHERE),
    Scenario.NO_ID: dict(_EVERYWHERE),
    Scenario.BULK: dict(_EVERYWHERE),
}

# Scenarios a visitor fills in on their own phone (or a kiosk), without signing in.
PUBLIC_SCENARIOS = frozenset({Scenario.REQUEST})
