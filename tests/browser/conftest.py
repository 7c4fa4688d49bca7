"""Browser tests: headless Chromium (Debian's package, driven by Playwright) against a live
server on this machine.

The live server runs in a thread with its own database connection, so it only sees
committed rows. Browser tests therefore get a building of their own, committed, and
dropped again when the module is done; the rolled-back ``alpha`` and ``beta`` stay untouched.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.db import connection
from django.test.testcases import LiveServerThread
from django_tenants.utils import schema_context

from tenants.actions import create_building
from tenants.models import Building
from tests.conftest import end_other_database_sessions

T = TypeVar("T")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Each module's building gets a name of its own: a process keeps what it learnt of a building
# by its schema (signing keys, cache and Redis entries), and a new building under a name just
# dropped would meet the old one's.
_BUILDING_NUMBERS = itertools.count(1)


def chromium_path() -> str:
    path = (
        os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    )
    if not path:
        pytest.fail("Chromium is not installed: `make browser` installs Debian's chromium package")
    return path


@dataclass
class LiveBuilding:
    building: Building
    url: str
    password: str

    def login_email(self, role: str) -> str:
        return f"{role}@{self.building.schema_name}.example"


@contextmanager
def committed_building(django_db_blocker: Any) -> Iterator[Building]:
    """A committed building with the demo directory, dropped again afterwards."""
    from visit_platform.directory.demo import DEMO_PASSWORD, seed_demo_directory

    slug = f"browser{next(_BUILDING_NUMBERS)}"
    with django_db_blocker.unblock():
        result = create_building(
            slug=slug,
            name="浏览器测试大厦",
            admin_email=f"admin@{slug}.example",
            admin_password=DEMO_PASSWORD,
        )
        with schema_context(slug):
            seed_demo_directory()
        try:
            yield result.building
        finally:
            # Users stay: deleting one from the public schema would cascade into building
            # tables that only exist in building schemas.
            result.building.delete(force_drop=True)
            end_other_database_sessions()


def _served(building: Building, port: int) -> LiveBuilding:
    from visit_platform.directory.demo import DEMO_PASSWORD

    return LiveBuilding(building, f"http://{building.schema_name}.localhost:{port}", DEMO_PASSWORD)


@pytest.fixture(scope="module")
def live_building(django_db_setup: None, django_db_blocker: Any) -> Iterator[LiveBuilding]:
    """A committed building with sample data, served by a live server thread."""
    with committed_building(django_db_blocker) as building:
        server = LiveServerThread("localhost", StaticFilesHandler, port=0)
        server.daemon = True
        server.start()
        server.is_ready.wait()
        if server.error:
            raise server.error
        try:
            yield _served(building, server.port)
        finally:
            server.terminate()


class AsgiServerThread(threading.Thread):
    """The project's ASGI application (HTTP and WebSockets) under uvicorn, in a thread, on a
    free loopback port; static files served as ``runserver`` would. Django's live server
    thread speaks WSGI only, so live pages (the security screen) need this one."""

    def __init__(self) -> None:
        super().__init__(name="live-asgi-server", daemon=True)
        import uvicorn
        from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

        from visit_platform.asgi import application

        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        config = uvicorn.Config(
            ASGIStaticFilesHandler(application),
            lifespan="off",
            log_level="warning",
            ws_ping_interval=None,
        )
        self.server = uvicorn.Server(config)
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.server.run(sockets=[self.socket])
        except BaseException as error:  # pragma: no cover - reported by start_and_wait
            self.error = error

    def start_and_wait(self, timeout: float = 30) -> None:
        self.start()
        deadline = threading.Event()
        for _attempt in range(int(timeout * 20)):
            if self.server.started or self.error or not self.is_alive():
                break
            deadline.wait(0.05)
        if not self.server.started:
            raise RuntimeError(f"The live ASGI server did not start: {self.error!r}")

    def stop(self) -> None:
        self.server.should_exit = True
        self.join(timeout=10)
        self.socket.close()


@pytest.fixture(scope="module")
def live_asgi_building(django_db_setup: None, django_db_blocker: Any) -> Iterator[LiveBuilding]:
    """Like ``live_building`` (a committed building with the demo directory), served by the
    ASGI application under uvicorn, so pages can open their WebSockets."""
    with committed_building(django_db_blocker) as building:
        server = AsgiServerThread()
        server.start_and_wait()
        try:
            yield _served(building, server.port)
        finally:
            server.stop()


@contextmanager
def chromium() -> Iterator[Any]:
    """Chromium, to start after the live building exists.

    Playwright's sync API keeps an event loop registered on this thread, which makes Django
    refuse database calls from the test as "async unsafe"; while the browser is open the
    test thread's own queries are in fact synchronous, so the check is lifted for that time.
    """
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            instance = playwright.chromium.launch(
                executable_path=chromium_path(), args=CHROMIUM_ARGS
            )
            yield instance
            instance.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="module")
def browser(live_building: LiveBuilding) -> Iterator[Any]:
    """Chromium, started after the live building exists."""
    with chromium() as instance:
        yield instance


@pytest.fixture(scope="module")
def asgi_browser(live_asgi_building: LiveBuilding) -> Iterator[Any]:
    """Chromium, started after the live ASGI building exists."""
    with chromium() as instance:
        yield instance


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1360, "height": 820}, locale="en-US")
    page = context.new_page()
    yield page
    context.close()


def run_committed(live: LiveBuilding, django_db_blocker: Any, function: Callable[[], T]) -> T:
    """Run ``function`` in the live building and commit what it writes: the live server sees
    committed rows only, and a browser test's own connection sits in a transaction that is
    rolled back. A thread has a connection of its own, in autocommit."""

    def in_thread() -> T:
        try:
            with schema_context(live.building.schema_name):
                return function()
        finally:
            connection.close()

    with django_db_blocker.unblock(), ThreadPoolExecutor(1) as pool:
        return pool.submit(in_thread).result()


def screenshot(page: Any, name: str, full_page: bool = True) -> Path:
    """Save a screenshot under test-artifacts/. With UPDATE_SCREENSHOTS=1 it also replaces
    docs/screenshots/<name>.png, the picture the docs show; otherwise a test run leaves the
    committed pictures alone."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOCS_SCREENSHOTS / path.name)
    return path


def wait_for(page: Any, expression: str, arg: Any = None, timeout: float = 30_000) -> Any:
    """``page.wait_for_function`` without its eval: Playwright polls a string predicate by
    evaluating it inside the page, which the pages' Content-Security-Policy (no
    ``'unsafe-eval'``) refuses. ``page.evaluate`` goes through the DevTools protocol, which
    the policy does not govern, so poll with it from here."""
    deadline = time.monotonic() + timeout / 1000
    while True:
        value = page.evaluate(expression, arg)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout} ms: {expression}")
        page.wait_for_timeout(50)
