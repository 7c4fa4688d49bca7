"""Helpers the action modules share: field errors and the live screens' feed."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from kernel.errors import DomainError
from tenants.db import current_schema
from visit_platform.access import live
from visit_platform.access.live import occupancy_group


def invalid(field: str, code: str, message: str) -> DomainError:
    return DomainError(code, message, field=field)


def publish_on_commit(payload: dict[str, Any]) -> None:
    """Send ``payload`` to the building's live screens once the transaction commits: a
    rolled-back passage or alert was never seen."""
    schema = current_schema()
    transaction.on_commit(
        lambda: live.publish(
            occupancy_group(schema), {"type": "occupancy.event", "payload": payload}
        )
    )


def publish_visit_change(visit_id: int, change: str, person: dict[str, Any] | None = None) -> None:
    """Tell the live screens, after commit, of a change to a visit not seen at a gate
    (PROTOCOL ``visit``): ``expected`` (a pass issued for today), ``overstay``, ``extended``,
    ``checked_out`` or ``cancelled``. ``person`` is the visit as the screen lists it
    (``PassHolder.on_screen`` or ``expected_person`` of ``access.queries``), or None."""
    publish_on_commit({"type": "visit", "visit_id": visit_id, "change": change, "person": person})
