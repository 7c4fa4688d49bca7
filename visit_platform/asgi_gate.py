"""ASGI entry point that serves the gate API alone, for processes of its own.

A turnstile waits on every scan, so the gate API is a bulkhead: its workers take no public
page, upload, report or WebSocket, and nothing a visitor or an anonymous client sends can
queue in front of a gate agent's call (docs/deployment.md). Anything else asked of these
processes gets a JSON 404, as the gate API answers an unknown address.
"""

import gc
import json
import os
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "visit_platform.settings")
django.setup(set_prefix=False)

from visit_platform.access.asgi import GATE_API_PREFIX, GateApiHandler  # noqa: E402

gate_api_app = GateApiHandler()

NOT_HERE = json.dumps(
    {"code": "not_found", "message": "This server answers the gate API only."}
).encode()


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
    elif scope["type"] == "http" and scope["path"].startswith(GATE_API_PREFIX):
        await gate_api_app(scope, receive, send)
    elif scope["type"] == "http":
        await send(
            {
                "type": "http.response.start",
                "status": 404,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(NOT_HERE)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": NOT_HERE})
    else:  # a WebSocket: refuse the handshake
        await send({"type": "websocket.close", "code": 4404})


# As in visit_platform.asgi: what is loaded lives as long as the process.
gc.freeze()
