"""The gate API behind the ASGI server: Django's synchronous handler in one worker thread.

Requests run in the handler's threads, on connections of their own that see only committed
rows: the module gets a committed building, dropped again at the end.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator
from django.core import signals
from django.db import connection
from django_tenants.utils import schema_context

from tenants.actions import create_building
from tests.access.conftest import make_agent, make_gate, make_pass, make_visit, slip_token
from tests.asgi_client import asgi_post
from tests.conftest import end_other_database_sessions
from visit_platform.access.api import MAX_BODY_BYTES
from visit_platform.access.asgi import GATE_API_THREADS
from visit_platform.access.models import AccessEvent
from visit_platform.asgi import application
from visit_platform.asgi_gate import application as gate_only_application

SLUG = "asgigate"
HOST = f"{SLUG}.localhost"
# A deadline for each step, not a speed requirement.
DEADLINE = 10

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def committed(django_db_setup: None, django_db_blocker: Any) -> Iterator[dict[str, Any]]:
    with django_db_blocker.unblock():
        building = create_building(
            slug=SLUG, name="ASGI 闸机测试", admin_email=f"admin@{SLUG}.example"
        ).building
        try:
            with schema_context(SLUG):
                gate = make_gate()
                _agent, key = make_agent()
                tokens = [slip_token(make_pass(make_visit())) for _ in range(3)]
            yield {"gate": gate, "key": key, "tokens": tokens}
        finally:
            connection.set_schema_to_public()
            building.delete(force_drop=True)
            end_other_database_sessions()


def http(
    path: str, chunks: list[bytes], headers: list[tuple[bytes, bytes]], app: Any = application
) -> tuple[int, bytes]:
    """One request through the ASGI application, its body in ``chunks``; status and body."""
    start, body = http_with_headers(path, chunks, headers, app)
    return start["status"], body


def http_with_headers(
    path: str, chunks: list[bytes], headers: list[tuple[bytes, bytes]], app: Any = application
) -> tuple[dict[str, Any], bytes]:
    """One request through the ASGI application; the response's start message and body."""
    return asgi_post(app, HOST, path, chunks, headers)


def scan(
    committed: dict[str, Any], token: str, app: Any = application
) -> tuple[int, dict[str, Any]]:
    body = json.dumps({"gate_id": committed["gate"].pk, "token": token}).encode()
    status, answer = http(
        "/api/gate/scans",
        [body],
        [
            (b"authorization", f"Bearer {committed['key']}".encode()),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        app,
    )
    return status, json.loads(answer)


def test_a_scan_through_the_asgi_application_is_decided_and_recorded(
    committed: dict[str, Any],
) -> None:
    status, answer = scan(committed, committed["tokens"][0])

    assert status == 200
    assert (answer["granted"], answer["reason"]) == (True, "granted")
    with schema_context(SLUG):
        event = AccessEvent.objects.get(event_id=answer["event_id"])
    assert (event.granted, event.gate_id) == (True, committed["gate"].pk)


def test_the_whole_request_runs_in_one_gate_api_thread(
    committed: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: dict[str, str] = {}

    def started(**kwargs: Any) -> None:
        threads["started"] = threading.current_thread().name

    def finished(**kwargs: Any) -> None:
        threads["finished"] = threading.current_thread().name

    signals.request_started.connect(started)
    signals.request_finished.connect(finished)
    try:
        status, _answer = scan(committed, committed["tokens"][1])
    finally:
        signals.request_started.disconnect(started)
        signals.request_finished.disconnect(finished)

    assert status == 200
    assert threads["started"] == threads["finished"]
    assert threads["started"].startswith("gate-api")


def test_connections_go_back_to_the_pool_after_each_request(committed: dict[str, Any]) -> None:
    for _ in range(GATE_API_THREADS * 3):
        scan(committed, committed["tokens"][2])

    stats = connection.pool.get_stats()
    # None is kept by a worker thread; the test's own connection may be out.
    assert stats["pool_size"] - stats["pool_available"] <= 1


def test_a_huge_body_in_pieces_without_a_length_is_refused_with_413_and_records_nothing(
    committed: dict[str, Any],
) -> None:
    with schema_context(SLUG):
        before = AccessEvent.objects.count()
    piece = b"x" * (64 * 1024)
    chunks = [b'{"gate_id": 1, "token": "', *[piece] * 32, b'"}']  # 2 MB, no Content-Length

    status, body = http(
        "/api/gate/scans",
        chunks,
        [(b"authorization", f"Bearer {committed['key']}".encode())],
    )

    assert status == 413
    assert b'"code": "too_large"' in body
    assert len(body) < MAX_BODY_BYTES
    with schema_context(SLUG):
        assert AccessEvent.objects.count() == before


def test_a_repeated_event_id_through_the_asgi_application_gets_the_first_answer(
    committed: dict[str, Any],
) -> None:
    event_id = str(uuid.uuid4())
    body = json.dumps(
        {"gate_id": committed["gate"].pk, "token": committed["tokens"][0], "event_id": event_id}
    ).encode()
    headers = [
        (b"authorization", f"Bearer {committed['key']}".encode()),
        (b"content-type", b"application/json"),
    ]

    first = json.loads(http("/api/gate/scans", [body], headers)[1])
    second = json.loads(http("/api/gate/scans", [body], headers)[1])

    assert (first["replayed"], second["replayed"]) == (False, True)
    assert second["granted"] == first["granted"]
    with schema_context(SLUG):
        assert AccessEvent.objects.filter(event_id=event_id).count() == 1


def test_answers_through_the_asgi_application_speak_the_buildings_language(
    committed: dict[str, Any],
) -> None:
    status, answer = scan(committed, "NOT-A-TOKEN")

    assert status == 200
    assert answer["reason"] == "invalid_token"
    assert any("\u4e00" <= character <= "\u9fff" for character in answer["message"])


def test_answers_through_the_asgi_application_declare_their_length(
    committed: dict[str, Any],
) -> None:
    body = json.dumps({"gate_id": committed["gate"].pk, "token": "NOT-A-TOKEN"}).encode()
    headers = [
        (b"authorization", f"Bearer {committed['key']}".encode()),
        (b"content-type", b"application/json"),
    ]

    start, answer = http_with_headers("/api/gate/scans", [body], headers)

    assert dict(start["headers"])[b"Content-Length"] == str(len(answer)).encode()


def test_the_gate_only_application_decides_scans(committed: dict[str, Any]) -> None:
    status, answer = scan(committed, committed["tokens"][1], gate_only_application)

    assert status == 200
    assert answer["reason"] in {"granted", "uses_exhausted", "anti_passback"}
    with schema_context(SLUG):
        assert AccessEvent.objects.filter(event_id=answer["event_id"]).exists()


@pytest.mark.parametrize("path", ["/visit/request/", "/api/forms/request/check", "/login/"])
def test_the_gate_only_application_serves_nothing_but_the_gate_api(path: str) -> None:
    status, body = http(
        path, [b"{}"], [(b"content-type", b"application/json")], gate_only_application
    )

    assert (status, json.loads(body)["code"]) == (404, "not_found")


@async_to_sync
async def websocket_answer(app: Any) -> dict[str, Any]:
    scope = {"type": "websocket", "path": "/ws/occupancy/", "headers": [(b"host", HOST.encode())]}
    communicator = ApplicationCommunicator(app, scope)
    await communicator.send_input({"type": "websocket.connect"})
    answer: dict[str, Any] = await communicator.receive_output(DEADLINE)
    return answer


def test_the_gate_only_application_refuses_websockets() -> None:
    assert websocket_answer(gate_only_application) == {"type": "websocket.close", "code": 4404}
