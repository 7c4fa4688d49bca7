"""Every change to events (bulk scenario, seed 5.2.5): create one, check an attendee list,
confirm it (visitors, visits, passes and invitations for every good row) or cancel it.

Confirming is built for lists of ten thousand: one query per kind of lookup, ``bulk_create``
for every kind of row, and one audit entry per row written in one INSERT as well.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from kernel.errors import ConflictError, DomainError, GoneError, NotFoundError
from kernel.privacy import blind_index, mask_id_number
from tenants.db import current_schema
from tenants.models import Building
from visit_platform.access.actions import IssuedPass, issue_passes, pass_url
from visit_platform.audit.actions import Actor, record, record_many
from visit_platform.directory.actions import require
from visit_platform.directory.models import Company
from visit_platform.directory.roles import ORGANISE_EVENTS
from visit_platform.notifications.actions import (
    Message,
    in_building_language_for_each,
    send_notice,
    send_notifications,
)
from visit_platform.notifications.choices import Channel, Purpose
from visit_platform.visits.actions.visits import MAX_VISIT_DAYS
from visit_platform.visits.choices import EventStatus, Scenario, VisitStatus
from visit_platform.visits.imports import (
    AttendeeRow,
    check_attendee_list,
    read_attendee_list,
    rows_from_store,
    rows_to_store,
)
from visit_platform.visits.models import (
    MOBILE_INDEX,
    Attendee,
    Event,
    EventImport,
    Visit,
    Visitor,
    WeChatLink,
)
from visit_platform.visits.notices import notice_data
from visit_platform.visits.queries import watchlisted_visitors

IMPORT_LIFETIME = timedelta(minutes=30)
INVITATION = gettext_noop(
    "[%(building)s] You are invited to %(event)s, %(day)s, %(place)s. "
    "Show this pass at the gate: %(link)s"
)


@dataclass(frozen=True)
class ConfirmedList:
    """What confirming a list did."""

    invited: int
    skipped: int


@transaction.atomic
def create_event(
    actor: Actor,
    *,
    name: str,
    company: Company,
    starts_at: datetime,
    ends_at: datetime,
    place: str = "",
    note: str = "",
) -> Event:
    """Create an event for ``company`` (a company admin organises only their own's)."""
    require(actor, ORGANISE_EVENTS, company)
    name = name.strip()
    if not name or len(name) > 200:
        raise DomainError("name_required", _("Give the event a name."), field="name")
    if not company.is_active:
        raise DomainError("company_inactive", _("This company is no longer active."))
    if ends_at <= starts_at:
        raise DomainError("window_invalid", _("The event must end after it starts."))
    if (ends_at - starts_at).days > MAX_VISIT_DAYS:
        raise DomainError("window_too_long", _("An event lasts a year at most."))
    if ends_at <= timezone.now():
        raise DomainError("window_past", _("The event is already over."), field="ends_at")
    event = Event.objects.create(
        name=name,
        place=place.strip()[:200],
        starts_at=starts_at,
        ends_at=ends_at,
        company=company,
        note=note.strip()[:2000],
        organiser=actor.user,
    )
    record(actor, "event.created", event, company=company.pk)
    return event


def _open_event(actor: Actor, event: Event) -> None:
    require(actor, ORGANISE_EVENTS, event)
    if event.status != EventStatus.DRAFT:
        raise ConflictError(
            "already_invited",
            _("The attendees of this event were already invited; nothing was changed."),
        )


def _invited_mobiles(event: Event) -> frozenset[str]:
    return frozenset(
        Visitor.objects.filter(visits__attendee__event=event).values_list("mobile", flat=True)
    )


@transaction.atomic
def upload_attendee_list(actor: Actor, event: Event, filename: str, data: bytes) -> EventImport:
    """Check an attendee list and keep the verdicts, encrypted, until the organiser confirms
    or cancels (see ``EventImport``). Writes no visitor, visit, pass or message. A list
    uploaded earlier for the same event and not confirmed is replaced."""
    _open_event(actor, event)
    rows = check_attendee_list(
        read_attendee_list(filename, data), invited_mobiles=_invited_mobiles(event)
    )
    now = timezone.now()
    EventImport.objects.filter(event=event).delete()
    EventImport.objects.filter(expires_at__lte=now).delete()
    good = sum(1 for row in rows if row.is_good)
    pending = EventImport.objects.create(
        event=event,
        uploaded_by=actor.user,
        filename=filename[-200:],
        rows=json.dumps(rows_to_store(rows), ensure_ascii=False),
        good_rows=good,
        bad_rows=len(rows) - good,
        expires_at=now + IMPORT_LIFETIME,
    )
    record(
        actor,
        "event.list_checked",
        event,
        filename=pending.filename,
        good=good,
        bad=len(rows) - good,
    )
    return pending


def pending_rows(pending: EventImport) -> list[AttendeeRow]:
    return rows_from_store(json.loads(pending.rows))


def _take_import(actor: Actor, event: Event, import_id: int) -> EventImport:
    """The pending list, locked, if ``actor`` uploaded it for ``event`` and it is still open."""
    _open_event(actor, event)
    pending = EventImport.objects.select_for_update().filter(pk=import_id, event=event).first()
    if pending is None:
        raise GoneError(
            "import_gone",
            _("This list was already confirmed or cancelled, or has expired. Upload it again."),
        )
    if actor.user is not None and pending.uploaded_by_id != actor.user.pk:
        raise NotFoundError("import_unknown", _("This list was uploaded by someone else."))
    if pending.expires_at <= timezone.now():
        pending.delete()
        raise GoneError("import_expired", _("This list has expired. Upload it again."))
    return pending


@transaction.atomic
def cancel_attendee_list(actor: Actor, event: Event, import_id: int) -> None:
    """Throw the pending list away: nothing of it is written, and its rows are deleted."""
    pending = _take_import(actor, event, import_id)
    record(actor, "event.list_cancelled", event, filename=pending.filename)
    pending.delete()


@transaction.atomic
def confirm_attendee_list(actor: Actor, event: Event, import_id: int) -> ConfirmedList:
    """Invite every row that is still good (checked again: the watchlist may have grown
    since the preview): a visitor (or the one already known by document or mobile), an
    approved visit for the event's window invited by the organiser, a pass, and a text
    with the pass link. Replaying a confirmation changes nothing and says so."""
    pending = _take_import(actor, event, import_id)
    stored = [row for row in pending_rows(pending) if row.is_good]
    rows = [
        row
        for row in check_attendee_list(
            [(row.line, row.values) for row in stored], invited_mobiles=_invited_mobiles(event)
        )
        if row.is_good
    ]
    visitors = _visitors_for(actor, rows)
    barred = set(
        watchlisted_visitors()
        .filter(pk__in={visitor.pk for visitor in visitors.values()})
        .values_list("pk", flat=True)
    )
    rows = [row for row in rows if visitors[row.line].pk not in barred]
    visits = Visit.objects.bulk_create(
        [
            Visit(
                scenario=Scenario.BULK,
                status=VisitStatus.APPROVED,
                visitor=visitors[row.line],
                company=event.company,
                purpose=event.name[:200],
                valid_from=event.starts_at,
                valid_until=event.ends_at,
                invited_by=actor.user,
                approved_by=actor.user,
                decided_at=timezone.now(),
            )
            for row in rows
        ],
        batch_size=2000,
    )
    record_many(actor, "visit.created", visits, scenario=Scenario.BULK, event=event.pk)
    Attendee.objects.bulk_create(
        [
            Attendee(
                event=event, visit=visit, organisation=row.values["organisation"], line=row.line
            )
            for visit, row in zip(visits, rows, strict=True)
        ],
        batch_size=2000,
    )
    issued = issue_passes(actor, visits)
    day = timezone.localtime(event.starts_at).strftime("%Y-%m-%d %H:%M")
    texts = in_building_language_for_each(
        INVITATION,
        [
            {
                "event": event.name,
                "day": day,
                "place": event.place or "—",
                "link": pass_url(one.link_code),
            }
            for one in issued
        ],
    )
    _send_invitations(actor, visits, issued, texts)
    updated = Event.objects.filter(pk=event.pk, status=EventStatus.DRAFT).update(
        status=EventStatus.INVITED, invited_at=timezone.now()
    )
    if not updated:  # the lock on the pending list makes this unreachable; belt and braces
        raise ConflictError("already_invited", _("The attendees were already invited."))
    event.refresh_from_db()
    result = ConfirmedList(
        invited=len(visits), skipped=pending.good_rows + pending.bad_rows - len(visits)
    )
    record(
        actor,
        "event.invited",
        event,
        filename=pending.filename,
        invited=result.invited,
        skipped=result.skipped,
    )
    pending.delete()
    return result


def _send_invitations(
    actor: Actor, visits: list[Visit], issued: list[IssuedPass], texts: list[str]
) -> None:
    """Each attendee's invitation with their pass: by WeChat to those whose mobile is linked
    to a WeChat here (a template message that opens the pass, the text should WeChat fail),
    by SMS to the others, in one batch."""
    links = dict(
        WeChatLink.objects.filter(
            mobile_index__in={visit.visitor.mobile_index for visit in visits}
        ).values_list("mobile_index", "openid")
    )
    building = Building.objects.get(schema_name=current_schema())
    by_sms = []
    for visit, one, text in zip(visits, issued, texts, strict=True):
        openid = links.get(visit.visitor.mobile_index, "") if visit.visitor.mobile_index else ""
        if not openid:
            by_sms.append(Message(to=visit.visitor_mobile, text=text, visit=visit))
            continue
        send_notice(
            actor,
            purpose=Purpose.PASS_LINK,
            text=text,
            mobile=visit.visitor_mobile,
            openid=openid,
            data=notice_data(visit, building=building),
            url=pass_url(one.link_code),
            visit=visit,
        )
    if by_sms:
        send_notifications(actor, channel=Channel.SMS, purpose=Purpose.PASS_LINK, messages=by_sms)


def _visitors_for(actor: Actor, rows: list[AttendeeRow]) -> dict[int, Visitor]:
    """The visitor of each row (by line): the one already known by document number or, for
    people without one, by mobile (as ``register_visitor`` finds them), else a new one."""
    indexes = {row.values["id_number_index"] for row in rows if row.values["id_number_index"]}
    mobiles = {row.values["mobile"] for row in rows if not row.values["id_number_index"]}
    by_index = {
        visitor.id_number_index: visitor
        for visitor in Visitor.objects.filter(id_number_index__in=indexes)
    }
    by_mobile: dict[str, Visitor] = {}
    for visitor in Visitor.objects.filter(mobile__in=mobiles, id_number_index="").order_by("pk"):
        by_mobile.setdefault(visitor.mobile, visitor)
    new_indexes = {
        blind_index(row.values["mobile"], MOBILE_INDEX) for row in rows if row.values["mobile"]
    }
    links = dict(
        WeChatLink.objects.filter(mobile_index__in=new_indexes).values_list(
            "mobile_index", "openid"
        )
    )
    found: dict[int, Visitor] = {}
    new: list[tuple[int, Visitor]] = []
    for row in rows:
        values = row.values
        index = values["id_number_index"]
        known = by_index.get(index) if index else by_mobile.get(values["mobile"])
        if known is not None:
            found[row.line] = known
            continue
        birth = values["birth_date"]
        mobile_index = blind_index(values["mobile"], MOBILE_INDEX) if values["mobile"] else ""
        new.append(
            (
                row.line,
                Visitor(
                    name=values["name"],
                    mobile=values["mobile"],
                    # As register_visitor writes it: My visits and the event's WeChat page
                    # find an attendee by it.
                    mobile_index=mobile_index,
                    wechat_openid=links.get(mobile_index, ""),
                    id_type=values["id_type"],
                    id_number=values["id_number"],
                    id_number_index=index,
                    id_number_masked=mask_id_number(values["id_number"]) if index else "",
                    birth_date=datetime.fromisoformat(birth).date() if birth else None,
                ),
            )
        )
    created = Visitor.objects.bulk_create([visitor for _line, visitor in new], batch_size=2000)
    record_many(actor, "visitor.registered", created)
    for (line, _visitor), visitor in zip(new, created, strict=True):
        found[line] = visitor
    return found


@transaction.atomic
def note_cards_downloaded(
    actor: Actor, event: Event, *, kind: str, size: str, part: int, count: int, left_out: int
) -> None:
    """Audit a download of the event's cards: every card carries an attendee's full name and a
    token that opens the gate for the whole event, so each download is a view of personal
    data and a hand-out of passes (ADR 0035)."""
    record(
        actor,
        "event.cards_downloaded",
        event,
        kind=kind,
        size=size,
        part=part,
        count=count,
        left_out=left_out,
        full_names=True,
    )
