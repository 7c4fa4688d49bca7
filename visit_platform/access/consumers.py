"""Live occupancy over WebSockets (ADR 0022): a staff screen gets a snapshot of
its building when it connects or asks (``{"type": "resync"}``), then every event that actions
publish after commit, numbered (``seq``). Delivering an event runs no query: names are masked
here, by a pure function, for every role but security."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django_tenants.utils import schema_context

from kernel.privacy import mask_name
from tenants.asgi import CLOSE_NOT_ALLOWED
from visit_platform.access.actions.screens import note_occupancy_viewed
from visit_platform.access.live import LiveBatchMixin, current_seq, occupancy_group
from visit_platform.access.queries import screen_snapshot
from visit_platform.audit.actions import Actor
from visit_platform.directory.choices import Role

__all__ = ["OCCUPANCY_ROLES", "OccupancyConsumer", "masked", "occupancy_group"]

# Roles that may watch who is inside the building.
OCCUPANCY_ROLES = frozenset({Role.SECURITY, Role.PROPERTY_ADMIN, Role.OPERATOR, Role.RECEPTION})
# Roles that see visitors' full names (a roll call needs them); every other role sees masks.
FULL_NAME_ROLES = frozenset({Role.SECURITY})
# A screen says at most ``{"type": "resync"}``: anything longer is not read.
MAX_CLIENT_MESSAGE = 256
# Two snapshots of one connection are at least this far apart, however often it asks: a
# snapshot costs queries, a delta none.
SNAPSHOT_INTERVAL_SECONDS = 1.0


def _masked_person(person: Any) -> Any:
    if isinstance(person, dict) and isinstance(person.get("name"), str):
        return {**person, "name": mask_name(person["name"])}
    return person


def _masked_fields(payload: dict[str, Any]) -> dict[str, Any]:
    """``name``, ``visitor`` and ``person.name`` masked: the fields that carry a visitor's
    name in every message of the protocol."""
    masked_payload = dict(payload)
    for field in ("name", "visitor"):
        if isinstance(masked_payload.get(field), str):
            masked_payload[field] = mask_name(masked_payload[field])
    if "person" in masked_payload:
        masked_payload["person"] = _masked_person(masked_payload["person"])
    return masked_payload


def masked(payload: dict[str, Any]) -> dict[str, Any]:
    """A copy of a message for a screen that sees masked names. Pure: it reads nothing."""
    if payload.get("type") != "snapshot":
        return _masked_fields(payload)
    return {
        **payload,
        "inside": [_masked_person(person) for person in payload["inside"]],
        "expected": [_masked_person(person) for person in payload["expected"]],
        "alerts": [_masked_fields(alert) for alert in payload["alerts"]],
    }


@database_sync_to_async
def read_snapshot(schema_name: str, viewer: Actor | None) -> dict[str, Any]:
    """The building's snapshot, and the audit of ``viewer``'s view when given. The schema is
    switched inside this synchronous call: consumers share one database thread (STACK_NOTES)."""
    with schema_context(schema_name):
        snapshot = screen_snapshot()
        if viewer is not None:
            note_occupancy_viewed(viewer, people=len(snapshot["inside"]))
        return snapshot


class OccupancyConsumer(LiveBatchMixin, AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        roles = self.scope["roles"]
        if not roles & OCCUPANCY_ROLES:
            await self.close(code=CLOSE_NOT_ALLOWED)
            return
        self.schema_name = self.scope["building"].schema_name
        self.full_names = bool(roles & FULL_NAME_ROLES)
        self.view_audited = False
        self.last_snapshot_at = float("-inf")
        self.group = occupancy_group(self.schema_name)
        # Joined before the snapshot reads its seq: whatever is numbered after that number
        # reaches this connection.
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_snapshot()

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """A screen may ask for a new snapshot; anything else (binary, oversized, not JSON,
        another type) is ignored, never answered with an error or a closed socket."""
        if text_data is None or len(text_data) > MAX_CLIENT_MESSAGE:
            return
        try:
            content = json.loads(text_data)
        except ValueError:
            return
        if isinstance(content, dict) and content.get("type") == "resync":
            await self.send_snapshot()

    async def send_snapshot(self) -> None:
        wait = self.last_snapshot_at + SNAPSHOT_INTERVAL_SECONDS - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        # Read before the snapshot's queries: an event numbered up to here committed before
        # they ran, so the snapshot holds it; later ones come as deltas (maybe again).
        seq = await current_seq(self.channel_layer, self.group)
        audit = self.full_names and not self.view_audited
        snapshot = await read_snapshot(self.schema_name, self._viewer() if audit else None)
        self.view_audited = self.view_audited or audit
        self.last_snapshot_at = time.monotonic()
        message = {
            "type": "snapshot",
            "seq": seq,
            "names": "full" if self.full_names else "masked",
            **snapshot,
        }
        await self.send_json(message if self.full_names else masked(message))

    def _viewer(self) -> Actor:
        client = self.scope.get("client")
        return Actor(user=self.scope["user"], ip_address=client[0] if client else None)

    async def occupancy_event(self, event: dict[str, Any]) -> None:
        payload = {**event["payload"], "seq": event.get("seq")}
        await self.send_json(payload if self.full_names else masked(payload))
