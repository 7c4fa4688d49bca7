"""Choices for the reports: the records page's tabs."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class RecordsTab(models.TextChoices):
    VISITS = "visits", _("Visits")
    EVENTS = "events", _("Gate events")
