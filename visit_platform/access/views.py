"""The visitor's pass page (no login: the unguessable link is the credential), the token it
refreshes, the printable visitor slip for reception, and the console's gate pages."""

from __future__ import annotations

import io
import json
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlencode

from django.contrib import messages
from django.core import signing
from django.core.paginator import Paginator
from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.formats import date_format
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django.views.decorators.http import require_POST
from reportlab.lib.pagesizes import A6
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas

from kernel import pass_tokens as tokens
from kernel.console import MAX_ROW_ID, building_zone, console_view, json_error, wants_json
from kernel.errors import DomainError
from kernel.mobile_pages import posted, private
from kernel.privacy import mask_name, secret_hash
from kernel.rate_limits import limit_posts
from visit_platform.access.actions import (
    MAX_ACKNOWLEDGEMENT_NOTE,
    ControllerFields,
    GateFields,
    SecuritySettings,
    acknowledge_alert,
    change_security_settings,
    extend_by_link,
    extension_choices,
    left_by_link,
    note_alert_visitors_viewed,
    note_slip_printed,
    open_overstay_link,
    pass_token,
    request_gate_pulse,
    revoke_pass,
    save_controller,
    save_gate,
)
from visit_platform.access.choices import PRINTABLE_STATES, AlertKind, PassState, Reason
from visit_platform.access.forms import (
    ControllerForm,
    GateForm,
    SecuritySettingsForm,
    generic_map_text,
)
from visit_platform.access.models import Alert, Controller, Gate, GateAgent, GateCommand, Pass
from visit_platform.access.printing import (
    draw_qr,
    format_window,
    pdf_font,
    qr_svg,
    wrap_text,
)
from visit_platform.access.queries import (
    agent_is_online,
    controller_is_online,
    pass_state,
    silence_limit,
)
from visit_platform.audit.actions import Actor
from visit_platform.directory.forms import add_domain_error
from visit_platform.directory.models import Host
from visit_platform.directory.roles import (
    ACKNOWLEDGE_ALERTS,
    MANAGE_GATES,
    MANAGE_SECURITY_SETTINGS,
    PRINT_SLIP,
    REVOKE_PASSES,
    VIEW_ALERTS,
    VIEW_SECURITY_SCREEN,
    sees_full_names,
    visitor_name_for,
)

# Link codes are 24 characters (secrets.token_urlsafe(18)); anything much longer is not one.
MAX_LINK_CODE_LENGTH = 64
REFRESH_SECONDS = 30


STATE_MESSAGES = {
    PassState.REVOKED: _(
        "This pass has been cancelled. Please contact the person you are visiting."
    ),
    PassState.EXPIRED: _("This pass has expired."),
    PassState.USED_UP: _("Every entry on this pass has been used."),
    PassState.NOT_YET_VALID: _("The code appears here when your visit begins."),
    PassState.VALID: _("Show this code to the scanner at the gate."),
    PassState.EXIT_ONLY: _(
        "You are inside: show this code to the scanner at the exit gate to leave. "
        "It will not let you in again."
    ),
}


# States in which the page shows a code: to come in and go out, or only to go out.
SHOWS_CODE = frozenset({PassState.VALID, PassState.EXIT_ONLY})


def _pass_for_link(code: str) -> Pass | None:
    if not code or len(code) > MAX_LINK_CODE_LENGTH:
        return None
    return (
        Pass.objects.select_related("visit__visitor", "visit__host", "visit__company")
        .filter(link_hash=secret_hash(code))
        .first()
    )


def _private(response: HttpResponse) -> HttpResponse:
    """The link is a credential: keep it out of caches and out of other sites' logs."""
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@dataclass(frozen=True)
class RotatingCode:
    token: str
    svg: SafeString
    expires_at: datetime


def _rotating_code(pass_record: Pass) -> RotatingCode:
    token = pass_token(pass_record, tokens.TokenKind.ROTATING)
    not_after = tokens.parse_token(token).claims.not_after
    return RotatingCode(token, qr_svg(token), datetime.fromtimestamp(not_after, tz=UTC))


def _refresh_seconds(request: HttpRequest) -> int:
    """Every 30 s; ``?refresh=N`` (1 to 30) makes it faster, for tests and demonstrations."""
    text = request.GET.get("refresh", "")
    if text.isdigit() and 1 <= int(text) <= REFRESH_SECONDS:
        return int(text)
    return REFRESH_SECONDS


def pass_page(request: HttpRequest, code: str) -> HttpResponse:
    pass_record = _pass_for_link(code)
    if pass_record is None:
        return _private(render(request, "access/pass_not_found.html", status=404))
    state = pass_state(pass_record)
    visit = pass_record.visit
    company = visit.company or (visit.host.company if visit.host else None)
    with timezone.override(building_zone(request)):
        response = render(
            request,
            "access/pass_page.html",
            {
                "pass": pass_record,
                "state": state,
                "state_label": state.label,
                "state_message": STATE_MESSAGES[state],
                "visitor_name": mask_name(visit.visitor_name),
                "host_name": visit.host.name if visit.host else "",
                "company": company,
                "code": _rotating_code(pass_record) if state in SHOWS_CODE else None,
                "token_url": reverse("pass_token", args=[code]),
                "refresh_seconds": _refresh_seconds(request),
                "time_zone": timezone.get_current_timezone_name(),
            },
        )
    return _private(response)


def pass_token_json(request: HttpRequest, code: str) -> HttpResponse:
    """A fresh rotating token for the page's QR code (also to a holder inside on a pass that
    only lets them out), or only the state when the pass opens no gate."""
    pass_record = _pass_for_link(code)
    if pass_record is None:
        return _private(
            JsonResponse({"code": "not_found", "message": _("No such pass.")}, status=404)
        )
    state = pass_state(pass_record)
    body: dict[str, object] = {"token": None, "qr_svg": None, "expires_at": None, "state": state}
    if state in SHOWS_CODE:
        rotating = _rotating_code(pass_record)
        body.update(
            token=rotating.token,
            qr_svg=str(rotating.svg),
            expires_at=rotating.expires_at.isoformat(),
        )
    body["state_label"] = str(state.label)
    body["message"] = str(STATE_MESSAGES[state])
    return _private(JsonResponse(body))


# --- The printed slip -----------------------------------------------------------------------

SLIP_INSTRUCTION_ZH = "请在闸机处扫描二维码通行。离开时请将本单交回前台。"
SLIP_INSTRUCTION_EN = (
    "Scan the QR code at the gate. Please return this slip to reception as you leave."
)


@dataclass(frozen=True)
class SlipContent:
    """Everything printed on a slip, already masked and formatted."""

    building_name: str
    visitor_name: str
    host_name: str
    company_name: str
    floor: str
    zones: str  # the pass's zones ("" : every zone), shown instead of the floor when any
    window: str
    entries: str
    issued_by: str
    pass_number: str
    token: str
    photo: bytes | None


def _photo_bytes(pass_record: Pass) -> bytes | None:
    photo = pass_record.visit.visitor.photo
    if not photo:
        return None
    try:
        with photo.open("rb") as file:
            return bytes(file.read())
    except (OSError, ValueError):
        return None  # a missing file prints the placeholder rather than no slip at all


def slip_issuer(pass_record: Pass) -> str:
    """Who stands behind the pass, as the slip names them (签发人): whoever issued it, or, for
    a pass the visit's flow issued, the receptionist who registered the visit, else the person
    who invited the visitor, else the one who approved the visit. A host is named as the
    directory has them; other staff by their display name (their e-mail without one)."""
    visit = pass_record.visit
    for user in (pass_record.issued_by, visit.registered_by, visit.invited_by, visit.approved_by):
        if user is not None:
            host = Host.objects.filter(user=user, is_active=True).only("name").first()
            return host.name if host is not None else str(user)
    return "—"


def _slip_content(request: HttpRequest, pass_record: Pass) -> SlipContent:
    visit = pass_record.visit
    company = visit.company or (visit.host.company if visit.host else None)
    building = getattr(request, "tenant", None)
    uses_left = pass_record.uses_left
    return SlipContent(
        building_name=str(building.name) if building is not None else "",
        visitor_name=visitor_name_for(request.user, visit.visitor_name),
        host_name=visit.host.name if visit.host else "—",
        company_name=company.name if company else "—",
        floor=(company.floors if company else "") or "—",
        zones="、".join(pass_record.zones),
        window=format_window(pass_record.valid_from, pass_record.valid_until),
        entries="不限 / unlimited"
        if uses_left is None
        else f"{uses_left} / {pass_record.max_uses}",
        issued_by=slip_issuer(pass_record),
        pass_number=f"{pass_record.pk:06d}",
        token=pass_token(pass_record, tokens.TokenKind.SLIP),
        photo=_photo_bytes(pass_record),
    )


def render_slip(content: SlipContent) -> bytes:
    """An A6 slip: building, visitor, photo, QR code of a window-long token, who and where,
    and what to do with it, in Chinese and English."""
    font = pdf_font()
    buffer = io.BytesIO()
    page_width, page_height = A6
    canvas = Canvas(buffer, pagesize=A6, pageCompression=1, initialFontName=font)
    canvas.setTitle(f"{content.building_name} · 访客通行单 Visitor slip")
    canvas.setCreator("visit-platform")
    margin = 7 * mm
    inner = page_width - 2 * margin
    ink, grey, line_grey = (0.09, 0.13, 0.17), (0.42, 0.47, 0.52), (0.82, 0.85, 0.88)

    # Header: building and title.
    y = page_height - margin - 5 * mm
    canvas.setFillColorRGB(*ink)
    size = 13.0
    for text in wrap_text(content.building_name, font, size, inner)[:2]:
        canvas.setFont(font, size)
        canvas.drawCentredString(page_width / 2, y, text)
        y -= 5.5 * mm
    canvas.setFont(font, 8.5)
    canvas.setFillColorRGB(*grey)
    canvas.drawCentredString(page_width / 2, y + 0.5 * mm, "访客通行单 · VISITOR SLIP")
    y -= 3 * mm
    canvas.setStrokeColorRGB(*line_grey)
    canvas.setLineWidth(0.6)
    canvas.line(margin, y, page_width - margin, y)

    # Photo (or an empty box to paste one in) and the QR code.
    qr_size = 50 * mm
    photo_width, photo_height = 30 * mm, 40 * mm
    top = y - 3 * mm
    photo_x, photo_y = margin, top - photo_height
    _draw_photo(canvas, content.photo, photo_x, photo_y, photo_width, photo_height, font)
    qr_x = page_width - margin - qr_size
    draw_qr(canvas, content.token, qr_x, top - qr_size, qr_size)
    canvas.setFont(font, 7)
    canvas.setFillColorRGB(*grey)
    canvas.drawString(photo_x, photo_y - 4 * mm, f"No. {content.pass_number}")

    # The visitor's (masked) name, large.
    y = top - qr_size - 7 * mm
    canvas.setFillColorRGB(*ink)
    canvas.setFont(font, 17)
    canvas.drawString(margin, y, content.visitor_name)
    canvas.setFont(font, 7.5)
    canvas.setFillColorRGB(*grey)
    canvas.drawRightString(page_width - margin, y, "访客 Visitor")
    y -= 4.5 * mm

    # Who, where, when.
    label_width = 26 * mm
    rows = [
        ("被访人 Host", content.host_name),
        ("公司 Company", content.company_name),
        ("区域 Zones", content.zones) if content.zones else ("楼层 Floor", content.floor),
        ("有效期 Valid", content.window),
        ("可用次数 Entries", content.entries),
        ("签发人 Issued by", content.issued_by),
    ]
    for label, value in rows:
        y -= 4.6 * mm
        canvas.setFont(font, 7.5)
        canvas.setFillColorRGB(*grey)
        canvas.drawString(margin, y, label)
        canvas.setFont(font, 9)
        canvas.setFillColorRGB(*ink)
        for index, text in enumerate(wrap_text(value, font, 9, inner - label_width)[:2]):
            if index:
                y -= 4 * mm
            canvas.drawString(margin + label_width, y, text)

    # What to do with it, at the foot of the page.
    box_height = 15 * mm
    canvas.setFillColorRGB(0.94, 0.97, 0.95)
    canvas.setStrokeColorRGB(0.75, 0.87, 0.81)
    canvas.roundRect(margin, margin, inner, box_height, 2 * mm, stroke=1, fill=1)
    canvas.setFillColorRGB(0.04, 0.30, 0.22)
    text_y = margin + box_height - 5 * mm
    for text, size in ((SLIP_INSTRUCTION_ZH, 8.0), (SLIP_INSTRUCTION_EN, 6.5)):
        for part in wrap_text(text, font, size, inner - 6 * mm)[:2]:
            canvas.setFont(font, size)
            canvas.drawString(margin + 3 * mm, text_y, part)
            text_y -= size * 0.45 * mm
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _draw_photo(
    canvas: Canvas, photo: bytes | None, x: float, y: float, width: float, height: float, font: str
) -> None:
    if photo is not None:
        try:
            canvas.drawImage(
                ImageReader(io.BytesIO(photo)),
                x,
                y,
                width,
                height,
                preserveAspectRatio=True,
                anchor="c",
            )
            return
        except (OSError, ValueError):
            pass  # not an image reportlab can read: fall back to the box
    canvas.setStrokeColorRGB(0.7, 0.74, 0.78)
    canvas.setDash(3, 2)
    canvas.rect(x, y, width, height, stroke=1, fill=0)
    canvas.setDash()
    canvas.setFillColorRGB(0.55, 0.6, 0.65)
    canvas.setFont(font, 8)
    canvas.drawCentredString(x + width / 2, y + height / 2 + 1 * mm, "照片")
    canvas.drawCentredString(x + width / 2, y + height / 2 - 3 * mm, "Photo")


# A print's link works this long: enough for a slow printer dialog, not for a bookmark.
SLIP_PRINT_MAX_AGE = 30 * 60
_SLIP_PRINT_SALT = "access.slip-print"


def slip_print_url(pass_pk: int, user_pk: int) -> str:
    """The slip's address for one new print: ``?print=`` is signed, names this user, this pass
    and a fresh print id, and expires. Every fetch of it is the same print (audited once)."""
    ticket = signing.dumps(
        {"pass": pass_pk, "user": user_pk, "print": uuid.uuid4().hex}, salt=_SLIP_PRINT_SALT
    )
    return f"{reverse('pass_slip', args=[pass_pk])}?{urlencode({'print': ticket})}"


def _print_id(request: HttpRequest, pass_pk: int) -> str | None:
    """The print a slip fetch belongs to, or None when its ticket is missing, forged, expired,
    too long, or another user's or another pass's."""
    ticket = request.GET.get("print", "")
    if not ticket or len(ticket) > 300:
        return None
    try:
        claims = signing.loads(ticket, salt=_SLIP_PRINT_SALT, max_age=SLIP_PRINT_MAX_AGE)
    except signing.BadSignature:  # SignatureExpired is one
        return None
    if not isinstance(claims, dict) or claims.get("pass") != pass_pk:
        return None
    if claims.get("user") != request.user.pk or not isinstance(claims.get("print"), str):
        return None
    return str(claims["print"])


@console_view(PRINT_SLIP)
def pass_slip(request: HttpRequest, pk: int) -> HttpResponse:
    """The visitor slip as a PDF, for reception to print.

    A fetch without a print of its own (a link, a button that opens this window) is sent on to
    a new print's address (``slip_print_url``); what the browser then fetches again and again
    for that print (its PDF viewer does) is audited once (ADR 0027).
    """
    pass_record = (
        Pass.objects.select_related(
            "visit__visitor",
            "visit__host__company",
            "visit__company",
            "issued_by",
            "visit__registered_by",
            "visit__invited_by",
            "visit__approved_by",
        )
        .filter(pk=pk)
        .first()
    )
    if pass_record is None or not request.user.has_perm(PRINT_SLIP, pass_record.visit):
        raise Http404
    state = pass_state(pass_record)
    if state not in PRINTABLE_STATES:
        context = {"state_label": state.label, "state_message": STATE_MESSAGES[state]}
        return render(request, "access/slip_refused.html", context, status=409)
    print_id = _print_id(request, pass_record.pk)
    if print_id is None:
        fresh = redirect(slip_print_url(pass_record.pk, int(request.user.pk or 0)))
        fresh["Cache-Control"] = "no-store"
        return fresh
    with timezone.override(building_zone(request)):
        content = _slip_content(request, pass_record)
    pdf = render_slip(content)
    note_slip_printed(
        Actor.from_request(request),
        pass_record,
        print_id,
        full_names=sees_full_names(request.user),
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="visitor-slip-{pass_record.pk}.pdf"'
    response["Cache-Control"] = "no-store"
    return response


# --- Console: controllers and gates ---------------------------------------------------------


@dataclass(frozen=True)
class ControllerRow:
    """A controller on the gate console, with its link as its agent last reported it."""

    controller: Controller
    online: bool | None
    last_contact: str


@dataclass(frozen=True)
class AgentRow:
    """A gate agent on the gate console: heard from lately or not, and what it said."""

    agent: GateAgent
    online: bool | None
    last_contact: str


def contact_text(when: datetime | None, now: datetime) -> str:
    """ "12 s ago", "3 min ago", or the date and time when it is longer ago than an hour."""
    if when is None:
        return str(_("never"))
    seconds = max(0, int((now - when).total_seconds()))
    if seconds < 60:
        return str(_("%(seconds)d s ago") % {"seconds": seconds})
    if seconds < 3600:
        return str(_("%(minutes)d min ago") % {"minutes": seconds // 60})
    return date_format(timezone.localtime(when), "SHORT_DATETIME_FORMAT")


@console_view(MANAGE_GATES)
def gate_list(request: HttpRequest) -> HttpResponse:
    now, silence = timezone.now(), silence_limit()
    controllers = [
        ControllerRow(
            controller,
            controller_is_online(controller, now, silence),
            contact_text(controller.last_contact_at, now),
        )
        for controller in Controller.objects.select_related("agent").prefetch_related("gates")
    ]
    agents = [
        AgentRow(agent, agent_is_online(agent, now, silence), contact_text(agent.last_seen_at, now))
        for agent in GateAgent.objects.filter(is_active=True).order_by("name")
    ]
    gates = Gate.objects.select_related("controller").order_by("name")
    commands = GateCommand.objects.select_related("gate")[:10]
    return render(
        request,
        "access/gate_list.html",
        {
            "section": "gates",
            "controllers": controllers,
            "gates": gates,
            "commands": commands,
            "agents": agents,
            "silence_seconds": int(silence.total_seconds()),
        },
    )


@console_view(MANAGE_GATES)
def controller_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    controller = Controller.objects.filter(pk=pk).first() if pk is not None else None
    if pk is not None and controller is None:
        raise Http404
    if controller is not None:
        initial = {
            "name": controller.name,
            "host": controller.host,
            "port": controller.port,
            "device_id": controller.device_id,
            "poll_interval_ms": controller.poll_interval_ms,
            "agent": controller.agent,
            "register_map": json.dumps(controller.register_map, indent=2, ensure_ascii=False),
            "is_active": controller.is_active,
        }
    else:
        initial = {"register_map": generic_map_text()}
    form = ControllerForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        fields = ControllerFields(**form.cleaned_data)
        try:
            save_controller(Actor.from_request(request), fields, controller)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, _("Controller %(name)s saved.") % {"name": fields.name})
            return redirect("access:gate_list")
    return render(
        request,
        "access/controller_form.html",
        {"section": "gates", "form": form, "controller": controller},
    )


@console_view(MANAGE_GATES)
def gate_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    gate = Gate.objects.filter(pk=pk).first() if pk is not None else None
    if pk is not None and gate is None:
        raise Http404
    initial = None
    if gate is not None:
        initial = {
            "name": gate.name,
            "zone": gate.zone,
            "checks_zone": gate.checks_zone,
            "direction": gate.direction,
            "is_active": gate.is_active,
            "controller": gate.controller,
            "lane": gate.lane,
        }
    form = GateForm(request.POST or None, initial=initial or {"is_active": True})
    if request.method == "POST" and form.is_valid():
        try:
            saved = save_gate(Actor.from_request(request), GateFields(**form.cleaned_data), gate)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, _("Gate %(name)s saved.") % {"name": saved.name})
            return redirect("access:gate_list")
    return render(
        request, "access/gate_form.html", {"section": "gates", "form": form, "gate": gate}
    )


@require_POST
@console_view(MANAGE_GATES)
def gate_pulse(request: HttpRequest, pk: int) -> HttpResponse:
    """The "test" button: the gate agent at the building picks the pulse up (ADR 0006)."""
    gate = Gate.objects.filter(pk=pk).first()
    if gate is None:
        raise Http404
    try:
        request_gate_pulse(Actor.from_request(request), gate, request.POST.get("direction", "in"))
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("%(name)s will open when the gate agent picks the command up (within seconds).")
            % {"name": gate.name},
        )
    return redirect("access:gate_list")


# --- Console: alerts ------------------------------------------------------------------------

ALERTS_PAGE_SIZE = 25
ALERT_STATES = {
    "all": _("Open and acknowledged"),
    "open": pgettext_lazy("alert state", "Open"),
    "acknowledged": _("Acknowledged"),
}


@dataclass
class AlertFilters:
    """The list's filters as read from the query string; a value that makes no sense is
    dropped and named in ``problems`` so the page says why it shows more than asked."""

    kind: str = ""
    gate: Gate | None = None
    state: str = "all"
    date_from: date | None = None
    date_to: date | None = None
    problems: list[str] = field(default_factory=list)

    @classmethod
    def from_request(cls, request: HttpRequest) -> AlertFilters:
        filters = cls()
        kind = request.GET.get("kind", "")
        if kind in AlertKind.values:
            filters.kind = kind
        elif kind:
            filters.problems.append(str(_("Unknown alert kind: showing every kind.")))
        gate = request.GET.get("gate", "")
        if gate:
            # ASCII digits only: str.isdigit also accepts other scripts' digits, which int reads.
            number = gate.isascii() and gate.isdigit() and len(gate) <= 12
            found = Gate.objects.filter(pk=int(gate)).first() if number else None
            if found is None:
                filters.problems.append(str(_("No such gate: showing every gate.")))
            filters.gate = found
        state = request.GET.get("state", "") or "all"
        if state in ALERT_STATES:
            filters.state = state
        else:
            filters.problems.append(str(_("Unknown state: showing open and acknowledged alerts.")))
        filters.date_from = filters._day(request.GET.get("from", ""), _("From"))
        filters.date_to = filters._day(request.GET.get("to", ""), _("To"))
        if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
            filters.problems.append(
                str(_("The start date is after the end date: showing no date limit."))
            )
            filters.date_from = filters.date_to = None
        return filters

    def _day(self, text: str, label: object) -> date | None:
        if not text:
            return None
        try:
            day = parse_date(text[:20])
        except ValueError:
            day = None
        if day is None:
            self.problems.append(
                str(_("%(field)s is not a date (YYYY-MM-DD): ignored.") % {"field": label})
            )
        return day

    def apply(self, alerts: QuerySet[Alert]) -> QuerySet[Alert]:
        """Narrow ``alerts``; days are the building's local days (call under its zone)."""
        if self.kind:
            alerts = alerts.filter(kind=self.kind)
        if self.gate is not None:
            alerts = alerts.filter(gate=self.gate)
        if self.state == "open":
            alerts = alerts.filter(acknowledged_at__isnull=True)
        elif self.state == "acknowledged":
            alerts = alerts.filter(acknowledged_at__isnull=False)
        zone = timezone.get_current_timezone()
        if self.date_from:
            alerts = alerts.filter(
                occurred_at__gte=datetime.combine(self.date_from, time.min, zone)
            )
        if self.date_to:
            end = datetime.combine(self.date_to + timedelta(days=1), time.min, zone)
            alerts = alerts.filter(occurred_at__lt=end)
        return alerts


def _alert_visitor(alert: Alert, full_name: bool) -> str:
    """The visitor an alert is about (a watchlist hit, an overstay), masked unless
    ``full_name``."""
    if alert.visit is None:
        return ""
    name = alert.visit.visitor_name
    return name if full_name else mask_name(name)


def _burst_reasons(alert: Alert) -> list[str]:
    """The refusals a burst saw, as people read them."""
    if alert.kind != AlertKind.DENIAL_BURST:
        return []
    codes = alert.details.get("reasons") or []
    return [str(Reason(code).label) for code in codes if code in Reason.values]


def _alert_page(
    request: HttpRequest,
    errors: dict[int, str] | None = None,
    notes: dict[int, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    filters = AlertFilters.from_request(request)
    alerts = (
        Alert.objects.select_related(
            "gate", "controller", "agent", "visit__visitor", "acknowledged_by"
        )
        .annotate(
            is_open=ExpressionWrapper(Q(acknowledged_at__isnull=True), output_field=BooleanField())
        )
        .order_by("-is_open", "-occurred_at", "-id")
    )
    # Security sees the full names (they must recognise who is at a gate); each such view is
    # audited. Everyone else sees the masks.
    full_names = sees_full_names(request.user)
    with timezone.override(building_zone(request)):
        page = Paginator(filters.apply(alerts), ALERTS_PAGE_SIZE).get_page(request.GET.get("page"))
        shown_visits = sorted({alert.visit_id for alert in page.object_list if alert.visit_id})
        if full_names and shown_visits:
            note_alert_visitors_viewed(Actor.from_request(request), visits=shown_visits)
        context = {
            "section": "alerts",
            "filters": filters,
            "kinds": AlertKind.choices,
            "gates": Gate.objects.order_by("name"),
            "states": list(ALERT_STATES.items()),
            "page": page,
            "rows": [
                {
                    "alert": alert,
                    "visitor": _alert_visitor(alert, full_names),
                    "reasons": _burst_reasons(alert),
                    "error": (errors or {}).get(alert.pk, ""),
                    "note": (notes or {}).get(alert.pk, ""),
                }
                for alert in page.object_list
            ],
            "can_acknowledge": request.user.has_perm(ACKNOWLEDGE_ALERTS),
            "query": request.GET.urlencode(),
            "time_zone": timezone.get_current_timezone_name(),
        }
        return render(request, "access/alert_list.html", context, status=status)


@console_view(VIEW_ALERTS)
def alert_list(request: HttpRequest) -> HttpResponse:
    """Alerts the gates reported, open ones first, so security sees what still needs a person."""
    return _alert_page(request)


@require_POST
@console_view(ACKNOWLEDGE_ALERTS)
def alert_acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    """Acknowledge one alert with a note; a refusal shows the list again with the reason
    beside that alert (409 when someone else was first), and changes nothing.

    The security screen posts here too, asking for JSON (``Accept: application/json``): it
    gets the acknowledged alert, or ``{"code", "message"}`` with the same status."""
    as_json = wants_json(request)
    alert = Alert.objects.filter(pk=pk).first()
    if alert is None:
        if as_json:
            return json_error("alert_not_found", str(_("No such alert.")), 404)
        raise Http404
    try:
        acknowledge_alert(Actor.from_request(request), alert, request.POST.get("note", ""))
    except DomainError as error:
        if as_json:
            return JsonResponse(error.as_dict(), status=error.status)
        note = request.POST.get("note", "")[: MAX_ACKNOWLEDGEMENT_NOTE * 2]
        return _alert_page(
            request, errors={alert.pk: error.message}, notes={alert.pk: note}, status=error.status
        )
    if as_json:
        return JsonResponse(
            {
                "id": alert.pk,
                "acknowledged_at": alert.acknowledged_at.isoformat()
                if alert.acknowledged_at
                else None,
                "note": alert.acknowledgement_note,
                "message": str(_("Alert acknowledged.")),
            }
        )
    messages.success(request, _("Alert acknowledged."))
    query = request.GET.urlencode()
    return redirect(reverse("access:alert_list") + (f"?{query}" if query else ""))


# --- Revoking one pass ----------------------------------------------------------------------


@require_POST
@console_view(REVOKE_PASSES)
def pass_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    """Revoke one pass from its visit's timeline, with the reason given. The gate refuses it
    at once; agents learn it at their next sync. A refusal (no reason) or a pass already
    revoked (a replayed post) is said on the timeline, and changes nothing."""
    pass_record = (
        Pass.objects.select_related("visit").filter(pk=pk).first() if pk <= MAX_ROW_ID else None
    )
    if pass_record is None or not request.user.has_perm(REVOKE_PASSES, pass_record.visit):
        raise Http404
    timeline = reverse("workflows:visit_timeline", args=[pass_record.visit_id])
    if pass_record.revoked_at is not None:
        messages.info(request, _("This pass was already revoked."))
        return redirect(timeline)
    try:
        revoke_pass(Actor.from_request(request), pass_record, request.POST.get("reason", ""))
    except DomainError as error:
        messages.error(request, error.message)
        return redirect(timeline)
    messages.success(request, _("The pass is revoked: the gates refuse it from now on."))
    return redirect(timeline)


# --- The security screen --------------------------------------------------------------------

# What the screen's script says itself (everything else is in the page's HTML).
SCREEN_TEXTS = {
    "connecting": _("Connecting…"),
    "live": _("Live"),
    "reconnecting": _("Reconnecting…"),
    "not_allowed": _("Your role may not watch this building: reconnecting…"),
    "updated": _("Updated %(time)s"),
    "never_updated": _("No data yet"),
    "companions": _("+%(count)s"),
    "companions_title": _("Companions"),
    "overstay": _("Overstay"),
    "until": _("until %(time)s"),
    "online": _("Online"),
    "offline": _("Offline"),
    "unknown": _("No report"),
    "visits": _("%(count)s visits"),
    "no_zone": _("No zone"),
    "nobody_inside": _("Nobody is inside."),
    "no_alerts": _("No open alerts."),
    "no_gates": _("No gates yet."),
    "note": _("Note"),
    "note_placeholder": _("What was done about it"),
    "acknowledge": _("Acknowledge"),
    "acknowledging": _("Sending…"),
    "network_error": _("Could not reach the server; try again."),
    "sound_on": _("Sound on"),
    "sound_off": _("Turn sound on"),
    "sound_blocked": _("Click to allow sound"),
    "visitor": _("Visitor"),
    "controller": _("Controller"),
    "agent": _("Gate agent"),
}


@console_view(VIEW_SECURITY_SCREEN)
def security_screen(request: HttpRequest) -> HttpResponse:
    """The security desk's live screen. The page carries no personal data: everything comes
    over the occupancy socket (snapshot, then deltas), whose consumer audits and masks."""
    zone = building_zone(request)
    config = {
        "socket_path": "/ws/occupancy/",
        "acknowledge_url": reverse("access:alert_acknowledge", args=[0]),
        "can_acknowledge": request.user.has_perm(ACKNOWLEDGE_ALERTS),
        "time_zone": zone.key,
        "alert_kinds": dict(AlertKind.choices),
        "texts": SCREEN_TEXTS,
    }
    return render(
        request,
        "access/security_screen.html",
        {"section": "security", "config": config, "time_zone": zone.key},
    )


# --- The host's answer to an overstay (no login: the signed link is the authority) ----------


def _overstay_closed(request: HttpRequest, error: DomainError) -> HttpResponse:
    return private(
        render(
            request, "access/overstay_closed.html", {"message": error.message}, status=error.status
        )
    )


@limit_posts("decision_link")
def overstay_page(request: HttpRequest, code: str) -> HttpResponse:
    """What the overstay notice links to: extend the visit a little, or say the visitor has
    left. A spent, expired or forged link, or a visitor no longer inside, gets a page saying
    so and changes nothing."""
    try:
        visit = open_overstay_link(code)
    except DomainError as error:
        return _overstay_closed(request, error)
    problem = ""
    if request.method == "POST":
        answer = posted(request, "answer")
        ip_address = request.META.get("REMOTE_ADDR")
        try:
            if answer == "left":
                visit = left_by_link(code, ip_address=ip_address)
            elif answer == "extend":
                minutes = posted(request, "minutes")
                visit = extend_by_link(
                    code, int(minutes) if minutes.isdigit() else 0, ip_address=ip_address
                )
            else:
                raise DomainError("answer_invalid", str(_("Choose one of the answers.")))
        except DomainError as error:
            if error.status != 400:
                return _overstay_closed(request, error)
            problem = error.message
        else:
            with timezone.override(building_zone(request)):
                response = render(request, "access/overstay_done.html", {"visit": visit})
            return private(response)
    with timezone.override(building_zone(request)):
        response = render(
            request,
            "access/overstay_page.html",
            {
                "visit": visit,
                "visitor_name": mask_name(visit.visitor_name),
                "choices": sorted(extension_choices(visit).items()),
                "problem": problem,
            },
            status=400 if problem else 200,
        )
    return private(response)


# --- The security desk's building settings ----------------------------------------------------


@console_view(MANAGE_SECURITY_SETTINGS)
def security_settings(request: HttpRequest) -> HttpResponse:
    """The building's overstay, end-of-day and gate-alert settings, for property admins."""
    building = request.tenant  # type: ignore[attr-defined]
    current = SecuritySettings.of(building)
    form = SecuritySettingsForm(request.POST or None, initial=asdict(current))
    if request.method == "POST" and form.is_valid():
        try:
            changed = change_security_settings(
                Actor.from_request(request), SecuritySettings(**form.cleaned_data)
            )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            if changed:
                messages.success(request, _("The security settings are saved."))
            else:
                messages.info(request, _("Nothing was changed."))
            return redirect("access:security_settings")
    return render(
        request,
        "access/security_settings.html",
        {"section": "security_settings", "form": form},
        status=400 if form.errors else 200,
    )
