"""The export pages: the user's exports with a form to start one, one export's progress (a
bar that polls a JSON endpoint) and its download, for the person who asked only."""

from __future__ import annotations

from typing import Any, cast
from urllib.parse import urlencode

from django.http import (
    FileResponse,
    HttpRequest,
    HttpResponse,
    JsonResponse,
    QueryDict,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from kernel.console import console_view, json_error
from kernel.errors import DomainError
from visit_platform.audit.actions import Actor
from visit_platform.reports import exports
from visit_platform.reports.choices import ExportFormat, ExportSource, ExportState
from visit_platform.reports.filters import ReportFilter
from visit_platform.reports.models import ExportJob

# The exports listed on the page: the latest; older ones have expired long ago.
LISTED = 20
# What the form posts besides the filter itself.
_FORM_KEYS = ("source", "file_format", "csrfmiddlewaretoken")


def export_url(source: str, report_filter: ReportFilter) -> str:
    """The link of an "Export" control on the records or statistics page: the exports page
    with ``source`` chosen and the page's filter carried in its form."""
    query = urlencode({"source": source})
    return f"{reverse('reports:export_list')}?{query}&{report_filter.as_query()}"


def _filter_params(data: QueryDict) -> QueryDict:
    params = data.copy()
    for key in _FORM_KEYS:
        params.pop(key, None)
    return params


@require_http_methods(["GET", "POST"])
@console_view(exports.MAY_EXPORT)
def export_list(request: HttpRequest) -> HttpResponse:
    """GET: the user's exports, and a form to start one whose hidden fields carry the filter
    of the page it came from (``?source=visits&start=...``). POST: start it, then show its
    progress; a bad request is said on the page and starts nothing."""
    error = ""
    data = request.POST if request.method == "POST" else request.GET
    if request.method == "POST":
        try:
            job = exports.start_export(
                Actor.from_request(request),
                source=data.get("source", ""),
                file_format=data.get("file_format", ""),
                params=_filter_params(data),
            )
        except DomainError as refusal:
            error = refusal.message
        else:
            return redirect("reports:export_detail", pk=job.pk)
    jobs = ExportJob.objects.filter(requested_by=request.user.pk)[:LISTED]
    context: dict[str, Any] = {
        "section": "exports",
        "jobs": jobs,
        "sources": ExportSource.choices,
        "formats": ExportFormat.choices,
        "chosen_source": data.get("source", ExportSource.VISITS),
        "chosen_format": data.get("file_format", ExportFormat.XLSX),
        "start": data.get("start", ""),
        "end": data.get("end", ""),
        "carried": [
            (key, value)
            for key, values in _filter_params(data).lists()
            if key not in ("start", "end")
            for value in values
        ],
        "error": error,
    }
    return render(request, "reports/exports.html", context, status=400 if error else 200)


@require_GET
@console_view(exports.MAY_EXPORT)
def export_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        job = exports.job_for(request.user, pk)
    except DomainError as error:
        return render(request, "reports/export_gone.html", {"message": error.message}, status=404)
    return render(
        request,
        "reports/export_detail.html",
        {
            "section": "exports",
            "job": job,
            "status_url": reverse("reports:export_status", args=[pk]),
        },
    )


@require_GET
@console_view(exports.MAY_EXPORT)
def export_status(request: HttpRequest, pk: int) -> JsonResponse:
    """``{"state", "done", "total"}`` for the progress bar (and, once written, the download
    link); someone else's export is ``{"code", "message"}`` with 404."""
    try:
        job = exports.job_for(request.user, pk)
    except DomainError as error:
        return json_error(error.code, error.message, error.status)
    return JsonResponse(_status(job))


def _status(job: ExportJob) -> dict[str, Any]:
    body: dict[str, Any] = {
        "state": job.state,
        "state_label": job.get_state_display(),
        "done": job.rows_done,
        "total": job.rows_total,
        "percent": job.percent,
    }
    if job.state == ExportState.DONE:
        body["download_url"] = reverse("reports:export_download", args=[job.pk])
    if job.state == ExportState.FAILED:
        body["error"] = job.error
    return body


@require_GET
@console_view(exports.MAY_EXPORT)
def export_download(request: HttpRequest, pk: int) -> HttpResponse:
    """The file, for the person who asked, in this building, before it expires; afterwards
    a page saying it has gone (410)."""
    try:
        job, path = exports.open_download(Actor.from_request(request), pk)
    except DomainError as error:
        status = error.status if error.status in (404, 410) else 409
        return render(
            request, "reports/export_gone.html", {"message": error.message}, status=status
        )
    name = f"{job.source}-{job.created_at:%Y%m%d-%H%M}{path.suffix}"
    # Streamed from disk; typed as the console views' HttpResponse, which it stands in for.
    return cast(HttpResponse, FileResponse(path.open("rb"), as_attachment=True, filename=name))
