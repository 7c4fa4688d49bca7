"""One feed per building and process for the live screens: the channel layer delivers each
message once per process, which encodes it once per kind of viewer and hands the same text to
every screen of that building connected to the process.

Left to the channel layer, a group of 500 screens costs every event 500 copies in Redis, 500
reads, 500 decodings and 500 JSON encodings: on two cores the screens of one building fell
minutes behind at a hundred scans a second (docs/performance.md). Here the group has one
member per process; what grows with the screens is only handing over a ready frame.

Each screen has an outbox of its own, sent by a task of its own, so a screen on a slow network
never holds up the others. A full outbox drops its oldest frame: the screen sees a gap in the
numbers and asks for a snapshot (ADR 0022).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Protocol

from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)


class Screen(Protocol):
    full_names: bool

    def offer(self, text: str) -> None:
        """Queue one frame for sending; never waits."""


def frame_of(message: dict[str, Any]) -> dict[str, Any] | None:
    """What screens are sent for one channel-layer message: its event, or a ``batch`` of the
    events published together, each with its ``seq``; None when it holds no event."""
    inner = message["messages"] if message.get("type") == "live.batch" else [message]
    events = [
        {**item["payload"], "seq": item.get("seq")}
        for item in inner
        if item.get("type") == "occupancy.event"
    ]
    if not events:
        return None
    return events[0] if len(events) == 1 else {"type": "batch", "messages": events}


class ScreenFeed:
    """The screens of one building in this process, fed from one channel in its group."""

    def __init__(self, group: str, masked: Any) -> None:
        self.group = group
        self.masked = masked  # frame -> frame with names masked (a pure function)
        self.screens: set[Screen] = set()
        self.layer = get_channel_layer()
        self.channel = ""
        self.task: asyncio.Task[None] | None = None
        self.started: asyncio.Future[None] | None = None

    async def start(self) -> None:
        self.channel = await self.layer.new_channel()
        await self.layer.group_add(self.group, self.channel)
        self.task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
        await self.layer.group_discard(self.group, self.channel)

    async def _run(self) -> None:
        while True:
            message = await self.layer.receive(self.channel)
            try:
                self.deliver(message)
            except Exception:  # one bad message must not stop the building's screens
                logger.exception("A live screen update could not be delivered")

    def deliver(self, message: dict[str, Any]) -> None:
        frame = frame_of(message)
        if frame is None:
            return
        texts: dict[bool, str] = {}
        for screen in list(self.screens):
            full = screen.full_names
            if full not in texts:
                texts[full] = json.dumps(frame if full else self.masked(frame), ensure_ascii=False)
            screen.offer(texts[full])


_feeds: dict[tuple[asyncio.AbstractEventLoop, str], ScreenFeed] = {}


async def join(group: str, screen: Screen, masked: Any) -> None:
    """Feed ``screen`` the messages of ``group`` from now on (once this returns)."""
    key = (asyncio.get_running_loop(), group)
    feed = _feeds.get(key)
    if feed is None:
        feed = _feeds[key] = ScreenFeed(group, masked)
        feed.started = asyncio.ensure_future(feed.start())
    assert feed.started is not None
    await asyncio.shield(feed.started)
    feed.screens.add(screen)


async def leave(group: str, screen: Screen) -> None:
    """Stop feeding ``screen``; the last screen of a building stops its feed."""
    key = (asyncio.get_running_loop(), group)
    feed = _feeds.get(key)
    if feed is None:
        return
    feed.screens.discard(screen)
    if not feed.screens:
        del _feeds[key]
        await feed.stop()
