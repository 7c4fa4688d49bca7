"""ASGI entry point for processes that serve the gate API alone (``/api/gate/``).

Gate agents wait at most 1.5 s for a decision before they decide offline, so the gate API
runs in processes of its own, which public pages and the forms API (anonymous, and as
costly as their bodies allow) cannot slow down. A proxy, or the agents' platform URL, sends
``/api/gate/`` here and everything else to ``visit_platform.asgi``. This application
answers any other address with 404 JSON, so a mistaken route shows at once.

    uvicorn visit_platform.asgi_gate:application --port 8001
"""

from __future__ import annotations

import gc
import json
import os
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "visit_platform.settings")
django.setup(set_prefix=False)

from django.utils.translation import gettext as _  # noqa: E402

from visit_platform.access.asgi import GATE_API_PREFIX, GateApiHandler  # noqa: E402

gate_api_app = GateApiHandler()


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
    elif scope["type"] == "http" and scope["path"].startswith(GATE_API_PREFIX):
        await gate_api_app(scope, receive, send)
    elif scope["type"] == "http":
        await _not_here(send)
    elif scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 4404})


async def _lifespan(receive: Any, send: Any) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _not_here(send: Any) -> None:
    body = json.dumps(
        {"code": "not_found", "message": _("This server answers the gate API only (/api/gate/).")},
        ensure_ascii=False,
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 404,
            "headers": [
                (b"content-type", b"application/json; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


# As in visit_platform.asgi: what is loaded lives as long as the process.
gc.freeze()
