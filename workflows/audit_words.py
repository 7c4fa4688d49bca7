"""Names the codes that audit entries and flow steps carry (scenarios, statuses, steps,
decisions...) for ``visit_platform.audit.details``: this layer imports every package that
owns such codes; the audit package imports none of them."""

from __future__ import annotations

from visit_platform.access.choices import (
    AlertKind,
    Direction,
    GateDirection,
    Mode,
    Reason,
    RollCallStatus,
)
from visit_platform.audit.details import name_values
from visit_platform.directory.choices import Role
from visit_platform.notifications.choices import Channel, Purpose
from visit_platform.visits.choices import (
    CardKind,
    CardSize,
    KeptBecause,
    LeftOnWordOf,
    RetentionClass,
    Scenario,
    VisitStatus,
)
from workflows.choices import (
    Approver,
    IdentityCheck,
    LinkOutcome,
    LinkPurpose,
    PrivacyRequestKind,
)


def flow_classes() -> list[type]:
    """Every flow whose steps appear in the audit log and on timelines; visits' flows first,
    so a step name they share with another flow (``start``) reads as theirs."""
    from workflows.flows.bulk import BulkEventFlow
    from workflows.flows.visits import InviteFlow, NoIdFlow, RequestFlow, WalkInFlow
    from workflows.flows.watchlist import WatchlistFlow

    return [RequestFlow, InviteFlow, WalkInFlow, NoIdFlow, BulkEventFlow, WatchlistFlow]


def step_titles() -> dict[str, object]:
    """Each step's name and its title (a node annotated with none is left out)."""
    titles: dict[str, object] = {}
    for flow_class in flow_classes():
        for node in flow_class.instance.nodes():  # type: ignore[attr-defined]
            if node.task_title and node.name not in titles:
                titles[node.name] = node.task_title
    return titles


def register() -> None:
    name_values("step", step_titles().items())  # type: ignore[arg-type]
    name_values("scenario", Scenario.choices)
    name_values("identity_check", IdentityCheck.choices)
    name_values("status", VisitStatus.choices)
    name_values("status", RollCallStatus.choices)
    name_values("previous", RollCallStatus.choices)
    name_values("decision", LinkOutcome.choices)
    name_values("outcome", LinkOutcome.choices)
    name_values("purpose", LinkPurpose.choices)
    name_values("purpose", Purpose.choices)
    name_values("channel", Channel.choices)
    name_values("role", Role.choices)
    name_values("kind", AlertKind.choices)
    name_values("kind", CardKind.choices)
    name_values("size", CardSize.choices)
    name_values("kind", PrivacyRequestKind.choices)
    name_values("direction", GateDirection.choices)
    name_values("direction", Direction.choices)  # a pulse's "in" is an entry, not "entry only"
    name_values("reason", Reason.choices)
    name_values("reasons", Reason.choices)
    name_values("word_of", LeftOnWordOf.choices)
    name_values("data_class", RetentionClass.choices)
    name_values("kept", RetentionClass.choices)  # a privacy request's classes kept
    for data_class in RetentionClass.values:
        name_values(data_class, KeptBecause.choices)
    name_values("mode", Mode.choices)
    name_values("to", Approver.choices)
    name_values("approver", Approver.choices)
