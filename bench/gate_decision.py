"""Benchmark: gate decisions per second, over HTTP and in-process, and one signature check.

Runs against a scratch database on the PostgreSQL that ``DATABASE_URL`` points at (default:
the local service), created and dropped by this script, and the Redis at ``REDIS_URL``
(default: the local service). It provisions ``--buildings`` buildings, each with approved
visits (``--visits`` in all, spread evenly), every visit with an unlimited pass, two gates and
one gate agent, then measures

  a. ``POST /api/gate/scans`` over HTTP: a real ASGI server (uvicorn, 2 workers, production
     settings) in a subprocess on 127.0.0.1, driven by concurrent clients that scan the slip
     tokens of many different passes, the scans going round the buildings in turn (each with
     its building's host name, agent key, gates and tokens, as the agents of many buildings
     send them to one installation): a1, as fast as the clients can (the most the server
     does), a2, at a steady ``--rate`` (latency at that load); each with where the machine's
     CPU time went, per decision;
  b. ``decide_scan`` alone, in this process, one decision after another, in the first building
     (b2: each in the next building, switching the search path every time);
  c. one signature check alone: ``tokens.parse_token`` + ``tokens.verify_token``.

Prints its figures; the latest are copied into docs/performance.md with the machine they ran
on. Never run by CI: tests assert behaviour, not speed. Linux only (CPU use is read from
/proc); ``--server gunicorn`` needs gunicorn installed, which the project does not require.

    python bench/gate_decision.py --duration 15 --clients 32 --buildings 100

Other benchmarks import ``Server``, ``Load``, ``drive``, ``building_site``, ``Site``,
``production_environment`` and ``percentiles`` from here: keep those names.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.scratch import django_on_scratch_database  # noqa: E402

SCRATCH_DATABASE = "visit_bench_gate_decision"
SLUG = "bench"
HOST = f"{SLUG}.localhost"
SCANS_PATH = "/api/gate/scans"


# --- Scratch database and production settings -----------------------------------------------


def production_environment(database_url: str) -> dict[str, str]:
    """Production settings with secrets made up for this run. The server gets the same ones as
    this process: the signing keys this process creates are encrypted with these keys."""
    return {
        "DEBUG": "0",
        "DATABASE_URL": database_url,
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        "BASE_DOMAIN": "localhost",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEYS": f"bench={secrets.token_urlsafe(32)}",
        "BLIND_INDEX_KEY": secrets.token_urlsafe(32),
        # Plain HTTP on loopback: no TLS proxy in front of the server here.
        "SECURE_SSL_REDIRECT": "0",
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "visit_platform.settings",
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--visits",
        type=int,
        default=1000,
        help="approved visits in all, one pass each, spread evenly over the buildings",
    )
    parser.add_argument(
        "--buildings",
        type=int,
        default=100,
        help="buildings the scans are spread over, round-robin (one schema each)",
    )
    parser.add_argument("--duration", type=float, default=15, help="seconds of HTTP load")
    parser.add_argument("--warmup", type=float, default=3, help="seconds of load not measured")
    parser.add_argument("--clients", type=int, default=32, help="concurrent HTTP clients")
    parser.add_argument(
        "--rate",
        type=float,
        default=500,
        help="scans per second offered at a steady pace in the second run (open loop: latency "
        "counts from when each scan was due, so a queue in front of the server shows); the "
        "first run has every client scan again as soon as it has its answer, which measures "
        "the most the server can do. 0 skips the second run",
    )
    parser.add_argument(
        "--requests-per-connection",
        type=int,
        default=1000,
        help="scans a client sends on one connection before it opens another (agents and a "
        "proxy with keep-alive keep theirs open; 1 opens a connection per scan)",
    )
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument(
        "--server", choices=["uvicorn", "gunicorn"], default="uvicorn", help="process manager"
    )
    parser.add_argument("--decisions", type=int, default=2000, help="in-process decisions")
    parser.add_argument("--checks", type=int, default=20000, help="signature checks")
    parser.add_argument(
        "--profile", action="store_true", help="cProfile the in-process decisions and print"
    )
    parser.add_argument(
        "--scratch-database",
        default=SCRATCH_DATABASE,
        help="name of the database created and dropped for the run (two runs at once on one "
        "PostgreSQL need two names)",
    )
    args = parser.parse_args()

    with django_on_scratch_database(args.scratch_database, production_environment) as environment:
        run(args, environment)


def run(args: argparse.Namespace, environment: dict[str, str]) -> None:
    import django

    django.setup()
    started = time.perf_counter()
    sites = provision_buildings(args.buildings, args.visits)
    visits = sum(len(site.tokens) for site in sites)
    print(
        f"provisioned {len(sites)} buildings: {visits} approved visits with unlimited passes in "
        f"all, 2 gates and 1 gate agent each ({time.perf_counter() - started:.1f} s)"
    )
    server = Server(environment, args.workers, args.server)
    runs = [("a1", None)] + ([("a2", args.rate)] if args.rate else [])
    try:
        server.start()
        for label, rate in runs:
            load = asyncio.run(
                drive(
                    server.port,
                    sites,
                    args.clients,
                    args.warmup,
                    args.duration,
                    args.requests_per_connection,
                    server.pid,
                    rate,
                    args.scratch_database,
                )
            )
            pace = f"{rate:.0f} scans/s offered" if rate else "each as fast as it can"
            print(
                f"{label}. end to end, POST {SCANS_PATH} over HTTP ({server.description}, "
                f"{len(sites)} buildings in turn, {args.clients} clients, {pace}, "
                f"{args.requests_per_connection} scan(s) per connection, "
                f"{args.duration:.0f} s after {args.warmup:.0f} s warm-up):"
            )
            print(f"   {load.summary(args.duration)}")
            print(f"   {load.cpu_summary(args.duration)}")
    finally:
        server.stop()
    measure_decisions(sites[0], args.decisions, args.profile)
    if len(sites) > 1:
        measure_decisions_in_turn(sites, args.decisions)
    measure_signature_checks(sites[0], args.checks)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {postgres_version()}"
    )


def postgres_version() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        (version,) = cursor.fetchone()
    return f"PostgreSQL {version.split()[0]}"


# --- The building -----------------------------------------------------------------------------


@dataclass
class Site:
    """What the load needs of one building: its host name, gates, agent's key and one slip
    token per pass."""

    gate_ids: list[int]
    agent_key: str
    tokens: list[str]
    slug: str = SLUG
    host: str = HOST


def provision(visit_count: int) -> Site:
    """``setup_platform``, the building ``bench`` and what ``building_site`` puts in it."""
    from django.core.management import call_command

    from tenants.actions import create_building

    call_command("setup_platform", verbosity=0)
    create_building(slug=SLUG, name="Bench Tower", admin_email=f"admin@{SLUG}.example")
    return building_site(SLUG, visit_count)


def provision_buildings(count: int, visit_count: int) -> list[Site]:
    """``setup_platform`` and ``count`` buildings, ``visit_count`` visits spread over them (at
    least one each). The first building is ``bench``, as in the single-building benchmarks."""
    from django.core.management import call_command

    from tenants.actions import create_building

    call_command("setup_platform", verbosity=0)
    sites = []
    for index in range(count):
        slug = SLUG if index == 0 else f"{SLUG}{index:04d}"
        create_building(slug=slug, name=f"Bench Tower {index}", admin_email=f"admin@{slug}.example")
        # The first buildings take the remainder, so the total is what was asked.
        visits = max(1, visit_count // count + (index < visit_count % count))
        sites.append(building_site(slug, visits))
    return sites


def building_site(slug: str, visit_count: int) -> Site:
    """Two gates, one gate agent, a company and a host, and ``visit_count`` approved visits
    each with an unlimited pass, in the existing building ``slug``, all through the real
    actions; the site's host name is the building's domain."""
    from django.utils import timezone
    from django_tenants.utils import schema_context

    from kernel import pass_tokens as tokens
    from tenants.actions import building_domain
    from visit_platform.access import actions
    from visit_platform.audit.actions import Actor
    from visit_platform.directory.actions import create_company, create_host
    from visit_platform.visits.actions import create_visit, register_visitor
    from visit_platform.visits.choices import Scenario, VisitStatus

    actor = Actor.system("bench")
    with schema_context(slug):
        gates = [actions.create_gate(actor, name=name) for name in ("A", "B")]
        _agent, agent_key = actions.create_gate_agent(actor, name="bench agent")
        company = create_company(actor, name="Bench Company", floors="8")
        host = create_host(actor, company, name="Host", mobile="13900000001")
        start = timezone.now() - timedelta(hours=1)
        slip_tokens = []
        for index in range(visit_count):
            visitor = register_visitor(actor, name=f"Visitor {index}", mobile=f"138{index:08d}")
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
            slip_tokens.append(actions.pass_token(issued.pass_record, tokens.TokenKind.SLIP))
    return Site([gate.pk for gate in gates], agent_key, slip_tokens, slug, building_domain(slug))


# --- a. End to end over HTTP ------------------------------------------------------------------


class Server:
    """The ASGI application with production settings on a free loopback port: uvicorn's own
    process manager, or gunicorn with uvicorn workers."""

    def __init__(self, environment: dict[str, str], workers: int, kind: str) -> None:
        self.environment = {**os.environ, **environment}
        self.workers = workers
        self.kind = kind
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.description = f"{kind}, {workers} workers"

    def command(self) -> list[str]:
        application = "visit_platform.asgi:application"
        if self.kind == "gunicorn":
            return [
                *(sys.executable, "-m", "gunicorn", application),
                *("--worker-class", "uvicorn.workers.UvicornWorker"),
                *("--workers", str(self.workers), "--bind", f"127.0.0.1:{self.port}"),
                # Workers say when they are ready only at the info level; gunicorn writes no
                # access log unless asked to.
                *("--log-level", "info", "--no-control-socket"),
            ]
        return [
            *(sys.executable, "-m", "uvicorn", application),
            *("--host", "127.0.0.1", "--port", str(self.port), "--workers", str(self.workers)),
            # A proxy in front logs requests in production; logging each one here would
            # measure the log, not the decision. Workers say when they are ready at info level.
            *("--no-access-log", "--log-level", "info"),
        ]

    def start(self) -> None:
        """Start the server and wait until every worker has started the application: a client
        that connected earlier would stay with the first worker for the whole run."""
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            self.command(),
            cwd=ROOT,
            env=self.environment,
            start_new_session=True,
            stderr=subprocess.PIPE,
            text=True,
        )
        ready = threading.Semaphore(0)
        threading.Thread(target=self._watch_log, args=(ready,), daemon=True).start()
        for _worker in range(self.workers):
            if not ready.acquire(timeout=60):
                self.stop()
                raise RuntimeError("the server's workers did not start within 60 s")
        # A single uvicorn process says its application started before it binds the port.
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("the server did not listen within 30 s") from None
                time.sleep(0.1)

    def _watch_log(self, ready: threading.Semaphore) -> None:
        assert self.process is not None and self.process.stderr is not None
        for line in self.process.stderr:
            if "Application startup complete" in line:
                ready.release()
            elif self.shown(line):
                sys.stderr.write(f"server: {line}")

    def shown(self, line: str) -> bool:
        """Whether a line of the server's log is worth showing: not its info lines."""
        return "[INFO]" not in line and not line.startswith("INFO:")

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Load:
    """What the clients saw in the measured window."""

    latencies: list[float] = field(default_factory=list)
    answered_in_window: int = 0  # decisions whose answer came before the end of the window
    granted: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    cpu: list[CpuSample] = field(default_factory=list)  # at the start and the end

    def summary(self, duration: float) -> str:
        count = len(self.latencies)
        if not count:
            return f"no decisions; failures: {dict(self.failures)}"
        late = count - self.answered_in_window
        failures = ", ".join(f"{key} x{n}" for key, n in self.failures.most_common()) or "none"
        return (
            f"{self.answered_in_window / duration:.0f} decisions/s answered; latency "
            f"{percentiles(self.latencies)} ({count} decisions, {late} answered after the "
            f"window); granted {self.granted / count:.1%}; failed requests: {failures}"
        )

    def cpu_summary(self, duration: float) -> str:
        """Where the machine's CPU time went, per decision: it explains a ceiling."""
        if len(self.cpu) != 2 or not self.answered_in_window:
            return "CPU use not measured"
        start, end = self.cpu
        count = self.answered_in_window

        def per_decision(part: str) -> float:
            return (getattr(end, part) - getattr(start, part)) / count * 1000

        busy, server, client, database, redis = map(
            per_decision, ("machine", "server", "client", "database", "redis")
        )
        rest = busy - server - client - database - redis
        cores = os.cpu_count() or 1
        return (
            f"CPU per decision {busy:.2f} ms: server workers {server:.2f} ms, PostgreSQL "
            f"{database:.2f} ms, Redis {redis:.2f} ms, load generator {client:.2f} ms, the rest "
            f"of the machine {rest:.2f} ms; the {cores} cores were "
            f"{(end.machine - start.machine) / duration / cores:.0%} busy"
        )


@dataclass(frozen=True)
class CpuSample:
    """CPU seconds used so far: by the whole machine, the server's processes, this process."""

    machine: float
    server: float
    client: float
    database: float  # PostgreSQL's processes
    redis: float


def cpu_sample(server_pid: int, database: str | None = None) -> CpuSample:
    """Read from /proc (Linux): a benchmark shares its cores with PostgreSQL and the load.

    With ``database``, PostgreSQL's share is that of the backends serving that database only
    (their process title names it): on a machine shared with other work, the other databases'
    backends belong to the rest of the machine."""
    ticks = os.sysconf("SC_CLK_TCK")
    with open("/proc/stat") as stat:
        # user nice system idle iowait irq softirq steal
        values = [int(value) for value in stat.readline().split()[1:9]]
    busy = (sum(values) - values[3] - values[4]) / ticks
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    names: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as process:
                name, fields = process.read().split(" (", 1)[1].rsplit(")", 1)
        except OSError:  # the process has gone
            continue
        values = fields.split()
        parents[int(entry)] = int(values[1])
        times[int(entry)] = (int(values[11]) + int(values[12])) / ticks
        names[int(entry)] = name
    tree, grew = {server_pid}, True
    while grew:
        children = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= children
        grew = bool(children)
    server = sum(times.get(pid, 0.0) for pid in tree)

    def used_by(prefix: str) -> float:
        return sum(times[pid] for pid, name in names.items() if name.startswith(prefix))

    def serving(database: str) -> float:
        total = 0.0
        for pid, name in names.items():
            if not name.startswith("postgres"):
                continue
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as title:
                    words = title.read().replace(b"\0", b" ").decode(errors="replace").split()
            except OSError:
                continue
            total += times[pid] if database in words else 0.0
        return total

    postgres = used_by("postgres") if database is None else serving(database)
    return CpuSample(busy, server, times.get(os.getpid(), 0.0), postgres, used_by("redis-server"))


async def drive(
    port: int,
    sites: list[Site],
    clients: int,
    warmup: float,
    duration: float,
    requests_per_connection: int = 1,
    server_pid: int | None = None,
    rate: float | None = None,
    database: str | None = None,
    stop: threading.Event | None = None,
) -> Load:
    """``clients`` clients scanning in a loop; only requests due after the warm-up count.
    With ``rate``, ``stop`` ends the load early, when it is set (bench/scale.py keeps the gates
    busy for as long as a release runs).

    Scan ``n`` goes to building ``n mod len(sites)`` (with that building's host name, agent
    key, gates and tokens), so consecutive scans, and those in flight together, are for
    different buildings, as from many buildings' agents at once.

    With ``rate``, scans fall due at that steady pace and the clients take them in turn; a
    scan's latency runs from when it was due, so that time spent waiting for a free client
    counts (a load generator that waits for the server before sending the next request would
    hide exactly the delays a queue causes). Without it, each client scans again at once.

    By default every scan comes on a new connection, as from a proxy in front (nginx speaks
    HTTP/1.0 to its upstreams unless told otherwise); this also spreads the load over the
    workers, where long-lived connections stay with whichever worker accepted them. Raw
    asyncio streams keep the load generator cheap: it shares the cores with the server and
    PostgreSQL.
    """
    load = Load()
    measure_from = time.perf_counter() + warmup
    deadline = measure_from + duration
    heads = [
        (
            f"POST {SCANS_PATH} HTTP/1.1\r\nHost: {site.host}\r\n"
            f"Authorization: Bearer {site.agent_key}\r\nContent-Type: application/json\r\n"
            "Content-Length: {length}\r\nConnection: {connection}\r\n\r\n"
        )
        for site in sites
    ]

    def request(scan: int, last: bool) -> bytes:
        site, head = sites[scan % len(sites)], heads[scan % len(sites)]
        turn = scan // len(sites)  # this building's own count of scans
        body = json.dumps(
            {
                "gate_id": site.gate_ids[turn % len(site.gate_ids)],
                "token": site.tokens[turn % len(site.tokens)],
                "direction": "in",
                # As an agent does, so that a retried scan is answered, not redone.
                "event_id": str(uuid.uuid4()),
            }
        ).encode()
        connection = "close" if last else "keep-alive"
        return head.format(length=len(body), connection=connection).encode() + body

    due: asyncio.Queue[float] = asyncio.Queue()

    async def pace() -> None:
        if rate is None:
            return
        start = time.perf_counter()
        count = 0
        while (moment := start + count / rate) < deadline:
            if stop is not None and stop.is_set():
                break
            await asyncio.sleep(max(0.0, moment - time.perf_counter()))
            due.put_nowait(moment)
            count += 1
        for _client in range(clients):
            due.put_nowait(deadline)  # tells each client to stop

    async def next_start() -> float:
        if rate is None:
            return time.perf_counter()
        return await due.get()

    async def client(index: int) -> None:
        scan = index
        connection: HttpConnection | None = None
        sent = 0
        while (started := await next_start()) < deadline:
            if connection is None:
                connection, sent = await HttpConnection.open(port), 0
            sent += 1
            last = sent >= requests_per_connection
            status, payload, keep_alive = await connection.exchange(request(scan, last))
            scan += clients
            elapsed = time.perf_counter() - started
            if started >= measure_from:
                answer = decode(payload)
                if 200 <= status < 300 and "granted" in answer:
                    load.latencies.append(elapsed)
                    load.answered_in_window += started + elapsed <= deadline
                    load.granted += bool(answer["granted"])
                else:
                    load.failures[f"{status} {answer.get('code', '')}".strip()] += 1
            if last or not keep_alive:
                connection.close()
                connection = None
        if connection is not None:
            connection.close()

    async def sample_cpu() -> None:
        if server_pid is None:
            return
        await asyncio.sleep(measure_from - time.perf_counter())
        load.cpu.append(cpu_sample(server_pid, database))
        await asyncio.sleep(deadline - time.perf_counter())
        load.cpu.append(cpu_sample(server_pid, database))

    await asyncio.gather(sample_cpu(), pace(), *(client(index) for index in range(clients)))
    return load


class HttpConnection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection of the load generator: a request out, its answer in.

    A bare protocol rather than asyncio streams: the load generator shares the two cores with
    the server, and every microsecond it spends is one the server does not get. Answers must
    carry Content-Length, as the gate API's do.
    """

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.answer: asyncio.Future[tuple[int, bytes, bool]] | None = None

    @classmethod
    async def open(cls, port: int) -> HttpConnection:
        loop = asyncio.get_running_loop()
        _transport, connection = await loop.create_connection(cls, "127.0.0.1", port)
        return connection

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, error: Exception | None) -> None:
        if self.answer is not None and not self.answer.done():
            self.answer.set_exception(error or ConnectionError("the server closed the connection"))

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0 or self.answer is None or self.answer.done():
            return
        lines = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            name, _separator, value = line.partition(":")
            headers[name.strip().lower()] = value.strip().lower()
        length = int(headers.get("content-length", "0"))
        if len(self.buffer) < end + 4 + length:
            return
        body = bytes(self.buffer[end + 4 : end + 4 + length])
        del self.buffer[: end + 4 + length]
        status = int(lines[0].split(" ", 2)[1])
        self.answer.set_result((status, body, headers.get("connection") != "close"))

    async def exchange(self, request: bytes) -> tuple[int, bytes, bool]:
        """Send ``request``; its status, body and whether the connection stays open."""
        assert self.transport is not None
        self.answer = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return await self.answer

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


def decode(payload: bytes) -> dict[str, Any]:
    try:
        answer = json.loads(payload)
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}


# --- b. The decision alone, c. one signature check ---------------------------------------------


def measure_decisions(site: Site, count: int, profile: bool) -> None:
    """``decide_scan`` in this process, sequentially, on one persistent connection."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django_tenants.utils import schema_context

    from visit_platform.access.actions import decide_scan
    from visit_platform.access.models import Gate

    with schema_context(site.slug):
        gates = list(Gate.objects.filter(pk__in=site.gate_ids).order_by("pk"))
        with CaptureQueriesContext(connection) as queries:
            decide_scan(gate=gates[0], token=site.tokens[0], direction="in")
        latencies = []
        granted = 0
        profiler = None
        if profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        for index in range(count):
            started = time.perf_counter()
            decision = decide_scan(
                gate=gates[index % 2], token=site.tokens[index % len(site.tokens)], direction="in"
            )
            latencies.append(time.perf_counter() - started)
            granted += decision.granted
        if profiler is not None:
            profiler.disable()
    total = sum(latencies)
    print(
        f"b. decide_scan in-process, sequential, one persistent connection: {count} decisions, "
        f"{count / total:.0f} decisions/s; latency {percentiles(latencies)}; "
        f"granted {granted / count:.1%}; {len(queries)} SQL statements per decision"
    )
    if profiler is not None:
        import pstats

        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


def measure_decisions_in_turn(sites: list[Site], count: int) -> None:
    """As b, but each decision in the next building: what switching the connection's search
    path costs (PostgreSQL parses and plans a prepared statement again when the search path
    differs from its previous run)."""
    from django_tenants.utils import schema_context

    from visit_platform.access.actions import decide_scan
    from visit_platform.access.models import Gate

    gates = {}
    for site in sites:
        with schema_context(site.slug):
            gates[site.slug] = list(Gate.objects.filter(pk__in=site.gate_ids).order_by("pk"))
    latencies = []
    granted = 0
    for index in range(count):
        site = sites[index % len(sites)]
        turn = index // len(sites)
        started = time.perf_counter()
        with schema_context(site.slug):
            decision = decide_scan(
                gate=gates[site.slug][turn % 2],
                token=site.tokens[turn % len(site.tokens)],
                direction="in",
            )
        latencies.append(time.perf_counter() - started)
        granted += decision.granted
    total = sum(latencies)
    print(
        f"b2. as b, each decision in the next of the {len(sites)} buildings: {count} decisions, "
        f"{count / total:.0f} decisions/s; latency {percentiles(latencies)}; "
        f"granted {granted / count:.1%}"
    )


def measure_signature_checks(site: Site, count: int) -> None:
    from django_tenants.utils import schema_context

    from kernel import pass_tokens as tokens
    from visit_platform.access.queries import public_key

    with schema_context(site.slug):
        key = public_key(tokens.parse_token(site.tokens[0]).claims.key_id)
    assert key is not None
    sample = [site.tokens[index % len(site.tokens)] for index in range(count)]
    started = time.perf_counter()
    for token in sample:
        tokens.verify_token(tokens.parse_token(token), key)
    elapsed = time.perf_counter() - started
    print(
        f"c. one signature check (parse_token + verify_token, Ed25519): "
        f"{elapsed / count * 1e6:.0f} µs per check ({count} checks)"
    )


def percentiles(latencies: list[float]) -> str:
    ordered = sorted(latencies)

    def at(share: float) -> float:
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000

    return (
        f"p50 {statistics.median(ordered) * 1000:.1f} ms, p95 {at(0.95):.1f} ms, "
        f"p99 {at(0.99):.1f} ms, max {ordered[-1] * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main()
