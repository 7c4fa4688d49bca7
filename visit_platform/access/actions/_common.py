"""Helpers the action modules share: field errors and the live screens' feed."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from kernel.errors import DomainError
from tenants.db import current_schema
from visit_platform.access import live
from visit_platform.access.consumers import occupancy_group


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
