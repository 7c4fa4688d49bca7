"""WebSockets: who the user is in the socket's building, from its memberships.

Runs inside ``tenants.asgi.BuildingWebsocketMiddleware``, which has found the building and the
session. The query switches schema inside the same synchronous call that runs it, because
consumers share one database thread (STACK_NOTES).
"""

from __future__ import annotations

from typing import Any

from channels.auth import get_user
from channels.db import database_sync_to_async
from django_tenants.utils import schema_context

from visit_platform.directory.models import Membership


@database_sync_to_async
def roles_in_building(user: Any, schema_name: str) -> frozenset[str]:
    if user is None or not user.is_authenticated or not user.is_active:
        return frozenset()
    with schema_context(schema_name):
        return frozenset(
            Membership.objects.filter(user_id=user.pk, is_active=True).values_list(
                "role", flat=True
            )
        )


class MembershipWebsocketMiddleware:
    """Puts ``user`` and their ``roles`` in the building into the scope."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] != "websocket":
            return await self.inner(scope, receive, send)
        user = await get_user(scope)
        roles = await roles_in_building(user, scope["building"].schema_name)
        return await self.inner(dict(scope, user=user, roles=roles), receive, send)
