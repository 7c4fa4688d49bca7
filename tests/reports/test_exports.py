"""Exports (issue 17): a job writes the user's records or statistics as xlsx or csv in chunks,
with progress, run by the real Celery task; what it holds is what the user's role sees; text
that could run as a formula is neutralised; the file is for its owner only, in their building,
until it expires; every export is audited with its filter."""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from django.conf import settings
from django.db import connection
from django.http import QueryDict
from django.test import override_settings
from django.utils import timezone, translation

from kernel.errors import DomainError, PermissionDeniedError
from tenants.models import Building, User
from tests.conftest import admin_of, client_for, member
from visit_platform.audit.actions import Actor
from visit_platform.audit.details import describe
from visit_platform.audit.models import AuditEntry
from visit_platform.directory.actions import create_company, create_host
from visit_platform.directory.choices import Role
from visit_platform.directory.models import Company, Host, Membership
from visit_platform.reports import exports
from visit_platform.reports.choices import ExportState
from visit_platform.reports.export_views import export_url
from visit_platform.reports.exports import build_export, expire_exports, start_export
from visit_platform.reports.filters import ReportFilter
from visit_platform.reports.models import ExportJob
from visit_platform.reports.tasks import build_export_task, expire_exports_task
from visit_platform.visits.actions import create_visit, register_visitor
from visit_platform.visits.choices import Scenario, VisitStatus
from visit_platform.visits.models import Visit, Visitor

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("tests")
SHANGHAI = ZoneInfo("Asia/Shanghai")
NOVEMBER = {"start": "2026-11-01", "end": "2026-11-30"}
INJECTIONS = [
    '=HYPERLINK("http://evil.example","点我")',
    "+1",
    "-1+1",
    "@SUM(1)",
    "\t=1+1",
    "\r=1+1",
]


def at(day: int, hour: int) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=SHANGHAI)


@dataclass
class World:
    admin: User
    star_admin: User
    desk: User
    star: Company
    hill: Company
    zhang: Host
    wang: Host
    visitor: Visitor


@pytest.fixture(autouse=True)
def exports_in_tmp(tmp_path: Path) -> Iterator[Path]:
    with override_settings(EXPORTS_DIR=tmp_path / "exports"):
        yield tmp_path / "exports"


@pytest.fixture
def world(alpha: Building, in_alpha: Building) -> World:
    star = create_company(SYSTEM, name="星河科技", floors="12")
    hill = create_company(SYSTEM, name="远山律所", floors="8")
    zhang = create_host(SYSTEM, star, name="张伟", mobile="13911110001")
    wang = create_host(SYSTEM, hill, name="王强", mobile="13911110003")
    visitor = register_visitor(
        SYSTEM, name="韩梅梅", mobile="13800000001", id_type="", id_number=""
    )
    return World(
        admin=admin_of(alpha),
        star_admin=member(alpha, "boss@star.example", Role.COMPANY_ADMIN, star),
        desk=member(alpha, "desk@alpha.example", Role.RECEPTION),
        star=star,
        hill=hill,
        zhang=zhang,
        wang=wang,
        visitor=visitor,
    )


def visit(world: World, host: Host, day: int, **options: Any) -> Visit:
    return create_visit(
        SYSTEM,
        scenario=options.get("scenario", Scenario.INVITE),
        visitor=world.visitor,
        host=host,
        valid_from=at(day, 9),
        valid_until=at(day, 12),
        status=options.get("status", VisitStatus.APPROVED),
    )


def many_visits(world: World, host: Host, count: int) -> None:
    """``count`` visits of ``host`` spread over November, written at once (not through the
    action: a test of 100,000 rows would otherwise spend its time creating them)."""
    starts = (at(1 + number % 28, 8) + timedelta(seconds=number) for number in range(count))
    Visit.objects.bulk_create(
        (
            Visit(
                scenario=Scenario.INVITE,
                status=VisitStatus.APPROVED,
                visitor=world.visitor,
                host=host,
                company=host.company,
                valid_from=start,
                valid_until=start + timedelta(hours=2),
            )
            for start in starts
        ),
        batch_size=5000,
    )


def start(
    user: User, source: str = "visits", file_format: str = "xlsx", **params: Any
) -> ExportJob:
    """An export of November asked for in English (the file's headings are in the asker's
    language)."""
    return start_export(
        Actor(user=user),
        source=source,
        file_format=file_format,
        params={**NOVEMBER, **params},
        language="en",
    )


def run(job: ExportJob) -> ExportJob:
    """The real Celery task, run in this process and building."""
    build_export_task.apply(args=[job.pk])
    connection.set_schema("alpha")
    job.refresh_from_db()
    return job


def xlsx_rows(job: ExportJob, sheet: str | None = None) -> list[tuple[Any, ...]]:
    book = openpyxl.load_workbook(exports.exports_directory() / job.file_path, read_only=True)
    return list((book[sheet] if sheet else book.worksheets[0]).iter_rows(values_only=True))


def csv_rows(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    assert raw.startswith(codecs.BOM_UTF8)
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


# --- A job, its progress and its file --------------------------------------------------------


def _export_with_progress(world: World, rows: int, file_format: str) -> tuple[ExportJob, list[int]]:
    many_visits(world, world.zhang, rows)
    seen: list[tuple[int, int]] = []

    def note(sender: Any, job: ExportJob, done: int, **kwargs: Any) -> None:
        seen.append((done, ExportJob.objects.get(pk=job.pk).rows_done))

    exports.export_progressed.connect(note)
    try:
        job = run(start(world.admin, file_format=file_format))
    finally:
        exports.export_progressed.disconnect(note)
    # What the worker reported is what it had saved for the progress bar.
    assert all(done == saved for done, saved in seen)
    return job, [done for done, _saved in seen]


@override_settings(EXPORT_CHUNK_ROWS=500)
def test_a_visits_export_runs_as_a_job_whose_progress_rises_chunk_by_chunk_to_the_total(
    world: World,
) -> None:
    job, progress = _export_with_progress(world, 2000, "xlsx")

    assert progress == [500, 1000, 1500, 2000, 2000]
    assert (job.state, job.rows_done, job.rows_total, job.percent) == ("done", 2000, 2000, 100)
    assert job.expires_at == job.finished_at + timedelta(hours=24)
    rows = xlsx_rows(job)
    assert len(rows) == 2001
    assert rows[0] == (
        "From",
        "Until",
        "Visitor",
        "Mobile",
        "Document number",
        "Company",
        "Host",
        "Scenario",
        "Status",
        "Invited by",
        "Approved by",
        "Registered by",
        "Checked in",
        "Checked out",
    )
    # Newest first, in the building's local time, typed as a date and time.
    assert rows[1][0] == datetime(2026, 11, 28, 8, 0) + timedelta(seconds=1987)
    assert {row[5] for row in rows[1:]} == {"星河科技"}


@pytest.mark.slow
def test_an_export_of_100000_rows_finishes_at_its_total_with_progress_on_the_way(
    world: World,
) -> None:
    job, progress = _export_with_progress(world, 100_000, "xlsx")

    assert progress == [*range(2000, 100_001, 2000), 100_000]
    assert (job.state, job.rows_done, job.rows_total) == ("done", 100_000, 100_000)
    assert len(xlsx_rows(job)) == 100_001


def test_a_csv_export_is_utf8_with_a_bom_and_chinese_reads_back(world: World) -> None:
    visit(world, world.zhang, 3)

    job = run(start(world.admin, file_format="csv"))

    assert job.file_path.endswith(".csv")
    rows = csv_rows(exports.exports_directory() / job.file_path)
    assert len(rows) == 2
    assert rows[1][0] == "2026-11-03 09:00:00"
    assert rows[1][5:7] == ["星河科技", "张伟"]


def test_the_file_lives_under_the_exports_directory_of_its_building_not_a_served_one(
    world: World, exports_in_tmp: Path
) -> None:
    visit(world, world.zhang, 3)

    job = run(start(world.admin))

    path = exports_in_tmp / job.file_path
    assert path.parent == exports_in_tmp / "alpha"
    assert path.is_file() and path.suffix == ".xlsx"
    assert list(path.parent.iterdir()) == [path]  # no partial file left behind
    assert not str(path).startswith(str(settings.MEDIA_ROOT))
    assert not str(path).startswith(str(settings.STATIC_ROOT))


def test_running_the_task_twice_writes_one_file_and_counts_every_row_once(
    world: World, exports_in_tmp: Path
) -> None:
    visit(world, world.zhang, 3)
    visit(world, world.zhang, 4)
    job = start(world.admin)

    run(job)
    again = build_export(job.pk)

    assert again is None
    job.refresh_from_db()
    assert (job.state, job.rows_done, job.rows_total) == ("done", 2, 2)
    assert len(list((exports_in_tmp / "alpha").iterdir())) == 1


def test_a_job_whose_worker_stalled_is_taken_over_and_written_once(
    world: World, exports_in_tmp: Path
) -> None:
    visit(world, world.zhang, 3)
    job = start(world.admin)
    long_ago = timezone.now() - timedelta(minutes=30)
    ExportJob.objects.filter(pk=job.pk).update(
        state=ExportState.RUNNING, rows_done=1, progressed_at=long_ago
    )
    (exports_in_tmp / "alpha").mkdir(parents=True)
    stale = exports_in_tmp / f"{job.file_path}.dead.part"
    stale.write_text("half a file")

    job = run(job)

    assert (job.state, job.rows_done) == ("done", 1)
    assert sorted(path.name for path in (exports_in_tmp / "alpha").iterdir()) == sorted(
        [Path(job.file_path).name, stale.name]
    )


def test_a_running_job_with_a_live_worker_is_left_to_it(world: World) -> None:
    visit(world, world.zhang, 3)
    job = start(world.admin)
    ExportJob.objects.filter(pk=job.pk).update(
        state=ExportState.RUNNING, progressed_at=timezone.now()
    )

    assert build_export(job.pk) is None
    job.refresh_from_db()
    assert (job.state, job.rows_done) == ("running", 0)


# --- Formula injection -----------------------------------------------------------------------


def _hosts_named_as_formulas(world: World) -> None:
    for day, text in enumerate(INJECTIONS, start=1):
        host = create_host(SYSTEM, world.star, name=f"主机{day}", mobile=f"1391111100{day + 3}")
        # As an older import or another integration could have stored them.
        Host.objects.filter(pk=host.pk).update(name=text)
        visit(world, Host.objects.get(pk=host.pk), day)


def test_an_xlsx_export_holds_formula_like_names_as_text_with_an_apostrophe(world: World) -> None:
    _hosts_named_as_formulas(world)

    job = run(start(world.admin))

    book = openpyxl.load_workbook(exports.exports_directory() / job.file_path)
    hosts = [row[6] for row in book.worksheets[0].iter_rows(min_row=2)]
    # Newest first: the visit of day 6 is the first row.
    expected = ["'" + text.replace("\r", "\n") for text in reversed(INJECTIONS)]
    assert [cell.value for cell in hosts] == expected
    assert {cell.data_type for cell in hosts} == {"s"}


def test_a_csv_export_holds_formula_like_names_with_an_apostrophe(world: World) -> None:
    _hosts_named_as_formulas(world)

    job = run(start(world.admin, file_format="csv"))

    rows = csv_rows(exports.exports_directory() / job.file_path)
    assert [row[6] for row in rows[1:]] == ["'" + text for text in reversed(INJECTIONS)]


# --- Statistics ------------------------------------------------------------------------------


def test_a_statistics_export_is_one_sheet_per_statistic_with_numbers_typed(world: World) -> None:
    visit(world, world.zhang, 3)
    visit(world, world.zhang, 3)
    visit(world, world.wang, 4)

    job = run(start(world.admin, source="statistics"))

    book = openpyxl.load_workbook(exports.exports_directory() / job.file_path)
    assert len(book.sheetnames) == 12
    by_company = list(book.worksheets[4].iter_rows(values_only=True))
    assert sorted(by_company[1:]) == sorted(
        [(world.star.pk, "星河科技", 2, 0), (world.hill.pk, "远山律所", 1, 0)]
    )
    assert job.state == "done"


def test_a_statistics_csv_export_is_a_zip_of_one_csv_per_statistic(world: World) -> None:
    visit(world, world.zhang, 3)

    job = run(start(world.admin, source="statistics", file_format="csv"))

    path = exports.exports_directory() / job.file_path
    assert path.suffix == ".zip"
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        by_company = archive.read(names[4])
    assert len(names) == 12 and all(name.endswith(".csv") for name in names)
    assert by_company.startswith(codecs.BOM_UTF8)
    assert by_company.decode("utf-8-sig").splitlines()[1] == f"{world.star.pk},星河科技,1,0"


# --- Role scoping ----------------------------------------------------------------------------


def test_a_company_admins_export_holds_only_their_companys_visits(world: World) -> None:
    visit(world, world.zhang, 3)
    visit(world, world.wang, 4)
    visit(world, world.wang, 5)

    job = run(start(world.star_admin))

    rows = xlsx_rows(job)
    assert [row[5] for row in rows[1:]] == ["星河科技"]
    assert job.rows_total == 1


def test_a_forged_company_filter_does_not_widen_a_company_admins_export(world: World) -> None:
    visit(world, world.zhang, 3)
    visit(world, world.wang, 4)

    job = run(start(world.star_admin, company=[world.hill.pk]))

    assert xlsx_rows(job)[1:] == []
    assert (job.rows_total, job.rows_done) == (0, 0)


def test_a_company_admins_statistics_export_counts_only_their_company(world: World) -> None:
    visit(world, world.zhang, 3)
    visit(world, world.wang, 4)

    job = run(start(world.star_admin, source="statistics"))

    by_company = xlsx_rows(
        job, openpyxl.load_workbook(exports.exports_directory() / job.file_path).sheetnames[4]
    )
    assert by_company[1:] == [(world.star.pk, "星河科技", 1, 0)]


def test_a_role_without_the_records_may_not_export(world: World) -> None:
    with pytest.raises(PermissionDeniedError):
        start(world.desk)

    assert ExportJob.objects.count() == 0


def test_a_job_whose_owner_lost_their_role_fails_without_a_file(
    world: World, exports_in_tmp: Path
) -> None:
    visit(world, world.zhang, 3)
    job = start(world.star_admin)
    Membership.objects.filter(user=world.star_admin).delete()

    job = run(job)

    assert job.state == "failed"
    assert job.error == "Your role does not allow exports."
    assert not (exports_in_tmp / job.file_path).exists()


# --- Bad, forged and replayed requests --------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "file_format", "params", "code"),
    [
        ("passwords", "xlsx", {}, "bad_source"),
        ("visits", "pdf", {}, "bad_format"),
        ("visits", "xlsx", {"start": "2026-13-01"}, "bad_filter"),
        ("visits", "xlsx", {"start": "2026-12-01", "end": "2026-11-01"}, "bad_filter"),
        ("visits", "xlsx", {"company": "1 OR 1=1"}, "bad_filter"),
        ("visits", "xlsx", {"status": "everything"}, "bad_filter"),
        ("visits", "xlsx", {"company": [str(n) for n in range(51)]}, "bad_filter"),
        ("visits", "xlsx", {"company": "9" * 13}, "bad_filter"),
        ("visits", "xlsx", {"person": "1" * 41}, "bad_filter"),
        ("visits", "xlsx", {"start": "2000-01-01", "end": "2026-11-30"}, "bad_filter"),
        ("x" * 10_000, "xlsx", {}, "bad_source"),
    ],
)
def test_a_bad_request_is_refused_with_a_code_and_starts_nothing(
    world: World, source: str, file_format: str, params: dict[str, Any], code: str
) -> None:
    with pytest.raises(DomainError) as refusal:
        start_export(Actor(user=world.admin), source=source, file_format=file_format, params=params)

    assert refusal.value.code == code
    assert refusal.value.message
    assert ExportJob.objects.count() == 0
    assert not AuditEntry.objects.filter(verb="export.started").exists()


def test_the_same_request_twice_while_it_is_made_gives_one_job(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    visit(world, world.zhang, 3)

    with django_capture_on_commit_callbacks() as handed_over:
        first = start(world.admin)
        second = start(world.admin)

    assert first.pk == second.pk
    assert ExportJob.objects.count() == 1
    assert len(handed_over) == 1
    assert AuditEntry.objects.filter(verb="export.started").count() == 1


def test_the_same_request_after_its_job_finished_starts_a_new_one(world: World) -> None:
    first = run(start(world.admin))

    second = start(world.admin)

    assert second.pk != first.pk and second.state == "queued"


def test_a_fourth_export_at_once_is_refused(world: World) -> None:
    for day in ("01", "02", "03"):
        start(world.admin, start=f"2026-11-{day}")

    with pytest.raises(DomainError) as refusal:
        start(world.admin, start="2026-11-04")

    assert refusal.value.code == "too_many_exports"
    assert ExportJob.objects.count() == 3


# --- Audit -----------------------------------------------------------------------------------


def test_starting_an_export_is_audited_with_its_filter_and_row_count(world: World) -> None:
    visit(world, world.zhang, 3)
    visit(world, world.zhang, 4)

    job = start(
        world.admin, file_format="csv", company=[world.star.pk], scenario="invite", person=""
    )

    entry = AuditEntry.objects.get(verb="export.started")
    assert entry.actor == world.admin
    assert (entry.object_type, entry.object_id) == ("reports.exportjob", str(job.pk))
    assert entry.detail == {
        "source": "visits",
        "format": "csv",
        "rows": 2,
        "start": "2026-11-01",
        "end": "2026-11-30",
        "company_ids": [world.star.pk],
        "scenarios": ["invite"],
    }


def test_a_person_searched_for_is_audited_as_searched_and_kept_encrypted_in_the_job(
    world: World,
) -> None:
    job = start(world.admin, person="13800000001")

    entry = AuditEntry.objects.get(verb="export.started")
    assert entry.detail["person_searched"] is True
    assert "13800000001" not in str(entry.detail)
    with connection.cursor() as cursor:
        cursor.execute("SELECT query FROM reports_exportjob WHERE id = %s", [job.pk])
        (stored,) = cursor.fetchone()
    assert "13800000001" not in stored
    assert "person=13800000001" in ExportJob.objects.get(pk=job.pk).query


# --- Download, expiry ------------------------------------------------------------------------


def test_the_owner_downloads_their_file_and_the_download_is_audited(
    alpha: Building, world: World
) -> None:
    visit(world, world.zhang, 3)
    job = run(start(world.admin))

    response = client_for(alpha, world.admin).get(f"/exports/{job.pk}/download/")

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="visits-')
    body = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    assert body == (exports.exports_directory() / job.file_path).read_bytes()
    entry = AuditEntry.objects.get(verb="export.downloaded")
    assert (entry.actor, entry.object_id) == (world.admin, str(job.pk))
    assert entry.detail == {"source": "visits", "format": "xlsx", "rows": 1}


def test_another_user_of_the_building_cannot_download_or_follow_an_export(
    alpha: Building, world: World
) -> None:
    visit(world, world.zhang, 3)
    job = run(start(world.admin))
    other = member(alpha, "guard@alpha.example", Role.SECURITY)
    client = client_for(alpha, other)

    download = client.get(f"/exports/{job.pk}/download/")
    status = client.get(f"/exports/{job.pk}/status.json", HTTP_ACCEPT="application/json")
    page = client.get(f"/exports/{job.pk}/")

    assert download.status_code == 404
    assert status.status_code == 404
    assert status.json() == {"code": "not_found", "message": status.json()["message"]}
    assert page.status_code == 404
    assert not AuditEntry.objects.filter(verb="export.downloaded").exists()


def test_an_export_cannot_be_downloaded_from_another_building(
    alpha: Building, beta: Building, world: World
) -> None:
    visit(world, world.zhang, 3)
    job = run(start(world.admin))
    # The same person, property admin of beta too.
    same_person = member(beta, world.admin.email, Role.PROPERTY_ADMIN)

    response = client_for(beta, same_person).get(f"/exports/{job.pk}/download/")
    status = client_for(beta, same_person).get(
        f"/exports/{job.pk}/status.json", HTTP_ACCEPT="application/json"
    )

    assert response.status_code == 404
    assert status.status_code == 404


def test_after_expiry_the_download_is_gone_with_a_readable_page(
    alpha: Building, world: World
) -> None:
    visit(world, world.zhang, 3)
    job = run(start(world.admin))
    ExportJob.objects.filter(pk=job.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    response = client_for(alpha, world.admin).get(f"/exports/{job.pk}/download/")

    assert response.status_code == 410
    page = response.content.decode()
    assert "此导出无法下载" in page
    assert "此导出已过期，文件已删除。请重新导出。" in page
    assert not AuditEntry.objects.filter(verb="export.downloaded").exists()


def test_a_file_not_written_yet_cannot_be_downloaded(alpha: Building, world: World) -> None:
    job = start(world.admin)

    response = client_for(alpha, world.admin).get(f"/exports/{job.pk}/download/")

    assert response.status_code == 409


def test_expired_exports_lose_their_files_once_and_are_audited(
    world: World, exports_in_tmp: Path
) -> None:
    visit(world, world.zhang, 3)
    old = run(start(world.admin))
    fresh = run(start(world.admin, file_format="csv"))
    ExportJob.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(minutes=1))

    reports = expire_exports_task.apply().get()
    connection.set_schema("alpha")
    again = expire_exports()

    assert reports["alpha"] == "1 exports expired, 0 abandoned"
    assert again == "0 exports expired, 0 abandoned"
    old.refresh_from_db()
    assert old.state == "expired"
    assert not (exports_in_tmp / old.file_path).exists()
    assert (exports_in_tmp / fresh.file_path).exists()
    entry = AuditEntry.objects.get(verb="export.expired")
    assert (entry.actor_label, entry.object_id) == ("exports", str(old.pk))


def test_a_job_that_never_finished_is_given_up_after_the_expiry_time(world: World) -> None:
    job = start(world.admin)
    ExportJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(hours=25))

    assert expire_exports() == "0 exports expired, 1 abandoned"
    job.refresh_from_db()
    assert job.state == "failed"


# --- The pages -------------------------------------------------------------------------------


def test_posting_the_form_starts_one_job_and_shows_its_progress(
    alpha: Building, world: World
) -> None:
    visit(world, world.zhang, 3)
    client = client_for(alpha, world.admin)
    form = {"source": "visits", "file_format": "csv", **NOVEMBER, "company": str(world.star.pk)}

    first = client.post("/exports/", form)
    replayed = client.post("/exports/", form)

    job = ExportJob.objects.get()
    assert first.status_code == replayed.status_code == 302
    assert first["Location"] == replayed["Location"] == f"/exports/{job.pk}/"
    assert "company=" in job.query
    status = client.get(f"/exports/{job.pk}/status.json", HTTP_ACCEPT="application/json")
    assert status.json() == {
        "state": "queued",
        "state_label": status.json()["state_label"],
        "done": 0,
        "total": 1,
        "percent": 0,
    }
    page = client.get(f"/exports/{job.pk}/").content.decode()
    assert "data-export-progress" in page and "export_progress.js" in page
    assert "<script>" not in page


def test_a_bad_form_is_answered_on_the_page_and_starts_nothing(
    alpha: Building, world: World
) -> None:
    client = client_for(alpha, world.admin)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    response = client.post(
        "/exports/", {"source": "visits", "file_format": "xlsx", "start": "yesterday"}
    )

    assert response.status_code == 400
    assert "The start date is not a date (YYYY-MM-DD)." in response.content.decode()
    assert ExportJob.objects.count() == 0


def test_a_finished_job_reports_its_total_and_download_link(alpha: Building, world: World) -> None:
    visit(world, world.zhang, 3)
    job = run(start(world.admin))

    status = client_for(alpha, world.admin).get(
        f"/exports/{job.pk}/status.json", HTTP_ACCEPT="application/json"
    )

    body = status.json()
    assert (body["state"], body["done"], body["total"], body["percent"]) == ("done", 1, 1, 100)
    assert body["download_url"] == f"/exports/{job.pk}/download/"


def test_an_id_past_any_row_is_not_found(alpha: Building, world: World) -> None:
    response = client_for(alpha, world.admin).get(
        f"/exports/{2**63}/status.json", HTTP_ACCEPT="application/json"
    )

    assert response.status_code == 404


def test_an_export_link_from_a_records_page_carries_its_filter_into_the_job(
    alpha: Building, world: World
) -> None:
    visit(world, world.zhang, 3)
    visit(world, world.wang, 4)
    chosen = ReportFilter.from_query(
        {**NOVEMBER, "company": str(world.hill.pk), "scenario": "invite"}, today=date(2026, 12, 6)
    )
    client = client_for(alpha, world.admin)

    link = export_url("statistics", chosen)
    page = client.get(link).content.decode()

    assert link.startswith("/exports/?source=statistics&start=2026-11-01&end=2026-11-30")
    assert '<option value="statistics" selected>' in page
    assert 'name="start" value="2026-11-01"' in page
    assert f'<input type="hidden" name="company" value="{world.hill.pk}">' in page
    assert '<input type="hidden" name="scenario" value="invite">' in page
    hidden = {"company": str(world.hill.pk), "scenario": "invite"}
    client.post("/exports/", {"source": "statistics", "file_format": "xlsx", **NOVEMBER, **hidden})
    job = ExportJob.objects.get()
    assert ReportFilter.from_query(QueryDict(job.query), today=date(2026, 12, 6)) == chosen


def test_an_export_reads_as_words_in_the_audit_log(world: World) -> None:
    job = start(world.admin, company=[world.star.pk])
    entry = AuditEntry.objects.get(verb="export.started", object_id=str(job.pk))

    with translation.override("zh-hans"):
        pairs = describe(entry.detail)

    assert sorted(pairs) == sorted(
        [
            ("导出内容", "访问记录"),
            ("格式", "xlsx"),
            ("行数", "0"),
            ("开始日期", "2026-11-01"),
            ("结束日期", "2026-11-30"),
            ("入驻企业", str(world.star.pk)),
        ]
    )


def test_the_records_and_statistics_pages_offer_an_export_of_what_they_show(
    alpha: Building, world: World
) -> None:
    client = client_for(alpha, world.admin)
    query = f"start=2026-11-01&end=2026-11-30&company={world.star.pk}"

    events = client.get(f"/records/?tab=events&{query}").content.decode()
    statistics = client.get(f"/statistics/?{query}").content.decode()

    carried = query.replace("&", "&amp;")
    assert f'href="/exports/?source=events&amp;{carried}" data-test="export"' in events
    assert f'href="/exports/?source=statistics&amp;{carried}" data-test="export"' in statistics


@pytest.mark.parametrize(
    ("asked_in", "stored", "heading"),
    [("en-us", "en", "From"), ("zh-hans", "zh-hans", "起始日期"), ("fr", "zh-hans", "起始日期")],
)
def test_the_file_is_headed_in_the_language_the_person_asked_in(
    world: World, asked_in: str, stored: str, heading: str
) -> None:
    job = start_export(
        Actor(user=world.admin),
        source="visits",
        file_format="xlsx",
        params=NOVEMBER,
        language=asked_in,
    )

    job = run(job)

    assert job.language == stored
    assert xlsx_rows(job)[0][0] == heading
