"""What the live screens write: the audit of a view that shows full names."""

from __future__ import annotations

from django.db import transaction

from visit_platform.audit.actions import Actor, record


@transaction.atomic
def note_occupancy_viewed(actor: Actor, *, people: int) -> None:
    """Audit a view of the occupancy screen with full names (security's): who looked, and at
    how many people inside."""
    record(actor, "occupancy.viewed", None, people=people)
