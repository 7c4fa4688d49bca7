"""Evacuation roll call pages: start one (console), the marshals' page for phones (live), mark,
close, and the printable list by zone (A4 PDF)."""

from __future__ import annotations

import io
from collections import OrderedDict
from datetime import datetime

from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from kernel.console import building_zone, console_view
from kernel.errors import DomainError
from visit_platform.access.actions import (
    close_roll_call,
    entry_payload,
    mark_roll_call_entry,
    note_roll_call_viewed,
    roll_call_counts,
    start_roll_call,
)
from visit_platform.access.choices import RollCallStatus
from visit_platform.access.models import RollCall, RollCallEntry
from visit_platform.access.printing import fit_text, pdf_font
from visit_platform.audit.actions import Actor
from visit_platform.directory.models import Host
from visit_platform.directory.roles import MARK_ROLL_CALL, RUN_ROLL_CALLS

PAST_ROLL_CALLS = 10


def _own_hosts(request: HttpRequest) -> list[Host] | None:
    """None for those who run roll calls (they see and mark everyone); otherwise the host
    records of the user, whose visitors are all they see and mark."""
    if request.user.has_perm(RUN_ROLL_CALLS):
        return None
    user_id: int = request.user.pk or 0
    return list(Host.objects.filter(user_id=user_id, is_active=True))


def _entries(roll_call: RollCall, hosts: list[Host] | None) -> QuerySet[RollCallEntry]:
    entries = roll_call.entries.select_related("marked_by").order_by("zone", "name", "pk")
    if hosts is not None:
        entries = entries.filter(host__in=hosts)
    return entries


def _zone_label(zone: str) -> str:
    return zone or _("No zone")


def _by_zone(entries: list[RollCallEntry]) -> list[tuple[str, list[RollCallEntry]]]:
    zones: OrderedDict[str, list[RollCallEntry]] = OrderedDict()
    for entry in entries:
        zones.setdefault(_zone_label(entry.zone), []).append(entry)
    return list(zones.items())


@console_view(MARK_ROLL_CALL)
def roll_call_home(request: HttpRequest) -> HttpResponse:
    """Start a roll call (with a confirmation), or go to the open one; the last ones closed.
    Hosts find the open one here."""
    return _home(request)


def _home(request: HttpRequest, error: str = "", status: int = 200) -> HttpResponse:
    with timezone.override(building_zone(request)):
        return render(
            request,
            "access/roll_call_home.html",
            {
                "section": "roll_call",
                "open_roll_call": RollCall.objects.filter(is_open=True).first(),
                "past": RollCall.objects.filter(is_open=False)[:PAST_ROLL_CALLS],
                "error": error,
                "can_run": request.user.has_perm(RUN_ROLL_CALLS),
            },
            status=status,
        )


@require_POST
@console_view(RUN_ROLL_CALLS)
def roll_call_start(request: HttpRequest) -> HttpResponse:
    if request.POST.get("confirm") != "yes":
        return _home(request, _("Tick the box to confirm that an evacuation is under way."), 400)
    try:
        roll_call = start_roll_call(Actor.from_request(request))
    except DomainError as error:
        return _home(request, error.message, error.status)
    return redirect("access:roll_call", pk=roll_call.pk)


@console_view(MARK_ROLL_CALL)
def roll_call_page(request: HttpRequest, pk: int) -> HttpResponse:
    """The marshals' page, for phones: everyone by zone with full names, tap to mark. Hosts
    see their own visitors only. Opening it is audited."""
    roll_call = RollCall.objects.filter(pk=pk).first()
    if roll_call is None:
        raise Http404
    hosts = _own_hosts(request)
    entries = list(_entries(roll_call, hosts))
    note_roll_call_viewed(Actor.from_request(request), roll_call)
    with timezone.override(building_zone(request)):
        return render(
            request,
            "access/roll_call.html",
            {
                "roll_call": roll_call,
                "zones": _by_zone(entries),
                "counts": _counts(entries),
                "can_run": hosts is None,
                "statuses": RollCallStatus,
                "socket_path": f"/ws/roll-call/{roll_call.pk}/",
            },
        )


def _counts(entries: list[RollCallEntry]) -> dict[str, int]:
    counts = {status.value: 0 for status in RollCallStatus}
    for entry in entries:
        counts[entry.status] += entry.people
    return counts


@require_POST
@console_view(MARK_ROLL_CALL)
def roll_call_mark(request: HttpRequest, pk: int, entry_pk: int) -> HttpResponse:
    """Mark one person; the page asks with fetch and gets JSON, a page without script posts
    the form and comes back to the list."""
    wants_json = "application/json" in request.headers.get("Accept", "")
    if not RollCallEntry.objects.filter(pk=entry_pk, roll_call_id=pk).exists():
        if wants_json:
            return JsonResponse(
                {"code": "entry_not_found", "message": _("No such person in this roll call.")},
                status=404,
            )
        raise Http404
    try:
        entry = mark_roll_call_entry(
            Actor.from_request(request),
            entry_pk,
            request.POST.get("status", ""),
            only_for_hosts=_own_hosts(request),
        )
    except DomainError as error:
        if wants_json:
            return JsonResponse({"code": error.code, "message": error.message}, status=error.status)
        return HttpResponse(error.message, status=error.status, content_type="text/plain")
    if wants_json:
        return JsonResponse(entry_payload(entry))
    return redirect(reverse("access:roll_call", kwargs={"pk": pk}) + f"#entry-{entry.pk}")


@require_POST
@console_view(RUN_ROLL_CALLS)
def roll_call_close(request: HttpRequest, pk: int) -> HttpResponse:
    roll_call = RollCall.objects.filter(pk=pk).first()
    if roll_call is None:
        raise Http404
    try:
        close_roll_call(Actor.from_request(request), roll_call)
    except DomainError as error:
        return _home(request, error.message, error.status)
    return redirect("access:roll_call_home")


@console_view(RUN_ROLL_CALLS)
def roll_call_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The roll call on A4, by zone, with each person's status: for the assembly point's
    clipboard and the fire brigade. Printing it is audited like opening the page."""
    roll_call = RollCall.objects.select_related("started_by").filter(pk=pk).first()
    if roll_call is None:
        raise Http404
    entries = list(_entries(roll_call, None))
    building = getattr(request, "tenant", None)
    with timezone.override(building_zone(request)):
        pdf = render_roll_call(
            str(building.name) if building is not None else "",
            roll_call,
            entries,
            timezone.localtime(),
        )
    note_roll_call_viewed(Actor.from_request(request), roll_call, "pdf")
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="roll-call-{roll_call.pk}.pdf"'
    response["Cache-Control"] = "no-store"
    return response


STATUS_PRINTED = {
    RollCallStatus.UNACCOUNTED: "未确认 Unaccounted",
    RollCallStatus.SAFE: "安全 Safe",
    RollCallStatus.MISSING: "失联 Missing",
}


def render_roll_call(
    building_name: str, roll_call: RollCall, entries: list[RollCallEntry], printed_at: datetime
) -> bytes:
    """An A4 list, Chinese and English: heading with counts, then each zone's people with
    host, company, companions and status; new pages as needed."""
    font = pdf_font()
    buffer = io.BytesIO()
    _width, height = A4
    canvas = Canvas(buffer, pagesize=A4, pageCompression=1, initialFontName=font)
    canvas.setTitle(f"{building_name} · 疏散点名 Evacuation roll call {roll_call.pk}")
    canvas.setCreator("visit-platform")
    margin = 15 * mm
    columns = [margin, margin + 48 * mm, margin + 82 * mm, margin + 130 * mm, margin + 145 * mm]
    y = height - margin

    def line(text: str, size: float, x: float = margin) -> None:
        canvas.setFont(font, size)
        canvas.drawString(x, y, text)

    def next_row(step: float) -> None:
        nonlocal y
        y -= step
        if y < margin:
            canvas.showPage()
            y = height - margin

    line(f"{building_name} · 疏散点名 Evacuation roll call #{roll_call.pk}", 15)
    next_row(7 * mm)
    started = timezone.localtime(roll_call.started_at)
    line(
        f"开始 Started {started:%Y-%m-%d %H:%M} · 打印 Printed {printed_at:%Y-%m-%d %H:%M}"
        + (" · 已结束 Closed" if not roll_call.is_open else ""),
        9,
    )
    next_row(5 * mm)
    counts = roll_call_counts(roll_call)
    line(
        f"安全 Safe {counts['safe']} · 失联 Missing {counts['missing']} · "
        f"未确认 Unaccounted {counts['unaccounted']} (人数含随行 people incl. companions)",
        9,
    )
    next_row(9 * mm)
    for zone, zone_entries in _by_zone(entries):
        line(f"{zone} ({sum(entry.people for entry in zone_entries)})", 12)
        next_row(6 * mm)
        for x, title in zip(
            columns,
            ["姓名 Name", "被访人 Host", "公司 Company", "随行 +", "状态 Status"],
            strict=True,
        ):
            line(title, 8, x)
        next_row(5 * mm)
        for entry in zone_entries:
            values = [
                entry.name,
                entry.host_name or "—",
                entry.company_name or "—",
                str(entry.companions),
                STATUS_PRINTED[RollCallStatus(entry.status)],
            ]
            for x, value, room in zip(columns, values, [46, 32, 46, 13, 35], strict=True):
                line(fit_text(value, font, 10, room * mm), 10, x)
            next_row(6 * mm)
        next_row(3 * mm)
    if not entries:
        line("无人在内 Nobody was inside", 11)
    canvas.save()
    return buffer.getvalue()
