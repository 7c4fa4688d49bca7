"""ASGI entry point: HTTP goes to Django; WebSockets are routed to a building by host name."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "visit_platform.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from tenants.asgi import BuildingWebsocketMiddleware  # noqa: E402
from visit_platform.routing import websocket_application  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            BuildingWebsocketMiddleware(websocket_application)
        ),
    }
)
