"""Gate health (issue 14, section 3; ADR 0019): gate agents' heartbeats, each agent's and
controller's last contact and link state, and the silence check that raises one alert per
outage.

An agent is heard from on every authenticated call (``touch_agent``); its heartbeat adds how
its controllers' links stand, as it sees them. The periodic silence check
(``check_gate_silence``, in every building) turns silence longer than the building's
``gate_silence_seconds`` into an alert: one per outage, keyed by when the silence began, so
running the check again, or twice at once, raises nothing more. The live screens hear a
``gate_health`` message whenever an agent or controller goes offline or comes back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kernel.errors import DomainError
from visit_platform.access.actions._common import publish_on_commit
from visit_platform.access.actions.alerts import raise_alert
from visit_platform.access.choices import AlertKind
from visit_platform.access.models import Controller, Gate, GateAgent
from visit_platform.access.queries import silence_limit
from visit_platform.audit.actions import Actor, record

HEALTH_ACTOR = Actor.system("gate health")
MAX_LAST_ERROR = 500


@dataclass(frozen=True)
class ControllerLinkReport:
    """How one controller's link stands, as its agent sees it."""

    id: int
    connected: bool
    # For how long the link has been in this state, by the agent's own clock (a duration,
    # so the agent's and the platform's clocks need not agree).
    since_seconds: float = 0.0
    last_error: str = ""


@dataclass(frozen=True)
class HeartbeatReport:
    """What an agent says of itself and its controllers every few seconds."""

    version: str = ""
    uptime_seconds: float = 0.0
    journal_depth: int = 0
    controllers: Sequence[ControllerLinkReport] = ()


class InvalidHeartbeatError(DomainError):
    """The heartbeat names controllers the agent does not hold; nothing was recorded. The
    details name each one by its place in the report (``loc``)."""

    status = 422
    MESSAGE = gettext_lazy(
        "The heartbeat names controllers this agent does not drive; nothing was recorded."
    )

    def __init__(self, problems: list[dict[str, Any]]) -> None:
        super().__init__("unknown_controller", str(self.MESSAGE))
        self.problems = problems

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.problems}


def gate_health_payload(
    agent: GateAgent, *, online: bool, controllers: Iterable[Controller] | None = None
) -> dict[str, Any]:
    """What the live screens are told when an agent's or a controller's state changes. A
    controller counts as online only while its agent is: nobody drives its gates otherwise."""
    if controllers is None:
        controllers = Controller.objects.filter(agent=agent, is_active=True).order_by("pk")
    controllers = list(controllers)
    gate_ids: dict[int, list[int]] = {controller.pk: [] for controller in controllers}
    for gate_id, controller_id in (
        Gate.objects.filter(controller__in=controllers)
        .order_by("pk")
        .values_list("pk", "controller_id")
    ):
        gate_ids[controller_id].append(gate_id)
    return {
        "type": "gate_health",
        "agent_id": agent.pk,
        "agent": agent.name,
        "online": online,
        "controllers": [
            {
                "id": controller.pk,
                "name": controller.name,
                "online": online and controller.link_up is True,
                "gate_ids": gate_ids[controller.pk],
            }
            for controller in controllers
        ],
    }


@transaction.atomic
def record_heartbeat(
    agent: GateAgent, report: HeartbeatReport, *, now: datetime | None = None
) -> GateAgent:
    """Store an agent's heartbeat: its last contact and what it says of itself, and each
    reported controller's link state, last contact and last error. Every reported
    controller must be one the agent drives (in service and held by it), or nothing is
    recorded. The screens hear of a controller whose link changed and of an agent that was
    offline; a heartbeat that changes no state (the usual one, or one sent twice) tells
    nobody and writes no audit row."""
    now = now or timezone.now()
    ids = [item.id for item in report.controllers]
    held = {
        controller.pk: controller
        for controller in Controller.objects.select_for_update().filter(
            pk__in=ids, agent=agent, is_active=True
        )
    }
    problems = [
        {
            "loc": ["controllers", index, "id"],
            "code": "unknown_controller",
            "message": _("This agent does not drive a controller with this id."),
        }
        for index, item in enumerate(report.controllers)
        if item.id not in held
    ]
    if problems:
        raise InvalidHeartbeatError(problems)
    stored = GateAgent.objects.select_for_update().get(pk=agent.pk)
    came_back = stored.offline_since is not None
    changed = came_back
    for item in report.controllers:
        changed |= _note_link(held[item.id], item, now)
    if came_back:
        record(
            HEALTH_ACTOR,
            "gate_agent.back_online",
            stored,
            offline_since=stored.offline_since.isoformat() if stored.offline_since else None,
        )
    stored.last_seen_at = now
    stored.offline_since = None
    stored.version = report.version[:40]
    stored.started_at = now - timedelta(seconds=report.uptime_seconds)
    stored.journal_depth = report.journal_depth
    stored.save(
        update_fields=["last_seen_at", "offline_since", "version", "started_at", "journal_depth"]
    )
    # The agent object the API holds is cached per process: keep its contact time current.
    agent.last_seen_at, agent.offline_since = now, None
    if changed:
        publish_on_commit(gate_health_payload(stored, online=True))
    return stored


def _note_link(controller: Controller, item: ControllerLinkReport, now: datetime) -> bool:
    """Apply one controller's report; returns whether its link state changed."""
    changed = controller.link_up is not item.connected
    if changed:
        since = now - timedelta(seconds=item.since_seconds)
        # A state cannot have begun before the platform last heard the opposite.
        earliest = controller.last_contact_at if not item.connected else controller.link_changed_at
        if earliest is not None and since < earliest:
            since = earliest
        controller.link_up = item.connected
        controller.link_changed_at = since
        record(
            HEALTH_ACTOR,
            "controller.link_up" if item.connected else "controller.link_down",
            controller,
            since=since.isoformat(),
            error=item.last_error[:MAX_LAST_ERROR],
        )
    if item.connected:
        controller.last_contact_at = now
    controller.last_error = item.last_error[:MAX_LAST_ERROR]
    controller.save(update_fields=["link_up", "link_changed_at", "last_contact_at", "last_error"])
    return changed


# --- The silence check --------------------------------------------------------------------


def check_gate_silence(now: datetime | None = None) -> str:
    """In the current building: agents silent longer than the building allows are marked
    offline with one alert per outage; agents heard from again are marked online; a
    controller whose link has been down that long (as its agent, still heard from, reports)
    raises one alert per outage. An agent never heard from is not an outage."""
    now = now or timezone.now()
    silence = silence_limit()
    cutoff = now - silence
    silent = GateAgent.objects.filter(
        is_active=True, offline_since__isnull=True, last_seen_at__lt=cutoff
    )
    went_offline = sum(1 for agent in silent if mark_agent_offline(agent, now))
    # Heard from since its outage began (any call counts: see touch_agent).
    back = GateAgent.objects.filter(
        is_active=True, offline_since__isnull=False, last_seen_at__gt=F("offline_since")
    )
    came_back = sum(1 for agent in back if mark_agent_online(agent))
    down = Controller.objects.select_related("agent").filter(
        is_active=True,
        link_up=False,
        link_changed_at__lt=cutoff,
        agent__is_active=True,
        agent__offline_since__isnull=True,
        agent__last_seen_at__gte=cutoff,
    )
    controllers_alerted = sum(1 for controller in down if alert_controller_down(controller, now))
    return (
        f"{went_offline} agents offline, {came_back} back, "
        f"{controllers_alerted} controllers unreachable"
    )


@transaction.atomic
def mark_agent_offline(agent: GateAgent, now: datetime) -> bool:
    """Mark a silent agent offline and raise its alert, once per outage: the outage is
    named by the agent's last contact, and the mark is one conditional UPDATE, so a contact
    meanwhile (or another run) wins. Returns whether this call marked it."""
    silent_since = agent.last_seen_at
    if silent_since is None:
        return False
    marked = GateAgent.objects.filter(
        pk=agent.pk, offline_since__isnull=True, last_seen_at=silent_since
    ).update(offline_since=silent_since)
    if not marked:
        return False
    agent.offline_since = silent_since
    raise_alert(
        AlertKind.AGENT_OFFLINE,
        key=f"agent-offline:{agent.pk}:{silent_since.isoformat()}",
        agent=agent,
        details={"silent_since": silent_since.isoformat()},
        occurred_at=now,
    )
    publish_on_commit(gate_health_payload(agent, online=False))
    return True


@transaction.atomic
def mark_agent_online(agent: GateAgent) -> bool:
    """An agent marked offline was heard from again: online for the screens, and in the
    audit trail with when its silence began. Its alert stays as it was, until a person
    acknowledges it (ADR 0019)."""
    offline_since = agent.offline_since
    cleared = GateAgent.objects.filter(pk=agent.pk, offline_since__isnull=False).update(
        offline_since=None
    )
    if not cleared:
        return False
    agent.offline_since = None
    record(
        HEALTH_ACTOR,
        "gate_agent.back_online",
        agent,
        offline_since=offline_since.isoformat() if offline_since else None,
    )
    publish_on_commit(gate_health_payload(agent, online=True))
    return True


def alert_controller_down(controller: Controller, now: datetime) -> bool:
    """Raise the alert for a controller whose link has been down too long, once per outage
    (named by when the link went down). Returns whether it was raised now."""
    assert controller.link_changed_at is not None
    _alert, raised_before = raise_alert(
        AlertKind.CONTROLLER_OFFLINE,
        key=f"controller-offline:{controller.pk}:{controller.link_changed_at.isoformat()}",
        controller=controller,
        agent=controller.agent,
        details={
            "down_since": controller.link_changed_at.isoformat(),
            "last_error": controller.last_error,
        },
        occurred_at=now,
    )
    return not raised_before
