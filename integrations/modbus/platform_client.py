"""The agent's HTTP client for the platform's gate API (``/api/gate/``).

Standard library only (``http.client``), run in worker threads so the event loop never
blocks; each thread keeps its connection open, so a scan costs one request, not a TCP and
TLS handshake as well.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import socket
import ssl
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

API_PREFIX = "/api/gate"


class PlatformUnavailableError(Exception):
    """The platform could not be asked (network, timeout, 5xx): decide offline, retry later."""


class PlatformRefusedError(Exception):
    """The platform answered with a 4xx: the request itself is wrong and must not be retried."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status = status
        self.body = body
        self.code = str(body.get("code", "error"))
        super().__init__(f"{status} {self.code}: {body.get('message', '')}")


@dataclass
class Response:
    status: int
    body: dict[str, Any] | None
    etag: str | None


class PlatformClient:
    def __init__(self, url: str, agent_key: str, *, host: str | None = None) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"platform url must be http(s)://host[:port], not {url!r}")
        self.scheme = parts.scheme
        self.address = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.prefix = parts.path.rstrip("/") + API_PREFIX
        self.host_header = host or parts.netloc
        self.agent_key = agent_key
        self._local = threading.local()
        self._opened: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()
        self._closed = False

    def _connection(self, timeout: float) -> http.client.HTTPConnection:
        if self._closed:
            raise PlatformUnavailableError("the agent is stopping")
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is None:
            if self.scheme == "https":
                connection = http.client.HTTPSConnection(
                    self.address,
                    self.port,
                    timeout=timeout,
                    context=ssl.create_default_context(),
                )
            else:
                connection = http.client.HTTPConnection(self.address, self.port, timeout=timeout)
            self._local.connection = connection
            with self._lock:
                self._opened.append(connection)
        connection.timeout = timeout
        if connection.sock is not None:
            connection.sock.settimeout(timeout)
        return connection

    def close(self) -> None:
        """Close every kept-alive connection (the agent is stopping). A request still waiting
        for its answer in a worker thread (an upload may wait 30 s) fails at once: its socket
        is shut down, which wakes a blocked read, where closing it from this thread would not,
        and no request goes out afterwards (not even the retry on a fresh connection).
        Otherwise the process's exit would wait for that thread, with the agent already
        stopped but not yet gone."""
        with self._lock:
            self._closed = True
            opened, self._opened = self._opened, []
        for connection in opened:
            if connection.sock is not None:
                with contextlib.suppress(OSError):
                    connection.sock.shutdown(socket.SHUT_RDWR)
            connection.close()

    def _drop_connection(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None
            with self._lock:
                if connection in self._opened:
                    self._opened.remove(connection)

    def request_sync(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        timeout: float = 5.0,
        etag: str | None = None,
    ) -> Response:
        headers = {
            "Host": self.host_header,
            "Authorization": f"Bearer {self.agent_key}",
            "Accept": "application/json",
        }
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if etag:
            headers["If-None-Match"] = etag
        # A kept-alive connection the server has closed fails on first use: try once more on
        # a fresh one before calling the platform unreachable.
        for attempt in range(2):
            connection = self._connection(timeout)
            try:
                connection.request(method, self.prefix + path, body=data, headers=headers)
                raw = connection.getresponse()
                payload = raw.read()
                break
            except (OSError, http.client.HTTPException) as error:
                self._drop_connection()
                reused = attempt == 0 and not isinstance(
                    error, (TimeoutError, socket.timeout, ConnectionRefusedError)
                )
                if not reused:
                    raise PlatformUnavailableError(f"{type(error).__name__}: {error}") from error
        else:  # pragma: no cover - the loop always breaks or raises
            raise PlatformUnavailableError("no answer")
        if raw.getheader("Connection", "").lower() == "close":
            self._drop_connection()
        parsed: dict[str, Any] | None = None
        if payload:
            try:
                parsed = json.loads(payload)
            except ValueError as error:
                if raw.status >= 500:
                    raise PlatformUnavailableError(f"{raw.status} (not JSON)") from error
                raise PlatformRefusedError(raw.status, {"code": "not_json"}) from error
        if raw.status >= 500:
            raise PlatformUnavailableError(f"{raw.status}: {parsed}")
        if raw.status >= 400:
            raise PlatformRefusedError(raw.status, parsed or {})
        return Response(raw.status, parsed, raw.getheader("ETag"))

    async def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        timeout: float = 5.0,
        etag: str | None = None,
    ) -> Response:
        return await asyncio.to_thread(
            self.request_sync, method, path, body, timeout=timeout, etag=etag
        )

    # --- the calls the agent makes ----------------------------------------------------------

    async def scan(
        self, gate_id: int, token: str, direction: str | None, event_id: str, timeout: float
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"gate_id": gate_id, "token": token, "event_id": event_id}
        if direction:
            body["direction"] = direction
        response = await self.request("POST", "/scans", body, timeout=timeout)
        return response.body or {}

    async def upload(self, path: str, key: str, items: list[dict[str, Any]]) -> dict[str, Any]:
        response = await self.request("POST", path, {key: items}, timeout=30.0)
        return response.body or {}

    async def get(self, path: str, etag: str | None = None) -> Response:
        return await self.request("GET", path, etag=etag)
