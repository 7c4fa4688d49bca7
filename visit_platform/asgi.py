"""ASGI entry point: HTTP goes to Django (the gate API through its synchronous handler);
WebSockets are routed to a building by host name."""

import gc
import os
from typing import Any

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "visit_platform.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from tenants.asgi import BuildingWebsocketMiddleware  # noqa: E402
from visit_platform.access.asgi import GATE_API_PREFIX, GateApiHandler  # noqa: E402
from visit_platform.asgi_limits import BoundedBody  # noqa: E402
from visit_platform.directory.asgi import MembershipWebsocketMiddleware  # noqa: E402
from visit_platform.routing import websocket_application  # noqa: E402

gate_api_app = GateApiHandler()
public_app = BoundedBody(django_asgi_app, settings.MAX_REQUEST_BODY_BYTES)


async def http_application(scope: dict, receive: Any, send: Any) -> None:
    """Gate agents' calls take the short way (see visit_platform.access.asgi)."""
    if scope["path"].startswith(GATE_API_PREFIX):
        await gate_api_app(scope, receive, send)
    else:
        await public_app(scope, receive, send)


application = ProtocolTypeRouter(
    {
        "http": http_application,
        "websocket": AllowedHostsOriginValidator(
            BuildingWebsocketMiddleware(MembershipWebsocketMiddleware(websocket_application))
        ),
    }
)

# Everything loaded so far lives as long as the process: keep the garbage collector from
# walking it again on every full collection, which stalled requests for tens of milliseconds.
gc.freeze()
