"""``manage.py create_building <slug> --name ... --admin-email ...``: provision a building."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.tokens import default_token_generator
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_tenants.utils import schema_context

from kernel.errors import DomainError
from tenants.actions import create_building


class Command(BaseCommand):
    help = "Create a building: schema, domain, first property admin, default settings."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "slug",
            help=(
                "schema and sub-domain name: 2 to 41 lower-case letters and digits, "
                "a letter first, e.g. towera"
            ),
        )
        parser.add_argument("--name", required=True, help="the building's display name")
        parser.add_argument("--admin-email", required=True)
        parser.add_argument(
            "--admin-password",
            help="set the admin's password; without it a one-time set-password link is printed",
        )
        parser.add_argument("--time-zone", default="Asia/Shanghai")
        parser.add_argument("--language", default="zh-hans", choices=["zh-hans", "en"])
        parser.add_argument("--retention-days", type=int, default=180)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = create_building(
                slug=options["slug"],
                name=options["name"],
                admin_email=options["admin_email"],
                admin_password=options["admin_password"],
                time_zone=options["time_zone"],
                default_language=options["language"],
                retention_days=options["retention_days"],
            )
        except DomainError as error:
            raise CommandError(f"{error.message} ({error.code})") from error
        self.stdout.write(f"Building {result.building.name!r} is at http://{result.domain.domain}")
        if result.admin_created and not options["admin_password"]:
            with schema_context(result.building.schema_name):
                path = reverse(
                    "web:set_password",
                    kwargs={
                        "uidb64": urlsafe_base64_encode(force_bytes(result.admin.pk)),
                        "token": default_token_generator.make_token(result.admin),
                    },
                )
            self.stdout.write(f"The admin sets a password at http://{result.domain.domain}{path}")
        elif not result.admin_created:
            self.stdout.write(f"{result.admin.email} already had an account; it is now an admin.")
        for note in result.notes:
            self.stdout.write(note)
