"""Benchmark: scan-to-coil latency at a gate, online and offline, p50 and p99.

From the moment a reader's line reaches the gate agent to the moment the simulated turnstile
sees its entry coil set: the real agent (``integrations.modbus``) on this machine, a real
pymodbus server with the generic turnstile's map, and, online, the real platform (uvicorn,
production settings) on a scratch database created and dropped by this script.

  online:  reader line -> agent -> POST /api/gate/scans -> decision -> write_coil
  offline: the platform is stopped; reader line -> agent's offline decision (signature,
           lists, local use count) -> journal (SQLite) -> write_coil

Scans are sent one after another, as at one turnstile, each for a different pass. Figures go
to docs/performance.md with the machine they ran on. Never run by CI.

    python bench/gate_latency.py --scans 300
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.gate_decision import (  # noqa: E402
    SLUG,
    Server,
    free_port,
    percentiles,
    production_environment,
    provision,
)
from bench.scratch import django_on_scratch_database  # noqa: E402

SCRATCH_DATABASE = "visit_bench_gate_latency"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scans", type=int, default=300, help="scans in each mode")
    parser.add_argument("--warmup", type=int, default=20, help="scans not measured, per mode")
    parser.add_argument("--workers", type=int, default=1, help="server worker processes")
    args = parser.parse_args()
    with django_on_scratch_database(SCRATCH_DATABASE, production_environment) as environment:
        run(args, environment)


def run(args: argparse.Namespace, environment: dict[str, str]) -> None:
    import django

    django.setup()
    from django_tenants.utils import schema_context

    from integrations.modbus.register_map import (
        GENERIC_TURNSTILE,
        parse_register_map,
        shipped_map,
    )
    from visit_platform.access import actions
    from visit_platform.access.agent_setup import agent_config_from_database
    from visit_platform.access.models import Gate
    from visit_platform.audit.actions import Actor

    needed = 2 * (args.scans + args.warmup)
    site = provision(needed)
    register_map = shipped_map(GENERIC_TURNSTILE)
    for lane in register_map["gates"]:
        lane["pulse_ms"] = 50  # shortest allowed: the bench measures the opening, not the pulse
    modbus_port = free_port()
    actor = Actor.system("bench")
    with schema_context(SLUG):
        controller = actions.save_controller(
            actor,
            actions.ControllerFields(
                name="bench turnstile",
                host="127.0.0.1",
                port=modbus_port,
                poll_interval_ms=200,
                register_map=register_map,
            ),
        )
        gate = Gate.objects.get(pk=site.gate_ids[0])
        actions.wire_gate(actor, gate, controller, 1)
    server = Server(environment, args.workers, "uvicorn")
    server.start()
    try:
        with tempfile.TemporaryDirectory() as scratch, schema_context(SLUG):
            config = agent_config_from_database(
                SLUG,
                site.agent_key,
                platform_url=f"http://127.0.0.1:{server.port}",
                journal_path=Path(scratch) / "journal.db",
                reader_port=0,
                http_port=0,
            )
            results = asyncio.run(
                measure(
                    config,
                    parse_register_map(register_map),
                    modbus_port,
                    gate.pk,
                    site.tokens,
                    args,
                    server,
                )
            )
    finally:
        server.stop()
    for mode, latencies in results.items():
        print(f"{mode:>7}: {len(latencies)} scans, scan to coil {percentiles(latencies)}")
    load = os.getloadavg()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}"
    )


async def measure(
    config: Any,
    register_map: Any,
    modbus_port: int,
    gate_id: int,
    tokens: list[str],
    args: argparse.Namespace,
    server: Server,
) -> dict[str, list[float]]:
    from integrations.modbus.agent import GateAgent
    from integrations.modbus.simulator import TurnstileSimulator

    simulator = TurnstileSimulator(register_map, port=modbus_port)
    await simulator.start()
    agent = GateAgent(config)
    await agent.start()
    try:
        while not agent.links[config.controllers[0].id].connected:
            await asyncio.sleep(0.05)
        reader, writer = await asyncio.open_connection("127.0.0.1", agent.reader.line_port)
        remaining = iter(tokens)
        results = {}
        for mode in ("online", "offline"):
            if mode == "offline":
                server.stop()  # the platform is gone: every scan is decided at the gate
            latencies = []
            for index in range(args.warmup + args.scans):
                latency, answer = await scan(simulator, reader, writer, gate_id, next(remaining))
                expected = "GRANT granted"
                if not answer.startswith(expected):
                    raise RuntimeError(f"{mode} scan {index} was answered {answer!r}")
                if index >= args.warmup:
                    latencies.append(latency)
            results[mode] = latencies
        writer.close()
        depth = agent.journal.depth()
        print(f"journal after the offline scans: {depth} events waiting for the platform")
        return results
    finally:
        await agent.stop()
        await simulator.stop()


async def scan(
    simulator: Any,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    gate_id: int,
    token: str,
) -> tuple[float, str]:
    seen = len(simulator.coil_writes)
    started = time.monotonic()
    writer.write(f"{gate_id} {token}\n".encode())
    await writer.drain()
    answer = (await reader.readline()).decode().strip()
    raised = next(
        (write for write in simulator.coil_writes[seen:] if write.value and write.address == 0),
        None,
    )
    if raised is None:
        raise RuntimeError(f"no coil was set for {answer!r}")
    return raised.at - started, answer


if __name__ == "__main__":
    main()
