"""``manage.py setup_platform``: migrate everything and make the platform ready to provision.

Idempotent, so deployments run it on every release: shared tables, the public site's domain,
the template schema new buildings are cloned from, then every building's schema through the
release runner (``tenants.release``: worker processes, one transaction a building). It exits
non-zero when a building failed; the others are migrated, and a re-run does what is left.
"""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand

from tenants.management.commands.migrate_buildings import migrate_buildings
from tenants.provisioning import ensure_public_site, ensure_template_schema


class Command(BaseCommand):
    help = "Migrate the shared and building schemas, the template schema, and the public site."

    def handle(self, *args: Any, **options: Any) -> None:
        verbosity = options["verbosity"]
        call_command("migrate_schemas", shared=True, interactive=False, verbosity=verbosity)
        ensure_public_site()
        ensure_template_schema()
        migrate_buildings(self, schemas=None, workers=None, verbosity=verbosity)
        self.stdout.write("The platform is migrated and ready.")
