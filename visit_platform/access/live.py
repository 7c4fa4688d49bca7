"""Publishing to live screens without making a gate wait.

``async_to_sync(layer.group_send)`` from synchronous code starts an event loop and a Redis
connection per call (about 4 ms here), on the gate's critical path. Instead, one daemon
thread per process runs an event loop that keeps the channel layer's connections, and
actions hand it their messages and move on. A screen missing one event must never slow or
fail a gate; failures are logged.

Messages that arrive within ``GATHER_SECONDS`` of each other go out together, as one ``live.batch``
message per group, which consumers unpack (``LiveBatchMixin``): at hundreds of scans a second
one ``group_send`` per event cost a third of the server's CPU (docs/performance.md).
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from typing import Any

from channels.layers import BaseChannelLayer, get_channel_layer

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_loop_pid: int | None = None

# Messages waiting for the publisher loop, by group; guarded by _pending_lock.
_pending_lock = threading.Lock()
_pending: dict[str, list[dict[str, Any]]] = {}
_flushing = False
_pending_pid: int | None = None
# How long a message waits for others to go with it: unnoticeable on a screen, and at
# hundreds of scans a second it makes one send out of dozens.
GATHER_SECONDS = 0.05


def _publisher_loop() -> asyncio.AbstractEventLoop:
    """The process's publisher loop, started on first use (and again in a forked child,
    whose copy of the parent's thread does not run)."""
    global _loop, _loop_pid
    with _lock:
        if _loop is None or _loop_pid != os.getpid() or _loop.is_closed():
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="live-publisher", daemon=True)
            thread.start()
            _loop, _loop_pid = loop, os.getpid()
        return _loop


def publish(group: str, message: dict[str, Any]) -> None:
    """Send ``message`` to a channel group in the background."""
    global _flushing, _pending_pid
    layer = get_channel_layer()
    if layer is None:
        return
    with _pending_lock:
        if _pending_pid != os.getpid():  # a forked child starts with nothing in flight
            _pending.clear()
            _flushing, _pending_pid = False, os.getpid()
        _pending.setdefault(group, []).append(message)
        if _flushing:
            return  # the running flush will take it
        _flushing = True
    loop = _publisher_loop()
    loop.call_soon_threadsafe(loop.create_task, _flush(layer))


async def _flush(layer: BaseChannelLayer) -> None:
    """Send what is pending, and again what came in meanwhile, until nothing is left."""
    global _flushing
    while True:
        await asyncio.sleep(GATHER_SECONDS)
        with _pending_lock:
            batch = dict(_pending)
            _pending.clear()
            if not batch:
                _flushing = False
                return
        for group, messages in batch.items():
            if len(messages) == 1:
                message = messages[0]
            else:
                message = {"type": "live.batch", "messages": messages}
            try:
                await layer.group_send(group, message)
            except Exception as error:
                logger.warning("A live screen update was lost: %s", error)


class LiveBatchMixin:
    """For consumers of published groups: a ``live.batch`` is its messages, in order."""

    async def live_batch(self, batch: dict[str, Any]) -> None:
        for message in batch["messages"]:
            await self.dispatch(message)  # type: ignore[attr-defined]
