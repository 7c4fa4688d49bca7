"""What lets people act without signing in: action links for hosts, one-time codes for
visitors."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from viewflow.workflow.models import Process

from kernel.fields import actor_field, user_field
from visit_platform.directory.models import Host
from visit_platform.visits.choices import Scenario
from visit_platform.visits.models import Visit
from workflows.choices import (
    Approver,
    IdentityCheck,
    LinkOutcome,
    LinkPurpose,
    PrivacyRequestKind,
    PrivacyRequestStatus,
    WatchlistHitAction,
)


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


class ScenarioPolicy(models.Model):
    """How one scenario runs in this building, as its property admins set it in the console:
    the flows read it instead of code. A visit keeps the policy it started under
    (``snapshot()``), so a change applies to new visits only."""

    scenario = models.CharField(_("scenario"), max_length=16, choices=Scenario.choices, unique=True)
    requires_approval = models.BooleanField(_("needs approval"), default=True)
    approver = models.CharField(
        _("approved by"), max_length=16, choices=Approver.choices, default=Approver.HOST
    )
    approval_hours = models.PositiveSmallIntegerField(
        _("hours to decide"), default=24, help_text=_("After this the request expires.")
    )
    reminder_hours = models.PositiveSmallIntegerField(
        _("remind after (hours)"), default=2, help_text=_("0: no reminder.")
    )
    escalate_to = models.CharField(
        _("escalate to"), max_length=16, choices=Approver.choices, blank=True
    )
    auto_approve_returning = models.BooleanField(
        _("approve returning visitors at once"),
        default=False,
        help_text=_("A visitor this host approved in the last 90 days."),
    )
    id_check_required = models.BooleanField(_("ID document required"), default=False)
    photo_required = models.BooleanField(_("photo required"), default=False)
    face_match_threshold = models.PositiveSmallIntegerField(
        _("face match threshold (%)"), default=80
    )
    default_window_hours = models.PositiveSmallIntegerField(_("default window (hours)"), default=8)
    default_uses = models.PositiveSmallIntegerField(
        _("default entries"), null=True, blank=True, help_text=_("Empty: no limit.")
    )
    companions_allowed = models.PositiveSmallIntegerField(_("companions allowed"), default=5)
    zones = models.CharField(
        _("zones"),
        max_length=200,
        blank=True,
        help_text=_(
            "The zones this scenario's passes open, separated by commas. Empty: the zones "
            "of the company visited. *: every zone."
        ),
    )
    watchlist_hit = models.CharField(
        _("on a watchlist match"),
        max_length=16,
        choices=WatchlistHitAction.choices,
        default=WatchlistHitAction.REJECT,
    )
    updated_at = models.DateTimeField(_("changed at"), auto_now=True)

    class Meta:
        verbose_name = _("scenario policy")
        verbose_name_plural = _("scenario policies")
        ordering = ["scenario"]

    def __str__(self) -> str:
        return self.get_scenario_display()

    def snapshot(self) -> dict[str, object]:
        """The settings as plain data, for a visit to keep."""
        return {field: getattr(self, field) for field in POLICY_FIELDS}


# The settings a property admin changes, in the console's order.
POLICY_FIELDS = (
    "requires_approval",
    "approver",
    "approval_hours",
    "reminder_hours",
    "escalate_to",
    "auto_approve_returning",
    "id_check_required",
    "photo_required",
    "face_match_threshold",
    "default_window_hours",
    "default_uses",
    "companions_allowed",
    "zones",
    "watchlist_hit",
)


class FaceConsentText(models.Model):
    """One version of the text a visitor agrees to before the desk takes their face (the
    photo, a face comparison): a separate consent under PIPL and the 2025 face-recognition
    rules. A change is a new version, never an edit, so every consent on file points at the
    exact words the visitor was shown. A building with no text of its own uses the
    platform's (``workflows.constants.DEFAULT_FACE_CONSENT``), stored as version 1 the
    first time it is needed (ADR 0036)."""

    version = models.PositiveIntegerField(_("version"), unique=True)
    text_zh = models.TextField(_("text (Chinese)"))
    text_en = models.TextField(_("text (English)"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = user_field(_("created by"), on_delete=models.PROTECT, null=True)

    class Meta:
        verbose_name = _("face consent text")
        verbose_name_plural = _("face consent texts")
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"v{self.version}"

    @property
    def text(self) -> str:
        """The words in the language of the page (Chinese unless the page is English)."""
        return self.text_en if (get_language() or "").startswith("en") else self.text_zh


class VisitProcess(Process):
    """One visit's run through its scenario's flow. It keeps the policy the visit started
    under, so a property admin's later change applies to new visits only, and what the flow
    learnt on the way (a watchlist match, the face-match score) for the timeline."""

    visit: models.OneToOneField[Visit, Visit] = models.OneToOneField(
        Visit, verbose_name=_("visit"), on_delete=models.CASCADE, related_name="process"
    )
    policy: models.JSONField[Any, Any] = models.JSONField(_("policy"), default=dict)
    watchlist_hit: models.BooleanField[bool, bool] = models.BooleanField(
        _("watchlist match"), default=False
    )
    face_match_score: models.PositiveSmallIntegerField[int | None, int | None] = (
        models.PositiveSmallIntegerField(_("face match score (%)"), null=True, blank=True)
    )
    # The desk check's route to the visitor's identity, and the visitor's separate consent to
    # having their face compared (PIPL and the 2025 face-recognition rules).
    identity_check: models.CharField[str, str] = models.CharField(
        _("identity checked by"), max_length=8, choices=IdentityCheck.choices, blank=True
    )
    face_consent: models.BooleanField[bool, bool] = models.BooleanField(
        _("consented to face comparison"), default=False
    )
    # Which words the visitor agreed to, when, and who at the desk recorded it. Set before
    # any photo or face comparison is taken; without it neither is stored (ADR 0036).
    face_consent_text: models.ForeignKey[FaceConsentText | None, FaceConsentText | None] = (
        models.ForeignKey(
            FaceConsentText,
            verbose_name=_("face consent text"),
            on_delete=models.PROTECT,
            null=True,
            blank=True,
            related_name="+",
        )
    )
    face_consent_at: models.DateTimeField[Any, Any] = models.DateTimeField(
        _("face consent given at"), null=True, blank=True
    )
    face_consent_by: models.ForeignKey[Any, Any] = user_field(
        _("face consent recorded by"), on_delete=models.SET_NULL, null=True
    )

    class Meta:
        verbose_name = _("visit process")
        verbose_name_plural = _("visit processes")

    def setting(self, name: str) -> Any:
        """A setting of the policy this visit started under."""
        return self.policy[name]


class DeskTerminal(models.Model):
    """A visitor terminal (访客机) at a reception desk of this building. It compares the
    visitor's face with the document's photo on its own hardware and reports the score to the
    desk API, authenticating with ``<prefix>.<secret>`` like a gate agent; only a hash of the
    secret is stored."""

    name = models.CharField(_("name"), max_length=100)
    key_prefix = models.CharField(max_length=12, unique=True)
    key_hash = models.CharField(max_length=64)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("desk terminal")
        verbose_name_plural = _("desk terminals")

    def __str__(self) -> str:
        return self.name


class FaceMatchReport(models.Model):
    """One face comparison for one visit at the desk: a terminal's report, or the server's
    own matcher (no terminal). Only the score is kept, never the images. A terminal's nonce
    is unique, so a report sent again (or replayed by someone who caught it) is refused."""

    process = models.ForeignKey(
        VisitProcess,
        verbose_name=_("visit process"),
        on_delete=models.CASCADE,
        related_name="face_matches",
    )
    terminal = models.ForeignKey(
        DeskTerminal,
        verbose_name=_("desk terminal"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reports",
    )
    score = models.PositiveSmallIntegerField(_("score (%)"))
    vendor = models.CharField(_("vendor"), max_length=60, blank=True)
    model = models.CharField(_("model"), max_length=60, blank=True)
    nonce = models.CharField(max_length=64, blank=True)
    taken_at = models.DateTimeField(_("compared at"))
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)

    class Meta:
        verbose_name = _("face match")
        verbose_name_plural = _("face matches")
        constraints = [
            models.UniqueConstraint(
                fields=["terminal", "nonce"],
                condition=models.Q(terminal__isnull=False),
                name="face_match_nonce_once_per_terminal",
            )
        ]

    def __str__(self) -> str:
        return f"{self.score}%"


class PrivacyRequest(models.Model):
    """A visitor's request to the building under PIPL (articles 44 to 47), made from their own
    pages and answered by the property office within ``due_at`` (15 days, ADR 0037).

    The visitor is known by the keyed hash of their mobile only (``mobile_index``, as their
    sign-in): the number itself is not kept here, so the row outlives the data it asked to be
    deleted and still shows the visitor the answer when they sign in with that number again.
    One open request per kind and mobile: asking again while one waits changes nothing.
    """

    kind = models.CharField(_("kind"), max_length=16, choices=PrivacyRequestKind.choices)
    mobile_index = models.CharField(max_length=64, db_index=True, editable=False)
    status = models.CharField(
        _("status"),
        max_length=8,
        choices=PrivacyRequestStatus.choices,
        default=PrivacyRequestStatus.OPEN,
    )
    created_at = models.DateTimeField(_("received at"), default=timezone.now, editable=False)
    due_at = models.DateTimeField(_("answer due by"))
    handled_by = actor_field(_("handled by"))
    handled_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    answer = models.TextField(_("answer"), blank=True)

    class Meta:
        verbose_name = _("privacy request")
        verbose_name_plural = _("privacy requests")
        ordering = ["due_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "mobile_index"],
                condition=models.Q(status=PrivacyRequestStatus.OPEN),
                name="one_open_privacy_request_per_kind_and_mobile",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} request {self.pk} ({self.status})"
