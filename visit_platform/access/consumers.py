"""Live occupancy over WebSockets (ADR 0022): a staff screen gets a snapshot of
its building when it connects or asks (``{"type": "resync"}``), then every event that actions
publish after commit, numbered (``seq``); events published together come as one ``batch``.
Delivering an event runs no query: names are masked by a pure function, for every role but
security, once per event and process (``screen_feed``), not once per screen."""

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
from visit_platform.access import screen_feed
from visit_platform.access.actions.screens import note_occupancy_viewed
from visit_platform.access.live import current_seq, occupancy_group
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
# Frames waiting for a screen that reads slowly; at about 20 frames a second (events are
# gathered for 50 ms), a few seconds. Then the oldest go and the screen resyncs.
OUTBOX_FRAMES = 64


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
    if payload.get("type") == "batch":
        return {**payload, "messages": [masked(message) for message in payload["messages"]]}
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


class OccupancyConsumer(AsyncJsonWebsocketConsumer):
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
        self.outbox: asyncio.Queue[str] = asyncio.Queue(OUTBOX_FRAMES)
        # Held while a snapshot is read and sent: deltas wait in the outbox meanwhile, so none
        # reaches the screen before the snapshot it follows.
        self.sending = asyncio.Lock()
        await self.accept()
        # Fed before the snapshot reads its seq: whatever is numbered after that number
        # reaches this connection.
        await screen_feed.join(self.group, self, masked)
        self.sender = asyncio.create_task(self._send_outbox())
        await self.send_snapshot()

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "sender"):
            self.sender.cancel()
            await screen_feed.leave(self.group, self)

    def offer(self, text: str) -> None:
        """A frame from the building's feed; a full outbox drops its oldest (a gap)."""
        if self.outbox.full():
            self.outbox.get_nowait()
        self.outbox.put_nowait(text)

    async def _send_outbox(self) -> None:
        while True:
            text = await self.outbox.get()
            async with self.sending:
                await self.send(text_data=text)

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
        async with self.sending:
            await self._send_snapshot()

    async def _send_snapshot(self) -> None:
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
