"""Choices for access: gate directions, decision reason codes, decision modes, pass states.

Reason codes are stable strings: the API, the gate agents, the audit trail and the screens
use the same ones.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Direction(models.TextChoices):
    IN = "in", _("Entry")
    OUT = "out", _("Exit")


class GateDirection(models.TextChoices):
    IN = "in", _("Entry only")
    OUT = "out", _("Exit only")
    BOTH = "both", _("Both ways")


class Mode(models.TextChoices):
    ONLINE = "online", _("Decided by the platform")
    OFFLINE = "offline", _("Decided by the gate agent offline")


# Someone walked through: a granted scan, or a passage the turnstile counted.
PASSAGE_REASONS = ("granted", "passage", "test_passage")


class Reason(models.TextChoices):
    GRANTED = "granted", _("Granted")
    PASSAGE = "passage", _("Passage counted without a scan")
    TEST_PASSAGE = "test_passage", _("Passage on a test pulse from the console")
    INVALID_TOKEN = "invalid_token", _("The code is not a valid pass")
    INVALID_SIGNATURE = "invalid_signature", _("The code's signature is forged or damaged")
    UNKNOWN_KEY = "unknown_key", _("The code was signed with an unknown key")
    WRONG_BUILDING = "wrong_building", _("The pass is for another building")
    TOKEN_EXPIRED = "token_expired", _("The code has expired; refresh it")
    UNKNOWN_PASS = "unknown_pass", _("The pass does not exist")
    REVOKED = "revoked", _("The pass was revoked")
    NOT_APPROVED = "not_approved", _("The visit is not approved")
    NOT_YET_VALID = "not_yet_valid", _("The pass is not valid yet")
    EXPIRED = "expired", _("The pass has expired")
    USES_EXHAUSTED = "uses_exhausted", _("The pass has been used up")
    WATCHLISTED = "watchlisted", _("Entry refused; please see security")
    WRONG_ZONE = "wrong_zone", _("The pass is not valid in this zone")
    ANTI_PASSBACK = "anti_passback", _("The pass is already inside; exit first")
    WRONG_DIRECTION = "wrong_direction", _("This gate does not open in that direction")
    GATE_INACTIVE = "gate_inactive", _("The gate is out of service")


class AlertKind(models.TextChoices):
    """What security is alerted to. The first three come from a controller, through its gate
    agent (``AGENT_ALERT_KINDS``); the others the platform raises itself (``raise_alert``)."""

    DOOR_FORCED = "door_forced", _("Door forced open")
    ALARM = "alarm", _("Turnstile alarm")
    COUNTER_RESET = "counter_reset", _("Turnstile counter reset")
    WATCHLIST_HIT = "watchlist_hit", _("Watchlisted person at a gate")
    DENIAL_BURST = "denial_burst", _("Many refusals at one gate")
    AGENT_OFFLINE = "agent_offline", _("Gate agent silent")
    CONTROLLER_OFFLINE = "controller_offline", _("Controller unreachable")
    OVERSTAY = "overstay", _("Visitor overstaying")


class AgentAlertKind(models.TextChoices):
    """The alerts a gate agent may report: what its controllers signal. The platform's own
    kinds (a watchlist hit, an agent offline...) are never taken from an agent."""

    DOOR_FORCED = AlertKind.DOOR_FORCED.value, AlertKind.DOOR_FORCED.label
    ALARM = AlertKind.ALARM.value, AlertKind.ALARM.label
    COUNTER_RESET = AlertKind.COUNTER_RESET.value, AlertKind.COUNTER_RESET.label


# Alerts the security screen shows in red with a sound: someone may be in danger or getting in.
URGENT_ALERT_KINDS = frozenset({AlertKind.DOOR_FORCED, AlertKind.ALARM, AlertKind.WATCHLIST_HIT})


class CommandStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for the gate agent")
    CLAIMED = "claimed", _("Sent to the gate agent")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class PassState(models.TextChoices):
    """What the visitor's page says about the pass, checked in this order."""

    REVOKED = "revoked", _("Revoked")
    EXPIRED = "expired", _("Expired")
    USED_UP = "used_up", _("Used up")
    NOT_YET_VALID = "not_yet_valid", _("Not valid yet")
    VALID = "valid", _("Valid")
    # Inside on a pass that would not let them in again: the code still opens the exit.
    EXIT_ONLY = "exit_only", _("Inside, exit only")


# States in which a slip still gets someone in (not yet valid: printed ahead of the visit).
PRINTABLE_STATES = frozenset({PassState.VALID, PassState.NOT_YET_VALID})


class RollCallStatus(models.TextChoices):
    """Where a person stands in an evacuation roll call."""

    UNACCOUNTED = "unaccounted", _("Not yet accounted for")
    SAFE = "safe", _("Safe")
    MISSING = "missing", _("Missing")


class RollCallPersonKind(models.TextChoices):
    VISITOR = "visitor", _("Visitor")
    EMPLOYEE = "employee", _("Employee")
