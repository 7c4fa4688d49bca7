"""Count the face records in every building now (the daily census, ADR 0036)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from workflows.actions.face_records import take_face_record_census


class Command(BaseCommand):
    help = "Count the people whose face data every building holds, and alert at the threshold."

    def handle(self, *args: Any, **options: Any) -> None:
        census = take_face_record_census()
        for count in census.counts.order_by("schema_name"):
            self.stdout.write(
                f"{count.schema_name}: {count.people} people "
                f"({count.photos} photos, {count.form_photos} form photos, "
                f"{count.face_matches} face matches)"
            )
        self.stdout.write(f"total: {census.total} (alert at {census.threshold})")
        if census.alerted_at is not None:
            self.stdout.write("The threshold was reached: the operator has been alerted.")
