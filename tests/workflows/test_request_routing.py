"""A visitor's request, once submitted, goes where the building's policy for requests says:
to the host's phone for a decision, or straight to a pass."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from forms.queries import current_version
from tenants.models import Building
from tests.conftest import client_for
from tests.forms.conftest import make_host, request_answers
from visit_platform.access.models import Pass
from visit_platform.audit.actions import Actor
from visit_platform.notifications.models import Notification
from visit_platform.visits.choices import Scenario
from visit_platform.visits.models import Visit
from workflows.actions.policies import update_policy
from workflows.models import ScenarioPolicy


def submit_request(building: Building, submission_id: str | None = None) -> Any:
    body = {
        "version_id": current_version(Scenario.REQUEST).pk,
        "submission_id": submission_id or str(uuid.uuid4()),
        "answers": request_answers(),
    }
    return client_for(building).post(
        "/api/forms/request/submissions", json.dumps(body), content_type="application/json"
    )


@pytest.fixture
def host(in_alpha: Building) -> Any:
    return make_host()


def test_a_request_that_needs_the_hosts_approval_texts_the_host_a_decision_link(
    alpha: Building, host: Any
) -> None:
    response = submit_request(alpha)

    assert response.status_code == 201
    visit = Visit.objects.get()
    assert visit.status == "pending_approval"
    link = Notification.objects.get(purpose="approval_request")
    assert link.recipient == host.mobile
    assert "/a/" in link.text


def test_with_approval_switched_off_the_visitor_gets_a_pass_at_once(
    alpha: Building, host: Any
) -> None:
    policy = ScenarioPolicy.objects.get(scenario="request")
    update_policy(Actor.system("tests"), policy, {"requires_approval": False})

    submit_request(alpha)

    visit = Visit.objects.get()
    assert visit.status == "approved"
    assert Pass.objects.filter(visit=visit).count() == 1
    assert Notification.objects.get(purpose="pass_link").recipient == visit.visitor.mobile
    assert not Notification.objects.filter(purpose="approval_request").exists()


def test_a_resent_submission_texts_the_host_once(alpha: Building, host: Any) -> None:
    submission_id = str(uuid.uuid4())

    submit_request(alpha, submission_id)
    submit_request(alpha, submission_id)

    assert Notification.objects.filter(purpose="approval_request").count() == 1


def test_a_request_for_the_company_admin_waits_without_a_text(alpha: Building, host: Any) -> None:
    policy = ScenarioPolicy.objects.get(scenario="request")
    update_policy(
        Actor.system("tests"), policy, {"approver": "company_admin", "escalate_to": "property"}
    )

    submit_request(alpha)

    assert Visit.objects.get().status == "pending_approval"
    assert not Notification.objects.exists()
