"""The short per-process cache that the gate API reads buildings, agents and gates through."""

from __future__ import annotations

import pytest

from kernel import process_cache
from kernel.process_cache import ProcessCache
from tenants.models import Building


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(process_cache.time, "monotonic", clock)
    return clock


def test_a_value_is_loaded_once_until_it_expires(clock: Clock) -> None:
    cache: ProcessCache[str] = ProcessCache(5, ())
    loads: list[int] = []

    def load() -> str:
        loads.append(1)
        return f"value {len(loads)}"

    first = cache.get("key", load)
    clock.now += 4.9
    second = cache.get("key", load)
    clock.now += 0.2
    third = cache.get("key", load)

    assert (first, second, third) == ("value 1", "value 1", "value 2")


def test_a_miss_is_not_kept_so_made_up_keys_cannot_fill_the_cache(clock: Clock) -> None:
    cache: ProcessCache[str] = ProcessCache(5, ())

    assert cache.get("unknown", lambda: None) is None
    assert cache.get("unknown", lambda: "now known") == "now known"


@pytest.mark.django_db
def test_saving_a_row_of_the_watched_model_empties_the_cache(clock: Clock, alpha: Building) -> None:
    cache: ProcessCache[str] = ProcessCache(5, (Building,))
    cache.get("key", lambda: "old")

    alpha.save()

    assert cache.get("key", lambda: "new") == "new"
