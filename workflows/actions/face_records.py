"""The face-record census: how many people's face data the platform holds, building by
building, and the operator's alert when the total reaches the filing line of the 2025
face-recognition rules (ADR 0036)."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.mail import send_mail
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_tenants.utils import get_public_schema_name, schema_context

from forms.choices import FieldType
from forms.models import FormVersion
from tenants.models import Building, FaceRecordCensus, FaceRecordCount, User
from visit_platform.visits.models import Visit, Visitor
from workflows.models import FaceMatchReport

# Any number will do, as long as no other job takes the same advisory lock.
CENSUS_LOCK = 0x46414345


@dataclass(frozen=True)
class FaceRecords:
    """One building's face records, as numbers."""

    photos: int
    form_photos: int
    face_matches: int
    people: int


def count_face_records() -> FaceRecords:
    """The face records in the current building's schema:

    - ``photos``: visitors with a desk photo on file (``Visitor.photo``);
    - ``form_photos``: visits whose registration form holds a photo (the no-ID form's);
    - ``face_matches``: face-match reports kept (each a score from comparing a face);
    - ``people``: the visitors with any of these, each counted once: the number the rules'
      filing line is about.
    """
    photo_visits = Q()
    for version_id, fields in FormVersion.objects.values_list("pk", "fields"):
        for spec in fields or []:
            if isinstance(spec, dict) and spec.get("type") == FieldType.PHOTO:
                photo_visits |= Q(form_version_id=version_id, answers__has_key=spec["key"])
    form_photo_visits = Visit.objects.filter(photo_visits) if photo_visits else Visit.objects.none()
    matched_visits = FaceMatchReport.objects.values("process__visit_id")
    people = Visitor.objects.filter(
        ~Q(photo="") | Q(visits__in=form_photo_visits.values("pk")) | Q(visits__in=matched_visits)
    ).distinct()
    return FaceRecords(
        photos=Visitor.objects.exclude(photo="").count(),
        form_photos=form_photo_visits.count(),
        face_matches=FaceMatchReport.objects.count(),
        people=people.count(),
    )


def take_face_record_census() -> FaceRecordCensus:
    """Count every building's face records, store the numbers in the public schema, and
    alert the operator when the total has just reached the threshold: once per crossing
    (the census before was under it, or there was none), not every day it stays over.

    Two censuses at once wait for each other (an advisory lock held by the session for the
    whole census), so a crossing is alerted once. Each building is counted on its own, not in
    one transaction over every building: that one would keep a lock on each counted table of
    each building until it ended, and at 1,000 buildings PostgreSQL's lock table runs out
    ("out of shared memory", seen by bench/scale.py). A building that cannot be counted fails
    the census: a total that leaves a building out would be wrong, and the next run counts
    again."""
    with schema_context(get_public_schema_name()):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [CENSUS_LOCK])
        try:
            return _census()
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [CENSUS_LOCK])


def _census() -> FaceRecordCensus:
    buildings = list(
        Building.objects.exclude(schema_name=get_public_schema_name()).order_by("schema_name")
    )
    counts: list[tuple[Building, FaceRecords]] = []
    for building in buildings:
        with schema_context(building.schema_name):
            counts.append((building, count_face_records()))
    with transaction.atomic():
        previous = FaceRecordCensus.objects.order_by("-counted_at", "-pk").first()
        census = FaceRecordCensus.objects.create(
            counted_at=timezone.now(),
            total=sum(records.people for _building, records in counts),
            threshold=settings.FACE_RECORDS_ALERT_THRESHOLD,
        )
        FaceRecordCount.objects.bulk_create(
            FaceRecordCount(
                census=census,
                building=building,
                schema_name=building.schema_name,
                photos=records.photos,
                form_photos=records.form_photos,
                face_matches=records.face_matches,
                people=records.people,
            )
            for building, records in counts
        )
        if census.over_threshold and not (previous and previous.over_threshold):
            census.alerted_at = census.counted_at
            census.save(update_fields=["alerted_at"])
            recipients = operator_addresses()
            transaction.on_commit(lambda: _send_alert(census, recipients))
    return census


def operator_addresses() -> list[str]:
    """Who hears of a crossing: the configured addresses, else the platform's operators
    (active superusers)."""
    configured: list[str] = settings.FACE_RECORDS_ALERT_EMAILS
    if configured:
        return configured
    return sorted(
        User.objects.filter(is_superuser=True, is_active=True).values_list("email", flat=True)
    )


def _send_alert(census: FaceRecordCensus, recipients: list[str]) -> None:
    if not recipients:
        return
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("Face records: %(total)s people, at or over the threshold of %(threshold)s") % {
            "total": census.total,
            "threshold": census.threshold,
        }
        body = _(
            "The platform now holds face data (desk photos, face-match reports) of "
            "%(total)s people across all buildings, counted at %(at)s. The alert threshold "
            "is %(threshold)s; the 2025 face-recognition rules ask for a filing with the "
            "cyberspace authority at 100,000 people. The numbers by building are on the "
            "operator's admin site, under Face record censuses."
        ) % {
            "total": census.total,
            "threshold": census.threshold,
            "at": census.counted_at.strftime("%Y-%m-%d %H:%M UTC"),
        }
    send_mail(subject, body, None, recipients)
