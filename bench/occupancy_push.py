"""Benchmark: from a gate decision to every open security screen, p50/p95/p99, and what the
server spends on it.

The real platform (uvicorn, production settings) on a scratch database created and dropped by
this script; real screens: WebSocket clients signed in as security, on ``/ws/occupancy/``,
each waiting for its snapshot before the load starts; real events: gate decisions taken with
``decide_scan`` in this process, paced at ``--rate`` per second, published after commit as
the gate API publishes them. A screen's latency for an event is the moment its frame arrived
minus the decision's ``occurred_at`` (one machine, one clock).

Two shapes, as issue 14 asks:
  one:  500 screens on one building, every event in that building;
  many: 50 buildings with 10 screens each, events spread over the buildings.

The screens run in a process of their own (``--screens`` mode of this script), so parsing
their frames does not slow the process that decides. Figures go to docs/performance.md with
the machine they ran on. Never run by CI.

    python bench/occupancy_push.py --rate 100 --duration 20
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.gate_decision import (  # noqa: E402
    Server,
    cpu_sample,
    percentiles,
    postgres_version,
    production_environment,
)
from bench.scratch import django_on_scratch_database  # noqa: E402

SCRATCH_DATABASE = "visit_bench_occupancy_push"
PASSES_PER_BUILDING = 20
SECURITY_EMAIL = "guard@bench.example"
# Each event's decision time, found in the raw frame: parsing every frame whole in the screens'
# process would measure the benchmark's own JSON parsing.
OCCURRED_AT = re.compile(r'"type": ?"access_event".*?"occurred_at": ?"([^"]+)"')


@dataclass(frozen=True)
class Shape:
    name: str
    buildings: int
    screens_per_building: int


SHAPES = {
    "one": Shape("one", 1, 500),
    "many": Shape("many", 50, 10),
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=100, help="gate decisions per second")
    parser.add_argument("--duration", type=float, default=20, help="seconds of measured load")
    parser.add_argument("--warmup", type=float, default=3, help="seconds of load not measured")
    parser.add_argument("--shape", choices=[*SHAPES, "both"], default="both")
    parser.add_argument("--workers", type=int, default=1, help="server worker processes")
    parser.add_argument(
        "--scale", type=float, default=1, help="screens and buildings times this (a quick try)"
    )
    parser.add_argument("--screens", help=argparse.SUPPRESS)  # the screens' process
    args = parser.parse_args()
    if args.screens:
        asyncio.run(run_screens(json.loads(args.screens)))
        return
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/11")
    with django_on_scratch_database(SCRATCH_DATABASE, production_environment) as environment:
        run(args, environment)


def run(args: argparse.Namespace, environment: dict[str, str]) -> None:
    import django
    from django.conf import settings

    django.setup()
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"  # invitations
    shapes = list(SHAPES.values()) if args.shape == "both" else [SHAPES[args.shape]]
    shapes = [
        Shape(
            shape.name,
            max(1, round(shape.buildings * args.scale)),
            max(1, round(shape.screens_per_building * (args.scale if shape.buildings == 1 else 1))),
        )
        for shape in shapes
    ]
    started = time.perf_counter()
    sites = provision(max(shape.buildings for shape in shapes))
    print(
        f"provisioned {len(sites)} building(s), {PASSES_PER_BUILDING} passes and a gate each "
        f"({time.perf_counter() - started:.1f} s)"
    )
    server = Server(environment, args.workers, "uvicorn")
    try:
        server.start()
        for shape in shapes:
            measure(shape, sites[: shape.buildings], server, args)
    finally:
        server.stop()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {postgres_version()}"
    )


@dataclass
class Site:
    slug: str
    gate_id: int
    tokens: list[str]
    session: str


def provision(count: int) -> list[Site]:
    """``setup_platform``, the buildings (cloned from the template), each with a gate, passes
    with unlimited entries, and one security guard signed in to all of them."""
    from django.core.management import call_command
    from django.test import Client
    from django.utils import timezone
    from django_tenants.utils import schema_context

    from kernel import pass_tokens as tokens
    from tenants.actions import create_building
    from visit_platform.access import actions
    from visit_platform.audit.actions import Actor
    from visit_platform.directory.actions import create_company, create_host, grant_membership
    from visit_platform.directory.choices import Role
    from visit_platform.directory.models import Membership
    from visit_platform.visits.actions import create_visit, register_visitor
    from visit_platform.visits.choices import Scenario, VisitStatus

    call_command("setup_platform", verbosity=0)
    actor = Actor.system("bench")
    sites = []
    guard = None
    for number in range(count):
        slug = f"occ{number}"
        create_building(slug=slug, name=f"Bench {number}", admin_email=f"admin@{slug}.example")
        with schema_context(slug):
            gate = actions.create_gate(actor, name="Lobby", zone="Lobby")
            company = create_company(actor, name="Bench Company", floors="8")
            host = create_host(actor, company, name="Host", mobile="13900000001")
            grant_membership(actor, email=SECURITY_EMAIL, role=Role.SECURITY)
            guard = Membership.objects.select_related("user").get(role=Role.SECURITY).user
            start = timezone.now() - timedelta(hours=1)
            slips = []
            for index in range(PASSES_PER_BUILDING):
                visitor = register_visitor(actor, name=f"访客{index}", mobile=f"138{index:08d}")
                visit = create_visit(
                    actor,
                    scenario=Scenario.INVITE,
                    visitor=visitor,
                    host=host,
                    valid_from=start,
                    valid_until=start + timedelta(hours=12),
                    status=VisitStatus.APPROVED,
                )
                issued = actions.issue_pass(actor, visit)
                slips.append(actions.pass_token(issued.pass_record, tokens.TokenKind.SLIP))
        sites.append(Site(slug, gate.pk, slips, ""))
    client = Client()
    client.force_login(guard)
    session = client.cookies["sessionid"].value
    for site in sites:
        site.session = session
    return sites


def measure(shape: Shape, sites: list[Site], server: Server, args: argparse.Namespace) -> None:
    """Open the screens, wait for every snapshot, decide at the paced rate, collect."""
    plan = {
        "port": server.port,
        "buildings": [site.slug for site in sites],
        "screens_per_building": shape.screens_per_building,
        "seconds": args.warmup + args.duration + 5,
        "session": sites[0].session,
    }
    screens = subprocess.Popen(  # noqa: S603 - our own interpreter and script
        [sys.executable, __file__, "--screens", json.dumps(plan)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert screens.stdout is not None
    ready = screens.stdout.readline()  # "ready <n>" once every screen has its snapshot
    if not ready.startswith("ready"):
        screens.kill()
        raise SystemExit(f"the screens did not connect: {ready!r}")
    decided, before, after = decide_paced(sites, args.rate, args.warmup, args.duration, server)
    output, _ = screens.communicate()
    result = json.loads(output)
    end = args.warmup + args.duration
    latencies = [value for value in result["latencies"] if args.warmup <= value[0] < end]
    delays = [delay for _, delay in latencies]
    expected = decided * shape.screens_per_building
    seconds = args.duration
    server_cpu = (after.server - before.server) / seconds * 100
    redis_cpu = (after.redis - before.redis) / seconds * 100
    machine_cpu = (after.machine - before.machine) / seconds * 100
    total_screens = shape.screens_per_building * len(sites)
    print(
        f"{shape.name}: {len(sites)} building(s) x {shape.screens_per_building} screens "
        f"= {total_screens} screens, {args.rate:.0f} decisions/s for {seconds:.0f} s "
        f"after {args.warmup:.0f} s warm-up"
    )
    print(
        f"   delivered {len(delays)} of {expected} event-screen pairs"
        f" ({result['resyncs']} resync(s), {result['closed']} screen(s) closed)"
    )
    if delays:
        print(f"   event to screen: {percentiles(delays)}")
    print(
        f"   CPU over the measured window (100% = one core): server {server_cpu:.0f}%, "
        f"Redis {redis_cpu:.0f}%, whole machine "
        f"{machine_cpu:.0f}% (the deciding process, PostgreSQL and the screens' process included)"
    )


def decide_paced(
    sites: list[Site], rate: float, warmup: float, duration: float, server: Server
) -> tuple[int, Any, Any]:
    """Gate decisions at a steady pace, round-robin over the buildings, each pass going in and
    out in turn; returns how many fell in the measured window and the CPU samples around it."""
    from django_tenants.utils import schema_context

    from visit_platform.access.actions import decide_scan
    from visit_platform.access.queries import gate_for_scans

    gates = {}
    for site in sites:
        with schema_context(site.slug):
            gates[site.slug] = gate_for_scans(site.gate_id)
    begin = time.perf_counter()
    interval = 1 / rate
    number = 0
    measured = 0
    before = after = None
    while True:
        due = begin + number * interval
        elapsed = due - begin
        if elapsed >= warmup + duration:
            break
        if before is None and elapsed >= warmup:
            before = cpu_sample(server.pid)
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        site = sites[number % len(sites)]
        turn = number // len(sites)
        token = site.tokens[turn % PASSES_PER_BUILDING]
        direction = "in" if (turn // PASSES_PER_BUILDING) % 2 == 0 else "out"
        with schema_context(site.slug):
            decide_scan(gate=gates[site.slug], token=token, direction=direction)
        if elapsed >= warmup:
            measured += 1
        number += 1
    after = cpu_sample(server.pid)
    assert before is not None
    time.sleep(1)  # the last events on their way
    return measured, before, after


# --- The screens' process (no Django) ---------------------------------------------------------


async def run_screens(plan: dict[str, Any]) -> None:
    import websockets

    port = plan["port"]
    started = time.time()
    latencies: list[tuple[float, float]] = []
    counters = {"resyncs": 0, "closed": 0}

    async def screen(slug: str, connected: asyncio.Event) -> None:
        host = f"{slug}.localhost"
        headers = {"Origin": f"http://{host}:{port}", "Cookie": f"sessionid={plan['session']}"}
        # The building's name in the URL (the Host header), the loopback address to connect to.
        async with websockets.connect(
            f"ws://{host}:{port}/ws/occupancy/",
            host="127.0.0.1",
            port=port,
            additional_headers=headers,
            max_size=2**24,
            open_timeout=120,
        ) as socket:
            await socket.recv()  # the snapshot (or the old consumer's greeting)
            connected.set()
            try:
                async for frame in socket:
                    arrived = time.time()
                    text = frame if isinstance(frame, str) else frame.decode()
                    if '"snapshot"' in text[:40]:
                        counters["resyncs"] += 1
                        continue
                    for occurred in OCCURRED_AT.findall(text):
                        moment = datetime.fromisoformat(occurred).timestamp()
                        latencies.append((moment - started, arrived - moment))
            except websockets.ConnectionClosed:
                counters["closed"] += 1

    tasks = []
    events = []
    for slug in plan["buildings"]:
        for _ in range(plan["screens_per_building"]):
            connected = asyncio.Event()
            events.append(connected)
            tasks.append(asyncio.create_task(screen(slug, connected)))
            await asyncio.sleep(0.005)  # a wall of screens switched on, not one burst
    all_connected = asyncio.gather(*(event.wait() for event in events))
    done, _ = await asyncio.wait(
        [asyncio.ensure_future(all_connected), *tasks],
        timeout=300,
        return_when=asyncio.FIRST_COMPLETED,
    )
    for finished in done:
        if finished in tasks:  # a screen that could not connect ends the run
            print(f"failed {finished.exception()!r}", flush=True)
            return
    print(f"ready {len(tasks)}", flush=True)
    started = time.time()
    await asyncio.sleep(plan["seconds"])
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    print(json.dumps({"latencies": latencies, **counters}))


if __name__ == "__main__":
    main()
