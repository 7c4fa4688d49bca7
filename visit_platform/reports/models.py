"""What the reports keep of their own: the records filters people saved, and export jobs."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kernel.fields import user_field
from kernel.privacy import EncryptedTextField
from visit_platform.reports.choices import (
    ACTIVE_STATES,
    ExportFormat,
    ExportSource,
    ExportState,
    RecordsTab,
)

# A name a person reads in a list, not a description.
LONGEST_FILTER_NAME = 60
# A filter's query string (``ReportFilter.as_query``): fifty ids of four kinds fit easily.
LONGEST_FILTER_QUERY = 2000


class SavedFilter(models.Model):
    """A records filter a member of staff named and kept, to open again later.

    It belongs to one user in one building (the row lives in the building's schema), holds the
    filter as its query string and never a person looked up (that would keep their mobile or
    ID number). Opening it runs the filter again under the user's role of that moment, so a
    saved (or forged) filter never shows more than the user may see now."""

    user = user_field(_("user"), on_delete=models.CASCADE)
    name = models.CharField(_("name"), max_length=LONGEST_FILTER_NAME)
    tab = models.CharField(
        _("records"), max_length=8, choices=RecordsTab.choices, default=RecordsTab.VISITS
    )
    query = models.CharField(_("filter"), max_length=LONGEST_FILTER_QUERY)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("saved filter")
        verbose_name_plural = _("saved filters")
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], name="saved_filter_name_per_user"),
        ]

    def __str__(self) -> str:
        return self.name


class ExportJob(models.Model):
    """One export a user asked for: its filter, its progress and the file it made.

    The filter is stored as ``ReportFilter.as_query()`` and read back by the worker, encrypted
    because it may hold the mobile or ID number security looked up; ``query_digest`` (a blind
    index of it) is what tells a double submit from a new request. The file lives outside any
    served directory and is handed out only by the download view, to the person who asked,
    until ``expires_at``.
    """

    requested_by = user_field(_("requested by"), on_delete=models.CASCADE)
    source = models.CharField(_("source"), max_length=16, choices=ExportSource.choices)
    file_format = models.CharField(_("format"), max_length=8, choices=ExportFormat.choices)
    query = EncryptedTextField(_("filter"))
    query_digest = models.CharField(max_length=64, editable=False)
    # The language of the headings: the one the person who asked was using.
    language = models.CharField(_("language"), max_length=16, default=settings.LANGUAGE_CODE)
    state = models.CharField(
        _("state"), max_length=8, choices=ExportState.choices, default=ExportState.QUEUED
    )
    rows_done = models.PositiveIntegerField(_("rows written"), default=0)
    rows_total = models.PositiveIntegerField(_("rows in all"), default=0)
    # Relative to the exports directory: ``<schema>/<random>.<ext>``.
    file_path = models.CharField(_("file"), max_length=200, blank=True)
    error = models.CharField(_("error"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    # Moved on with every chunk written: a running job whose worker died stops moving, and
    # a later delivery of its task may take it over (``build_export``).
    progressed_at = models.DateTimeField(_("last progress"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)

    class Meta:
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        ordering = ["-created_at", "-pk"]
        constraints = [
            # A double submit (two clicks, a replayed post) joins the job being made.
            models.UniqueConstraint(
                fields=["requested_by", "source", "file_format", "query_digest"],
                condition=Q(state__in=ACTIVE_STATES),
                name="export_one_active_per_request",
            )
        ]
        indexes = [models.Index(fields=["state", "expires_at"], name="export_state_expiry")]

    def __str__(self) -> str:
        return f"{self.get_source_display()} ({self.file_format}) #{self.pk}"

    @property
    def percent(self) -> int:
        if self.state == ExportState.DONE:
            return 100
        if not self.rows_total:
            return 0
        return min(100, self.rows_done * 100 // self.rows_total)
