"""Publishing to live screens without making a gate wait.

``async_to_sync(layer.group_send)`` from synchronous code starts an event loop and a Redis
connection per call (about 4 ms here), on the gate's critical path. Instead, one daemon
thread per process runs an event loop that keeps the channel layer's connections, and
actions hand it their messages and move on. A screen missing one event must never slow or
fail a gate; failures are logged.

Messages that arrive within ``GATHER_SECONDS`` of each other go out together, as one ``live.batch``
message per group, which consumers unpack (``LiveBatchMixin``): at hundreds of scans a second
one ``group_send`` per event cost a third of the server's CPU (docs/performance.md).

Each message is numbered as it goes out: ``seq``, one counter per group in Redis, taken for a
whole flush with one INCRBY per group, all groups in one round trip. A screen reads the counter
before its snapshot (``current_seq``) and applies the messages numbered after it; a number that
never arrives tells it that it missed something (ADR 0022).
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from typing import Any

from channels.layers import BaseChannelLayer, get_channel_layer
from channels_redis.core import RedisChannelLayer

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


def occupancy_group(schema_name: str) -> str:
    """The channel group of one building's live screens (house rule 4: it carries the
    schema)."""
    return f"occupancy.{schema_name}"


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
        try:
            last_seqs = await _take_seqs(
                layer, {group: len(items) for group, items in batch.items()}
            )
        except Exception as error:
            logger.warning("Live screen updates were lost (no sequence numbers): %s", error)
            continue
        for group, messages in batch.items():
            first = last_seqs[group] - len(messages) + 1
            for offset, message in enumerate(messages):
                message["seq"] = first + offset
            if len(messages) == 1:
                message = messages[0]
            else:
                message = {"type": "live.batch", "messages": messages}
            try:
                await layer.group_send(group, message)
            except Exception as error:
                logger.warning("A live screen update was lost: %s", error)


def seq_key(layer: BaseChannelLayer, group: str) -> str:
    """The Redis key of a group's counter; the group carries the building's schema."""
    return f"{getattr(layer, 'prefix', 'asgi')}:seq:{group}"


# Counters of a channel layer without Redis (the in-memory layer of single-process development).
_local_seqs: dict[str, int] = {}


async def _take_seqs(layer: BaseChannelLayer, counts: dict[str, int]) -> dict[str, int]:
    """Advance each group's counter by its count; returns each group's last number. Groups are
    kept on the Redis shard of their group, in one pipeline per shard (one in practice)."""
    if not isinstance(layer, RedisChannelLayer):
        for group, count in counts.items():
            _local_seqs[group] = _local_seqs.get(group, 0) + count
        return {group: _local_seqs[group] for group in counts}
    by_shard: dict[int, list[str]] = {}
    for group in counts:
        by_shard.setdefault(layer.consistent_hash(group), []).append(group)
    last: dict[str, int] = {}
    for index, groups in by_shard.items():
        async with layer.connection(index).pipeline(transaction=False) as pipe:
            for group in groups:
                pipe.incrby(seq_key(layer, group), counts[group])
            results = await pipe.execute()
        last.update(zip(groups, (int(value) for value in results), strict=True))
    return last


async def current_seq(layer: BaseChannelLayer, group: str) -> int:
    """The number of the group's latest message (0 before the first)."""
    if not isinstance(layer, RedisChannelLayer):
        return _local_seqs.get(group, 0)
    value = await layer.connection(layer.consistent_hash(group)).get(seq_key(layer, group))
    return int(value or 0)


class LiveBatchMixin:
    """For consumers of published groups: a ``live.batch`` is its messages, in order."""

    async def live_batch(self, batch: dict[str, Any]) -> None:
        for message in batch["messages"]:
            await self.dispatch(message)  # type: ignore[attr-defined]
