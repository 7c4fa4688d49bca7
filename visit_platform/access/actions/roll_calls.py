"""Evacuation roll calls: start one from who is inside, mark people safe or missing, close it
with a summary. Every change reaches the roll call's live pages after commit (ADR 0020)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kernel.errors import ConflictError, DomainError, NotFoundError, PermissionDeniedError
from tenants.db import current_schema
from visit_platform.access import live
from visit_platform.access.choices import RollCallPersonKind, RollCallStatus
from visit_platform.access.models import RollCall, RollCallEntry
from visit_platform.access.queries import people_inside
from visit_platform.audit.actions import Actor, record
from visit_platform.directory.models import Host


def roll_call_group(schema_name: str, roll_call_id: int) -> str:
    """The channel group of everyone who may see the whole roll call (house rule 4)."""
    return f"rollcall.{schema_name}.{roll_call_id}"


def roll_call_host_group(schema_name: str, roll_call_id: int, host_id: int) -> str:
    """The group of one host: they hear only of their own visitors."""
    return f"rollcall.{schema_name}.{roll_call_id}.host.{host_id}"


@transaction.atomic
def start_roll_call(actor: Actor) -> RollCall:
    """Open a roll call listing everyone inside now, by the zone of the gate they came in
    through. Refused while another is open: two lists would split the marshals."""
    try:
        with transaction.atomic():
            roll_call = RollCall.objects.create(started_by=actor.user)
    except IntegrityError:
        raise ConflictError(
            "roll_call_open", _("A roll call is already open; close it before starting another.")
        ) from None
    entries = []
    for presence in people_inside().people:
        event = presence.event
        visit = event.visit
        if visit is None:
            continue
        company = visit.company or (visit.host.company if visit.host else None)
        entries.append(
            RollCallEntry(
                roll_call=roll_call,
                kind=RollCallPersonKind.VISITOR,
                visit=visit,
                pass_record_id=event.pass_record_id,
                host=visit.host,
                name=visit.visitor_name[:200],
                host_name=visit.host.name if visit.host else "",
                company_name=company.name if company else "",
                companions=visit.companions,
                zone=event.gate.zone,
                since=event.occurred_at,
            )
        )
    RollCallEntry.objects.bulk_create(entries)
    people = sum(entry.people for entry in entries)
    record(actor, "roll_call.started", roll_call, entries=len(entries), people=people)
    return roll_call


def entry_payload(entry: RollCallEntry) -> dict[str, Any]:
    """What a roll call's pages are told of one entry (full names: marshals call them out)."""
    marked_by = entry.marked_by
    return {
        "type": "entry",
        "id": entry.pk,
        "status": entry.status,
        "status_label": str(RollCallStatus(entry.status).label),
        "marked_by": marked_by.email if marked_by is not None else "",
        "marked_at": entry.marked_at.isoformat() if entry.marked_at else None,
        "version": entry.version,
    }


def _publish(roll_call_id: int, payload: dict[str, Any], host_ids: Iterable[int | None]) -> None:
    """Tell the roll call's pages after commit: a rolled-back mark was never made."""
    schema = current_schema()
    message = {"type": "roll_call.event", "payload": payload}
    hosts = sorted({host_id for host_id in host_ids if host_id is not None})

    def send() -> None:
        live.publish(roll_call_group(schema, roll_call_id), message)
        for host_id in hosts:
            live.publish(roll_call_host_group(schema, roll_call_id, host_id), message)

    transaction.on_commit(send)


@transaction.atomic
def mark_roll_call_entry(
    actor: Actor, entry_id: int, status: str, *, only_for_hosts: list[Host] | None = None
) -> RollCallEntry:
    """Mark one person safe or missing (or back to unaccounted, a mistap undone).

    Two marshals marking the same person at once: the row lock puts them in order and the
    later mark wins; both pages are told both marks with a growing ``version`` and keep the
    highest, so every screen ends on the same status. ``only_for_hosts`` (a host's own
    records) limits the marks to those hosts' visitors."""
    if status not in RollCallStatus.values:
        raise DomainError(
            "invalid_status", _("The status must be safe, missing or unaccounted."), field="status"
        )
    entry = (
        RollCallEntry.objects.select_for_update(of=("self",))
        .select_related("roll_call")
        .filter(pk=entry_id)
        .first()
    )
    if entry is None:
        raise NotFoundError("entry_not_found", _("No such person in this roll call."))
    if only_for_hosts is not None and entry.host_id not in {host.pk for host in only_for_hosts}:
        raise PermissionDeniedError(
            "not_your_visitor", _("Hosts may mark only their own visitors.")
        )
    if not entry.roll_call.is_open:
        raise ConflictError("roll_call_closed", _("This roll call is closed."))
    previous = entry.status
    entry.status = status
    entry.marked_by = actor.user
    entry.marked_at = timezone.now()
    entry.version += 1
    entry.save(update_fields=["status", "marked_by", "marked_at", "version"])
    record(actor, "roll_call.marked", entry, status=status, previous=previous)
    _publish(entry.roll_call_id, entry_payload(entry), [entry.host_id])
    return entry


def roll_call_counts(roll_call: RollCall) -> dict[str, int]:
    """People (companions included) by status, and entries in all."""
    counts: Counter[str] = Counter()
    entries = 0
    for status, companions in roll_call.entries.values_list("status", "companions"):
        counts[status] += 1 + companions
        entries += 1
    return {
        RollCallStatus.SAFE.value: counts[RollCallStatus.SAFE],
        RollCallStatus.MISSING.value: counts[RollCallStatus.MISSING],
        RollCallStatus.UNACCOUNTED.value: counts[RollCallStatus.UNACCOUNTED],
        "entries": entries,
    }


@transaction.atomic
def close_roll_call(actor: Actor, roll_call: RollCall) -> RollCall:
    """Close an open roll call, once; its counts stay in the audit log and on the row."""
    locked = RollCall.objects.select_for_update().filter(pk=roll_call.pk).first()
    if locked is None:
        raise NotFoundError("roll_call_not_found", _("No such roll call."))
    if not locked.is_open:
        raise ConflictError("roll_call_closed", _("This roll call is already closed."))
    locked.summary = roll_call_counts(locked)
    locked.is_open = False
    locked.closed_at = timezone.now()
    locked.closed_by = actor.user
    locked.save(update_fields=["summary", "is_open", "closed_at", "closed_by"])
    record(actor, "roll_call.closed", locked, **locked.summary)
    hosts = locked.entries.values_list("host_id", flat=True).distinct()
    _publish(locked.pk, {"type": "closed", "summary": locked.summary}, list(hosts))
    return locked


def note_roll_call_viewed(actor: Actor, roll_call: RollCall, what: str = "page") -> None:
    """Audit that someone saw the full names of a roll call (its page or its PDF)."""
    record(actor, "roll_call.viewed", roll_call, view=what)
