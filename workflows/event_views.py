"""The organiser's event pages: create an event, upload and check its attendee list, confirm
or cancel it, watch who has signed in, and download the attendance sheet. The steps that
change something go through the event's flow (``workflows.flows.bulk``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_POST

from kernel.console import building_zone, console_view
from kernel.errors import DomainError
from kernel.phones import display_mobile
from kernel.privacy import mask_mobile
from kernel.spreadsheets import spreadsheet_download
from visit_platform.audit.actions import Actor, record
from visit_platform.directory.forms import add_domain_error
from visit_platform.directory.models import Company
from visit_platform.directory.queries import managed_company_ids
from visit_platform.directory.roles import ORGANISE_EVENTS
from visit_platform.notifications.wechat import account_of_building
from visit_platform.visits.actions import events as actions
from visit_platform.visits.choices import CardKind, CardSize, EventStatus
from visit_platform.visits.event_cards import event_card, event_card_holders, render_event_cards
from visit_platform.visits.imports import MAX_FILE_BYTES
from visit_platform.visits.models import Event, EventImport
from visit_platform.visits.queries import attendance, visible_events
from workflows.actions import events as event_actions

PAGE_SIZE = 100
# The preview lists every bad row, and this many good ones (the rest are counted).
GOOD_ROWS_SHOWN = 50
WINDOW_FORMAT = "%Y-%m-%dT%H:%M"


class EventForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Event name"), max_length=200)
    place = forms.CharField(label=gettext_lazy("Place"), max_length=200, required=False)
    starts_at = forms.DateTimeField(
        label=gettext_lazy("Starts at"),
        input_formats=[WINDOW_FORMAT],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=WINDOW_FORMAT),
    )
    ends_at = forms.DateTimeField(
        label=gettext_lazy("Ends at"),
        input_formats=[WINDOW_FORMAT],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=WINDOW_FORMAT),
    )
    company = forms.ModelChoiceField(
        label=gettext_lazy("Host company"), queryset=Company.objects.none()
    )
    note = forms.CharField(
        label=gettext_lazy("Note"), max_length=2000, required=False, widget=forms.Textarea
    )

    def __init__(self, *args: Any, companies: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["company"].queryset = companies  # type: ignore[attr-defined]


class EventCardsForm(forms.Form):
    """Which cards: the kind of card, the size it prints at, and which file of a large event."""

    kind = forms.ChoiceField(label=gettext_lazy("Card"), choices=CardKind.choices)
    size = forms.ChoiceField(label=gettext_lazy("Size"), choices=CardSize.choices)
    # A large event's cards come in files of CARDS_PER_FILE; without a part, the first.
    part = forms.IntegerField(
        label=gettext_lazy("Part"), min_value=1, max_value=10_000, required=False
    )


class AttendeeListForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Attendee list"),
        help_text=gettext_lazy(
            "An .xlsx or .csv file with a header row, up to 5 MB and 20,000 rows. Columns: "
            "name (姓名), mobile (手机号), and optionally company (单位), "
            "ID type (证件类型) and ID number (证件号码)."
        ),
    )


def _event_or_404(request: HttpRequest, pk: int) -> Event:
    """An event this user may organise in this building; any other id is simply unknown."""
    event = visible_events(request.user).filter(pk=pk).first()
    if event is None:
        raise Http404
    return event


def _pending_of(request: HttpRequest, event: Event) -> EventImport | None:
    return (
        EventImport.objects.filter(
            event=event, uploaded_by_id=request.user.pk, expires_at__gt=timezone.now()
        )
        .order_by("-created_at")
        .first()
    )


@console_view(ORGANISE_EVENTS)
def event_list(request: HttpRequest) -> HttpResponse:
    with timezone.override(building_zone(request)):
        return render(
            request,
            "visits/event_list.html",
            {"section": "events", "events": visible_events(request.user)[:200]},
        )


@console_view(ORGANISE_EVENTS)
def event_create(request: HttpRequest) -> HttpResponse:
    company_ids = managed_company_ids(request.user, ORGANISE_EVENTS)
    companies = Company.objects.filter(is_active=True)
    if company_ids is not None:
        companies = companies.filter(pk__in=company_ids)
    with timezone.override(building_zone(request)):
        form = EventForm(request.POST or None, companies=companies)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                event = event_actions.create_event(
                    Actor.from_request(request),
                    name=data["name"],
                    place=data["place"],
                    starts_at=data["starts_at"],
                    ends_at=data["ends_at"],
                    company=data["company"],
                    note=data["note"],
                )
            except DomainError as error:
                add_domain_error(form, error)
            else:
                messages.success(request, _("Event created. Now upload the attendee list."))
                return redirect("visits:event_detail", pk=event.pk)
        return render(request, "visits/event_form.html", {"section": "events", "form": form})


@console_view(ORGANISE_EVENTS)
def event_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The event; while it waits for its list, the upload form or the checked list; once
    invited, its attendees and who has signed in. Shows personal data, so it is audited."""
    event = _event_or_404(request, pk)
    context: dict[str, Any] = {
        "section": "events",
        "event": event,
        # The event's WeChat entrance code, once the building has an Official Account.
        "wechat_code": account_of_building() is not None,
    }
    with timezone.override(building_zone(request)):
        if event.status == EventStatus.DRAFT:
            pending = _pending_of(request, event)
            if pending is not None:
                rows = actions.pending_rows(pending)
                context["pending"] = pending
                context["bad_rows"] = [row for row in rows if not row.is_good]
                context["good_rows"] = [
                    {"line": row.line, "name": row.values["name"], **_masked(row.values)}
                    for row in rows
                    if row.is_good
                ][:GOOD_ROWS_SHOWN]
            else:
                context["form"] = AttendeeListForm()
        else:
            people = attendance(event)
            page = Paginator(people, PAGE_SIZE).get_page(request.GET.get("page"))
            context["page"] = page
            context["rows"] = [_attendance_row(attendee) for attendee in page.object_list]
            context["signed_in"] = people.filter(signed_in_at__isnull=False).count()  # type: ignore[misc]
            context["total"] = page.paginator.count
            context["cards_form"] = EventCardsForm(
                initial={"kind": CardKind.BADGE, "size": CardSize.BADGE_90X54}
            )
            holders = event_card_holders(event)
            context["cards_count"] = len(holders.passes)
            context["cards_left_out"] = holders.left_out
            context["cards_parts"] = holders.part_labels() if holders.parts > 1 else []
            record(Actor.from_request(request), "event.viewed", event, shown=len(context["rows"]))
        return render(request, "visits/event_detail.html", context)


def _masked(values: dict[str, str]) -> dict[str, str]:
    return {
        "mobile": mask_mobile(display_mobile(values["mobile"])),
        "organisation": values.get("organisation", ""),
    }


def _attendance_row(attendee: Any) -> dict[str, Any]:
    visitor = attendee.visit.visitor
    return {
        "line": attendee.line,
        "name": visitor.name,
        "mobile": mask_mobile(display_mobile(visitor.mobile)) if visitor.mobile else "",
        "organisation": attendee.organisation,
        "signed_in_at": attendee.signed_in_at,
    }


@require_POST
@console_view(ORGANISE_EVENTS)
def event_upload(request: HttpRequest, pk: int) -> HttpResponse:
    event = _event_or_404(request, pk)
    form = AttendeeListForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            if upload.size > MAX_FILE_BYTES:
                raise DomainError(
                    "file_too_large",
                    _("The file is larger than %(size)d MB.")
                    % {"size": MAX_FILE_BYTES // (1024 * 1024)},
                )
            data = upload.read(MAX_FILE_BYTES + 1)
            event_actions.check_list(Actor.from_request(request), event, upload.name, data)
        except DomainError as error:
            form.add_error("file", error.message)
        else:
            return redirect("visits:event_detail", pk=event.pk)
    with timezone.override(building_zone(request)):
        return render(
            request,
            "visits/event_detail.html",
            {"section": "events", "event": event, "form": form},
            status=400,
        )


def _import_id(request: HttpRequest) -> int:
    try:
        return int(request.POST.get("import", ""))
    except ValueError:
        return 0


@require_POST
@console_view(ORGANISE_EVENTS)
def event_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    event = _event_or_404(request, pk)
    try:
        result = event_actions.confirm_list(Actor.from_request(request), event, _import_id(request))
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("%(invited)d attendees invited; %(skipped)d rows skipped.")
            % {"invited": result.invited, "skipped": result.skipped},
        )
    return redirect("visits:event_detail", pk=event.pk)


@require_POST
@console_view(ORGANISE_EVENTS)
def event_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    event = _event_or_404(request, pk)
    try:
        event_actions.cancel_list(Actor.from_request(request), event, _import_id(request))
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The list was discarded; nothing was written or sent."))
    return redirect("visits:event_detail", pk=event.pk)


@require_GET
@console_view(ORGANISE_EVENTS)
def event_attendance(request: HttpRequest, pk: int, file_format: str) -> HttpResponse:
    """The attendance sheet: name, masked mobile, organisation, signed in at (local time)."""
    event = _event_or_404(request, pk)
    headers = [_("Row"), _("Name"), _("Mobile"), _("Organisation"), _("Signed in at")]
    zone = building_zone(request)
    rows = [
        [
            row["line"],
            row["name"],
            row["mobile"],
            row["organisation"],
            _local(row["signed_in_at"], zone),
        ]
        for row in map(_attendance_row, attendance(event))
    ]
    record(
        Actor.from_request(request),
        "event.attendance_downloaded",
        event,
        rows=len(rows),
        format=file_format,
    )
    return spreadsheet_download(headers, rows, file_format, f"attendance-{event.pk}.{file_format}")


def _local(moment: datetime | None, zone: Any) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S") if moment else ""


@require_GET
@console_view(ORGANISE_EVENTS)
def event_cards(request: HttpRequest, pk: int) -> HttpResponse:
    """The event's invitation cards or badges as a PDF, a page per attendee whose pass still
    opens the gate (in files of ``CARDS_PER_FILE``); the others are left out (the event page
    counts them). Audited."""
    event = _event_or_404(request, pk)
    form = EventCardsForm(request.GET)
    context: dict[str, Any] = {"section": "events", "event": event, "form": form}
    if not form.is_valid():
        return render(request, "visits/event_cards_refused.html", context, status=400)
    kind, size = CardKind(form.cleaned_data["kind"]), CardSize(form.cleaned_data["size"])
    building = getattr(request, "tenant", None)
    building_name = str(building.name) if building is not None else ""
    holders = event_card_holders(event)
    part = form.cleaned_data["part"] or 1
    if not holders.passes:
        context["nobody"] = True
        return render(request, "visits/event_cards_refused.html", context, status=409)
    if part > holders.parts:
        form.add_error(
            "part",
            ngettext(
                "The cards of this event come in %(parts)d file.",
                "The cards of this event come in %(parts)d files.",
                holders.parts,
            )
            % {"parts": holders.parts},
        )
        return render(request, "visits/event_cards_refused.html", context, status=400)
    with timezone.override(building_zone(request)):
        cards = [event_card(building_name, event, one) for one in holders.part(part)]
    pdf = render_event_cards(cards, kind, size)
    actions.note_cards_downloaded(
        Actor.from_request(request),
        event,
        kind=kind.value,
        size=size.value,
        part=part,
        count=len(cards),
        left_out=holders.left_out,
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    suffix = f"-{part}" if holders.parts > 1 else ""
    filename = f"event-{event.pk}-{kind}-{size}{suffix}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response
