"""Short-lived, per-process copies of rows that every gate request reads and that rarely change.

The building behind a host name, a gate agent's key and a gate are read on every scan; read
from PostgreSQL each time they cost a third of the request (docs/performance.md). A change
made through the ORM in this process drops what it changed at once (the one entry of the saved
row when the cache can name it, else everything); other processes see it within ``seconds``,
a delay each use states.

Each cache holds at most ``max_entries`` values and, when full, drops the one used least
recently: one installation serves up to ``BUILDINGS`` buildings, whose keys together can
outnumber a sensible bound, and the buildings whose gates are busy must stay cached while
the quiet ones make room (emptying the whole cache would send every building to the
database at once).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

from django.db.models import Model
from django.db.models.signals import post_delete, post_save

Value = TypeVar("Value")

# The most buildings one installation is built to serve; the caches are sized from it.
BUILDINGS = 1_000


class ProcessCache(Generic[Value]):
    """Values by key for ``seconds``, at most ``max_entries`` of them (the least recently used
    goes first). When a row of ``models`` is saved or deleted, ``key_of(row)`` names the one
    entry to drop; without ``key_of`` the whole cache is emptied. Name the entry wherever rows
    are saved often: a thousand gate agents' heartbeats (one each every 15 seconds) would
    otherwise empty the agents' cache dozens of times a second.

    Misses are never stored, so made-up keys cannot push real ones out. Safe to share between
    the threads of one process (ASGI runs synchronous code in a pool of threads).
    """

    def __init__(
        self,
        seconds: float,
        models: tuple[type[Model], ...],
        *,
        max_entries: int,
        key_of: Callable[[Any], Hashable] | None = None,
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.seconds = seconds
        self.max_entries = max_entries
        self.key_of = key_of
        self._entries: OrderedDict[Hashable, tuple[float, Value]] = OrderedDict()
        self._lock = threading.Lock()
        for model in models:
            post_save.connect(self._forget, sender=model, weak=False)
            post_delete.connect(self._forget, sender=model, weak=False)

    def get(self, key: Hashable, load: Callable[[], Value | None]) -> Value | None:
        """The value of ``key``: the kept one while it is fresh, else ``load()``'s (kept unless
        it is None). ``load`` runs outside the lock: it queries the database."""
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                if entry[0] > now:
                    self._entries.move_to_end(key)
                    return entry[1]
                del self._entries[key]  # expired: it would only take room
        value = load()
        if value is not None:
            with self._lock:
                self._entries[key] = (now + self.seconds, value)
                self._entries.move_to_end(key)
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
        return value

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def _forget(self, instance: Model, **kwargs: Any) -> None:
        if self.key_of is None:
            self.clear()
            return
        key = self.key_of(instance)
        with self._lock:
            self._entries.pop(key, None)
