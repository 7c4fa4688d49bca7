"""What the reports keep of their own: the records filters people saved."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from visit_platform.reports.choices import RecordsTab

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

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="+",
    )
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
