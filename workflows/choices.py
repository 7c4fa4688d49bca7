"""Purposes of action links and one-time codes."""

from django.db import models
from django.db.models import TextChoices
from django.utils.translation import gettext_lazy as _


class LinkPurpose(models.TextChoices):
    DECIDE_VISIT = "decide_visit", _("Approve or reject a visit")


class LinkOutcome(models.TextChoices):
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    # Spent without the host: the request was withdrawn, decided elsewhere, or escalated.
    WITHDRAWN = "withdrawn", _("Withdrawn")
    EXPIRED = "expired", _("Expired")


class Approver(models.TextChoices):
    """Who approves a visit that needs approval."""

    HOST = "host", _("The host")
    COMPANY_ADMIN = "company_admin", _("The company's admin")
    PROPERTY = "property", _("The property office")


class WatchlistHitAction(models.TextChoices):
    """What a flow does when the visitor matches the watchlist."""

    REJECT = "reject", _("Refuse the visit")
    SECURITY_REVIEW = "security_review", _("Send it to security for review")


class IdentityCheck(TextChoices):
    """How reception made sure the visitor is the person on the document. The face route
    needs the visitor's separate consent; the eye route is the way in without face data."""

    FACE = "face", _("Face comparison")
    EYE = "eye", _("Checked by eye")


class PrivacyRequestKind(models.TextChoices):
    """What a visitor asked of the building under PIPL (articles 44 to 47). Copies of their
    data are handed over at once (a download); what takes a person is a request."""

    DELETION = "deletion", _("Deletion of my data")


class PrivacyRequestStatus(models.TextChoices):
    OPEN = "open", _("Waiting for the property office")
    DONE = "done", _("Carried out")
    REFUSED = "refused", _("Refused")
