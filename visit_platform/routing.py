"""WebSocket routes, all inside a building (see tenants.asgi)."""

from channels.routing import URLRouter
from django.urls import path

from visit_platform.access.consumers import OccupancyConsumer

websocket_application = URLRouter(
    [path("ws/occupancy/", OccupancyConsumer.as_asgi())],
)
