"""No request body past the limit reaches Django: a declared length is refused at once, a
chunked body without one the moment it passes, and bodies within it arrive whole."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.conf import settings

from tenants.models import Building
from tests.asgi_client import asgi_post
from tests.conftest import end_other_database_sessions
from visit_platform.asgi import application
from visit_platform.asgi_limits import BoundedBody

DEADLINE = 10
PIECE = b"x" * (64 * 1024)


def post(
    app: Any, path: str, chunks: list[bytes], headers: list[tuple[bytes, bytes]]
) -> tuple[int, dict[bytes, bytes], bytes]:
    """Status, headers and body of the answer to a POST on alpha's domain."""
    start, body = asgi_post(app, "alpha.localhost", path, chunks, headers)
    return start["status"], dict(start["headers"]), body


class Recorder:
    """An inner application that keeps what it was given and answers 200."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        message = await receive()
        self.bodies.append(message["body"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def test_a_declared_length_over_the_limit_is_refused_before_any_body_is_read() -> None:
    inner = Recorder()
    declared = str(settings.MAX_REQUEST_BODY_BYTES + 1).encode()

    status, headers, body = post(
        BoundedBody(inner, settings.MAX_REQUEST_BODY_BYTES),
        "/visit/request/",
        [b""],
        [(b"content-length", declared)],
    )

    assert status == 413
    assert headers[b"content-type"] == b"text/html; charset=utf-8"
    assert "请求内容过大" in body.decode()
    assert inner.bodies == []


def test_a_chunked_body_without_a_length_is_refused_once_it_passes_the_limit() -> None:
    inner = Recorder()
    limit = 10 * len(PIECE)

    status, _headers, body = post(BoundedBody(inner, limit), "/api/forms/request", [PIECE] * 11, [])

    assert status == 413
    assert json.loads(body)["code"] == "too_large"
    assert inner.bodies == []


def test_a_body_within_the_limit_reaches_the_application_whole() -> None:
    inner = Recorder()

    status, _headers, body = post(
        BoundedBody(inner, 10 * len(PIECE)), "/visit/request/", [PIECE] * 10, []
    )

    assert (status, body) == (200, b"ok")
    assert inner.bodies == [PIECE * 10]


def test_the_platform_refuses_a_huge_anonymous_body_without_reaching_django() -> None:
    # No database access: Django (its building lookup first) never sees the request.
    pieces = settings.MAX_REQUEST_BODY_BYTES // len(PIECE) + 2

    status, _headers, body = post(application, "/api/forms/request/check", [PIECE] * pieces, [])

    assert (status, json.loads(body)["code"]) == (413, "too_large")


@pytest.mark.django_db
def test_the_platform_passes_a_small_body_on_to_django(alpha: Building) -> None:
    status, _headers, body = post(
        application,
        "/api/forms/request/check",
        [b"{not json"],
        [(b"content-type", b"application/json")],
    )

    end_other_database_sessions()  # the request's thread kept a connection of its own
    assert (status, json.loads(body)["code"]) == (400, "malformed_json")
