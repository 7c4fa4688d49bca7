"""What lets people act without signing in: action links for hosts, one-time codes for
visitors."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from visit_platform.directory.models import Host
from visit_platform.visits.models import Visit
from workflows.choices import LinkOutcome, LinkPurpose


class ActionLink(models.Model):
    """A single-use, expiring link with which one host takes one decision on one visit from
    their phone (sent by SMS or e-mail). Its code carries 128 random bits and only its hash is
    stored, so the database cannot be read for working links."""

    purpose = models.CharField(_("purpose"), max_length=32, choices=LinkPurpose.choices)
    code_hash = models.CharField(max_length=64, unique=True)
    visit = models.ForeignKey(
        Visit, verbose_name=_("visit"), on_delete=models.CASCADE, related_name="action_links"
    )
    host = models.ForeignKey(
        Host, verbose_name=_("host"), on_delete=models.CASCADE, related_name="action_links"
    )
    expires_at = models.DateTimeField(_("expires at"))
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=16, choices=LinkOutcome.choices, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("action link")
        verbose_name_plural = _("action links")

    def __str__(self) -> str:
        return f"{self.purpose} for visit {self.visit_id}"


class OneTimeCode(models.Model):
    """A six-digit code sent by SMS that proves a visitor holds a mobile number. The number
    and the code are stored only as keyed hashes; a code dies after its first correct use,
    a few wrong guesses, or a few minutes."""

    mobile_index = models.CharField(max_length=64, db_index=True)
    code_hash = models.CharField(max_length=64)
    expires_at = models.DateTimeField(_("expires at"))
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("one-time code")
        verbose_name_plural = _("one-time codes")
        indexes = [models.Index(fields=["mobile_index", "-created_at"])]

    def __str__(self) -> str:
        return f"code {self.pk}"
