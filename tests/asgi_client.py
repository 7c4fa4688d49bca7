"""One HTTP request through an ASGI application, as a server would hand it over: the body in
the given chunks, the answer's start message and whole body back."""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator

DEADLINE = 10  # seconds for each step: a deadline, not a speed requirement


@async_to_sync
async def asgi_post(
    app: Any, host: str, path: str, chunks: list[bytes], headers: list[tuple[bytes, bytes]]
) -> tuple[dict[str, Any], bytes]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", host.encode()), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    communicator = ApplicationCommunicator(app, scope)
    for index, chunk in enumerate(chunks):
        more = index < len(chunks) - 1
        await communicator.send_input({"type": "http.request", "body": chunk, "more_body": more})
    start: dict[str, Any] = await communicator.receive_output(DEADLINE)
    body = b""
    while True:
        message = await communicator.receive_output(DEADLINE)
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await communicator.wait(DEADLINE)
    return start, body
