"""Live occupancy over WebSockets: staff screens join their building's group and receive
events that actions publish after commit. Consumers deliver only; they run no queries."""

from __future__ import annotations

from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from tenants.asgi import CLOSE_NOT_ALLOWED
from visit_platform.access.live import LiveBatchMixin
from visit_platform.directory.choices import Role

# Roles that may watch who is inside the building.
OCCUPANCY_ROLES = frozenset({Role.SECURITY, Role.PROPERTY_ADMIN, Role.OPERATOR, Role.RECEPTION})


def occupancy_group(schema_name: str) -> str:
    """The channel group of one building (house rule 4: it carries the schema)."""
    return f"occupancy.{schema_name}"


class OccupancyConsumer(LiveBatchMixin, AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        if not self.scope["roles"] & OCCUPANCY_ROLES:
            await self.close(code=CLOSE_NOT_ALLOWED)
            return
        self.group = occupancy_group(self.scope["building"].schema_name)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "hello", "building": self.scope["building"].name})

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        """Screens only listen; anything they send is ignored."""

    async def occupancy_event(self, event: dict[str, Any]) -> None:
        await self.send_json(event["payload"])
