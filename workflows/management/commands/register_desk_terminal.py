"""``manage.py register_desk_terminal --building <slug> --name ...``: register a reception
desk's visitor terminal and print its key, which is shown this once and stored only as a
hash."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import get_public_schema_name, schema_context

from tenants.models import Building
from visit_platform.audit.actions import Actor
from workflows.actions.terminals import register_desk_terminal


class Command(BaseCommand):
    help = "Register a desk's visitor terminal for a building and print its API key once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--building", required=True, help="the building's slug")
        parser.add_argument("--name", required=True, help="which desk, e.g. 'Lobby desk'")

    def handle(self, *args: Any, **options: Any) -> None:
        slug = options["building"]
        buildings = Building.objects.exclude(schema_name=get_public_schema_name())
        if not buildings.filter(schema_name=slug).exists():
            raise CommandError(f"No building {slug!r}.")
        with schema_context(slug):
            terminal, key = register_desk_terminal(
                Actor.system("register_desk_terminal"), name=options["name"]
            )
        self.stdout.write(
            f"Terminal {terminal.name!r} registered for {slug}. Its key (shown once):"
        )
        self.stdout.write(key)
