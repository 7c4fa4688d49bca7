"""A host calling off an invitation at the moment its visitor scans in at the gate, in a
committed building: exactly one wins. Either the visitor is in and the host is told so, or
the invitation is cancelled and the gate refuses the pass."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from kernel.errors import DomainError
from tests.access.conftest import make_gate, make_host, make_pass, make_visit, slip_token
from tests.conftest import committed_building
from visit_platform.access.actions import decide_scan
from visit_platform.access.models import Gate, Pass
from visit_platform.audit.actions import Actor
from visit_platform.visits.choices import VisitStatus
from visit_platform.visits.models import Visit
from workflows.actions import cancel_invitation

SLUG = "cancelrace"


@pytest.fixture(scope="module")
def invitation(django_db_setup: None, django_db_blocker: Any) -> Iterator[dict[str, Any]]:
    """An approved invitation whose window is open, with its pass and a gate, committed."""
    with django_db_blocker.unblock(), committed_building(SLUG, "取消竞争"):
        with schema_context(SLUG):
            visit = make_visit(host=make_host(), starts=timezone.now() - timedelta(minutes=10))
            pass_record = make_pass(visit)
            gate = make_gate()
            token = slip_token(pass_record)
        yield {"visit_id": visit.pk, "pass_id": pass_record.pk, "gate_id": gate.pk, "token": token}


@pytest.mark.django_db
def test_a_cancellation_and_an_arrival_at_the_same_moment_end_one_way(
    invitation: dict[str, Any],
) -> None:
    barrier = threading.Barrier(2)
    results: dict[str, Any] = {}

    def cancel() -> None:
        try:
            with schema_context(SLUG):
                visit = Visit.objects.get(pk=invitation["visit_id"])
                barrier.wait(timeout=10)
                cancel_invitation(Actor.system("host"), visit)
                results["cancel"] = "cancelled"
        except DomainError as error:
            results["cancel"] = error.code
        finally:
            connection.close()

    def arrive() -> None:
        try:
            with schema_context(SLUG):
                gate = Gate.objects.get(pk=invitation["gate_id"])
                barrier.wait(timeout=10)
                decision = decide_scan(gate=gate, token=invitation["token"], direction="in")
                results["gate"] = (decision.granted, decision.reason)
        finally:
            connection.close()

    threads = [threading.Thread(target=cancel), threading.Thread(target=arrive)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    with schema_context(SLUG):
        status = Visit.objects.get(pk=invitation["visit_id"]).status
        pass_record = Pass.objects.get(pk=invitation["pass_id"])
    if results["cancel"] == "cancelled":
        assert results["gate"] in ((False, "revoked"), (False, "not_approved"))
        assert status == VisitStatus.CANCELLED and pass_record.revoked_at is not None
        assert pass_record.uses == 0
    else:
        assert results["cancel"] == "not_cancellable"
        assert results["gate"] == (True, "granted")
        assert status == VisitStatus.CHECKED_IN and pass_record.revoked_at is None
