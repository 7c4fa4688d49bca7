"""The embedded Redis that a fresh checkout starts serves every client the platform has:
redis-py (cache), channels_redis (live screens) and kombu (Celery's broker). CI's Redis
service hides this path, so these tests start an embedded server of their own."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from asgiref.sync import async_to_sync
from channels_redis.core import RedisChannelLayer
from kombu import Connection

from visit_platform.devservers import redis_url


@pytest.fixture(scope="module")
def embedded_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    data_dir = tmp_path_factory.mktemp("data")
    url = redis_url(data_dir)
    yield url, data_dir
    pid = (data_dir / "redis" / "redis.pid").read_text().strip()
    subprocess.run(["kill", pid], check=False)  # noqa: S603, S607 - our own daemon


def test_embedded_redis_listens_on_loopback_tcp_behind_a_password(
    embedded_redis: tuple[str, Path],
) -> None:
    url, _ = embedded_redis
    connection = redis.Redis.from_url(url)
    anonymous = redis.Redis(
        host=connection.connection_pool.connection_kwargs["host"],
        port=connection.connection_pool.connection_kwargs["port"],
    )

    assert url.startswith("redis://:")
    assert connection.connection_pool.connection_kwargs["host"] == "127.0.0.1"
    assert connection.ping() is True
    with pytest.raises(redis.AuthenticationError):
        anonymous.ping()


def test_a_second_process_joins_the_running_embedded_redis(
    embedded_redis: tuple[str, Path],
) -> None:
    url, data_dir = embedded_redis

    joined = subprocess.run(  # noqa: S603 - our own interpreter
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; "
            "from visit_platform.devservers import redis_url; "
            "print(redis_url(Path(sys.argv[1])))",
            str(data_dir),
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parent.parent,
    )

    assert joined.stdout.strip() == url


def test_celery_broker_accepts_the_embedded_redis_url(embedded_redis: tuple[str, Path]) -> None:
    url, _ = embedded_redis

    with Connection(url) as connection:
        queue = connection.SimpleQueue("devservers-test")
        queue.put({"hello": "broker"})
        message = queue.get(timeout=5)
        message.ack()
        queue.close()

    assert message.payload == {"hello": "broker"}


def test_channel_layer_round_trips_over_the_embedded_redis(
    embedded_redis: tuple[str, Path],
) -> None:
    url, _ = embedded_redis
    # The same host options the settings give the channel layer.
    layer = RedisChannelLayer(
        hosts=[{"address": url, "socket_timeout": None, "socket_keepalive": True}]
    )

    async def round_trip() -> dict[str, str]:
        channel = await layer.new_channel()
        await layer.send(channel, {"type": "occupancy.changed"})
        received: dict[str, str] = await layer.receive(channel)
        await layer.flush()
        return received

    assert async_to_sync(round_trip)() == {"type": "occupancy.changed"}
