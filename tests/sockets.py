"""The occupancy socket in tests: a screen on a building's host, signed in as a user, over the
real ASGI application (``visit_platform.asgi.application``). Tests that use it keep their
transaction with the ``keep_the_test_transaction`` fixture (tests/conftest.py)."""

from __future__ import annotations

import uuid
from typing import Any

from channels.testing import WebsocketCommunicator
from django.test import Client

from tenants.models import Building, User
from tests.conftest import member
from visit_platform.asgi import application
from visit_platform.directory.choices import Role

# A deadline for each step, not a speed requirement: Redis and the database answer in
# milliseconds, but a busy CI machine should not turn a slow answer into a failure.
DEADLINE = 10


def session_cookie(user: User) -> str:
    client = Client()
    client.force_login(user, backend="visit_platform.directory.backends.MembershipBackend")
    return client.cookies["sessionid"].value


def socket(host: str, user: User | None = None, origin: str | None = None) -> Any:
    headers = [(b"host", host.encode()), (b"origin", (origin or f"http://{host}").encode())]
    if user is not None:
        headers.append((b"cookie", f"sessionid={session_cookie(user)}".encode()))
    return WebsocketCommunicator(application, "/ws/occupancy/", headers=headers)


def watcher(building: Building, role: str = Role.SECURITY) -> User:
    return member(building, f"{role}-{uuid.uuid4().hex[:8]}@{building.schema_name}.example", role)


async def receive_events(communicator: WebsocketCommunicator) -> list[dict[str, Any]]:
    """The next frame's messages: a ``batch`` (events published together) unpacked, in order."""
    frame = await communicator.receive_json_from(timeout=DEADLINE)
    return list(frame["messages"]) if frame.get("type") == "batch" else [frame]


async def next_message(communicator: WebsocketCommunicator) -> dict[str, Any]:
    """The next message, whether it came alone or in a batch."""
    pending: list[dict[str, Any]] = communicator.__dict__.setdefault("pending", [])
    if not pending:
        pending.extend(await receive_events(communicator))
    return pending.pop(0)
