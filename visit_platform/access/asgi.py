"""The gate API's way into the ASGI server: Django's synchronous handler in a worker thread.

Django's ASGI handler runs a synchronous view and each hook of a synchronous middleware in a
thread of its own, switching threads eight times per request; for the gate API, where a
whole decision costs about 1.5 ms of CPU, those switches cost as much again (ADR 0005). This
handler runs the same URLs and views the synchronous way, as under WSGI, with the middleware
an agent's call needs, in one worker thread per request, and keeps only the reading and
writing of the socket in the event loop. Its responses are small JSON documents, never streamed.
"""

from __future__ import annotations

import asyncio
import io
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.core.handlers.base import BaseHandler
from django.http import HttpResponse, HttpResponseBase
from django.urls import set_script_prefix

from visit_platform.access.api import MAX_BODY_BYTES

GATE_API_PREFIX = "/api/gate/"
# What the gate API needs of settings.MIDDLEWARE: the building from the host name, the
# security headers and redirect, the building's language for messages. Agents authenticate
# with a key, not a session, so sessions, CSRF, users and memberships have nothing to do.
GATE_API_MIDDLEWARE = [
    "tenants.middleware.BuildingMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "visit_platform.web.middleware.BuildingLocaleMiddleware",
]
# Requests one process decides at once, each holding a database connection from the pool;
# the others wait in the event loop. More threads only fight over the GIL: on 2 cores, 3
# per process gave the shortest latency tails (docs/performance.md).
GATE_API_THREADS = int(os.environ.get("GATE_API_THREADS", "3"))


class GateApiHandler(ASGIHandler):
    """Serves ASGI requests through Django's synchronous request handling (see the module)."""

    def __init__(self) -> None:
        BaseHandler.__init__(self)  # not ASGIHandler's: it builds the asynchronous chain
        # Django builds the chain from settings.MIDDLEWARE only; it is swapped for the
        # moment it takes, while the process starts.
        full_middleware = settings.MIDDLEWARE
        settings.MIDDLEWARE = GATE_API_MIDDLEWARE
        try:
            self.load_middleware(is_async=False)
        finally:
            settings.MIDDLEWARE = full_middleware
        self.executor = ThreadPoolExecutor(GATE_API_THREADS, thread_name_prefix="gate-api")

    async def handle(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        loop = asyncio.get_running_loop()
        response = await loop.run_in_executor(self.executor, self._respond, scope, body_file)
        await self.send_response(response, send)

    async def read_body(self, receive: Any) -> io.BytesIO:
        """Like Django's, but stops one byte past the gate API's limit, so that a huge body
        costs neither memory nor disk; the API answers it with 413 all the same."""
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise RequestAborted
            body += message.get("body", b"")[: MAX_BODY_BYTES + 1 - len(body)]
            if not message.get("more_body", False):
                return io.BytesIO(body)

    def _respond(self, scope: dict[str, Any], body_file: Any) -> HttpResponseBase:
        """The whole request, in one worker thread: Django's database connections and the
        current building belong to the thread, and go back to the pool when it ends."""
        set_script_prefix(get_script_prefix(scope))
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, response = self.create_request(scope, body_file)  # one or the other
        if request is not None:
            response = self.get_response(request)
        assert response is not None
        if isinstance(response, HttpResponse) and not response.has_header("Content-Length"):
            # As CommonMiddleware would: the server then need not chunk the body.
            response["Content-Length"] = str(len(response.content))
        response.close()  # request_finished: the connection goes back to the pool
        return response
