"""The retention job: each class of personal data anonymised once its period has run from the
end of the visit, nothing else changed, the month's statistics the same (issue 17, ADR 0034)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.apps import apps
from django.core.files.storage import default_storage
from django.db import connection
from django.db.models import Count
from django.db.models.functions import TruncMonth
from django.utils import timezone
from psycopg import sql

from forms.queries import current_version
from kernel.privacy import EncryptedTextField
from tenants.models import Building
from tests.access.conftest import make_gate, make_visit, make_visitor, slip_token
from tests.conftest import client_for, member
from tests.forms.conftest import make_host
from tests.workflows.test_flows import (
    FACE_CHECK,
    consent_to_face,
    photo_upload,
    register_walk_in,
    terminal_reports,
)
from visit_platform.access.actions import close_roll_call, decide_scan, start_roll_call
from visit_platform.access.models import AccessEvent, Pass, RollCallEntry
from visit_platform.audit.actions import Actor
from visit_platform.audit.models import AuditEntry
from visit_platform.directory.choices import Role
from visit_platform.notifications.models import Notification
from visit_platform.reports.filters import ReportFilter
from visit_platform.reports.statistics import statistics_tables
from visit_platform.visits.actions import add_to_watchlist, link_visitor_wechat
from visit_platform.visits.choices import VisitStatus
from visit_platform.visits.models import RetentionPeriod, Visit, Visitor, WeChatLink
from visit_platform.visits.retention import apply_retention
from visit_platform.visits.tasks import apply_retention_task
from workflows.models import FaceMatchReport

SYSTEM = Actor.system("tests")
NAME = "司马懿然"
MOBILE = "13712345679"
ID_NUMBER = "310104198808087314"
ID_MASKED = "3101**********7314"
OPENID = "oRetentionTest0000000000001"
TEXT_TYPES = ("text", "character varying", "json", "jsonb")


def _walk_in_with_photo(alpha: Building) -> Visit:
    """A walk-in registered, face-checked, photographed and handed a pass at the desk: the real
    pages and actions, as reception uses them."""
    make_host("13900139000")
    desk = client_for(alpha, member(alpha, "desk@alpha.example", Role.RECEPTION))
    start = timezone.localtime()
    registered = desk.post(
        "/reception/walk_in/",
        {
            "form_version": current_version("walk_in").pk,
            "submission_id": "4b0c6c2e-1f7e-4a47-9d55-2d0f3c1b7a11",
            "visitor_name": NAME,
            "visitor_mobile": MOBILE,
            "host_mobile": "13900139000",
            "visit_start": start.strftime("%Y-%m-%dT%H:%M"),
            "visit_end": (start + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"),
            "purpose": "business",
            "privacy_consent": "on",
            "id_document_0": "resident_id",
            "id_document_1": ID_NUMBER,
        },
    )
    assert registered.status_code == 302, registered.content.decode()[:2000]
    visit = Visit.objects.get(scenario="walk_in")
    consent_to_face(desk, registered["Location"])
    terminal_reports(visit, 93)
    checked = desk.post(registered["Location"], {**FACE_CHECK, "photo": photo_upload()})
    assert checked.status_code == 302, checked.content.decode()[:2000]
    handed = desk.post(checked["Location"], {"how": "sms"})
    assert handed.status_code == 302, handed.content.decode()[:2000]
    visit.refresh_from_db()
    return visit


def _through_the_gate_and_out(building: Building, visit: Visit) -> None:
    building.anti_passback = True
    building.save(update_fields=["anti_passback"])
    gate = make_gate("南门 1")
    token = slip_token(Pass.objects.get(visit=visit))
    assert decide_scan(gate=gate, token=token, direction="in").granted
    assert decide_scan(gate=gate, token=token, direction="in").granted is False  # anti-passback
    close_roll_call(SYSTEM, start_roll_call(SYSTEM))  # the roll call copies their name
    assert decide_scan(gate=gate, token=token, direction="out").granted


def _statistics() -> dict[str, list[dict[str, Any]]]:
    """The month's figures as the statistics count them, in plain ORM."""
    visits = (
        Visit.objects.annotate(month=TruncMonth("valid_from"))
        .values("month", "company_id", "scenario", "status")
        .annotate(count=Count("id"))
        .order_by("month", "company_id", "scenario", "status")
    )
    events = (
        AccessEvent.objects.annotate(month=TruncMonth("occurred_at"))
        .values("month", "gate_id", "direction", "granted", "reason")
        .annotate(count=Count("id"))
        .order_by("month", "gate_id", "direction", "granted", "reason")
    )
    return {"visits": list(visits), "events": list(events)}


def _dashboard(user: Any) -> dict[str, Any]:
    """Every statistic of the dashboard (``statistics_tables``) over the last 40 days, as
    ``user`` sees it: the figures a property admin reads, which retention must not move."""
    today = timezone.localdate()
    report_filter = ReportFilter.from_query(
        {"start": (today - timedelta(days=40)).isoformat(), "end": today.isoformat()},
        today=today,
    )
    return statistics_tables(report_filter, user)


def _columns_holding(needle: str, schemas: list[str]) -> list[str]:
    """Every text, varchar, json and jsonb column of every table in the schemas that holds
    ``needle`` anywhere, as ``schema.table.column``."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.table_schema, c.table_name, c.column_name FROM information_schema.columns c"
            " JOIN information_schema.tables t"
            " ON t.table_schema = c.table_schema AND t.table_name = c.table_name"
            " WHERE c.table_schema = ANY(%s) AND c.data_type = ANY(%s)"
            " AND t.table_type = 'BASE TABLE'",
            [schemas, list(TEXT_TYPES)],
        )
        columns = cursor.fetchall()
        found = []
        for schema, table, column in columns:
            cursor.execute(
                sql.SQL("SELECT 1 FROM {}.{} WHERE {}::text LIKE %s LIMIT 1").format(
                    sql.Identifier(schema), sql.Identifier(table), sql.Identifier(column)
                ),
                [f"%{needle}%"],
            )
            if cursor.fetchone():
                found.append(f"{schema}.{table}.{column}")
    return found


def _encrypted_columns_holding(needle: str) -> list[str]:
    """Every encrypted column of the building's tables that, decrypted, holds ``needle``."""
    tables = set(connection.introspection.table_names())
    found = []
    for model in apps.get_models():
        if model._meta.db_table not in tables:
            continue
        for field in model._meta.concrete_fields:
            if not isinstance(field, EncryptedTextField):
                continue
            values = model._default_manager.values_list(field.attname, flat=True)
            if any(needle in (value or "") for value in values):
                found.append(f"{model._meta.label_lower}.{field.name}")
    return found


def test_after_the_job_the_visitor_cannot_be_found_anywhere_and_the_figures_stand(
    alpha: Building,
    in_alpha: Building,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    # Given a walk-in with a desk photo, a face match, a pass, passages, messages, a WeChat link
    visit = _walk_in_with_photo(alpha)
    _through_the_gate_and_out(alpha, visit)
    link_visitor_wechat(SYSTEM, OPENID, MOBILE)
    visitor = Visitor.objects.get(pk=visit.visitor_id)
    photo = Path(visitor.photo.path)
    schemas = [alpha.schema_name, "public"]
    assert photo.exists()
    assert Notification.objects.filter(visit=visit).count() >= 2
    assert RollCallEntry.objects.get(visit=visit).name == NAME
    assert FaceMatchReport.objects.filter(process__visit=visit).exists()
    # The visitor's own name is encrypted (ADR 0033); a roll call's list keeps it in clear.
    assert _columns_holding(NAME, schemas) == [f"{alpha.schema_name}.access_rollcallentry.name"]
    assert _encrypted_columns_holding(NAME) == ["visits.visitor.name"]
    assert _columns_holding(ID_MASKED, schemas)  # the scan finds what is there
    assert _encrypted_columns_holding(ID_NUMBER) == ["visits.visitor.id_number"]
    assert {
        "notifications.notification.recipient",
        "visits.wechatlink.mobile",
        "visits.visitor.mobile",
    } <= set(_encrypted_columns_holding(MOBILE))
    before = _statistics()
    assert before["events"] and before["visits"]
    admin = member(alpha, "figures@alpha.example", Role.PROPERTY_ADMIN)
    dashboard = _dashboard(admin)
    assert dashboard["visits_by_day"]["visits"].sum() >= 1

    # When the job runs a year and a half later
    later = timezone.now() + timedelta(days=548)
    with django_capture_on_commit_callbacks(execute=True):
        reports = apply_retention_task.apply(kwargs={"now": later.isoformat()}).get()

    # Then nothing in any table of the building or the public schema holds them
    for needle in (NAME, MOBILE, ID_NUMBER, ID_MASKED, OPENID):
        assert _columns_holding(needle, schemas) == [], needle
        assert _encrypted_columns_holding(needle) == [], needle  # nor with the key
    visitor.refresh_from_db()
    assert (visitor.mobile_index, visitor.id_number_index, visitor.id_number_masked) == ("", "", "")
    assert (visitor.name, visitor.mobile, visitor.id_number, visitor.photo.name) == ("", "", "", "")
    assert visitor.anonymised_at == later
    assert not photo.exists()
    assert not WeChatLink.objects.filter(openid=OPENID).exists()
    assert not FaceMatchReport.objects.filter(process__visit=visit).exists()
    assert _statistics() == before
    after = _dashboard(admin)
    assert {key: table.equals(after[key]) for key, table in dashboard.items()} == dict.fromkeys(
        dashboard, True
    )
    # ID numbers: the visitor's and the visit's sensitive answers; photos: the desk photo, the
    # terminal's report and the process's score; names: the visitor and the visit.
    assert reports[alpha.schema_name] == (
        "id_numbers 2, photos 3, names 2, gate_events 3, messages 2"
    )
    entries = AuditEntry.objects.filter(verb="retention.applied").order_by("pk")
    assert [entry.detail["data_class"] for entry in entries] == [
        "id_numbers",
        "photos",
        "names",
        "gate_events",
        "messages",
    ]
    assert entries[3].detail["count"] == 3


def test_a_second_run_finds_nothing_left(
    in_alpha: Building, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    visitor = make_visitor(name=NAME, mobile=MOBILE, id_number=ID_NUMBER)
    make_visit(visitor=visitor, status=VisitStatus.EXPIRED, starts=timezone.now())
    later = timezone.now() + timedelta(days=400)
    apply_retention(SYSTEM, now=later)

    again = apply_retention(SYSTEM, now=later)

    assert [run.count for run in again] == [0, 0, 0, 0, 0]


def test_each_class_waits_for_its_own_period_from_the_end_of_the_visit(
    in_alpha: Building,
) -> None:
    visitor = make_visitor(name=NAME, mobile=MOBILE, id_number=ID_NUMBER)
    visit = make_visit(visitor=visitor, status=VisitStatus.EXPIRED, starts=timezone.now())
    ended = visit.valid_until

    apply_retention(SYSTEM, now=ended + timedelta(days=31))

    visitor.refresh_from_db()
    assert (visitor.id_number_index, visitor.name) == ("", NAME)  # 30 days for ID numbers
    apply_retention(SYSTEM, now=ended + timedelta(days=181))
    visitor.refresh_from_db()
    assert visitor.name == ""  # 180 for names and mobiles


def test_a_building_sets_its_own_period_per_class(in_alpha: Building) -> None:
    RetentionPeriod.objects.create(data_class="id_numbers", days=5)
    visitor = make_visitor(name=NAME, mobile=MOBILE, id_number=ID_NUMBER)
    visit = make_visit(visitor=visitor, status=VisitStatus.EXPIRED, starts=timezone.now())

    apply_retention(SYSTEM, now=visit.valid_until + timedelta(days=4))
    visitor.refresh_from_db()
    assert visitor.id_number_index != ""
    apply_retention(SYSTEM, now=visit.valid_until + timedelta(days=6))
    visitor.refresh_from_db()
    assert visitor.id_number_index == ""


def test_a_visit_in_progress_is_never_touched(in_alpha: Building) -> None:
    visitor = make_visitor(name=NAME, mobile=MOBILE, id_number=ID_NUMBER)
    visit = make_visit(visitor=visitor, starts=timezone.now() - timedelta(days=400))
    Visit.objects.filter(pk=visit.pk).update(status=VisitStatus.CHECKED_IN)  # an overstay

    runs = apply_retention(SYSTEM, now=timezone.now())

    visitor.refresh_from_db()
    assert (visitor.name, visitor.id_number) == (NAME, ID_NUMBER)
    assert [run.count for run in runs] == [0, 0, 0, 0, 0]


def test_an_enforced_watchlist_entry_keeps_the_visitors_identity(in_alpha: Building) -> None:
    visitor = make_visitor(name=NAME, mobile=MOBILE, id_number=ID_NUMBER)
    visit = make_visit(visitor=visitor, status=VisitStatus.EXPIRED, starts=timezone.now())
    add_to_watchlist(SYSTEM, reason="threatened staff", mobile=MOBILE)

    apply_retention(SYSTEM, now=visit.valid_until + timedelta(days=400))

    visitor.refresh_from_db()
    assert (visitor.name, visitor.id_number) == (NAME, ID_NUMBER)


def test_the_dry_run_counts_and_changes_nothing(in_alpha: Building) -> None:
    visitor = make_visitor(name=NAME, mobile=MOBILE, id_number=ID_NUMBER)
    visit = make_visit(visitor=visitor, status=VisitStatus.EXPIRED, starts=timezone.now())
    later = visit.valid_until + timedelta(days=200)
    audit_before = AuditEntry.objects.count()
    rows_before = _snapshot()

    runs = apply_retention(SYSTEM, now=later, dry_run=True)

    assert [(run.data_class, run.count) for run in runs] == [
        ("id_numbers", 1),
        ("photos", 0),
        ("names", 2),
        ("gate_events", 0),
        ("messages", 0),
    ]
    assert runs[0].cutoff == later - timedelta(days=30)
    assert _snapshot() == rows_before
    assert AuditEntry.objects.count() == audit_before


def _snapshot() -> list[tuple[Any, ...]]:
    visitors = list(Visitor.objects.order_by("pk").values_list())
    visits = list(Visit.objects.order_by("pk").values_list())
    return visitors + visits


def test_the_job_runs_daily_by_default() -> None:
    from django.conf import settings

    assert settings.RETENTION_INTERVAL_SECONDS == 24 * 3600


def test_every_batch_is_done_when_there_are_more_than_one(
    in_alpha: Building, monkeypatch: Any
) -> None:
    from visit_platform.visits import retention

    monkeypatch.setattr(retention, "BATCH_SIZE", 2)
    visitors = [
        make_visitor(name=f"{NAME}{number}", mobile=f"1371234560{number}", id_number="")
        for number in range(5)
    ]
    for visitor in visitors:
        make_visit(visitor=visitor, status=VisitStatus.EXPIRED, starts=timezone.now())

    runs = apply_retention(SYSTEM, now=timezone.now() + timedelta(days=400))

    assert runs[2].count == 10  # names: five visitors and their five visits
    assert set(Visitor.objects.values_list("name", flat=True)) == {""}


def test_a_photo_answered_in_the_form_goes_with_the_photos(
    alpha: Building,
    in_alpha: Building,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    make_host("13900139000")
    desk = client_for(alpha, member(alpha, "desk@alpha.example", Role.RECEPTION))
    assert register_walk_in(desk, "no_id").status_code == 302
    visit = Visit.objects.get(scenario="no_id")
    stored = visit.answers["face_photo"]["file"]
    assert default_storage.exists(stored)

    with django_capture_on_commit_callbacks(execute=True):
        runs = apply_retention(SYSTEM, now=visit.valid_until + timedelta(days=31))

    visit.refresh_from_db()
    assert "face_photo" not in visit.answers
    assert not default_storage.exists(stored)
    assert runs[1].count == 1  # photos
