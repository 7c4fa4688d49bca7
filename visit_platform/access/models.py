"""Passes, gates, gate agents, signing keys and access events."""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from kernel.fields import actor_field
from kernel.privacy import EncryptedTextField
from visit_platform.access.choices import (
    AlertKind,
    CommandStatus,
    Direction,
    GateDirection,
    Mode,
    Reason,
    RollCallPersonKind,
    RollCallStatus,
)
from visit_platform.directory.models import Host
from visit_platform.visits.models import Visit


class SigningKey(models.Model):
    """An Ed25519 key this building signs pass tokens with. The private half is encrypted at
    rest and never leaves the platform; gate agents get only public keys. After a rotation
    the old key stops signing but still verifies the tokens it signed until they expire."""

    key_id = models.PositiveSmallIntegerField(_("key id"), unique=True)
    private_key = EncryptedTextField(_("private key"))
    public_key = models.CharField(_("public key"), max_length=64)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    retired_at = models.DateTimeField(_("retired at"), null=True, blank=True)

    class Meta:
        verbose_name = _("signing key")
        verbose_name_plural = _("signing keys")
        ordering = ["-key_id"]

    def __str__(self) -> str:
        return f"key {self.key_id}"


class Controller(models.Model):
    """A Modbus/TCP device at the building that drives one or more gates.

    Its ``register_map`` is data (``integrations/modbus/register_map.py`` checks it, for the
    platform and the agent alike): which coil opens each lane and for how long, which
    registers count entries and exits, which inputs mean door forced and alarm. A new
    turnstile model is a new map, not new code.
    """

    name = models.CharField(_("name"), max_length=100)
    host = models.CharField(_("host"), max_length=255)
    port = models.PositiveIntegerField(_("port"), default=502)
    device_id = models.PositiveSmallIntegerField(_("device id"), default=1)
    poll_interval_ms = models.PositiveIntegerField(_("poll interval (ms)"), default=200)
    register_map = models.JSONField(_("register map"))
    agent = models.ForeignKey(
        "GateAgent",
        verbose_name=_("gate agent"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="controllers",
        help_text=_(
            "The one agent that polls it. Left empty, the first gate agent that syncs claims it."
        ),
    )
    is_active = models.BooleanField(_("in service"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    # Its link as its agent last reported it (heartbeats, ADR 0019): null until reported.
    link_up = models.BooleanField(_("link up"), null=True, blank=True)
    # When the link entered its present state: the start of an outage when it is down.
    link_changed_at = models.DateTimeField(_("link changed at"), null=True, blank=True)
    # When its agent last reported it connected.
    last_contact_at = models.DateTimeField(_("last contact"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True, default="")

    class Meta:
        verbose_name = _("controller")
        verbose_name_plural = _("controllers")
        ordering = ["name"]
        constraints = [
            # Two controllers in service at one address would be one device polled twice,
            # its passages counted twice.
            models.UniqueConstraint(
                Lower("host"),
                "port",
                "device_id",
                condition=models.Q(is_active=True),
                name="controller_one_active_per_address",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Gate(models.Model):
    """One lane of a turnstile or door, opening one way or both, in one zone.

    A gate wired to a controller names its lane in the controller's register map.
    """

    name = models.CharField(_("name"), max_length=100)
    zone = models.CharField(_("zone"), max_length=100, blank=True)
    # Zones name where a gate is (the security screen and the roll call group people by it);
    # only a gate that checks its zone refuses passes for other zones. Off by default, so that
    # naming the lobby's zone "大堂" does not lock out every pass limited to its floors.
    checks_zone = models.BooleanField(
        _("only passes for this zone"),
        default=False,
        help_text=_(
            "Ticked: only passes that name this zone open the gate (a floor's turnstile). "
            "Unticked: a common area (lobby, car park) that every valid pass opens."
        ),
    )
    direction = models.CharField(
        _("direction"), max_length=8, choices=GateDirection.choices, default=GateDirection.BOTH
    )
    is_active = models.BooleanField(_("in service"), default=True)
    controller = models.ForeignKey(
        Controller,
        verbose_name=_("controller"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="gates",
    )
    lane = models.PositiveSmallIntegerField(_("lane"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("gate")
        verbose_name_plural = _("gates")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["controller", "lane"], name="gate_one_per_controller_lane"
            )
        ]

    def __str__(self) -> str:
        return self.name


class GateAgent(models.Model):
    """A program at the building (or a reader) that asks for decisions and reports passages.

    It authenticates with ``<prefix>.<secret>``; only a hash of the secret is stored.
    """

    name = models.CharField(_("name"), max_length=100)
    key_prefix = models.CharField(max_length=12, unique=True)
    key_hash = models.CharField(max_length=64)
    is_active = models.BooleanField(_("active"), default=True)
    # Any authenticated call counts as contact (heartbeats, scans, syncs, uploads).
    last_seen_at = models.DateTimeField(_("last seen"), null=True, blank=True)
    # Set by the silence check when the agent has been silent too long (the outage began at
    # this last contact); cleared when it is heard from again.
    offline_since = models.DateTimeField(_("offline since"), null=True, blank=True)
    # What its last heartbeat said of itself.
    version = models.CharField(_("version"), max_length=40, blank=True, default="")
    started_at = models.DateTimeField(_("running since"), null=True, blank=True)
    journal_depth = models.PositiveIntegerField(_("journal depth"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("gate agent")
        verbose_name_plural = _("gate agents")

    def __str__(self) -> str:
        return self.name


class Pass(models.Model):
    """A credential for a visit: a window, a number of uses, zones, revocable.

    ``uses`` is only ever changed by one conditional UPDATE in the gate decision, so two gates
    can never both admit a single-use pass. ``is_inside`` (for anti-passback) changes in the
    same statement.
    """

    visit = models.ForeignKey(
        Visit, verbose_name=_("visit"), on_delete=models.CASCADE, related_name="passes"
    )
    valid_from = models.DateTimeField(_("valid from"))
    valid_until = models.DateTimeField(_("valid until"))
    max_uses = models.PositiveIntegerField(
        _("maximum entries"), null=True, blank=True, help_text=_("Empty means unlimited.")
    )
    uses = models.PositiveIntegerField(_("entries used"), default=0)
    zones = models.JSONField(
        _("zones"), default=list, blank=True, help_text=_("Empty means every zone.")
    )
    is_inside = models.BooleanField(default=False)
    link_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoke_reason = models.CharField(_("reason for revocation"), max_length=200, blank=True)
    issued_by = actor_field(_("issued by"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("pass")
        verbose_name_plural = _("passes")
        indexes = [models.Index(fields=["revoked_at", "valid_until"])]

    def __str__(self) -> str:
        return f"pass {self.pk} · {self.visit}"

    @property
    def uses_left(self) -> int | None:
        return None if self.max_uses is None else max(self.max_uses - self.uses, 0)


class AccessEvent(models.Model):
    """One decision or passage at a gate, granted or denied with a reason code.

    Idempotent by ``event_id``: an agent that reports the same event twice gets the first
    answer back. Occupancy ("who is inside") is derived from these rows.
    """

    event_id = models.UUIDField(_("event id"), unique=True)
    gate = models.ForeignKey(
        Gate, verbose_name=_("gate"), on_delete=models.PROTECT, related_name="events"
    )
    agent = models.ForeignKey(
        GateAgent,
        verbose_name=_("gate agent"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="events",
    )
    pass_record = models.ForeignKey(
        Pass,
        verbose_name=_("pass"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="events",
        db_column="pass_id",
    )
    visit = models.ForeignKey(
        Visit,
        verbose_name=_("visit"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="access_events",
    )
    direction = models.CharField(_("direction"), max_length=3, choices=Direction.choices)
    granted = models.BooleanField(_("granted"))
    reason = models.CharField(_("reason"), max_length=32, choices=Reason.choices)
    mode = models.CharField(_("mode"), max_length=8, choices=Mode.choices, default=Mode.ONLINE)
    # Indexed with the id (Meta.indexes), which serves every read by time and the records'
    # keyset pages (ADR 0038).
    occurred_at = models.DateTimeField(_("time"))
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("access event")
        verbose_name_plural = _("access events")
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["pass_record", "-occurred_at"]),
            models.Index(fields=["occurred_at", "id"], name="access_event_time_then_id"),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%H:%M:%S} {self.gate} {self.direction} {self.reason}"


class Alert(models.Model):
    """Something security must look at: a controller's signal (door forced, alarm) reported by
    a gate agent, or what the platform noticed itself (a watchlist hit, a burst of refusals,
    an agent or controller gone silent, an overstay).

    Idempotent by ``event_id``; it stays open on the security screen until a person
    acknowledges it with a note.
    """

    event_id = models.UUIDField(_("event id"), unique=True)
    kind = models.CharField(_("kind"), max_length=24, choices=AlertKind.choices)
    controller = models.ForeignKey(
        Controller,
        verbose_name=_("controller"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="alerts",
    )
    gate = models.ForeignKey(
        Gate,
        verbose_name=_("gate"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="alerts",
    )
    agent = models.ForeignKey(
        GateAgent,
        verbose_name=_("gate agent"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="alerts",
    )
    visit = models.ForeignKey(
        Visit,
        verbose_name=_("visit"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="alerts",
    )
    # What the screen says besides the kind (a count of refusals, how long an agent has been
    # silent); never personal data, which is read from the visit when shown.
    details = models.JSONField(_("details"), default=dict, blank=True)
    occurred_at = models.DateTimeField(_("time"), db_index=True)
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    acknowledged_by = actor_field(_("acknowledged by"))
    # What the person did about it, in their words: the alert stays open until someone says.
    acknowledgement_note = models.TextField(
        _("acknowledgement note"), max_length=500, blank=True, default=""
    )

    class Meta:
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        ordering = ["-occurred_at", "-id"]
        indexes = [
            # The security screen's snapshot reads the open ones; they are few among many.
            models.Index(
                fields=["-occurred_at"],
                condition=models.Q(acknowledged_at__isnull=True),
                name="alert_open",
            )
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%H:%M:%S} {self.kind} {self.gate or self.controller}"


class GateCommand(models.Model):
    """A request to a gate agent, such as the console's "test" button pulsing a gate.

    The platform cannot reach the building's network, so commands wait here until the agent
    claims them on its next poll (ADR 0006).
    """

    gate = models.ForeignKey(
        Gate, verbose_name=_("gate"), on_delete=models.CASCADE, related_name="commands"
    )
    direction = models.CharField(
        _("direction"), max_length=3, choices=Direction.choices, default=Direction.IN
    )
    status = models.CharField(
        _("status"), max_length=8, choices=CommandStatus.choices, default=CommandStatus.PENDING
    )
    requested_by = actor_field(_("requested by"))
    agent = models.ForeignKey(
        GateAgent,
        verbose_name=_("gate agent"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="commands",
    )
    result = models.CharField(_("result"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("gate command")
        verbose_name_plural = _("gate commands")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"pulse {self.gate} ({self.status})"


class RollCall(models.Model):
    """An evacuation roll call: who was inside when it started, each marked safe or missing by
    the marshals (and hosts, for their own visitors) until someone closes it.

    At most one is open in a building at a time (``is_open``); the counts at closing are kept
    in ``summary`` and in the audit log."""

    started_by = actor_field(_("started by"))
    started_at = models.DateTimeField(_("started at"), auto_now_add=True)
    closed_by = actor_field(_("closed by"))
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    is_open = models.BooleanField(_("open"), default=True)
    summary = models.JSONField(_("summary"), default=dict, blank=True)

    class Meta:
        verbose_name = _("roll call")
        verbose_name_plural = _("roll calls")
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_open"], condition=models.Q(is_open=True), name="roll_call_one_open"
            )
        ]

    def __str__(self) -> str:
        return f"roll call {self.pk}"


class RollCallEntry(models.Model):
    """One person (a visitor with their companions, or an employee the gates know) in a roll
    call, in the zone of the gate they last came in through.

    The name, host and company are copied when the roll call starts: the list must read the
    same to every marshal even if the visit changes meanwhile. ``version`` grows with every
    mark, so screens that hear of two marks out of order keep the later one."""

    roll_call = models.ForeignKey(
        RollCall, verbose_name=_("roll call"), on_delete=models.CASCADE, related_name="entries"
    )
    kind = models.CharField(
        _("kind"),
        max_length=10,
        choices=RollCallPersonKind.choices,
        default=RollCallPersonKind.VISITOR,
    )
    visit = models.ForeignKey(
        Visit, verbose_name=_("visit"), null=True, blank=True, on_delete=models.SET_NULL
    )
    pass_record = models.ForeignKey(
        Pass, verbose_name=_("pass"), null=True, blank=True, on_delete=models.SET_NULL
    )
    # The visited host for a visitor; the employee themself for an employee.
    host = models.ForeignKey(
        Host, verbose_name=_("host"), null=True, blank=True, on_delete=models.SET_NULL
    )
    name = models.CharField(_("name"), max_length=200)
    host_name = models.CharField(_("host"), max_length=100, blank=True)
    company_name = models.CharField(_("company"), max_length=200, blank=True)
    companions = models.PositiveSmallIntegerField(_("companions"), default=0)
    zone = models.CharField(_("zone"), max_length=100, blank=True)
    since = models.DateTimeField(_("inside since"), null=True, blank=True)
    status = models.CharField(
        _("status"),
        max_length=12,
        choices=RollCallStatus.choices,
        default=RollCallStatus.UNACCOUNTED,
    )
    marked_by = actor_field(_("marked by"))
    marked_at = models.DateTimeField(_("marked at"), null=True, blank=True)
    version = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("roll call entry")
        verbose_name_plural = _("roll call entries")
        ordering = ["zone", "name", "id"]

    def __str__(self) -> str:
        return f"roll call {self.roll_call_id} · entry {self.pk}"

    @property
    def people(self) -> int:
        """How many people this entry stands for: the person and their companions."""
        return 1 + self.companions
