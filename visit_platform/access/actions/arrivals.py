"""Arrivals: reception's desk check-in, and the host's arrival notice (seed 003, 到达提醒):
when a visitor first passes the gate or checks in at the desk, their host is told, in WeChat
when bound, else by SMS.

The gate's path only notes the first entry and, after commit, hands the notice to a worker
(``announce_arrival``): no message is composed, and WeChat is never called, while a
turnstile waits. The worker writes the notice (``tell_host_of_arrival``) once per visit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from kernel.errors import DomainError
from kernel.privacy import mask_name
from tenants.db import current_schema
from tenants.models import Building
from visit_platform.access.choices import PRINTABLE_STATES, Direction
from visit_platform.access.models import AccessEvent, Gate, Pass
from visit_platform.access.queries import building_day, current_building, pass_state
from visit_platform.audit.actions import Actor, record
from visit_platform.notifications.actions import hand_over, in_building_language, send_notice
from visit_platform.notifications.choices import Purpose
from visit_platform.notifications.models import Notification
from visit_platform.visits.choices import VisitStatus
from visit_platform.visits.models import Visit
from visit_platform.visits.queries import visit_is_watchlisted

ARRIVAL_ACTOR = Actor.system("arrival notice")

# The sweep looks this far back for entries whose notice never left (the broker was away when
# the gate committed); older arrivals are not worth announcing any more.
ARRIVAL_SWEEP_WINDOW = timedelta(hours=1)
# ...and leaves the last moments to the worker the gate handed the notice to.
ARRIVAL_SWEEP_GRACE = timedelta(seconds=60)

ARRIVAL_TEXT = gettext_noop("[%(building)s] %(visitor)s has arrived at %(gate)s at %(time)s.")
DESK_ARRIVAL_TEXT = gettext_noop(
    "[%(building)s] %(visitor)s has checked in at reception at %(time)s."
)


@dataclass(frozen=True)
class DeskCheckIn:
    """What a tap on "check in and print" did: the visit, the pass whose slip to print, and
    whether this tap was the arrival (False: the visitor had already checked in)."""

    visit: Visit
    pass_record: Pass
    arrived_now: bool


@transaction.atomic
def check_in_at_desk(actor: Actor, visit_id: int, now: datetime | None = None) -> DeskCheckIn:
    """Reception checks an expected visitor in at the desk (ADR 0027): the visit becomes
    "inside" with its arrival time, and the host is told once, as at a gate.

    The pass is not touched: its entries and anti-passback belong to the gates, so the
    visitor's first turnstile passage still takes one entry and marks the pass inside, and,
    the visit being checked in already, tells nobody a second time. The visit's row is locked:
    a second tap (or a replayed post) finds the visitor checked in and arrives nobody again.
    """
    now = now or timezone.now()
    visit = (
        Visit.objects.select_for_update(of=("self",))
        .select_related("visitor", "host", "company")
        .filter(pk=visit_id)
        .first()
    )
    if visit is None:
        raise DomainError("not_found", _("No such visit."))
    pass_record = Pass.objects.filter(visit=visit, revoked_at__isnull=True).order_by("-pk").first()
    if visit.status == VisitStatus.CHECKED_IN and pass_record is not None:
        return DeskCheckIn(visit, pass_record, arrived_now=False)
    if visit.status != VisitStatus.APPROVED:
        raise DomainError(
            "not_expected",
            _("This visit is not expected now (%(status)s).")
            % {"status": visit.get_status_display()},
        )
    if visit_is_watchlisted(visit):
        raise DomainError("watchlisted", _("This visitor is on the watchlist: call security."))
    if pass_record is None:
        raise DomainError("no_pass", _("This visit has no pass."))
    pass_record.visit = visit
    if pass_state(pass_record, now) not in PRINTABLE_STATES:
        raise DomainError("pass_not_valid", _("This visit's pass no longer admits anyone."))
    day_start, day_end = building_day(current_building(), now)
    if not (pass_record.valid_from < day_end and pass_record.valid_until > day_start):
        raise DomainError("not_today", _("This visit is not today."))
    Visit.objects.filter(pk=visit.pk).update(status=VisitStatus.CHECKED_IN, checked_in_at=now)
    visit.status, visit.checked_in_at = VisitStatus.CHECKED_IN, now
    record(actor, "visit.checked_in_at_desk", visit, pass_id=pass_record.pk)
    announce_arrival(visit.pk, None, now)
    return DeskCheckIn(visit, pass_record, arrived_now=True)


def announce_arrival(visit_id: int, gate_id: int | None, arrived_at: datetime) -> None:
    """Called on a visit's first entry (``gate_id`` None: its check-in at the desk), inside
    the transaction that recorded it: once it commits, a worker tells the host. A rolled-back
    entry announces nothing; a broker that is away delays the notice until
    ``sweep_missed_arrivals`` finds it, and never the entry."""
    from visit_platform.access.tasks import tell_host_of_arrival_task

    transaction.on_commit(
        lambda: hand_over(tell_host_of_arrival_task, visit_id, gate_id, arrived_at.isoformat())
    )


@transaction.atomic
def tell_host_of_arrival(
    visit_id: int, gate_id: int | None, arrived_at: datetime
) -> Notification | None:
    """Tell the visit's host that the visitor arrived at the gate: "[building] 韩* has
    arrived at A1 闸机 at 10:02", in the building's language and time. Once per visit: the
    visit's row is locked while the log is checked, so a second run of the task (or a second
    first entry reported by another gate) sends nothing. Visits without a host (an event's
    attendees) tell nobody."""
    visit = (
        Visit.objects.select_for_update(of=("self",))
        .select_related("host", "visitor")
        .filter(pk=visit_id)
        .first()
    )
    if visit is None or visit.host is None or not visit.host.is_active:
        return None
    if Notification.objects.filter(visit=visit, purpose=Purpose.ARRIVAL).exists():
        return None
    gate = Gate.objects.filter(pk=gate_id).first() if gate_id is not None else None
    building = Building.objects.get(schema_name=current_schema())
    values = {
        "visitor": mask_name(visit.visitor_name),
        "gate": gate.name if gate is not None else "",
        "time": building.local_time(arrived_at).strftime("%H:%M"),
    }
    host = visit.host
    return send_notice(
        ARRIVAL_ACTOR,
        purpose=Purpose.ARRIVAL,
        text=in_building_language(
            ARRIVAL_TEXT if gate_id is not None else DESK_ARRIVAL_TEXT, **values
        ),
        mobile=host.mobile,
        openid=host.wechat_openid,
        data=values,
        visit=visit,
    )


def sweep_missed_arrivals(now: datetime | None = None) -> int:
    """Tell the hosts of the visits that entered within the last hour (but not in the last
    minute, still the gate's own worker's) and whose arrival notice was never written: the
    outbox of ``announce_arrival``, run with the notifications' periodic sweep, as the log is
    for messages (ADR 0013). ``tell_host_of_arrival`` tells each host once, so a sweep that
    meets the worker changes nothing. Returns how many notices it wrote."""
    now = now or timezone.now()
    missed = (
        Visit.objects.filter(
            checked_in_at__gte=now - ARRIVAL_SWEEP_WINDOW,
            checked_in_at__lte=now - ARRIVAL_SWEEP_GRACE,
            host__isnull=False,
        )
        .exclude(notifications__purpose=Purpose.ARRIVAL)
        .values_list("pk", "checked_in_at")
    )
    written = 0
    for visit_id, arrived_at in missed:
        if arrived_at is None:  # excluded by the filter; the column is nullable
            continue
        entry = (
            AccessEvent.objects.filter(visit_id=visit_id, granted=True, direction=Direction.IN)
            .order_by("occurred_at")
            .values_list("gate_id", flat=True)
            .first()
        )
        # No entry at a gate: the visitor checked in at the desk.
        if tell_host_of_arrival(visit_id, entry, arrived_at) is not None:
            written += 1
    return written
