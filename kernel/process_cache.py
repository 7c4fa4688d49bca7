"""Short-lived, per-process copies of rows that every gate request reads and that rarely change.

The building behind a host name, a gate agent's key and a gate are read on every scan; read
from PostgreSQL each time they cost a third of the request (docs/performance.md). A change
made through the ORM in this process empties the cache at once; other processes see it
within ``seconds``, a delay each use states.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

from django.db.models import Model
from django.db.models.signals import post_delete, post_save

Value = TypeVar("Value")

# Far more entries than a deployment has buildings, gates or agents: a bound on memory, not a
# policy. Misses are never stored, so made-up keys cannot fill it either.
MAX_ENTRIES = 10_000


class ProcessCache(Generic[Value]):
    """Values by key for ``seconds``, emptied whenever a row of ``models`` is saved or deleted."""

    def __init__(self, seconds: float, models: tuple[type[Model], ...]) -> None:
        self.seconds = seconds
        self._entries: dict[Hashable, tuple[float, Value]] = {}
        for model in models:
            post_save.connect(self._forget, sender=model, weak=False)
            post_delete.connect(self._forget, sender=model, weak=False)

    def get(self, key: Hashable, load: Callable[[], Value | None]) -> Value | None:
        now = time.monotonic()
        entry = self._entries.get(key)
        if entry is not None and entry[0] > now:
            return entry[1]
        value = load()
        if value is not None:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[key] = (now + self.seconds, value)
        return value

    def clear(self) -> None:
        self._entries.clear()

    def _forget(self, **kwargs: Any) -> None:
        self.clear()
