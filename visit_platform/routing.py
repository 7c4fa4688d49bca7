"""WebSocket routes, all inside a building (see tenants.asgi)."""

from channels.routing import URLRouter
from django.urls import path

from visit_platform.access.consumers import OccupancyConsumer
from visit_platform.access.roll_call_consumers import RollCallConsumer

websocket_application = URLRouter(
    [
        path("ws/occupancy/", OccupancyConsumer.as_asgi()),
        path("ws/roll-call/<int:roll_call_id>/", RollCallConsumer.as_asgi()),
    ],
)
