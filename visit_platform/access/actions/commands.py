"""Gate commands: the console's test pulse, queued for the agent that drives the gate."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kernel.errors import NotFoundError
from visit_platform.access.actions._common import invalid
from visit_platform.access.choices import CommandStatus, Direction
from visit_platform.access.models import Gate, GateAgent, GateCommand
from visit_platform.audit.actions import Actor, record

# Commands older than this are not run any more: a gate that opens minutes after someone
# pressed "test" would surprise whoever stands in it.
COMMAND_LIFETIME = timedelta(seconds=60)


@transaction.atomic
def request_gate_pulse(actor: Actor, gate: Gate, direction: str = Direction.IN) -> GateCommand:
    """Queue a pulse of the gate's coil (the console's "test" button) for its agent."""
    if gate.controller_id is None:
        raise invalid("gate", "gate_not_wired", _("This gate is not wired to a controller."))
    if direction not in Direction.values:
        raise invalid("direction", "direction_invalid", _("Unknown direction."))
    command = GateCommand.objects.create(gate=gate, direction=direction, requested_by=actor.user)
    record(actor, "gate.pulse_requested", gate, direction=direction, command=command.pk)
    return command


@transaction.atomic
def claim_gate_commands(agent: GateAgent, now: datetime | None = None) -> list[GateCommand]:
    """Hand the agent the commands for the gates of the controllers it holds (see
    ``claim_controllers``); stale ones fail instead."""
    now = now or timezone.now()
    GateCommand.objects.filter(
        status=CommandStatus.PENDING, created_at__lt=now - COMMAND_LIFETIME
    ).update(
        status=CommandStatus.FAILED,
        finished_at=now,
        result="no gate agent claimed it in time",
    )
    commands = list(
        GateCommand.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(status=CommandStatus.PENDING, gate__controller__isnull=False)
        .filter(gate__controller__agent=agent)
        .order_by("created_at", "id")[:20]
    )
    GateCommand.objects.filter(pk__in=[command.pk for command in commands]).update(
        status=CommandStatus.CLAIMED, claimed_at=now, agent=agent
    )
    return commands


@transaction.atomic
def finish_gate_command(
    agent: GateAgent, command_id: int, *, ok: bool, message: str = ""
) -> GateCommand:
    """The agent's report on a command it claimed; reporting twice keeps the first report."""
    command = GateCommand.objects.select_for_update().filter(pk=command_id, agent=agent).first()
    if command is None:
        raise NotFoundError("unknown_command", _("No command of this agent has this id."))
    if command.status == CommandStatus.CLAIMED:
        command.status = CommandStatus.DONE if ok else CommandStatus.FAILED
        command.result = message[:200]
        command.finished_at = timezone.now()
        command.save(update_fields=["status", "result", "finished_at"])
    return command
