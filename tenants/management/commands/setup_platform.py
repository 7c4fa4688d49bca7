"""``manage.py setup_platform``: migrate everything and make the platform ready to provision.

Idempotent, so deployments run it on every release: shared tables, every building's schema,
the public site's domain, and the template schema new buildings are cloned from.
"""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand

from tenants.provisioning import ensure_public_site, ensure_template_schema


class Command(BaseCommand):
    help = "Migrate the shared and building schemas, the template schema, and the public site."

    def handle(self, *args: Any, **options: Any) -> None:
        verbosity = options["verbosity"]
        call_command("migrate_schemas", shared=True, interactive=False, verbosity=verbosity)
        call_command("migrate_schemas", tenant=True, interactive=False, verbosity=verbosity)
        ensure_public_site()
        ensure_template_schema()
        self.stdout.write("The platform is migrated and ready.")
