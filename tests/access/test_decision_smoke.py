"""A first end-to-end check of the gate decision (the full matrix is in test_decision.py)."""

from __future__ import annotations

from tests.access.conftest import slip_token
from visit_platform.access.actions import decide_scan
from visit_platform.access.models import Gate, Pass


def test_a_valid_slip_token_is_granted_and_checks_the_visit_in(
    gate: Gate, pass_record: Pass
) -> None:
    decision = decide_scan(gate=gate, token=slip_token(pass_record))

    pass_record.refresh_from_db()
    pass_record.visit.refresh_from_db()
    assert (decision.granted, decision.reason) == (True, "granted")
    assert (pass_record.uses, pass_record.is_inside) == (1, True)
    assert pass_record.visit.status == "checked_in"
