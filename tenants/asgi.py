"""Tenant-aware WebSockets: django-tenants only routes HTTP, so sockets find their building here.

The building comes from the ``Host`` header (looked up in the public schema); an unknown host
is refused with close code 4404 before any consumer runs. The session comes from its cookie.

Consumers share one database thread and connection: a schema set in one consumer's
synchronous call would stay active for the next. So every query here switches schema with
``schema_context`` inside the same synchronous function that runs it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from channels.db import database_sync_to_async
from channels.sessions import SessionMiddlewareStack
from django_tenants.utils import get_public_schema_name, schema_context

CLOSE_UNKNOWN_BUILDING = 4404
CLOSE_NOT_ALLOWED = 4403


@dataclass(frozen=True)
class BuildingInfo:
    """What a consumer needs to know of its building, without holding a model instance."""

    pk: int
    schema_name: str
    name: str


def host_from_scope(scope: dict[str, Any]) -> str:
    for name, value in scope.get("headers", []):
        if name == b"host":
            host = value.decode("latin-1").strip().lower()
            if host.startswith("["):  # IPv6 literal
                return host.split("]")[0] + "]"
            return host.rsplit(":", 1)[0] if ":" in host else host
    return ""


@database_sync_to_async
def find_building(host: str) -> BuildingInfo | None:
    from tenants.models import Domain

    if not host or len(host) > 253:
        return None
    with schema_context(get_public_schema_name()):
        domain = Domain.objects.select_related("tenant").filter(domain=host).first()
        if domain is None or domain.tenant.schema_name == get_public_schema_name():
            return None
        building = domain.tenant
        return BuildingInfo(building.pk, building.schema_name, building.name)


async def refuse(receive: Any, send: Any, code: int) -> None:
    """Answer a WebSocket handshake with a close before it is accepted."""
    message = await receive()
    if message["type"] == "websocket.connect":
        await send({"type": "websocket.close", "code": code})


class BuildingWebsocketMiddleware:
    """Puts ``building`` and the session in the scope, or refuses the socket. What the user may
    do there is the domain's to say (``visit_platform.directory.asgi`` adds the roles)."""

    def __init__(self, inner: Any) -> None:
        self.inner = SessionMiddlewareStack(inner)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] != "websocket":
            return await self.inner(scope, receive, send)
        building = await find_building(host_from_scope(scope))
        if building is None:
            return await refuse(receive, send, CLOSE_UNKNOWN_BUILDING)
        return await self.inner(dict(scope, building=building), receive, send)
