"""The bulk event flow routes an event through check → decide → invite; the rules are the
events actions' (tested in tests/visits/test_events.py)."""

from __future__ import annotations

import pytest
from viewflow.workflow.models import Task
from viewflow.workflow.status import PROCESS, STATUS

from kernel.errors import ConflictError, GoneError
from tenants.models import Building
from tests.conftest import admin_of
from tests.visits.test_events import make_company, make_event, mobile, xlsx
from visit_platform.access.models import Pass
from visit_platform.audit.actions import Actor
from visit_platform.visits.models import EventImport
from workflows.actions import events as event_actions
from workflows.flows import bulk as bulk_flow

pytestmark = pytest.mark.django_db


def one_row(n: int) -> bytes:
    return xlsx([[f"参会人{n}", mobile(n), "", "", ""]])


def steps(process: object) -> list[tuple[str, str]]:
    return [
        (task.flow_task.name, task.status)
        for task in Task.objects.filter(process=process).order_by("pk")
    ]


def test_a_confirmed_list_runs_the_flow_to_its_end(in_alpha: Building) -> None:
    admin = Actor(user=admin_of(in_alpha))
    event = make_event(make_company(), admin.user)
    rows = [[f"参会人{n}", mobile(n), "", "", ""] for n in range(3)]

    pending = event_actions.check_list(admin, event, "list.xlsx", xlsx(rows))
    result = event_actions.confirm_list(admin, event, pending.pk)

    process = bulk_flow.process_of(event)
    assert (result.invited, result.skipped) == (3, 0)
    assert process.artifact == event and process.status == PROCESS.DONE
    assert steps(process) == [
        ("start", STATUS.DONE),
        ("check", STATUS.DONE),
        ("decide", STATUS.DONE),
        ("confirmed", STATUS.DONE),
        ("invite", STATUS.DONE),
        ("end", STATUS.DONE),
    ]
    assert Pass.objects.filter(visit__attendee__event=event).count() == 3
    with pytest.raises(ConflictError):
        event_actions.confirm_list(admin, event, pending.pk)


def test_a_cancelled_list_sends_the_flow_back_to_wait_for_another(in_alpha: Building) -> None:
    admin = Actor(user=admin_of(in_alpha))
    event = make_event(make_company(), admin.user)
    pending = event_actions.check_list(admin, event, "list.xlsx", one_row(1))

    event_actions.cancel_list(admin, event, pending.pk)

    process = bulk_flow.process_of(event)
    assert process.status == PROCESS.NEW
    assert steps(process)[-1] == ("check", STATUS.NEW)
    assert not EventImport.objects.exists() and not Pass.objects.exists()
    with pytest.raises(GoneError):
        event_actions.confirm_list(admin, event, pending.pk)


def test_a_refused_confirmation_leaves_the_decision_waiting(in_alpha: Building) -> None:
    admin = Actor(user=admin_of(in_alpha))
    event = make_event(make_company(), admin.user)
    pending = event_actions.check_list(admin, event, "list.xlsx", one_row(1))

    with pytest.raises(GoneError):
        event_actions.confirm_list(admin, event, pending.pk + 1000)

    assert steps(bulk_flow.process_of(event))[-1] == ("decide", STATUS.NEW)
    assert event_actions.confirm_list(admin, event, pending.pk).invited == 1


def test_a_new_list_replaces_one_still_waiting(in_alpha: Building) -> None:
    admin = Actor(user=admin_of(in_alpha))
    event = make_event(make_company(), admin.user)
    event_actions.check_list(admin, event, "old.xlsx", one_row(1))

    pending = event_actions.check_list(admin, event, "new.xlsx", one_row(2))

    assert list(EventImport.objects.values_list("filename", flat=True)) == ["new.xlsx"]
    assert event_actions.confirm_list(admin, event, pending.pk).invited == 1
