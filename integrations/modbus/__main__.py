"""Standalone gate agent, for a machine at the building with no database:

    GATE_AGENT_KEY=<prefix>.<secret> python -m integrations.modbus \\
        --platform https://tower.example.com --journal /var/lib/gate-agent/journal.db

Controllers and register maps come from the platform (``GET /api/gate/config``) and are
cached in the journal, so the agent also starts while the platform is unreachable. Ctrl-C
and SIGTERM stop it cleanly: every coil is switched off first.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from pathlib import Path

from integrations.modbus.agent import GateAgent
from integrations.modbus.config import COUNTER_JUMP_ALLOWANCE, COUNTER_MAX_RATE, AgentConfig
from integrations.modbus.reader import LINE_TIMEOUT


def parse_arguments(argv: list[str] | None = None) -> AgentConfig:
    parser = argparse.ArgumentParser(prog="python -m integrations.modbus", description=__doc__)
    parser.add_argument(
        "--platform", required=True, help="the building's URL, e.g. https://tower.example.com"
    )
    parser.add_argument(
        "--host-header",
        default=None,
        help="the building's domain, when --platform is an IP address",
    )
    parser.add_argument("--journal", default="gate-agent.db", type=Path)
    parser.add_argument("--reader", default="127.0.0.1:7000", help="host:port for reader lines")
    parser.add_argument("--http", default="127.0.0.1:7001", help="host:port for the HTTP interface")
    parser.add_argument(
        "--line-timeout",
        type=float,
        default=LINE_TIMEOUT,
        help="seconds a reader may take to finish a line it began (then it is disconnected)",
    )
    parser.add_argument(
        "--counter-allowance",
        type=int,
        default=COUNTER_JUMP_ALLOWANCE,
        help="passages a counter may step between two readings besides --counter-rate; "
        "more is taken as a reset (an alert, not passages)",
    )
    parser.add_argument(
        "--counter-rate",
        type=float,
        default=COUNTER_MAX_RATE,
        help="passages per second a lane can count one way, for the same bound",
    )
    parser.add_argument(
        "--heartbeat",
        type=float,
        default=AgentConfig.heartbeat_interval,
        help="seconds between heartbeats to the platform (also sent when a controller's "
        "link changes)",
    )
    parser.add_argument("--verbose", action="store_true")
    arguments = parser.parse_args(argv)
    if not arguments.heartbeat > 0:
        parser.error("--heartbeat must be a positive number of seconds")
    key = os.environ.get("GATE_AGENT_KEY", "")
    if not key:
        parser.error("set GATE_AGENT_KEY to the agent key (manage.py create_gate_agent)")
    reader_host, _, reader_port = arguments.reader.rpartition(":")
    http_host, _, http_port = arguments.http.rpartition(":")
    logging.basicConfig(
        level=logging.DEBUG if arguments.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return AgentConfig(
        platform_url=arguments.platform,
        agent_key=key,
        platform_host=arguments.host_header,
        journal_path=arguments.journal,
        reader_host=reader_host or "127.0.0.1",
        reader_port=int(reader_port),
        http_host=http_host or "127.0.0.1",
        http_port=int(http_port),
        http_token=os.environ.get("GATE_AGENT_HTTP_TOKEN", ""),
        line_timeout=arguments.line_timeout,
        counter_jump_allowance=arguments.counter_allowance,
        counter_max_rate=arguments.counter_rate,
        heartbeat_interval=arguments.heartbeat,
    )


async def run(config: AgentConfig) -> None:
    """Run until Ctrl-C (which cancels this task) or SIGTERM (systemd, docker stop); both end
    through the agent's clean stop, which switches every coil off."""
    stopped = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopped.set)
    async with GateAgent(config):
        await stopped.wait()


def main(argv: list[str] | None = None) -> int:
    config = parse_arguments(argv)
    try:
        asyncio.run(run(config))
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
