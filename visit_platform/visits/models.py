"""Visitors, their visits, and the watchlist of people who may not visit."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from kernel.fields import actor_field
from kernel.privacy import EncryptedTextField, mask_id_number
from visit_platform.directory.models import Company, Host
from visit_platform.visits.choices import (
    ENFORCED_WATCHLIST_STATUSES,
    DocumentType,
    EventStatus,
    LeftOnWordOf,
    Scenario,
    VisitStatus,
    WatchlistStatus,
)

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


class WeChatLink(models.Model):
    """A visitor's WeChat in this building: the openid (under the building's Official Account)
    of someone who proved a mobile with an SMS code. Their visits are the visits of that
    mobile (``mobile_index``, as on their own pages), so the pages open inside WeChat without
    asking again, and notices about those visits go to WeChat first.

    A link made in one building is worth nothing in another: each building's rows live in its
    own schema. The number itself is kept encrypted, only to fill in the visitor's forms: a
    visitor who links before their first visit is not asked to type it again.
    """

    openid = models.CharField(max_length=64, unique=True)
    mobile_index = models.CharField(max_length=64, db_index=True)
    mobile = EncryptedTextField(_("mobile"), blank=True)
    linked_at = models.DateTimeField(_("linked at"), auto_now=True)

    class Meta:
        verbose_name = _("visitor's WeChat")
        verbose_name_plural = _("visitors' WeChat")

    def __str__(self) -> str:
        return f"WeChat link {self.pk}"


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
    # The name and mobile typed for this visit when the visitor on file (found by the same
    # document number, or mobile) has others (ADR 0012). Set, they are the visit's own: what
    # its pages show and where its texts go; the visitor record is not overwritten. Blank when
    # the visitor's own details apply.
    contact_name = models.CharField(_("name given for the visit"), max_length=100, blank=True)
    contact_mobile = models.CharField(_("mobile given for the visit"), max_length=32, blank=True)
    contact_mobile_index = models.CharField(
        max_length=64, blank=True, db_index=True, editable=False
    )
    checked_in_at = models.DateTimeField(_("checked in at"), null=True, blank=True)
    checked_out_at = models.DateTimeField(_("checked out at"), null=True, blank=True)
    # When the visitor was first seen inside past their window plus the building's grace (an
    # overstay); the periodic check claims a visit by setting it, so the host is told once.
    overstay_noted_at = models.DateTimeField(_("overstay noted at"), null=True, blank=True)
    # Checked out by the end-of-day sweep, not by a passage at a gate: "not seen leaving".
    left_unseen = models.BooleanField(_("not seen leaving"), default=False)
    # Checked out because someone said the visitor had left (their host, answering an
    # overstay notice; a member of staff): who, by role. Blank for the gate and the day end.
    left_on_word_of = models.CharField(
        _("left, on the word of"), max_length=16, choices=LeftOnWordOf.choices, blank=True
    )
    # When the visitor was reminded that the visit is near (once per visit; the periodic
    # reminder claims a visit by setting it).
    visitor_reminded_at = models.DateTimeField(_("visitor reminded at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        ordering = ["-valid_from", "-id"]
        indexes = [
            models.Index(fields=["status", "valid_from"]),
            # The records' order and keyset pages (ADR 0038): any page is one index range.
            models.Index(fields=["valid_from", "id"], name="visit_start_then_id"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(valid_until__gt=models.F("valid_from")),
                name="visit_window_ends_after_it_starts",
            ),
            models.CheckConstraint(
                condition=~models.Q(contact_name="")
                | models.Q(contact_mobile="", contact_mobile_index=""),
                name="visit_contact_mobile_comes_with_a_name",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.visitor_name} → {self.host or self.company or '—'}"

    @property
    def has_identity_conflict(self) -> bool:
        """Whether the visit was made with a name or mobile other than the visitor's on file."""
        return bool(self.contact_name)

    @property
    def visitor_name(self) -> str:
        """The name this visit was made under."""
        return self.contact_name or self.visitor.name

    @property
    def visitor_mobile(self) -> str:
        """Where this visit's texts go: the mobile given for it when it differs from the
        visitor's on file, never the stored one then (it may be someone else's phone)."""
        return self.contact_mobile if self.has_identity_conflict else self.visitor.mobile


class WatchlistEntry(models.Model):
    """A person who may not visit (黑名单). Matched on the ID-number blind index, the mobile,
    or name plus date of birth.

    Security or a property admin proposes an entry; another property admin approves it, and
    from then on it is enforced (``is_active`` with ``approved_at``, which the gate decision's
    SQL reads) until its removal is approved or it expires. ``status`` says where it stands;
    a constraint keeps ``is_active`` in step with it."""

    name = models.CharField(_("name"), max_length=100, blank=True)
    birth_date = models.DateField(_("date of birth"), null=True, blank=True)
    mobile = models.CharField(_("mobile"), max_length=32, blank=True, db_index=True)
    id_number_index = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    id_number_masked = models.CharField(
        _("document number"), max_length=40, blank=True, editable=False
    )
    reason = models.TextField(_("reason"))
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=WatchlistStatus.choices,
        default=WatchlistStatus.PROPOSED,
    )
    proposed_by = actor_field(_("proposed by"))
    approved_by = actor_field(_("approved by"))
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    # The latest decision on a proposal (to add or to remove): who, when, and why.
    reviewed_by = actor_field(_("reviewed by"))
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    review_reason = models.CharField(_("reviewer's reason"), max_length=500, blank=True)
    removal_proposed_by = actor_field(_("removal proposed by"))
    removal_proposed_at = models.DateTimeField(_("removal proposed at"), null=True, blank=True)
    removal_reason = models.CharField(_("reason for removal"), max_length=500, blank=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    is_active = models.BooleanField(_("enforced"), default=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("watchlist entry")
        verbose_name_plural = _("watchlist entries")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "-created_at"])]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(id_number_index="")
                | ~models.Q(mobile="")
                | (~models.Q(name="") & models.Q(birth_date__isnull=False)),
                name="watchlist_entry_identifies_someone",
            ),
            models.CheckConstraint(
                condition=models.Q(
                    is_active=True,
                    approved_at__isnull=False,
                    status__in=ENFORCED_WATCHLIST_STATUSES,
                )
                | (models.Q(is_active=False) & ~models.Q(status__in=ENFORCED_WATCHLIST_STATUSES)),
                name="watchlist_entry_enforced_when_approved",
            ),
        ]

    def __str__(self) -> str:
        return self.name or self.id_number_masked or self.mobile


class Event(models.Model):
    """A meeting or conference whose attendees come from a list (bulk scenario, seed 5.2.5).

    Every attendee gets a visit of scenario ``bulk`` for the event's window, invited by the
    organiser, with a pass; their first gate entry is their sign-in (签到).
    """

    name = models.CharField(_("name"), max_length=200)
    place = models.CharField(_("place"), max_length=200, blank=True)
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    company = models.ForeignKey(
        Company, verbose_name=_("host company"), on_delete=models.PROTECT, related_name="events"
    )
    note = models.TextField(_("note"), blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=EventStatus.choices, default=EventStatus.DRAFT
    )
    organiser = actor_field(_("organiser"))
    invited_at = models.DateTimeField(_("invited at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        ordering = ["-starts_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="event_ends_after_it_starts",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Attendee(models.Model):
    """One person on an event's confirmed list: their visit (and so their pass and sign-in),
    the organisation they come from, and their row in the uploaded file."""

    event = models.ForeignKey(
        Event, verbose_name=_("event"), on_delete=models.CASCADE, related_name="attendees"
    )
    visit = models.OneToOneField(
        Visit, verbose_name=_("visit"), on_delete=models.CASCADE, related_name="attendee"
    )
    organisation = models.CharField(_("organisation"), max_length=200, blank=True)
    line = models.PositiveIntegerField(_("row"))

    class Meta:
        verbose_name = _("attendee")
        verbose_name_plural = _("attendees")
        ordering = ["line"]

    def __str__(self) -> str:
        return f"{self.event} · {self.visit.visitor}"


class EventImport(models.Model):
    """An uploaded attendee list waiting for the organiser to confirm or cancel it.

    The rows (names, mobile and document numbers) are personal data that nobody has agreed
    to keep yet, so they are both encrypted at rest (one ``EncryptedTextField`` holding the
    checked rows as JSON) and short-lived: confirming or cancelling deletes the row, and a
    list not confirmed within ``expires_at`` can no longer be confirmed and is deleted by
    the next upload for any event.
    """

    event = models.ForeignKey(
        Event, verbose_name=_("event"), on_delete=models.CASCADE, related_name="imports"
    )
    uploaded_by = actor_field(_("uploaded by"))
    filename = models.CharField(_("file"), max_length=200, blank=True)
    rows = EncryptedTextField(_("rows"))
    good_rows = models.PositiveIntegerField(_("good rows"))
    bad_rows = models.PositiveIntegerField(_("rows with problems"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"))

    class Meta:
        verbose_name = _("attendee list")
        verbose_name_plural = _("attendee lists")

    def __str__(self) -> str:
        return f"{self.event} · {self.filename}"
