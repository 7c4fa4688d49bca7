"""``manage.py deactivate_user <e-mail>``: a person leaves the platform (never a delete)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants.models import User
from visit_platform.audit.actions import Actor
from workflows.actions.users import deactivate_user


class Command(BaseCommand):
    help = (
        "Deactivate a user in every building: roles revoked, WeChat unbound, claimed tasks "
        "handed back. Safe to run again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")

    def handle(self, *args: Any, **options: Any) -> None:
        email = str(options["email"]).strip()
        if not email or len(email) > 254:
            raise CommandError("Give the user's e-mail address.")
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            raise CommandError(f"No user has the e-mail address {email}.")
        reports = deactivate_user(Actor.system("manage.py deactivate_user"), user)
        for schema, report in reports.items():
            self.stdout.write(f"{schema}: {report}")
        failed = [schema for schema, report in reports.items() if report.startswith("failed")]
        if failed:
            raise CommandError(
                f"Not finished in {', '.join(failed)}; the account cannot sign in. Run it again."
            )
