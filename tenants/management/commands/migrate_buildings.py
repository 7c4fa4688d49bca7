"""``manage.py migrate_buildings``: apply pending migrations to every building, in parallel.

Each building's pending migrations run in one transaction in a worker process; a building that
fails is named and left as it was, the others go on, and a re-run does only what is left. The
command exits non-zero when any building failed. Migrate the shared schema first
(``migrate_schemas --shared``); ``setup_platform`` does both.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants.release import run_release


class Command(BaseCommand):
    help = "Apply pending migrations to every building (or the named ones) in worker processes."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--workers",
            type=int,
            default=None,
            help=f"worker processes (default: RELEASE_WORKERS, {settings.RELEASE_WORKERS} here)",
        )
        parser.add_argument(
            "--schema",
            action="append",
            dest="schemas",
            metavar="SCHEMA",
            help="migrate only this building (repeat for more); default: every building",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        migrate_buildings(self, options["schemas"], options["workers"], options["verbosity"])


def migrate_buildings(
    command: BaseCommand, schemas: list[str] | None, workers: int | None, verbosity: int = 1
) -> None:
    """Run the release over the buildings, printing as it goes (at verbosity 1 and more); fail
    when any building did, naming them."""

    def report(line: str) -> None:
        if verbosity >= 1:
            command.stdout.write(line)

    result = run_release(schemas=schemas, workers=workers, report=report)
    if result.failed:
        raise CommandError(
            f"{len(result.failed)} building(s) failed: {', '.join(sorted(result.failed))}"
        )
