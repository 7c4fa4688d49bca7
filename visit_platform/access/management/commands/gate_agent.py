"""``manage.py gate_agent --building <slug>``: run the gate agent with its controllers read
from this database (the same agent as ``python -m integrations.modbus``)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import get_public_schema_name, schema_context

from integrations.modbus.__main__ import run
from kernel.errors import DomainError
from tenants.models import Building
from visit_platform.access.actions import create_gate_agent
from visit_platform.access.agent_setup import agent_config_from_database
from visit_platform.audit.actions import Actor


class Command(BaseCommand):
    help = "Run the gate agent for a building, configured from the database."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--building", required=True, help="the building's slug")
        parser.add_argument(
            "--platform",
            default="http://127.0.0.1:8000",
            help="where the platform serves this building (its domain is sent as Host)",
        )
        parser.add_argument(
            "--key",
            default=os.environ.get("GATE_AGENT_KEY", ""),
            help="the agent key (default: $GATE_AGENT_KEY; without one, a new agent is registered)",
        )
        parser.add_argument("--journal", type=Path, default=None)
        parser.add_argument("--reader-port", type=int, default=7000)
        parser.add_argument("--http-port", type=int, default=7001)

    def handle(self, *args: Any, **options: Any) -> None:
        slug = options["building"]
        buildings = Building.objects.exclude(schema_name=get_public_schema_name())
        if not buildings.filter(schema_name=slug).exists():
            raise CommandError(f"No building {slug!r}.")
        key = options["key"]
        with schema_context(slug):
            if not key:
                agent, key = create_gate_agent(Actor.system("gate_agent"), name="gate_agent")
                self.stdout.write(f"Registered gate agent {agent.pk}; its key (shown once): {key}")
            try:
                config = agent_config_from_database(
                    slug,
                    key,
                    platform_url=options["platform"],
                    journal_path=options["journal"],
                    reader_port=options["reader_port"],
                    http_port=options["http_port"],
                )
            except (DomainError, ValueError) as error:
                raise CommandError(str(error)) from error
        # /health and /sync take this token, or the agent key (docs/dev/gate-agent.md).
        config = dataclasses.replace(config, http_token=os.environ.get("GATE_AGENT_HTTP_TOKEN", ""))
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
        self.stdout.write(
            f"Gate agent for {slug}: {len(config.controllers or [])} controller(s); readers on "
            f"127.0.0.1:{config.reader_port} (lines) and :{config.http_port} (HTTP)."
        )
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(run(config))
