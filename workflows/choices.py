"""Purposes of action links and one-time codes."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class LinkPurpose(models.TextChoices):
    DECIDE_VISIT = "decide_visit", _("Approve or reject a visit")


class LinkOutcome(models.TextChoices):
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
