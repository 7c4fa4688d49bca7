"""Tenant-aware WebSockets: the building comes from the host, the roles from that building."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.db import connection
from django_tenants.utils import schema_context

from tenants.actions import building_domain
from tenants.models import Building, User
from tests.conftest import admin_of, member
from tests.sockets import DEADLINE, next_message, session_cookie, socket, watcher
from visit_platform.asgi import application
from visit_platform.audit.actions import Actor
from visit_platform.directory.actions import create_company
from visit_platform.directory.choices import Role

pytestmark = pytest.mark.usefixtures("keep_the_test_transaction")


@async_to_sync
async def connect_once(communicator: WebsocketCommunicator) -> tuple[bool, Any]:
    try:
        return await communicator.connect(timeout=DEADLINE)
    finally:
        await communicator.disconnect(timeout=DEADLINE)


def connection_result(host: str, user: User | None = None, origin: str | None = None) -> Any:
    return connect_once(socket(host, user, origin))


@async_to_sync
async def events_after_sends(
    communicator: WebsocketCommunicator,
    sends: list[tuple[str, dict[str, Any]]],
    run: str,
    idle_seconds: float = 0,
    batched: bool = False,
) -> list[Any]:
    """Connect, read the snapshot, stay idle for ``idle_seconds``, ``group_send`` each
    (group, payload) in order, then read until the last payload arrives. Returns the
    snapshot's type and building, then what this run received (without ``seq``, which the
    publisher gives and these sends lack).

    Other test runs may share the Redis server and the building groups, so messages without
    this run's ``run`` id are not counted.
    """
    layer = get_channel_layer()
    try:
        connected, _ = await communicator.connect(timeout=DEADLINE)
        assert connected
        snapshot = await communicator.receive_json_from(timeout=DEADLINE)
        received = [{"type": snapshot["type"], "building": snapshot["building"]}]
        await asyncio.sleep(idle_seconds)
        messages = [(group, {"type": "occupancy.event", "payload": p}) for group, p in sends]
        if batched:  # as visit_platform.access.live sends events that came together
            batch = {"type": "live.batch", "messages": [message for _g, message in messages]}
            messages = [(sends[0][0], batch)]
        for group, message in messages:
            await layer.group_send(group, message)
        last = sends[-1][1]
        while received[-1] != last:
            message = await next_message(communicator)
            if message.get("run") == run:
                assert message.pop("seq") is None
                received.append(message)
        return received
    finally:
        await communicator.disconnect(timeout=DEADLINE)


def test_socket_on_an_unknown_host_is_refused_with_4404(alpha: Building) -> None:
    user = watcher(alpha)

    assert connection_result("nowhere.localhost", user) == (False, 4404)


def test_socket_without_a_session_is_refused_with_4403(alpha: Building) -> None:
    assert connection_result(building_domain("alpha")) == (False, 4403)


def test_socket_without_an_origin_is_refused(alpha: Building) -> None:
    communicator = WebsocketCommunicator(
        application,
        "/ws/occupancy/",
        headers=[
            (b"host", building_domain("alpha").encode()),
            (b"cookie", f"sessionid={session_cookie(watcher(alpha))}".encode()),
        ],
    )

    assert connect_once(communicator) == (False, 1000)


def test_socket_from_a_foreign_origin_is_refused(alpha: Building) -> None:
    user = watcher(alpha)

    assert connection_result(building_domain("alpha"), user, origin="https://evil.example") == (
        False,
        1000,
    )


@pytest.mark.parametrize(
    "role", [Role.SECURITY, Role.PROPERTY_ADMIN, Role.OPERATOR, Role.RECEPTION]
)
def test_occupancy_roles_may_watch(alpha: Building, role: str) -> None:
    user = watcher(alpha, role)

    assert connection_result(building_domain("alpha"), user) == (True, None)


def test_the_first_property_admin_may_watch(alpha: Building) -> None:
    assert connection_result(building_domain("alpha"), admin_of(alpha)) == (True, None)


def test_host_role_is_refused_with_4403(alpha: Building) -> None:
    with schema_context("alpha"):
        company = create_company(Actor.system("tests"), name="Acme Trading")
    host = member(alpha, "host@acme.example", Role.HOST, company=company)

    assert connection_result(building_domain("alpha"), host) == (False, 4403)


def test_role_in_one_building_is_refused_on_another_buildings_host(
    alpha: Building, beta: Building
) -> None:
    user = watcher(alpha)

    assert connection_result(building_domain("beta"), user) == (False, 4403)


def test_roles_are_read_in_the_hosts_building_whatever_schema_the_connection_is_on(
    alpha: Building, in_beta: Building
) -> None:
    user = watcher(alpha)

    assert connection_result(building_domain("alpha"), user) == (True, None)
    assert connection.schema_name == "beta"


def test_watcher_receives_the_occupancy_events_of_their_building(alpha: Building) -> None:
    user = watcher(alpha)
    run = uuid.uuid4().hex
    event = {"run": run, "kind": "entered", "inside": 17}

    received = events_after_sends(
        socket(building_domain("alpha"), user), [("occupancy.alpha", event)], run
    )

    assert received == [{"type": "snapshot", "building": "Alpha Tower"}, event]


def test_watcher_receives_each_event_of_a_batch_in_order(alpha: Building) -> None:
    user = watcher(alpha)
    run = uuid.uuid4().hex
    events = [{"run": run, "kind": "entered", "inside": inside} for inside in (17, 18, 19)]

    received = events_after_sends(
        socket(building_domain("alpha"), user),
        [("occupancy.alpha", event) for event in events],
        run,
        batched=True,
    )

    assert received == [{"type": "snapshot", "building": "Alpha Tower"}, *events]


def test_watcher_does_not_receive_the_occupancy_events_of_another_building(
    alpha: Building,
) -> None:
    user = watcher(alpha)
    run = uuid.uuid4().hex
    in_beta = {"run": run, "kind": "entered", "building": "beta"}
    in_alpha = {"run": run, "kind": "entered", "building": "alpha"}

    # Sent one after the other to the same listener, beta's event would arrive first.
    received = events_after_sends(
        socket(building_domain("alpha"), user),
        [("occupancy.beta", in_beta), ("occupancy.alpha", in_alpha)],
        run,
    )

    assert received == [{"type": "snapshot", "building": "Alpha Tower"}, in_alpha]


def test_watcher_still_receives_events_after_idling_longer_than_a_blocking_read(
    alpha: Building,
) -> None:
    """The channel layer waits for messages with a blocking Redis read that ends every
    ``brpop_timeout`` seconds; an idle screen must outlive it (redis-py 8 broke this)."""
    user = watcher(alpha)
    run = uuid.uuid4().hex
    event = {"run": run, "kind": "left", "inside": 16}

    received = events_after_sends(
        socket(building_domain("alpha"), user),
        [("occupancy.alpha", event)],
        run,
        idle_seconds=get_channel_layer().brpop_timeout + 1,
    )

    assert received == [{"type": "snapshot", "building": "Alpha Tower"}, event]
