"""Visitors, their visits, and the watchlist of people who may not visit."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from visit_platform.directory.models import Company, Host
from visit_platform.fields import actor_field
from visit_platform.privacy import EncryptedTextField, mask_id_number
from visit_platform.visits.choices import DocumentType, Scenario, VisitStatus

ID_NUMBER_INDEX = "visitor.id_number"
MOBILE_INDEX = "visitor.mobile"


class Visitor(models.Model):
    """A person who visits. The ID number is encrypted at rest and found through a keyed
    hash (blind index); screens show it masked. The mobile has a blind index too, for the
    visitor's own pages."""

    name = models.CharField(_("name"), max_length=100)
    mobile = models.CharField(_("mobile"), max_length=32, blank=True, db_index=True)
    # Keyed hash of the normalised mobile: how a visitor signed in to their own pages (who
    # holds only this hash, never the number) finds their visits.
    mobile_index = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    id_type = models.CharField(
        _("document type"), max_length=32, choices=DocumentType.choices, blank=True
    )
    id_number = EncryptedTextField(_("document number"), blank=True)
    id_number_index = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    id_number_masked = models.CharField(
        _("document number"), max_length=40, blank=True, editable=False
    )
    birth_date = models.DateField(_("date of birth"), null=True, blank=True)
    nationality = models.CharField(_("nationality"), max_length=3, blank=True)
    photo = models.FileField(_("photo"), upload_to="visitors/%Y/%m/", blank=True)
    wechat_openid = models.CharField(max_length=64, blank=True, db_index=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    anonymised_at = models.DateTimeField(_("anonymised at"), null=True, blank=True)

    class Meta:
        verbose_name = _("visitor")
        verbose_name_plural = _("visitors")

    def __str__(self) -> str:
        return self.name

    @property
    def masked_id_number(self) -> str:
        return self.id_number_masked or (mask_id_number(self.id_number) if self.id_number else "")


class Visit(models.Model):
    """One visit of one visitor (and their companions) to one host, in one scenario.

    Every visit names the people who invited, approved or registered it: the seeds ask that
    each visitor be traceable to a person.
    """

    scenario = models.CharField(_("scenario"), max_length=16, choices=Scenario.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=VisitStatus.choices, default=VisitStatus.DRAFT
    )
    visitor = models.ForeignKey(
        Visitor, verbose_name=_("visitor"), on_delete=models.PROTECT, related_name="visits"
    )
    host = models.ForeignKey(
        Host,
        verbose_name=_("host"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="visits",
    )
    company = models.ForeignKey(
        Company,
        verbose_name=_("company"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="visits",
    )
    purpose = models.CharField(_("purpose"), max_length=200, blank=True)
    valid_from = models.DateTimeField(_("valid from"))
    valid_until = models.DateTimeField(_("valid until"))
    companions = models.PositiveSmallIntegerField(_("companions"), default=0)
    answers = models.JSONField(_("form answers"), default=dict, blank=True)
    form_version = models.ForeignKey(
        "forms.FormVersion",
        verbose_name=_("form version"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="visits",
    )
    # Chosen by the channel that submitted the form, so a resent submission finds its visit.
    submission_id = models.UUIDField(null=True, blank=True, unique=True, editable=False)
    invited_by = actor_field(_("invited by"))
    approved_by = actor_field(_("approved by"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_reason = models.CharField(_("reason given"), max_length=200, blank=True)
    registered_by = actor_field(_("registered by"))
    checked_in_at = models.DateTimeField(_("checked in at"), null=True, blank=True)
    checked_out_at = models.DateTimeField(_("checked out at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        ordering = ["-valid_from", "-id"]
        indexes = [models.Index(fields=["status", "valid_from"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(valid_until__gt=models.F("valid_from")),
                name="visit_window_ends_after_it_starts",
            )
        ]

    def __str__(self) -> str:
        return f"{self.visitor} → {self.host or self.company or '—'}"


class WatchlistEntry(models.Model):
    """A person who may not visit (黑名单). Matched on the ID-number blind index, the mobile,
    or name plus date of birth. Only approved, unexpired, active entries are enforced."""

    name = models.CharField(_("name"), max_length=100, blank=True)
    birth_date = models.DateField(_("date of birth"), null=True, blank=True)
    mobile = models.CharField(_("mobile"), max_length=32, blank=True, db_index=True)
    id_number_index = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    id_number_masked = models.CharField(
        _("document number"), max_length=40, blank=True, editable=False
    )
    reason = models.TextField(_("reason"))
    proposed_by = actor_field(_("proposed by"))
    approved_by = actor_field(_("approved by"))
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("watchlist entry")
        verbose_name_plural = _("watchlist entries")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(id_number_index="")
                | ~models.Q(mobile="")
                | (~models.Q(name="") & models.Q(birth_date__isnull=False)),
                name="watchlist_entry_identifies_someone",
            )
        ]

    def __str__(self) -> str:
        return self.name or self.id_number_masked or self.mobile
