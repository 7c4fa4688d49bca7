"""Scenario policies: every building starts with one per scenario; property admins change them
in the console; a change never contradicts itself and applies to new visits only."""

from __future__ import annotations

from typing import Any

import pytest
from django_tenants.utils import schema_context

from kernel.errors import DomainError
from tenants.models import Building
from tests.conftest import admin_of, client_for, member
from visit_platform.audit.actions import Actor
from visit_platform.audit.models import AuditEntry
from visit_platform.directory.choices import Role
from workflows.actions.policies import update_policy
from workflows.models import ScenarioPolicy

SYSTEM = Actor.system("tests")


def request_policy() -> ScenarioPolicy:
    return ScenarioPolicy.objects.get(scenario="request")


def test_a_new_building_has_a_policy_for_every_scenario(in_alpha: Building) -> None:
    policies = {policy.scenario: policy for policy in ScenarioPolicy.objects.all()}

    assert set(policies) == {"invite", "request", "walk_in", "no_id", "bulk"}
    assert policies["invite"].requires_approval is False
    assert (policies["request"].requires_approval, policies["request"].approver) == (True, "host")
    assert policies["walk_in"].id_check_required is True


def test_a_change_applies_to_new_visits_and_a_started_visit_keeps_its_snapshot(
    in_alpha: Building,
) -> None:
    policy = request_policy()
    kept_by_a_started_visit = policy.snapshot()

    update_policy(SYSTEM, policy, {"requires_approval": False})

    assert request_policy().requires_approval is False
    assert kept_by_a_started_visit["requires_approval"] is True
    entry = AuditEntry.objects.get(verb="policy.changed")
    assert entry.detail["requires_approval"] is False


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"reminder_hours": 24}, "reminder_hours"),
        ({"escalate_to": "host"}, "escalate_to"),
        ({"approval_hours": 0}, "approval_hours"),
        ({"face_match_threshold": 30}, "face_match_threshold"),
        ({"default_window_hours": 0}, "default_window_hours"),
        ({"default_uses": 0}, "default_uses"),
        ({"companions_allowed": 99}, "companions_allowed"),
        ({"approver": "the janitor"}, "approver"),
        ({"watchlist_hit": "ignore"}, "watchlist_hit"),
        ({"zones": "区" * 201}, "zones"),
        ({"zones": ["A座"]}, "zones"),
        ({"is_superuser": True}, "is_superuser"),
    ],
)
def test_contradictory_or_impossible_settings_are_refused_naming_the_field(
    in_alpha: Building, changes: dict[str, Any], field: str
) -> None:
    before = request_policy().snapshot()

    with pytest.raises(DomainError) as refused:
        update_policy(SYSTEM, request_policy(), changes)

    assert refused.value.details["field"] == field
    assert request_policy().snapshot() == before
    assert not AuditEntry.objects.filter(verb="policy.changed").exists()


def form_as_posted(client: Any, **changes: Any) -> dict[str, Any]:
    """The policy form's current values as a browser posts them (unticked boxes are absent)."""
    initial = client.get("/policies/request/").context["form"].initial
    values = {**initial, **changes}
    return {name: value for name, value in values.items() if value not in (None, False)}


def test_a_property_admin_changes_a_policy_in_the_console(alpha: Building) -> None:
    client = client_for(alpha, admin_of(alpha))

    response = client.post(
        "/policies/request/", form_as_posted(client, approval_hours=12, reminder_hours=1)
    )

    assert response.status_code == 302
    with schema_context("alpha"):
        policy = request_policy()
    assert (policy.approval_hours, policy.reminder_hours) == (12, 1)


def test_a_contradictory_change_in_the_console_is_shown_and_saves_nothing(alpha: Building) -> None:
    client = client_for(alpha, admin_of(alpha))

    response = client.post(
        "/policies/request/", form_as_posted(client, approval_hours=2, reminder_hours=5)
    )

    assert response.status_code == 200
    assert response.context["form"].errors["reminder_hours"]
    with schema_context("alpha"):
        assert request_policy().reminder_hours == 2


@pytest.mark.parametrize("role", [Role.RECEPTION, Role.SECURITY])
def test_only_property_admins_see_the_policies(alpha: Building, role: str) -> None:
    user = member(alpha, f"{role}.policies@alpha.example", role)

    assert client_for(alpha, user).get("/policies/").status_code == 403
    assert client_for(alpha, user).get("/policies/request/").status_code == 403


def test_an_unknown_scenario_is_not_found(alpha: Building) -> None:
    response = client_for(alpha, admin_of(alpha)).get("/policies/teleport/")

    assert response.status_code == 404
