"""The local interface QR readers talk to: a line per scan over TCP, and a small HTTP API.

Line protocol (UTF-8, one request per line, LF or CRLF)::

    <gate id>[:in|:out] <token>      ->  GRANT <reason> <message>
                                         DENY <reason> <message>
                                         ERROR <code> <message>

The token may contain spaces (base45 has one), so only the first space separates it.

HTTP: ``POST /scan`` with ``{"gate_id", "token", "direction"?}``, ``GET /health``,
``POST /sync``, ``GET /roll-call``. Errors are ``{"code", "message"}`` with a 4xx, as on the
platform. Health and sync tell and do things a reader has no business with: they need
``Authorization: Bearer <token>`` (the agent's HTTP token or its key). The roll call is a
read-only HTML page of people's names for marshals' phones, which cannot set a header: it
takes the HTTP token as ``?token=`` too (ADR 0020).

Readers are untrusted input: anything malformed is answered with an error and never stops
the agent; a line or body that is too long closes that one connection, and so does a line
begun and not finished within ``line_timeout`` (a connection may idle between lines).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

logger = logging.getLogger(__name__)

MAX_LINE_BYTES = 1024
MAX_BODY_BYTES = 8 * 1024
MAX_HEADER_LINES = 50
READ_TIMEOUT = 30.0
LINE_TIMEOUT = 5.0
PROTECTED_PATHS = ("/health", "/sync", "/roll-call")
_GATE_PART = re.compile(r"(?P<gate>[0-9]{1,18})(?::(?P<direction>in|out))?")


@dataclass(frozen=True)
class ScanOutcome:
    granted: bool
    reason: str
    message: str
    mode: str = "online"
    event_id: str = ""
    direction: str = "in"


class ReaderInputError(ValueError):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


ScanHandler = Callable[[int, str, str | None], Awaitable[ScanOutcome]]


def parse_scan_line(raw: bytes) -> tuple[int, str | None, str]:
    """``b"12:in TOKEN"`` -> (12, "in", "TOKEN"); raises ReaderInputError for anything else."""
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ReaderInputError("not_utf8", "the line is not UTF-8 text") from error
    line = line.rstrip("\r\n")
    gate_part, separator, token = line.partition(" ")
    match = _GATE_PART.fullmatch(gate_part)
    if match is None or not separator:
        raise ReaderInputError("malformed_line", "expected '<gate id>[:in|:out] <token>'")
    if not token:
        raise ReaderInputError("empty_token", "the token is empty")
    return int(match["gate"]), match["direction"], token


def _one_line(text: str) -> str:
    return " ".join(text.split())


class ReaderServer:
    """Both listeners, sharing one scan handler."""

    def __init__(
        self,
        handle_scan: ScanHandler,
        health: Callable[[], dict[str, Any]],
        sync: Callable[[], Awaitable[dict[str, Any]]],
        *,
        http_tokens: list[str],
        line_timeout: float = LINE_TIMEOUT,
        roll_call: Callable[[], str] | None = None,
    ) -> None:
        self.handle_scan = handle_scan
        self.roll_call = roll_call
        self.health = health
        self.sync = sync
        self.http_tokens = [token.encode() for token in http_tokens if token]
        self.line_timeout = line_timeout
        self._servers: list[asyncio.Server] = []
        self._connections: set[asyncio.Task[Any]] = set()
        self.line_port = 0
        self.http_port = 0

    async def start(self, line_host: str, line_port: int, http_host: str, http_port: int) -> None:
        line = await asyncio.start_server(
            self._serve_lines, line_host, line_port, limit=MAX_LINE_BYTES
        )
        web = await asyncio.start_server(self._serve_http, http_host, http_port, limit=4096)
        self._servers = [line, web]
        self.line_port = line.sockets[0].getsockname()[1]
        self.http_port = web.sockets[0].getsockname()[1]

    async def close(self) -> None:
        for server in self._servers:
            server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        for server in self._servers:
            await server.wait_closed()
        self._servers = []

    def _track(self) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
            task.add_done_callback(self._connections.discard)

    # --- lines ------------------------------------------------------------------------------

    async def _serve_lines(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self._track()
        try:
            while True:
                # Idle between lines for as long as the reader likes; once a line has begun,
                # it must end within line_timeout.
                first = await reader.read(1)
                if not first:
                    return
                try:
                    rest = (
                        b""
                        if first == b"\n"
                        else await asyncio.wait_for(reader.readuntil(b"\n"), self.line_timeout)
                    )
                except asyncio.IncompleteReadError as end:
                    if not (first + end.partial).strip():
                        return
                    rest = end.partial  # a last line without its newline
                except asyncio.LimitOverrunError:
                    writer.write(b"ERROR line_too_long the line is longer than 1024 bytes\n")
                    await writer.drain()
                    return
                except TimeoutError:
                    writer.write(b"ERROR line_timeout the line did not end in time\n")
                    await writer.drain()
                    return
                raw = first + rest
                if not raw.strip():
                    continue
                writer.write((await self._answer_line(raw) + "\n").encode())
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        except Exception:
            logger.exception("reader connection failed")
        finally:
            writer.close()

    async def _answer_line(self, raw: bytes) -> str:
        try:
            gate_id, direction, token = parse_scan_line(raw)
            outcome = await self.handle_scan(gate_id, token, direction)
        except ReaderInputError as error:
            return f"ERROR {error.code} {_one_line(error.message)}"
        verdict = "GRANT" if outcome.granted else "DENY"
        return f"{verdict} {outcome.reason} {_one_line(outcome.message)}"

    # --- HTTP -------------------------------------------------------------------------------

    async def _serve_http(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._track()
        try:
            status, body = await asyncio.wait_for(self._http_exchange(reader), READ_TIMEOUT)
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError):
            writer.close()
            return
        except asyncio.CancelledError:
            writer.close()
            return
        except ReaderInputError as error:
            status, body = error.status, {"code": error.code, "message": error.message}
        except Exception:
            logger.exception("reader HTTP request failed")
            status, body = 500, {"code": "agent_error", "message": "the agent failed"}
        if isinstance(body, str):
            # A page of names: never cached, never sent on as a referrer (the token is in
            # its address), never framed.
            payload = body.encode()
            kind = (
                "text/html; charset=utf-8\r\nCache-Control: no-store\r\n"
                "Referrer-Policy: no-referrer\r\nX-Frame-Options: DENY"
            )
        else:
            payload = json.dumps(body, ensure_ascii=False).encode()
            kind = "application/json; charset=utf-8"
        challenge = 'WWW-Authenticate: Bearer realm="gate-agent"\r\n' if status == 401 else ""
        head = (
            f"HTTP/1.1 {status} {_REASONS.get(status, 'OK')}\r\n"
            f"{challenge}"
            f"Content-Type: {kind}\r\n"
            f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
        )
        try:
            writer.write(head.encode() + payload)
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def _http_exchange(
        self, reader: asyncio.StreamReader
    ) -> tuple[int, dict[str, Any] | str]:
        try:
            request_line = (await reader.readuntil(b"\r\n")).decode("latin-1").strip()
        except asyncio.LimitOverrunError as error:
            raise ReaderInputError("too_large", "the request line is too long", 413) from error
        parts = request_line.split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            raise ReaderInputError("malformed_request", "not an HTTP/1.1 request")
        method, (path, _mark, query) = parts[0], parts[1].partition("?")
        length = 0
        authorization = ""
        for _ in range(MAX_HEADER_LINES):
            try:
                line = (await reader.readuntil(b"\r\n")).decode("latin-1").strip()
            except asyncio.LimitOverrunError as error:
                raise ReaderInputError("too_large", "a header is too long", 413) from error
            if not line:
                break
            name, _separator, value = line.partition(":")
            if name.strip().lower() == "authorization":
                authorization = value.strip()
            if name.strip().lower() == "content-length":
                try:
                    length = int(value.strip())
                except ValueError as error:
                    raise ReaderInputError("malformed_request", "bad Content-Length") from error
                if length < 0:
                    raise ReaderInputError("malformed_request", "bad Content-Length")
        else:
            raise ReaderInputError("too_large", "too many headers", 413)
        if length > MAX_BODY_BYTES:
            raise ReaderInputError("too_large", f"the body is over {MAX_BODY_BYTES} bytes", 413)
        body = await reader.readexactly(length) if length else b""
        return await self._route(method, path, body, authorization, query)

    async def _route(
        self, method: str, path: str, body: bytes, authorization: str = "", query: str = ""
    ) -> tuple[int, dict[str, Any] | str]:
        routes = {"/scan": "POST", "/health": "GET", "/sync": "POST", "/roll-call": "GET"}
        if path not in routes:
            raise ReaderInputError("not_found", f"no such path: {path[:100]}", 404)
        if method != routes[path]:
            raise ReaderInputError("method_not_allowed", f"use {routes[path]}", 405)
        if path == "/roll-call" and not authorization:
            try:
                tokens = parse_qs(query, max_num_fields=5).get("token", [])
            except ValueError as error:
                raise ReaderInputError("malformed_request", "too many query fields") from error
            authorization = f"Bearer {tokens[0]}" if tokens else ""
        if path in PROTECTED_PATHS and not self._authorized(authorization):
            raise ReaderInputError(
                "unauthorized",
                "send Authorization: Bearer <the agent's HTTP token or key>",
                401,
            )
        if path == "/health":
            return 200, self.health()
        if path == "/sync":
            return 200, await self.sync()
        if path == "/roll-call":
            if self.roll_call is None:
                raise ReaderInputError("not_found", "this agent keeps no roll call", 404)
            return 200, self.roll_call()
        gate_id, token, direction = _scan_body(body)
        outcome = await self.handle_scan(gate_id, token, direction)
        return 200, {
            "granted": outcome.granted,
            "reason": outcome.reason,
            "message": outcome.message,
            "mode": outcome.mode,
            "event_id": outcome.event_id,
        }

    def _authorized(self, authorization: str) -> bool:
        scheme, _separator, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return False
        offered = token.strip().encode()
        # Every token compared, in constant time: how long the answer takes tells nothing.
        matches = [hmac.compare_digest(offered, expected) for expected in self.http_tokens]
        return any(matches)


def _scan_body(body: bytes) -> tuple[int, str, str | None]:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as error:
        raise ReaderInputError("malformed_json", "the body is not JSON") from error
    if not isinstance(data, dict):
        raise ReaderInputError("invalid_request", "the body must be a JSON object", 422)
    gate_id, token, direction = data.get("gate_id"), data.get("token"), data.get("direction")
    if isinstance(gate_id, bool) or not isinstance(gate_id, int) or not 1 <= gate_id < 2**63:
        raise ReaderInputError("invalid_request", "gate_id: must be a positive integer", 422)
    if not isinstance(token, str) or not token or len(token) > 4096:
        raise ReaderInputError("invalid_request", "token: must be text of 1..4096 characters", 422)
    if direction not in (None, "in", "out"):
        raise ReaderInputError("invalid_request", "direction: must be 'in' or 'out'", 422)
    return gate_id, token, direction


_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Content Too Large",
    422: "Unprocessable Content",
    500: "Internal Server Error",
}
