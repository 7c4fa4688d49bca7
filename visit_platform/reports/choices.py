"""Choices for the reports: the records page's tabs; what an export holds, in which format,
and where its job stands."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ExportSource(models.TextChoices):
    VISITS = "visits", _("Visit records")
    EVENTS = "events", _("Gate event records")
    STATISTICS = "statistics", _("Statistics")


class ExportFormat(models.TextChoices):
    XLSX = "xlsx", _("Excel workbook (.xlsx)")
    CSV = "csv", _("CSV (.csv; statistics as a .zip of .csv files)")


class ExportState(models.TextChoices):
    QUEUED = "queued", _("Waiting")
    RUNNING = "running", _("Being written")
    DONE = "done", _("Ready to download")
    FAILED = "failed", _("Failed")
    EXPIRED = "expired", _("Expired")


# A job still being made: the same request again joins it instead of starting another.
ACTIVE_STATES = (ExportState.QUEUED, ExportState.RUNNING)


class RecordsTab(models.TextChoices):
    VISITS = "visits", _("Visits")
    EVENTS = "events", _("Gate events")
