"""The short per-process cache that the gate API reads buildings, agents and gates through: a
bounded least-recently-used cache, so that a thousand buildings' keys cannot grow a process
without limit, nor push the busy buildings' entries out with the quiet ones'."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from kernel import process_cache
from kernel.process_cache import ProcessCache
from tenants.models import Building, Domain
from tests.access.conftest import make_agent
from visit_platform.access.queries import authenticate_agent


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
    cache: ProcessCache[str] = ProcessCache(5, (), max_entries=10)
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
    cache: ProcessCache[str] = ProcessCache(5, (), max_entries=10)

    assert cache.get("unknown", lambda: None) is None
    assert cache.get("unknown", lambda: "now known") == "now known"


@pytest.mark.django_db
def test_saving_a_row_of_the_watched_model_empties_the_cache(clock: Clock, alpha: Building) -> None:
    cache: ProcessCache[str] = ProcessCache(5, (Building,), max_entries=10)
    cache.get("key", lambda: "old")

    alpha.save()

    assert cache.get("key", lambda: "new") == "new"


def test_many_keys_keep_the_cache_at_its_bound(clock: Clock) -> None:
    cache: ProcessCache[str] = ProcessCache(5, (), max_entries=100)

    for building in range(1000):
        for gate in range(10):
            cache.get((f"building{building}", gate), lambda: "gate")

    assert len(cache) == 100


def test_the_least_recently_used_entry_goes_first(clock: Clock) -> None:
    cache: ProcessCache[str] = ProcessCache(5, (), max_entries=2)
    cache.get("first", lambda: "1")
    cache.get("second", lambda: "2")
    cache.get("first", lambda: "reloaded")  # used again: "second" is now the oldest

    cache.get("third", lambda: "3")

    assert cache.get("first", lambda: "reloaded") == "1"
    assert cache.get("second", lambda: "reloaded") == "reloaded"


def test_a_hot_working_set_within_the_bound_stays_cached_while_cold_keys_stream_past(
    clock: Clock,
) -> None:
    """The busy buildings' gates, read on every scan, stay while thousands of other keys come
    and go; emptying the whole cache when it was full would have reloaded them every time."""
    cache: ProcessCache[str] = ProcessCache(5, (), max_entries=100)
    loads: Counter[str] = Counter()

    def loader(key: str) -> Callable[[], str]:
        def load() -> str:
            loads[key] += 1
            return key

        return load

    hot = [f"hot {index}" for index in range(50)]
    cold = (f"cold {index}" for index in range(10_000))
    for _round in range(200):
        for key in hot:
            cache.get(key, loader(key))
        for _index in range(50):  # as many as still fit beside the hot ones
            key = next(cold)
            cache.get(key, loader(key))

    assert {key: loads[key] for key in hot} == dict.fromkeys(hot, 1)
    assert sum(loads.values()) == 50 + 10_000
    assert len(cache) == 100


def test_an_expired_entry_is_dropped_when_met(clock: Clock) -> None:
    cache: ProcessCache[str] = ProcessCache(5, (), max_entries=10)
    cache.get("gone", lambda: "value")
    clock.now += 6

    assert cache.get("gone", lambda: None) is None
    assert len(cache) == 0


@pytest.mark.django_db
def test_deleting_a_row_of_the_watched_model_empties_the_cache(clock: Clock) -> None:
    cache: ProcessCache[str] = ProcessCache(5, (Domain,), max_entries=10)
    building = Building.objects.get(schema_name="alpha")
    domain = Domain.objects.create(domain="extra.alpha.localhost", tenant=building)
    cache.get("key", lambda: "old")

    domain.delete()

    assert cache.get("key", lambda: "new") == "new"


@pytest.mark.django_db
def test_saving_a_row_drops_only_its_own_entry_when_the_cache_can_name_it(
    clock: Clock, alpha: Building, beta: Building
) -> None:
    cache: ProcessCache[str] = ProcessCache(
        5, (Building,), max_entries=10, key_of=lambda building: building.schema_name
    )
    cache.get("alpha", lambda: "old alpha")
    cache.get("beta", lambda: "old beta")

    alpha.save()

    assert cache.get("alpha", lambda: "new alpha") == "new alpha"
    assert cache.get("beta", lambda: "new beta") == "old beta"


def test_an_agents_heartbeat_leaves_the_other_agents_keys_cached(
    in_alpha: Building, django_assert_num_queries: Any
) -> None:
    """Each agent's heartbeat saves its row every 15 seconds: with a thousand buildings'
    agents, emptying the whole cache on each would leave nothing cached."""
    _lobby, lobby_key = make_agent("lobby agent")
    garage, garage_key = make_agent("garage agent")
    assert authenticate_agent(lobby_key) is not None
    assert authenticate_agent(garage_key) is not None

    garage.save(update_fields=["last_seen_at"])  # as a heartbeat does

    with django_assert_num_queries(0):
        assert authenticate_agent(lobby_key) is not None
    with django_assert_num_queries(1):
        assert authenticate_agent(garage_key) is not None
