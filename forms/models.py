"""Form definitions per scenario (and company), and their immutable published versions."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from kernel.fields import actor_field
from visit_platform.directory.models import Company
from visit_platform.visits.choices import Scenario


class FormDefinition(models.Model):
    """The registration form of one scenario in this building, or one company's override of
    it. Holds the draft the designer edits; what visitors fill in is always a published
    ``FormVersion``, so editing the draft never changes a form in use."""

    scenario = models.CharField(_("scenario"), max_length=16, choices=Scenario.choices)
    company = models.ForeignKey(
        Company,
        verbose_name=_("company"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="form_definitions",
    )
    draft = models.JSONField(_("draft fields"), default=list, blank=True)
    draft_updated_at = models.DateTimeField(_("draft changed at"), null=True, blank=True)
    draft_updated_by = actor_field(_("draft changed by"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("form definition")
        verbose_name_plural = _("form definitions")
        ordering = ["scenario", "company_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["scenario", "company"],
                name="form_definition_unique",
                nulls_distinct=False,
            )
        ]

    def __str__(self) -> str:
        label = Scenario(self.scenario).label
        return f"{label} · {self.company}" if self.company_id else str(label)

    def latest_version(self) -> FormVersion | None:
        return self.versions.order_by("-number").first()


class FormVersion(models.Model):
    """One published state of a form, never changed afterwards (a database trigger refuses
    updates). A visit points at the version it was filled in with and is always shown with
    it, whatever was published later."""

    definition = models.ForeignKey(
        FormDefinition,
        verbose_name=_("form"),
        on_delete=models.PROTECT,
        related_name="versions",
    )
    number = models.PositiveIntegerField(_("version"))
    fields = models.JSONField(_("fields"))
    schema = models.JSONField(_("JSON Schema"))
    restored_from = models.PositiveIntegerField(_("restored from version"), null=True, blank=True)
    published_by = actor_field(_("published by"))
    published_at = models.DateTimeField(_("published at"), auto_now_add=True)

    class Meta:
        verbose_name = _("form version")
        verbose_name_plural = _("form versions")
        ordering = ["definition", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["definition", "number"], name="form_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.definition} v{self.number}"

    def field(self, key: str) -> dict[str, Any] | None:
        return next((spec for spec in self.fields if spec["key"] == key), None)
