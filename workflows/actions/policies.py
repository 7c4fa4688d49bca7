"""Scenario policies: the defaults a new building gets, and a property admin's changes, which
apply to visits that start from then on."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from kernel.errors import DomainError
from visit_platform.audit.actions import Actor, record
from workflows.choices import Approver, WatchlistHitAction
from workflows.models import POLICY_FIELDS, ScenarioPolicy
from workflows.policies import DEFAULT_POLICIES


def ensure_default_policies(actor: Actor) -> None:
    """A policy for every scenario that has none (new buildings; new scenarios later)."""
    for scenario, settings in DEFAULT_POLICIES.items():
        if not ScenarioPolicy.objects.filter(scenario=scenario).exists():
            policy = ScenarioPolicy.objects.create(scenario=scenario, **settings)
            record(actor, "policy.created", policy, scenario=scenario)


@transaction.atomic
def update_policy(actor: Actor, policy: ScenarioPolicy, changes: dict[str, Any]) -> ScenarioPolicy:
    """Change a scenario's policy; applies to visits that start from now on. Refuses settings
    that contradict each other, naming the field."""
    unknown = set(changes) - set(POLICY_FIELDS)
    if unknown:
        raise DomainError("field_unknown", _("Unknown setting."), field=sorted(unknown)[0])
    candidate = ScenarioPolicy(**{**policy.snapshot(), **changes})
    _check(candidate)
    changed = {
        field: changes[field] for field in changes if getattr(policy, field) != changes[field]
    }
    if not changed:
        return policy
    for field, value in changed.items():
        setattr(policy, field, value)
    policy.save(update_fields=[*changed, "updated_at"])
    record(actor, "policy.changed", policy, scenario=policy.scenario, **changed)
    return policy


def _check(policy: ScenarioPolicy) -> None:
    def refuse(field: str, message: str) -> None:
        raise DomainError("policy_invalid", message, field=field)

    if policy.approver not in Approver.values:
        refuse("approver", _("Choose who approves."))
    if policy.escalate_to and policy.escalate_to not in Approver.values:
        refuse("escalate_to", _("Choose whom to escalate to."))
    if policy.escalate_to and policy.escalate_to == policy.approver:
        refuse("escalate_to", _("Escalate to someone other than the approver."))
    if not 1 <= policy.approval_hours <= 720:
        refuse("approval_hours", _("Allow between 1 and 720 hours to decide."))
    if policy.reminder_hours and policy.reminder_hours >= policy.approval_hours:
        refuse("reminder_hours", _("The reminder must come before the time to decide runs out."))
    if not 50 <= policy.face_match_threshold <= 100:
        refuse("face_match_threshold", _("Set a threshold between 50 and 100 percent."))
    if not 1 <= policy.default_window_hours <= 720:
        refuse("default_window_hours", _("A visit lasts between 1 and 720 hours."))
    if policy.default_uses is not None and not 1 <= policy.default_uses <= 1000:
        refuse("default_uses", _("Allow between 1 and 1,000 entries, or leave it empty."))
    if not 0 <= policy.companions_allowed <= 50:
        refuse("companions_allowed", _("Allow between 0 and 50 companions."))
    if not isinstance(policy.zones, str) or len(policy.zones) > 200:
        refuse("zones", _("List the zones in at most 200 characters."))
    if policy.watchlist_hit not in WatchlistHitAction.values:
        refuse("watchlist_hit", _("Choose what a watchlist match does."))
