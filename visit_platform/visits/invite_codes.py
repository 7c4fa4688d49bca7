"""An event's entrance code (seed 5.2.5): the reference printed in the event's WeChat QR code
and carried to the event's page as ``/wx/events/<token>/``. A signed id
(``kernel.signed_ids``): no column, and a code made in one building names nothing in another."""

from __future__ import annotations

from kernel.signed_ids import id_of, signed_id
from tenants.db import current_schema
from visit_platform.visits.models import Event


def _purpose() -> str:
    return f"event_invite|{current_schema()}"


def event_invite_token(event: Event) -> str:
    """The event's token in the current building."""
    return signed_id(event.pk, _purpose())


def event_by_invite_token(token: str) -> Event | None:
    """The event ``token`` names in the current building, or None. Whether it is still on
    (``ends_at``) is for the page that shows it to say."""
    pk = id_of(token, _purpose())
    if pk is None:
        return None
    return Event.objects.select_related("company").filter(pk=pk).first()
