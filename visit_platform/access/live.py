"""Publishing to live screens without making a gate wait.

``async_to_sync(layer.group_send)`` from synchronous code starts an event loop and a Redis
connection per call (about 4 ms here), on the gate's critical path. Instead, one daemon
thread per process runs an event loop that keeps the channel layer's connections, and
actions hand it their messages and move on. A screen missing one event must never slow or
fail a gate; failures are logged.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from concurrent.futures import Future
from typing import Any

from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_loop_pid: int | None = None


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


def publish(group: str, message: dict[str, Any]) -> Future[None] | None:
    """Send ``message`` to a channel group in the background; returns the pending send."""
    layer = get_channel_layer()
    if layer is None:
        return None
    future = asyncio.run_coroutine_threadsafe(layer.group_send(group, message), _publisher_loop())
    future.add_done_callback(_log_failure)
    return future


def _log_failure(future: Future[None]) -> None:
    error = future.exception()
    if error is not None:
        logger.warning("A live screen update was lost: %s", error)
