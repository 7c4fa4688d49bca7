"""``manage.py rotate_signing_key --building <slug>``: start signing with a new key.

The old key keeps verifying what it signed (printed slips) until those tokens expire.
Gate agents pick up the new public key at their next key sync.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import schema_context

from tenants.models import Building
from visit_platform.access.actions import rotate_signing_key
from visit_platform.audit.actions import Actor


class Command(BaseCommand):
    help = "Create a new pass-signing key for a building and retire the current one."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--building", required=True, help="the building's slug")

    def handle(self, *args: Any, **options: Any) -> None:
        slug = options["building"]
        if not Building.objects.filter(schema_name=slug).exclude(schema_name="public").exists():
            raise CommandError(f"No building {slug!r}.")
        with schema_context(slug):
            key = rotate_signing_key(Actor.system("rotate_signing_key"))
        self.stdout.write(f"Building {slug} now signs with key {key.key_id}.")
