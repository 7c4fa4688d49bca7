"""A request body limit in front of Django, for every page and API the public can reach.

Django's ASGI handler reads a whole body (spooling it to disk past a few megabytes) before any
view can look at its size, so an anonymous client could make each request cost as much disk
and time as it pleased with a chunked body that declares no length. This middleware refuses a
declared length over the limit at once, and otherwise reads the body itself up to the limit,
refusing it (413) the moment it passes and handing Django only bodies within it.
"""

from __future__ import annotations

from typing import Any

TOO_LARGE_PAGE = (
    "<!doctype html><meta charset=utf-8><title>413</title>"
    "<p>请求内容过大（上限 {mb} MB），未作任何更改。</p>"
    "<p>The request is too large ({mb} MB at most); nothing was changed.</p>"
)
TOO_LARGE_JSON = '{{"code": "too_large", "message": "The request body is larger than {mb} MB."}}'


class BoundedBody:
    """ASGI middleware: HTTP bodies above ``limit`` bytes get 413 and never reach the app."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length", b"0")
        try:
            too_large = int(declared) > self.limit
        except ValueError:
            too_large = False  # Django answers a malformed length itself
        if too_large:
            await self._refuse(scope, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await self._refuse(scope, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(b"".join(chunks), receive), send)

    async def _refuse(self, scope: dict[str, Any], send: Any) -> None:
        megabytes = self.limit // (1024 * 1024)
        if scope["path"].startswith("/api/"):
            body, content_type = TOO_LARGE_JSON.format(mb=megabytes), b"application/json"
        else:
            body, content_type = TOO_LARGE_PAGE.format(mb=megabytes), b"text/html; charset=utf-8"
        encoded = body.encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", content_type),
                    (b"content-length", str(len(encoded)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": encoded})


def _replay(body: bytes, receive: Any) -> Any:
    """The body as one message, then the client's own messages (a disconnect, later)."""
    sent = False

    async def replayed() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        message: dict[str, Any] = await receive()
        return message

    return replayed
