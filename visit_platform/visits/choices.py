"""Choices for visits: scenarios, the status lifecycle, identity document types."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Scenario(models.TextChoices):
    INVITE = "invite", _("Invitation")
    REQUEST = "request", _("Visit request")
    WALK_IN = "walk_in", _("Walk-in with ID")
    NO_ID = "no_id", _("Walk-in without ID")
    BULK = "bulk", _("Event attendee")


class VisitStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PENDING_APPROVAL = "pending_approval", _("Waiting for approval")
    APPROVED = "approved", _("Approved")
    CHECKED_IN = "checked_in", _("Inside")
    CHECKED_OUT = "checked_out", _("Left")
    REJECTED = "rejected", _("Rejected")
    CANCELLED = "cancelled", _("Cancelled")
    EXPIRED = "expired", _("Expired")


class LeftOnWordOf(models.TextChoices):
    """Who said a visitor had left, when the gate did not see them go."""

    HOST = "host", _("Their host")
    STAFF = "staff", _("Staff")


# A pass admits its holder only while its visit is in one of these states.
ADMITTING_STATUSES = frozenset(
    {VisitStatus.APPROVED, VisitStatus.CHECKED_IN, VisitStatus.CHECKED_OUT}
)


class DocumentType(models.TextChoices):
    RESIDENT_ID = "resident_id", _("Resident identity card")
    PASSPORT = "passport", _("Passport")
    HK_MACAO_PERMIT = "hk_macao_permit", _("Mainland travel permit for HK and Macao residents")
    TAIWAN_PERMIT = "taiwan_permit", _("Mainland travel permit for Taiwan residents")
    FOREIGN_PERMANENT = "foreign_permanent", _("Foreign permanent resident ID card")
    OTHER = "other", _("Other document")


class EventStatus(models.TextChoices):
    """An event waits for its attendee list until the organiser confirms one."""

    DRAFT = "draft", _("Waiting for the attendee list")
    INVITED = "invited", _("Attendees invited")


class WatchlistStatus(models.TextChoices):
    """Where a watchlist entry stands. Adding and removing an entry each take a proposal and
    another person's approval; the entry is enforced from the first approval to the second."""

    PROPOSED = "proposed", _("Proposed")
    REJECTED = "rejected", _("Rejected")
    ENFORCED = "enforced", _("Enforced")
    REMOVAL_PROPOSED = "removal_proposed", _("Removal proposed")
    REMOVED = "removed", _("Removed")


# An entry in one of these states refuses the person (until it expires).
ENFORCED_WATCHLIST_STATUSES = (WatchlistStatus.ENFORCED, WatchlistStatus.REMOVAL_PROPOSED)
# Shown, never stored: an enforced entry past its expiry date.
WATCHLIST_EXPIRED = "expired"


class IdentityChoice(models.TextChoices):
    """Reception's answer when a known document number comes with another name or mobile."""

    STORED = "stored", _("Use the details on file")
    TYPED = "typed", _("Update the record with what was typed")


class RetentionClass(models.TextChoices):
    """The kinds of personal data a building keeps for its own period each (ADR 0034)."""

    ID_NUMBERS = "id_numbers", _("ID numbers")
    PHOTOS = "photos", _("Photos and face matches")
    NAMES = "names", _("Names and mobiles")
    GATE_EVENTS = "gate_events", _("Who passed the gates")
    MESSAGES = "messages", _("Messages")


# Days after a visit ends, unless the building's property admins set otherwise; ID numbers
# and faces go first (ADR 0034). ``NAMES`` falls back to the building's ``retention_days``.
DEFAULT_RETENTION_DAYS = {
    RetentionClass.ID_NUMBERS: 30,
    RetentionClass.PHOTOS: 30,
    RetentionClass.NAMES: 180,
    RetentionClass.GATE_EVENTS: 365,
    RetentionClass.MESSAGES: 90,
}
MIN_RETENTION_DAYS = 1
MAX_RETENTION_DAYS = 3650


class KeptBecause(models.TextChoices):
    """Why an erasure kept a class of a visitor's data (ADR 0034)."""

    WATCHLIST = "watchlist", _("An enforced watchlist entry needs it")
    VISIT_IN_PROGRESS = "visit_in_progress", _("A visit is in progress or still to come")
