"""One feed per building and process: however many screens a building has open in one
process, its group has one member there, each event is encoded once per kind of viewer, and a
screen that reads slowly loses its oldest frames (then resyncs) instead of holding up others."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django_tenants.utils import get_tenant_domain_model

from tenants.models import Building
from tests.sockets import DEADLINE, socket, watcher
from visit_platform.access.consumers import OccupancyConsumer, masked
from visit_platform.access.screen_feed import ScreenFeed, frame_of

pytestmark = pytest.mark.usefixtures("keep_the_test_transaction")


def event(number: int, name: str = "韩梅梅") -> dict[str, Any]:
    return {"type": "occupancy.event", "seq": number, "payload": {"type": "x", "name": name}}


def test_a_batch_becomes_one_frame_of_numbered_events_and_a_single_event_stays_alone() -> None:
    batch = {"type": "live.batch", "messages": [event(7), event(8), {"type": "other"}]}

    assert frame_of(batch) == {
        "type": "batch",
        "messages": [
            {"type": "x", "name": "韩梅梅", "seq": 7},
            {"type": "x", "name": "韩梅梅", "seq": 8},
        ],
    }
    assert frame_of(event(9)) == {"type": "x", "name": "韩梅梅", "seq": 9}
    assert frame_of({"type": "other"}) is None


class Collecting:
    def __init__(self, full_names: bool) -> None:
        self.full_names = full_names
        self.frames: list[str] = []

    def offer(self, text: str) -> None:
        self.frames.append(text)


def test_each_screen_gets_the_frame_for_its_role_from_one_encoding_per_role() -> None:
    feed = ScreenFeed.__new__(ScreenFeed)
    feed.masked = masked
    guards = [Collecting(True), Collecting(True)]
    reception = Collecting(False)
    feed.screens = {*guards, reception}

    feed.deliver(event(1))

    assert guards[0].frames == guards[1].frames == ['{"type": "x", "name": "韩梅梅", "seq": 1}']
    assert guards[0].frames[0] is guards[1].frames[0]  # encoded once
    assert reception.frames == ['{"type": "x", "name": "韩**", "seq": 1}']


def test_a_full_outbox_drops_its_oldest_frame() -> None:
    screen = OccupancyConsumer.__new__(OccupancyConsumer)

    async def offer_more_than_it_holds() -> list[str]:
        screen.outbox = asyncio.Queue(3)
        for number in range(5):
            screen.offer(str(number))
        return [screen.outbox.get_nowait() for _ in range(3)]

    assert async_to_sync(offer_more_than_it_holds)() == ["2", "3", "4"]


def test_the_screens_of_one_building_in_one_process_are_one_member_of_its_group(
    alpha: Building,
) -> None:
    users = [watcher(alpha) for _ in range(3)]
    host = get_tenant_domain_model().objects.get(tenant=alpha, is_primary=True).domain
    layer = get_channel_layer()
    group_key = f"{layer.prefix}:group:occupancy.alpha"

    async def members() -> int:
        connection = layer.connection(layer.consistent_hash("occupancy.alpha"))
        return int(await connection.zcard(group_key))

    @async_to_sync
    async def scenario() -> tuple[int, int]:
        before = await members()
        screens = [await sync_to_async(socket)(host, user) for user in users]
        for screen in screens:
            assert (await screen.connect(timeout=DEADLINE))[0]
            await screen.receive_json_from(timeout=DEADLINE)  # the snapshot
        during = await members()
        for screen in screens:
            await screen.disconnect(timeout=DEADLINE)
        return during - before, await members() - before

    assert scenario() == (1, 0)
