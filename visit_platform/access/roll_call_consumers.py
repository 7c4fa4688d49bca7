"""A roll call's live pages: marshals join the roll call's group, hosts their own group (they
hear only of their own visitors). Marks are made over HTTP by an action; this delivers."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django_tenants.utils import schema_context

from tenants.asgi import CLOSE_NOT_ALLOWED
from visit_platform.access.actions import roll_call_group, roll_call_host_group
from visit_platform.access.live import LiveBatchMixin
from visit_platform.directory.choices import Role
from visit_platform.directory.models import Host

# Roles that see the whole roll call; a host sees their own visitors.
MARSHAL_ROLES = frozenset({Role.SECURITY, Role.PROPERTY_ADMIN, Role.OPERATOR})


@database_sync_to_async
def hosts_of(user_id: int, schema_name: str) -> list[int]:
    """The host records of a user in a building (the query switches schema itself: consumers
    share one database thread)."""
    with schema_context(schema_name):
        return list(
            Host.objects.filter(user_id=user_id, is_active=True).values_list("pk", flat=True)
        )


class RollCallConsumer(LiveBatchMixin, AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        schema = self.scope["building"].schema_name
        roll_call_id = int(self.scope["url_route"]["kwargs"]["roll_call_id"])
        roles = self.scope["roles"]
        if roles & MARSHAL_ROLES:
            self.groups_joined = [roll_call_group(schema, roll_call_id)]
        elif Role.HOST in roles:
            hosts = await hosts_of(self.scope["user"].pk, schema)
            self.groups_joined = [
                roll_call_host_group(schema, roll_call_id, host_id) for host_id in hosts
            ]
        else:
            self.groups_joined = []
        if not self.groups_joined:
            await self.close(code=CLOSE_NOT_ALLOWED)
            return
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "hello", "roll_call": roll_call_id})

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        """Pages mark over HTTP (an audited action); what they send here is ignored."""

    async def roll_call_event(self, event: dict[str, Any]) -> None:
        await self.send_json(event["payload"])
