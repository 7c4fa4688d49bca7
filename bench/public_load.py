"""Benchmark: gate scan latency while hostile anonymous requests hit the public pages.

The gate API runs in processes of its own (``visit_platform.asgi_gate``), the rest of the
platform in others (``visit_platform.asgi``), as the design says: two uvicorn servers with
production settings on a scratch database (created and dropped by this script, set up as in
``bench/gate_decision.py``). Gate scans arrive at a steady ``--rate`` from ``--clients``
clients, and their latency (from when each scan was due) is measured

  1. alone;
  2. while ``--hostile`` anonymous clients, each as fast as it gets answers, send the public
     server the two requests of issue 11: ``POST /api/forms/request/check`` with
     ``"a" * 100 + "!"`` for a field whose pattern is ``^(a|a)*$`` (exponential on a
     backtracking engine), and a request with 100,000 companions (3.6 MB; the form allows 5);
  3. as 2, but with everything on one server (one process, as before the gate API had its own):
     what the separate processes buy.

Prints its figures; they go into docs/performance.md with the machine. Never run by CI.

    python bench/public_load.py --duration 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.gate_decision import (  # noqa: E402
    HOST,
    SLUG,
    HttpConnection,
    Server,
    Site,
    decode,
    drive,
    postgres_version,
    production_environment,
    provision,
)
from bench.scratch import django_on_scratch_database  # noqa: E402

SCRATCH_DATABASE = "visit_bench_public_load"
CATASTROPHIC_PATTERN = "^(a|a)*$"


class AppServer(Server):
    """``bench.gate_decision.Server`` serving the ASGI application named."""

    def __init__(self, environment: dict[str, str], application: str, label: str) -> None:
        super().__init__(environment, 1, "uvicorn")
        self.application = application
        self.description = f"{label}: uvicorn {application}, 1 worker"

    def shown(self, line: str) -> bool:
        # Django logs a warning for each refused hostile request.
        return super().shown(line) and "WARNING" not in line

    def command(self) -> list[str]:
        return [
            *(sys.executable, "-m", "uvicorn", self.application),
            *("--host", "127.0.0.1", "--port", str(self.port), "--workers", "1"),
            *("--no-access-log", "--log-level", "info"),
        ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--visits", type=int, default=300, help="approved visits, one pass each")
    parser.add_argument("--rate", type=float, default=50, help="gate scans per second")
    parser.add_argument("--clients", type=int, default=8, help="concurrent gate clients")
    parser.add_argument("--hostile", type=int, default=3, help="concurrent hostile clients")
    parser.add_argument("--duration", type=float, default=10, help="seconds measured per run")
    parser.add_argument("--warmup", type=float, default=2, help="seconds not measured per run")
    args = parser.parse_args()
    with django_on_scratch_database(SCRATCH_DATABASE, production_environment) as environment:
        run(args, environment)


@dataclass
class Hostile:
    """What the hostile clients got back: status and code of each answer, and its latency."""

    answers: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)

    def summary(self) -> str:
        if not self.latencies:
            return "no hostile requests answered"
        codes = ", ".join(f"{key} x{n}" for key, n in sorted(self.answers.items()))
        return (
            f"{len(self.latencies)} hostile requests answered ({codes}); each answered in "
            f"p50 {statistics.median(self.latencies) * 1000:.0f} ms, "
            f"max {max(self.latencies) * 1000:.0f} ms"
        )


def run(args: argparse.Namespace, environment: dict[str, str]) -> None:
    import django

    django.setup()
    started = time.perf_counter()
    site = provision(args.visits)
    version_id = publish_catastrophic_pattern()
    print(
        f"provisioned building {SLUG!r}: {args.visits} passes, 2 gates, 1 gate agent, a request "
        f"form with the pattern {CATASTROPHIC_PATTERN!r} ({time.perf_counter() - started:.1f} s)"
    )
    bodies = hostile_bodies(version_id)
    gate = AppServer(environment, "visit_platform.asgi_gate:application", "gate API")
    public = AppServer(environment, "visit_platform.asgi:application", "public pages")
    try:
        gate.start()
        public.start()
        print(f"servers: {gate.description}; {public.description}")
        measure("1. gate scans alone", args, site, gate.port, None, bodies)
        measure("2. with hostile public requests", args, site, gate.port, public.port, bodies)
        measure(
            "3. as 2, all on the public server (no gate processes of its own)",
            args,
            site,
            public.port,
            public.port,
            bodies,
        )
    finally:
        gate.stop()
        public.stop()
    print(
        f"machine: {cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{postgres_version()}"
    )


def publish_catastrophic_pattern() -> int:
    """A field with ``^(a|a)*$`` on the building's request form, published by its admin."""
    from django.contrib.auth import get_user_model
    from django_tenants.utils import schema_context

    from forms.actions import publish, save_draft
    from forms.models import FormDefinition
    from visit_platform.audit.actions import Actor

    admin = get_user_model().objects.get(email=f"admin@{SLUG}.example")
    with schema_context(SLUG):
        definition = FormDefinition.objects.get(scenario="request", company=None)
        fields = list(definition.latest_version().fields)  # type: ignore[union-attr]
        fields.append(
            {
                "key": "code",
                "type": "text",
                "label": {"en": "Code"},
                "pattern": CATASTROPHIC_PATTERN,
            }
        )
        actor = Actor(user=admin)
        return publish(actor, save_draft(actor, definition, fields)).pk


def hostile_bodies(version_id: int) -> list[bytes]:
    """The two requests of issue 11, as whole HTTP/1.1 requests on a kept-alive connection."""
    answers = {
        "visitor_name": "Li",
        "visitor_mobile": "13800138000",
        "host_mobile": "13900000001",
        "visit_start": "2030-01-01T09:00:00+08:00",
        "visit_end": "2030-01-01T11:00:00+08:00",
        "purpose": "business",
        "by_car": False,
    }
    pattern = {"version_id": version_id, "answers": {**answers, "code": "a" * 100 + "!"}}
    crowd = {
        "version_id": version_id,
        "answers": {**answers, "companions": [{"name": "Li", "mobile": "13800138000"}] * 100_000},
    }
    requests = []
    for body in (pattern, crowd):
        data = json.dumps(body).encode()
        head = (
            f"POST /api/forms/request/check HTTP/1.1\r\nHost: {HOST}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
            "Connection: keep-alive\r\n\r\n"
        )
        requests.append(head.encode() + data)
    return requests


def measure(
    label: str,
    args: argparse.Namespace,
    site: Site,
    gate_port: int,
    public_port: int | None,
    bodies: list[bytes],
) -> None:
    hostile = Hostile()

    async def attack(index: int, stop_at: float) -> None:
        assert public_port is not None
        connection = await HttpConnection.open(public_port)
        sent = index
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            status, payload, keep_alive = await connection.exchange(bodies[sent % len(bodies)])
            hostile.latencies.append(time.perf_counter() - started)
            hostile.answers[f"{status} {decode(payload).get('code', '')}".strip()] += 1
            sent += 1
            if not keep_alive:
                connection.close()
                connection = await HttpConnection.open(public_port)
        connection.close()

    async def both() -> Any:
        stop_at = time.perf_counter() + args.warmup + args.duration
        attackers = [attack(index, stop_at) for index in range(args.hostile if public_port else 0)]
        scans = drive(
            gate_port, [site], args.clients, args.warmup, args.duration, 1000, None, args.rate
        )
        load, *_rest = await asyncio.gather(scans, *attackers)
        return load

    load = asyncio.run(both())
    print(f"{label}: {args.rate:.0f} scans/s offered, {args.duration:.0f} s measured")
    print(f"   gate scans: {load.summary(args.duration)}")
    if public_port is not None:
        print(f"   public: {hostile.summary()}")


def cpu_model() -> str:
    try:
        output = subprocess.run(
            ["lscpu"],  # noqa: S607
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return platform.processor() or platform.machine()
    for line in output.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return platform.machine()


if __name__ == "__main__":
    main()
