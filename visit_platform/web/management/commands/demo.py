"""``manage.py demo``: set up the demo building and run the whole platform on this machine."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import ExitStack
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import schema_context

from forms.demo import seed_demo_forms
from integrations.wechat.sandbox import WeChatSandbox
from tenants.actions import building_domain, create_building
from tenants.models import Building, OfficialAccount
from visit_platform.access.demo import DEMO_MODBUS_PORT, DemoPass, seed_demo_access
from visit_platform.directory.choices import Role
from visit_platform.directory.demo import DEMO_PASSWORD, seed_demo_directory
from visit_platform.notifications.demo import open_demo_wechat, seed_demo_wechat_account
from workflows.demo import seed_demo_flows

DEMO_SLUG = "demo"


class Command(BaseCommand):
    help = "Migrate, provision the demo building with sample data, and serve it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--setup-only", action="store_true", help="prepare, then exit")
        parser.add_argument("--no-worker", action="store_true", help="do not start Celery")
        parser.add_argument(
            "--no-gates", action="store_true", help="no simulated turnstile and gate agent"
        )
        parser.add_argument(
            "--gate-api-port",
            type=int,
            default=None,
            help="the gate API's own server (default: --port + 1)",
        )
        parser.add_argument("--modbus-port", type=int, default=DEMO_MODBUS_PORT)
        parser.add_argument("--reader-port", type=int, default=7000)
        parser.add_argument(
            "--agent-http-port",
            type=int,
            default=None,
            help="the gate agent's HTTP port (default: --reader-port + 1)",
        )
        parser.add_argument(
            "--wechat-port",
            type=int,
            default=None,
            help="the WeChat sandbox and its phones (default: --port + 2; 0: a free port)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["gate_api_port"] is None:
            options["gate_api_port"] = options["port"] + 1
        if options["wechat_port"] is None:
            options["wechat_port"] = options["port"] + 2
        # Texted links must open on this port, in this process and in the worker alike.
        settings.PUBLIC_PORT = os.environ["PUBLIC_PORT"] = str(options["port"])
        call_command("setup_platform", verbosity=0)
        if not Building.objects.filter(schema_name=DEMO_SLUG).exists():
            create_building(
                slug=DEMO_SLUG,
                name="演示大厦 Demo Tower",
                admin_email="admin@demo.example.com",
                admin_password=DEMO_PASSWORD,
            )
        with schema_context(DEMO_SLUG):
            logins = seed_demo_directory()
            demo_pass = seed_demo_access(options["modbus_port"])
            request_form = seed_demo_forms()
            seed_demo_flows()
        wechat_account = seed_demo_wechat_account(DEMO_SLUG)
        call_command("collectstatic", interactive=False, verbosity=0)

        address = f"http://{building_domain(DEMO_SLUG)}:{options['port']}/"
        self.stdout.write(self.style.SUCCESS(f"\nThe demo building is ready at {address}\n"))
        self.stdout.write(f"Every demo login uses the password: {DEMO_PASSWORD}")
        for login in logins:
            company = f" ({login.company})" if login.company else ""
            self.stdout.write(f"  {Role(login.role).label:<16} {login.email}{company}")
        base = address.rstrip("/")
        self.stdout.write(
            f"{demo_pass.visitor_name}'s pass, as a visitor sees it: {base}{demo_pass.path}"
        )
        self.stdout.write(f"A visitor's request form, as on a phone: {base}{request_form}")
        self.stdout.write(
            "Waiting under Tasks: a request for zhang.wei to approve (his texted link is under "
            "Messages) and a walk-in at reception's desk check."
        )
        self.stdout.write(
            f"Platform operators' admin site: http://{settings.BASE_DOMAIN}:{options['port']}/admin/"
        )
        if not options["no_gates"]:
            gate_in = demo_pass.gate_ids[0]
            self.stdout.write(
                f"A simulated turnstile listens on Modbus/TCP port {options['modbus_port']}, "
                f"and a gate agent takes reader lines on port {options['reader_port']}. "
                "Present the pass at the entry gate and watch the visit turn to checked in:\n"
                f"  python manage.py scan_at_gate --building {DEMO_SLUG} --gate {gate_in} "
                f"--pass {demo_pass.pass_id}"
            )
        if options["setup_only"]:
            return
        self._serve(options, demo_pass, wechat_account)

    def _serve(
        self, options: dict[str, Any], demo_pass: DemoPass, wechat_account: OfficialAccount
    ) -> None:
        children: list[subprocess.Popen[bytes]] = []
        site = None
        threads = ExitStack()
        # Whatever fails on the way (a port taken, Ctrl+C, a `kill`), nothing started here
        # outlives it. uvicorn hands a SIGTERM it caught back to the process's own handler when
        # it has shut down: the default one would end the process before ``finally``.
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
        try:
            # First, so that the worker started below learns where WeChat is.
            self._wechat(threads, options["wechat_port"], wechat_account)
            if not options["no_gates"]:
                # The gate API in a process of its own, as in production (docs/deployment.md):
                # nothing the public pages are asked can slow the turnstile's answers.
                gate_api = ["visit_platform.asgi_gate:application", "--host", "127.0.0.1"]
                gate_api += ["--port", str(options["gate_api_port"]), "--log-level", "warning"]
                children.append(_start(["uvicorn", *gate_api]))
                # The agent's first sync fetches the keys it checks passes with: start it once
                # the gate API listens, or its first scans are decided offline without them.
                _wait_until_listening(options["gate_api_port"])
                site = self._gate_site(options, demo_pass)
            if not options["no_worker"]:
                # One worker with an embedded beat: enough to fire timers in the demo; beat's
                # record of when it last ran each job stays with the demo's data.
                worker = ["-A", "visit_platform", "worker", "-B", "--loglevel", "WARNING"]
                worker += ["--concurrency", "1"]
                worker += ["--schedule", str(settings.DATA_DIR / "celerybeat-schedule")]
                children.append(_start(["celery", *worker]))
            import uvicorn

            self.stdout.write("Serving; press Ctrl+C to stop.\n")
            uvicorn.run(
                "visit_platform.asgi:application",
                host=options["host"],
                port=options["port"],
                log_level="warning",
            )
        finally:
            if site is not None:
                site.stop()
            threads.close()
            for child in children:
                child.send_signal(signal.SIGTERM)
            for child in children:
                child.wait(timeout=20)

    def _wechat(self, threads: ExitStack, port: int, account: OfficialAccount) -> None:
        """The WeChat sandbox, in a thread beside the web server, standing in for WeChat's
        servers; its state is in memory, so it is given the account, menu and users anew."""
        sandbox = WeChatSandbox()
        try:
            base_url = threads.enter_context(sandbox.serve("127.0.0.1", port))
        except OSError as error:
            raise CommandError(
                f"The WeChat sandbox cannot listen on port {port}: {error}"
            ) from None
        # The web server (this process) and the Celery worker (started later, inheriting the
        # environment) call WeChat here; the browser is sent to its OAuth page here too.
        settings.WECHAT_API_BASE_URL = os.environ["WECHAT_API_BASE_URL"] = base_url
        users = open_demo_wechat(sandbox, account, DEMO_SLUG)
        self.stdout.write(
            f"WeChat, simulated: {account.name} ({account.appid}) on a local WeChat sandbox at "
            f"{base_url}, with its menu; open a phone and tap the menu to begin."
        )
        self.stdout.write(f"  Both phones side by side: {base_url}/phone/")
        for user in users:
            self.stdout.write(f"  {user.nickname}'s phone: {base_url}/phone/{user.openid}")
        self.stdout.write(
            "  On zhang.wei's phone, 员工服务 binds his WeChat to his mobile 13911110001; then the "
            "visitor's 访客预约 requests a visit that he approves in his chat. The texted codes "
            "are under Messages in the console (sign in as the property admin)."
        )

    def _gate_site(self, options: dict[str, Any], demo_pass: DemoPass) -> Any:
        """The simulated turnstile and the gate agent, in a thread beside the web server."""
        from integrations.modbus.background import BackgroundSite
        from integrations.modbus.register_map import (
            GENERIC_TURNSTILE,
            parse_register_map,
            shipped_map,
        )
        from visit_platform.access.agent_setup import agent_config_from_database

        with schema_context(DEMO_SLUG):
            config = agent_config_from_database(
                DEMO_SLUG,
                demo_pass.agent_key,
                platform_url=f"http://127.0.0.1:{options['gate_api_port']}",
                reader_port=options["reader_port"],
                http_port=options["agent_http_port"] or options["reader_port"] + 1,
            )
        site = BackgroundSite(
            config, parse_register_map(shipped_map(GENERIC_TURNSTILE)), options["modbus_port"]
        )
        site.start()
        return site


def _start(module_and_arguments: list[str]) -> subprocess.Popen[bytes]:
    """``python -m <module> <arguments>`` with this interpreter, beside the demo."""
    return subprocess.Popen([sys.executable, "-m", *module_and_arguments])  # noqa: S603


def _wait_until_listening(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise CommandError(f"The gate API server did not start on port {port}.")


def _exit_on_sigterm(signum: int, frame: object) -> None:
    """``kill`` (SIGTERM) stops the demo as Ctrl+C does: through ``finally``, which stops the
    worker and the gate API's server."""
    raise SystemExit(128 + signum)
