"""A burst of refusals at one gate: the building's ``denial_burst_count`` refusals within
``denial_burst_seconds`` raise one DENIAL_BURST alert for security.

What counts. Every online refusal counts (a forged or foreign code, an unknown, revoked,
expired or used-up pass, a watchlisted person, the wrong zone, anti-passback...) except two
that say something about the gate, not about who stands at it:

- ``wrong_direction``: someone scanned on the wrong side of a one-way gate. It is a layout
  or signage problem (or a reader wired to the wrong side, which would refuse everyone); a
  burst of it would be a noisy alert that no guard can act on at the gate.
- ``gate_inactive``: the gate is out of service, so every scan there is refused, by
  decision of the building's own staff.

A person retrying the same expired code five times does count: someone stuck at a gate is
worth a guard's look too. Only the platform's own (online) decisions count: refusals a gate
agent decided offline arrive later in its journal, when a burst alert would be stale.

How. A sliding window per gate in Redis (a sorted set of the refusals' times, keyed by the
building's schema and the gate), updated by one Lua script: one round trip per refusal,
whatever the window's size (the set is trimmed to the window, so it holds at most the
refusals of one window). The script also keeps when the gate's current burst last saw a
refusal at or above the threshold: the alert is raised when a burst starts, and a burst that
goes on (an attack that keeps trying) stays that one alert; after a quiet window the next
burst raises another. The times are the decisions' own, so the counting does not depend on
Redis's clock.

When. After the decision commits (a rolled-back refusal was never made), never on the
granted path. Redis is a convenience here, not a dependency of the gate: the client has short
timeouts, a failure is logged and then Redis is left alone for ``PAUSE_SECONDS`` so that a
dead server costs at most one timeout per pause, not one per scan.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime
from functools import partial

import redis
from django.conf import settings
from django.db import connection, transaction

from tenants.db import current_schema
from tenants.models import Building
from visit_platform.access.actions.alerts import raise_alert
from visit_platform.access.choices import AlertKind, Reason
from visit_platform.access.models import AccessEvent, Gate

logger = logging.getLogger(__name__)

# Refusals that say nothing about who is at the gate (see the module's docstring).
UNCOUNTED_REASONS = frozenset({Reason.WRONG_DIRECTION, Reason.GATE_INACTIVE})
# After Redis failed, how long refusals are not counted (one timeout per pause at most).
PAUSE_SECONDS = 30.0
# Redis answers a loopback or LAN client in well under a millisecond; a gate must not wait
# for a sick one.
TIMEOUT_SECONDS = 0.1

# KEYS[1]: the gate's refusals (sorted set, scored by time in ms); KEYS[2]: when the gate's
# current burst last saw the threshold reached (ms). ARGV: now (ms), window (ms), threshold,
# this refusal ("<event id>|<reason>"). Returns {count, raised, reasons of the window...}.
_COUNT_SCRIPT = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('PEXPIRE', KEYS[1], window)
local count = redis.call('ZCARD', KEYS[1])
if count < tonumber(ARGV[3]) then
  return {count, 0}
end
local last = tonumber(redis.call('GET', KEYS[2]) or '-1')
redis.call('SET', KEYS[2], now, 'PX', window)
if last >= 0 and now - last <= window then
  return {count, 0}
end
local result = {count, 1}
for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], now - window, now)) do
  table.insert(result, member)
end
return result
"""

_lock = threading.Lock()
_clients: dict[str, redis.Redis] = {}
_paused_until = 0.0


def _client() -> redis.Redis:
    """The process's counting client for the configured Redis (one connection pool)."""
    url = str(settings.REDIS_URL)
    with _lock:
        client = _clients.get(url)
        if client is None:
            client = redis.Redis.from_url(
                url, socket_connect_timeout=TIMEOUT_SECONDS, socket_timeout=TIMEOUT_SECONDS
            )
            _clients[url] = client
        return client


def _keys(schema: str, gate_id: int) -> list[str]:
    return [f"{schema}:access:refusals:{gate_id}", f"{schema}:access:refusal-burst:{gate_id}"]


def count_refusal(event: AccessEvent) -> None:
    """Count an online refusal towards its gate's burst, after commit (call it only for a
    refusal that was just recorded, never for a granted scan or a replay)."""
    if event.reason in UNCOUNTED_REASONS:
        return
    # Robust: whatever goes wrong in the counting is logged, and the gate has its answer.
    transaction.on_commit(partial(_count, current_schema(), event.gate, event), robust=True)


def _settings() -> tuple[int, int]:
    """The current building's burst threshold and window; its defaults where the connection
    knows the schema only (a job run in ``schema_context``)."""
    building = getattr(connection, "tenant", None)
    fields = Building._meta
    count = getattr(building, "denial_burst_count", fields.get_field("denial_burst_count").default)
    seconds = getattr(
        building, "denial_burst_seconds", fields.get_field("denial_burst_seconds").default
    )
    return int(count), int(seconds)


def _count(schema: str, gate: Gate, event: AccessEvent) -> None:
    global _paused_until
    if time.monotonic() < _paused_until:
        return
    threshold, seconds = _settings()
    if threshold < 1 or seconds < 1:
        return
    now_ms = int(event.occurred_at.timestamp() * 1000)
    try:
        result = _client().eval(
            _COUNT_SCRIPT,
            2,
            *_keys(schema, gate.pk),
            now_ms,
            seconds * 1000,
            threshold,
            f"{event.event_id}|{event.reason}",
        )
    except redis.RedisError:
        _paused_until = time.monotonic() + PAUSE_SECONDS
        logger.warning(
            "Refusals are not counted for %ss: Redis failed", PAUSE_SECONDS, exc_info=True
        )
        return
    count, raised, *members = result
    if raised:
        _raise_burst(gate, event.occurred_at, int(count), seconds, members)


def _raise_burst(
    gate: Gate, reached_at: datetime, count: int, seconds: int, members: list[bytes]
) -> None:
    reasons = sorted({member.decode().rpartition("|")[2] for member in members})
    # One alert per burst: the key is the gate and the refusal that reached the threshold.
    raise_alert(
        AlertKind.DENIAL_BURST,
        key=f"denial-burst:{gate.pk}:{int(reached_at.timestamp() * 1000)}",
        gate=gate,
        details={"count": count, "window_seconds": seconds, "reasons": reasons},
        occurred_at=reached_at,
    )


def resume_counting() -> None:
    """Count again at once after a pause (tests, or an operator who fixed Redis)."""
    global _paused_until
    _paused_until = 0.0
