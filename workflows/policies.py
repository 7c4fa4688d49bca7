"""Scenario policies: the defaults every building starts with, and a visit's snapshot of its
scenario's policy. Changing them is an action (``workflows.actions.policies``)."""

from __future__ import annotations

from typing import Any

from visit_platform.visits.choices import Scenario
from workflows.choices import Approver, WatchlistHitAction
from workflows.models import ScenarioPolicy

# What a building starts with: invitations and events come from someone inside and need no
# approval; a stranger's request waits for the host; reception checks walk-ins at the desk.
DEFAULT_POLICIES: dict[str, dict[str, Any]] = {
    Scenario.INVITE: {"requires_approval": False},
    Scenario.REQUEST: {
        "requires_approval": True,
        "approver": Approver.HOST,
        "approval_hours": 24,
        "reminder_hours": 2,
        "escalate_to": Approver.COMPANY_ADMIN,
    },
    Scenario.WALK_IN: {
        "requires_approval": True,
        "approver": Approver.HOST,
        "approval_hours": 1,
        "reminder_hours": 0,
        "id_check_required": True,
        "photo_required": True,
        "default_window_hours": 4,
    },
    Scenario.NO_ID: {
        "requires_approval": True,
        "approver": Approver.COMPANY_ADMIN,
        "approval_hours": 1,
        "reminder_hours": 0,
        "photo_required": True,
        "default_window_hours": 4,
        "watchlist_hit": WatchlistHitAction.SECURITY_REVIEW,
    },
    Scenario.BULK: {"requires_approval": False, "companions_allowed": 0},
}


def policy_snapshot(scenario: str) -> dict[str, Any]:
    """The building's policy for ``scenario`` as plain data, for a new visit to keep (the
    defaults where the building has none yet)."""
    policy = ScenarioPolicy.objects.filter(scenario=scenario).first()
    if policy is None:
        policy = ScenarioPolicy(scenario=scenario, **DEFAULT_POLICIES.get(scenario, {}))
    return policy.snapshot()
