"""Two approvers acting on one task at the same moment, in a committed building: the flow's
row lock and the visit's conditional UPDATE let exactly one decide; the other is told."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from kernel.errors import DomainError
from tests.access.conftest import make_host, make_visitor
from tests.conftest import committed_building, member
from visit_platform.access.models import Pass
from visit_platform.audit.actions import Actor
from visit_platform.directory.choices import Role
from visit_platform.visits.actions import create_visit
from visit_platform.visits.choices import Scenario
from visit_platform.visits.models import Visit
from workflows.actions import decide_task, start_visit_flow
from workflows.actions.policies import update_policy
from workflows.models import ScenarioPolicy

SYSTEM = Actor.system("tests")
SLUG = "taskrace"


@pytest.fixture(scope="module")
def waiting_approval(django_db_setup: None, django_db_blocker: Any) -> Iterator[dict[str, Any]]:
    """A request waiting for the company admin's approval, committed, and two approvers."""
    with django_db_blocker.unblock(), committed_building(SLUG, "审批竞争") as building:
        with schema_context(SLUG):
            update_policy(
                SYSTEM,
                ScenarioPolicy.objects.get(scenario=Scenario.REQUEST),
                {"approver": "company_admin", "escalate_to": ""},
            )
            host = make_host()
            start = timezone.now() + timedelta(hours=1)
            visit = create_visit(
                SYSTEM,
                scenario=Scenario.REQUEST,
                visitor=make_visitor(),
                host=host,
                valid_from=start,
                valid_until=start + timedelta(hours=2),
            )
            start_visit_flow(SYSTEM, visit)
            task = Task.objects.get(process__visitprocess__visit=visit, flow_task_type="HUMAN")
            approvers = [
                member(building, f"boss@{SLUG}.example", Role.COMPANY_ADMIN, host.company),
                member(building, f"office@{SLUG}.example", Role.PROPERTY_ADMIN),
            ]
        yield {"task_id": task.pk, "visit_id": visit.pk, "approvers": approvers}


@pytest.mark.django_db
def test_two_approvers_deciding_one_task_at_the_same_moment_decide_once(
    waiting_approval: dict[str, Any],
) -> None:
    barrier = threading.Barrier(2)
    results: list[str] = []

    def decide(user: Any, approve: bool) -> None:
        try:
            with schema_context(SLUG):
                connection.ensure_connection()
                task = Task.objects.get(pk=waiting_approval["task_id"])
                barrier.wait(timeout=10)
                decide_task(Actor(user=user), task, approve=approve, reason="不便接待")
                results.append("approved" if approve else "rejected")
        except DomainError as error:
            results.append(error.code)
        finally:
            connection.close()

    first, second = waiting_approval["approvers"]
    threads = [
        threading.Thread(target=decide, args=(first, True)),
        threading.Thread(target=decide, args=(second, False)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(results) == 2
    winners = [result for result in results if result in ("approved", "rejected")]
    losers = [result for result in results if result not in ("approved", "rejected")]
    assert len(winners) == 1
    assert losers[0] in ("already_decided", "task_done")
    with schema_context(SLUG):
        visit = Visit.objects.get(pk=waiting_approval["visit_id"])
        assert visit.status == winners[0]
        assert Pass.objects.filter(visit=visit).count() == (1 if winners[0] == "approved" else 0)
        task = Task.objects.get(pk=waiting_approval["task_id"])
        assert task.status == STATUS.DONE
