"""``manage.py create_gate_agent --building <slug> --name ...``: register a gate agent and
print its key, which is shown this once and stored only as a hash."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import get_public_schema_name, schema_context

from tenants.models import Building
from visit_platform.access.actions import create_gate_agent
from visit_platform.audit.actions import Actor


class Command(BaseCommand):
    help = "Register a gate agent for a building and print its API key once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--building", required=True, help="the building's slug")
        parser.add_argument("--name", required=True, help="where the agent runs, e.g. 'Lobby'")

    def handle(self, *args: Any, **options: Any) -> None:
        slug = options["building"]
        buildings = Building.objects.exclude(schema_name=get_public_schema_name())
        if not buildings.filter(schema_name=slug).exists():
            raise CommandError(f"No building {slug!r}.")
        with schema_context(slug):
            agent, key = create_gate_agent(Actor.system("create_gate_agent"), name=options["name"])
        self.stdout.write(f"Gate agent {agent.name!r} registered for {slug}. Its key (shown once):")
        self.stdout.write(key)
