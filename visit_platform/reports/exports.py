"""Export jobs: a user asks for their records or statistics as xlsx or csv; a worker writes the
file in chunks, reporting progress; the user downloads it until it expires.

What an export holds is exactly what the user's records and statistics pages show them: the
rows come from the same scoped queries (``reports.records``, ``reports.statistics``), read
with the user who asked, by the worker, when it runs. Every export is audited with its filter
when it starts, and again when it is downloaded and when its file is deleted.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db import IntegrityError, transaction
from django.dispatch import Signal
from django.http import QueryDict
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from kernel.console import MAX_ROW_ID
from kernel.errors import DomainError, GoneError, NotFoundError, PermissionDeniedError
from kernel.privacy import blind_index
from kernel.spreadsheets import SpreadsheetFile
from tenants.db import current_schema
from tenants.models import Building
from visit_platform.audit.actions import Actor, record
from visit_platform.directory.roles import VIEW_RECORDS
from visit_platform.notifications.actions import hand_over
from visit_platform.reports import records, statistics
from visit_platform.reports.choices import ACTIVE_STATES, ExportFormat, ExportSource, ExportState
from visit_platform.reports.filters import ReportFilter
from visit_platform.reports.models import ExportJob

logger = logging.getLogger(__name__)

# The most rows an xlsx sheet holds (Excel's limit, less the header row).
XLSX_MOST_ROWS = 1_048_575
# Exports one person may have waiting or being written at once.
MOST_ACTIVE_EXPORTS = 3
# A running job that has not written a chunk for this long lost its worker: a later delivery
# of its task may take it over.
STALLED_AFTER = timedelta(minutes=10)

# Who may export: whoever may read the records; what they export is narrowed to what their
# role sees there.
MAY_EXPORT = VIEW_RECORDS

# Sent after each chunk a job writes (``job``, ``done``): for whoever follows jobs live.
export_progressed = Signal()

EXTENSIONS = {
    (ExportSource.VISITS, ExportFormat.XLSX): "xlsx",
    (ExportSource.EVENTS, ExportFormat.XLSX): "xlsx",
    (ExportSource.STATISTICS, ExportFormat.XLSX): "xlsx",
    (ExportSource.VISITS, ExportFormat.CSV): "csv",
    (ExportSource.EVENTS, ExportFormat.CSV): "csv",
    (ExportSource.STATISTICS, ExportFormat.CSV): "zip",
}


def exports_directory() -> Path:
    """Where export files live: under DATA_DIR, never under a served (static or media) URL."""
    return Path(settings.EXPORTS_DIR)


def building_zone() -> ZoneInfo:
    """The current building's time zone: its records' days and times are local."""
    name = Building.objects.get(schema_name=current_schema()).time_zone
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(settings.TIME_ZONE)


# --- What an export holds ----------------------------------------------------------------


@dataclass
class Sheet:
    """One table of an export: its title, header row, rows (read lazily) and row count."""

    title: str
    headers: Sequence[str]
    rows: Iterable[Sequence[Any]]
    count: int


def _sheets(source: str, report_filter: ReportFilter, user: Any) -> list[Sheet]:
    """The tables of an export, from the same scoped queries the pages use."""
    if source == ExportSource.VISITS:
        visits = records.visit_records(report_filter, user)
        return [
            Sheet(
                str(ExportSource.VISITS.label),
                [str(label) for _key, label in records.VISIT_COLUMNS],
                (
                    records.visit_row(visit, user)
                    for visit in visits.iterator(chunk_size=settings.EXPORT_CHUNK_ROWS)
                ),
                visits.count(),
            )
        ]
    if source == ExportSource.EVENTS:
        events = records.event_records(report_filter, user)
        return [
            Sheet(
                str(ExportSource.EVENTS.label),
                [str(label) for _key, label in records.EVENT_COLUMNS],
                (
                    records.event_row(event, user)
                    for event in events.iterator(chunk_size=settings.EXPORT_CHUNK_ROWS)
                ),
                events.count(),
            )
        ]
    return [
        Sheet(
            str(statistics.TITLES[key]),
            statistics.headers(key),
            frame.itertuples(index=False, name=None),
            len(frame),
        )
        for key, frame in statistics.statistics_tables(report_filter, user).items()
    ]


def _check_may_export(user: Any) -> None:
    if not user.has_perm(MAY_EXPORT):
        raise PermissionDeniedError("forbidden", _("Your role does not allow exports."))


# --- Starting an export --------------------------------------------------------------------


def start_export(
    actor: Actor,
    *,
    source: str,
    file_format: str,
    params: QueryDict | dict[str, Any],
    language: str | None = None,
) -> ExportJob:
    """Queue an export of ``source`` (visits, events, statistics) as ``file_format`` (xlsx,
    csv) over the filter in ``params``. The same request while its job is still being made
    (a double click, a replayed post) returns that job instead of a second one. Raises
    ``DomainError`` for an unknown source or format or a bad filter; nothing is written then.
    The file's headings are in ``language`` (by default the one active now: the asker's).
    """
    user = actor.user
    if user is None:
        raise PermissionDeniedError("forbidden", _("Please sign in again."))
    if source not in ExportSource.values:
        raise DomainError(
            "bad_source", _("Choose what to export: visits, gate events or statistics.")
        )
    if file_format not in ExportFormat.values:
        raise DomainError("bad_format", _("Choose a file format: xlsx or csv."))
    _check_may_export(user)
    zone = building_zone()
    report_filter = ReportFilter.from_query(params, today=timezone.localdate(timezone=zone))
    query = report_filter.as_query()
    digest = blind_index(query, "reports.export_query")
    same = _active_job(user, source, file_format, digest)
    if same is not None:
        return same
    if (
        ExportJob.objects.filter(requested_by=user, state__in=ACTIVE_STATES).count()
        >= MOST_ACTIVE_EXPORTS
    ):
        raise DomainError(
            "too_many_exports",
            _("You have %(count)d exports being made; wait for one to finish.")
            % {"count": MOST_ACTIVE_EXPORTS},
        )
    with timezone.override(zone):
        rows = sum(sheet.count for sheet in _sheets(source, report_filter, user))
    if file_format == ExportFormat.XLSX and rows > XLSX_MOST_ROWS:
        raise DomainError(
            "too_many_rows",
            _("%(rows)d rows do not fit in one Excel sheet: choose csv or a shorter range.")
            % {"rows": rows},
        )
    extension = EXTENSIONS[(ExportSource(source), ExportFormat(file_format))]
    name = f"{current_schema()}/{secrets.token_urlsafe(18)}.{extension}"
    try:
        with transaction.atomic():
            job = ExportJob.objects.create(
                requested_by=user,
                source=source,
                file_format=file_format,
                query=query,
                query_digest=digest,
                rows_total=rows,
                file_path=name,
                language=_language(language),
            )
            record(
                actor,
                "export.started",
                job,
                source=source,
                format=file_format,
                rows=rows,
                **report_filter.as_detail(),
            )
            transaction.on_commit(lambda: _hand_over(job.pk))
    except IntegrityError:
        # The same request, committed by a concurrent submit a moment ago.
        same = _active_job(user, source, file_format, digest)
        if same is None:
            raise
        return same
    return job


def _language(language: str | None) -> str:
    """One of the UI's languages: ``en-us`` is English, anything unknown the default."""
    try:
        return translation.get_supported_language_variant(
            language or translation.get_language() or settings.LANGUAGE_CODE
        )
    except LookupError:
        return str(settings.LANGUAGE_CODE)


def _active_job(user: Any, source: str, file_format: str, digest: str) -> ExportJob | None:
    return ExportJob.objects.filter(
        requested_by=user,
        source=source,
        file_format=file_format,
        query_digest=digest,
        state__in=ACTIVE_STATES,
    ).first()


def _hand_over(job_id: int) -> None:
    from visit_platform.reports.tasks import build_export_task

    hand_over(build_export_task, job_id)


# --- Writing the file (the worker) ---------------------------------------------------------


def build_export(job_id: int, *, now: Callable[[], datetime] = timezone.now) -> ExportJob | None:
    """Write job ``job_id``'s file. Safe to run twice: a job already written, being written
    by a live worker, failed or expired is left alone (None); a job whose worker stalled is
    taken over and written again from the first row, into the same file name, so there is
    never a second file and progress never counts a row twice."""
    job = _claim(job_id, now())
    if job is None:
        return None
    final = exports_directory() / job.file_path
    # A name of this run's own: a worker that stalled and wakes up again never writes into
    # the file of the run that took its job over.
    partial = final.with_name(f"{final.name}.{secrets.token_hex(4)}.part")
    # The headings, and any error, in the language of the person who asked.
    with translation.override(job.language):
        try:
            written = _write_file(job, partial, now)
            os.replace(partial, final)
        except Exception as error:
            partial.unlink(missing_ok=True)
            return _fail(job, error, now())
    finished = now()
    _this_run(job).update(
        state=ExportState.DONE,
        rows_done=written,
        rows_total=written,
        progressed_at=finished,
        finished_at=finished,
        expires_at=finished + timedelta(hours=settings.EXPORT_HOURS),
        error="",
    )
    job.refresh_from_db()
    export_progressed.send(ExportJob, job=job, done=written)
    return job


def _write_file(job: ExportJob, partial: Path, now: Callable[[], datetime]) -> int:
    user = job.requested_by
    _check_may_export(user)
    zone = building_zone()
    report_filter = ReportFilter.from_query(
        QueryDict(job.query), today=timezone.localdate(timezone=zone)
    )
    partial.parent.mkdir(parents=True, exist_ok=True)
    # The records' days are the building's local days, as on its pages.
    with timezone.override(zone):
        sheets = _sheets(job.source, report_filter, user)
        _this_run(job).update(rows_total=sum(sheet.count for sheet in sheets))
        return _write(job, sheets, partial, zone, now)


def _claim(job_id: int, moment: datetime) -> ExportJob | None:
    with transaction.atomic():
        job = ExportJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None:
            return None
        stalled = (
            job.state == ExportState.RUNNING
            and job.progressed_at is not None
            and job.progressed_at < moment - STALLED_AFTER
        )
        if job.state != ExportState.QUEUED and not stalled:
            return None
        job.state = ExportState.RUNNING
        job.rows_done = 0
        job.progressed_at = moment
        job.save(update_fields=["state", "rows_done", "progressed_at"])
    return job


def _write(
    job: ExportJob,
    sheets: list[Sheet],
    path: Path,
    zone: ZoneInfo,
    now: Callable[[], datetime],
) -> int:
    spreadsheet = SpreadsheetFile(
        path, job.file_format, zone=zone, several_sheets=job.source == ExportSource.STATISTICS
    )
    written = 0
    try:
        for sheet in sheets:
            spreadsheet.add_sheet(sheet.title, sheet.headers)
            for chunk in _chunks(sheet.rows):
                for row in chunk:
                    spreadsheet.append(row)
                written += len(chunk)
                _progress(job, written, now())
    finally:
        spreadsheet.close()
    return written


def _chunks(rows: Iterable[Sequence[Any]]) -> Iterator[list[Sequence[Any]]]:
    chunk: list[Sequence[Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == settings.EXPORT_CHUNK_ROWS:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _progress(job: ExportJob, done: int, moment: datetime) -> None:
    # Only while the job is still this run's: running, and last moved by it.
    moved = _this_run(job).update(rows_done=done, progressed_at=moment)
    if not moved:
        raise DomainError("export_taken_away", _("The export was stopped."))
    job.progressed_at = moment
    export_progressed.send(ExportJob, job=job, done=done)


def _this_run(job: ExportJob) -> Any:
    return ExportJob.objects.filter(
        pk=job.pk, state=ExportState.RUNNING, progressed_at=job.progressed_at
    )


def _fail(job: ExportJob, error: Exception, moment: datetime) -> ExportJob:
    if isinstance(error, DomainError):
        message = error.message
    else:
        logger.exception("Export %s failed", job.pk)
        message = _("The export failed. Try again, or choose a shorter range.")
    _this_run(job).update(state=ExportState.FAILED, error=message[:500], finished_at=moment)
    job.refresh_from_db()
    return job


# --- Downloading and expiring ----------------------------------------------------------------


def job_for(user: Any, job_id: int) -> ExportJob:
    """The user's own export ``job_id`` in this building; anyone else's is not found."""
    job = (
        ExportJob.objects.filter(pk=job_id, requested_by=user).first()
        if 0 < job_id <= MAX_ROW_ID
        else None
    )
    if job is None:
        raise NotFoundError("not_found", _("There is no such export."))
    return job


def open_download(
    actor: Actor, job_id: int, *, now: datetime | None = None
) -> tuple[ExportJob, Path]:
    """The file of the actor's own finished export, audited as downloaded. Someone else's
    export is not found; an expired one is gone (410)."""
    moment = now or timezone.now()
    job = job_for(actor.user, job_id)
    if job.state == ExportState.EXPIRED or (
        job.state == ExportState.DONE and job.expires_at is not None and job.expires_at <= moment
    ):
        raise GoneError(
            "export_expired",
            _("This export has expired and its file was deleted. Start the export again."),
        )
    if job.state != ExportState.DONE:
        raise DomainError("export_not_ready", _("This export is not ready yet."))
    path = exports_directory() / job.file_path
    if not path.is_file():
        raise GoneError(
            "export_expired", _("This export's file is no longer there. Start it again.")
        )
    with transaction.atomic():
        record(
            actor,
            "export.downloaded",
            job,
            source=job.source,
            format=job.file_format,
            rows=job.rows_done,
        )
    return job, path


def expire_exports(now: datetime | None = None) -> str:
    """Delete the files of the current building's exports past their expiry (each audited),
    and give up jobs that never finished within as long. Safe to run twice."""
    moment = now or timezone.now()
    actor = Actor.system("exports")
    expired = 0
    due = ExportJob.objects.filter(state=ExportState.DONE, expires_at__lte=moment)
    for job_id in due.values_list("pk", flat=True):
        with transaction.atomic():
            job = (
                ExportJob.objects.select_for_update()
                .filter(pk=job_id, state=ExportState.DONE)
                .first()
            )
            if job is None:
                continue
            (exports_directory() / job.file_path).unlink(missing_ok=True)
            job.state = ExportState.EXPIRED
            job.save(update_fields=["state"])
            record(actor, "export.expired", job, source=job.source, format=job.file_format)
            expired += 1
    stale = ExportJob.objects.filter(
        state__in=ACTIVE_STATES, created_at__lte=moment - timedelta(hours=settings.EXPORT_HOURS)
    )
    abandoned = 0
    for job in stale:
        final = exports_directory() / job.file_path
        for partial in final.parent.glob(f"{final.name}.*.part"):
            partial.unlink(missing_ok=True)
        abandoned += ExportJob.objects.filter(pk=job.pk, state__in=ACTIVE_STATES).update(
            state=ExportState.FAILED,
            error=_("The export did not finish in time. Start it again."),
            finished_at=moment,
        )
    return f"{expired} exports expired, {abandoned} abandoned"
