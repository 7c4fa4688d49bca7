"""The host's arrival notice (seed 003, 到达提醒): when a visitor first passes the gate, their
host is told, in WeChat when bound, else by SMS.

The gate's path only notes the first entry and, after commit, hands the notice to a worker
(``announce_arrival``): no message is composed, and WeChat is never called, while a
turnstile waits. The worker writes the notice (``tell_host_of_arrival``) once per visit.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from kernel.privacy import mask_name
from tenants.db import current_schema
from tenants.models import Building
from visit_platform.access.choices import Direction
from visit_platform.access.models import AccessEvent, Gate
from visit_platform.audit.actions import Actor
from visit_platform.notifications.actions import hand_over, in_building_language, send_notice
from visit_platform.notifications.choices import Purpose
from visit_platform.notifications.models import Notification
from visit_platform.visits.models import Visit

ARRIVAL_ACTOR = Actor.system("arrival notice")

# The sweep looks this far back for entries whose notice never left (the broker was away when
# the gate committed); older arrivals are not worth announcing any more.
ARRIVAL_SWEEP_WINDOW = timedelta(hours=1)
# ...and leaves the last moments to the worker the gate handed the notice to.
ARRIVAL_SWEEP_GRACE = timedelta(seconds=60)

ARRIVAL_TEXT = gettext_noop("[%(building)s] %(visitor)s has arrived at %(gate)s at %(time)s.")


def announce_arrival(visit_id: int, gate_id: int, arrived_at: datetime) -> None:
    """Called on a visit's first entry, inside the gate's transaction: once it commits, a
    worker tells the host. A rolled-back entry announces nothing; a broker that is away
    delays the notice until ``sweep_missed_arrivals`` finds it, and never the entry."""
    from visit_platform.access.tasks import tell_host_of_arrival_task

    transaction.on_commit(
        lambda: hand_over(tell_host_of_arrival_task, visit_id, gate_id, arrived_at.isoformat())
    )


@transaction.atomic
def tell_host_of_arrival(visit_id: int, gate_id: int, arrived_at: datetime) -> Notification | None:
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
    gate = Gate.objects.filter(pk=gate_id).first()
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
        text=in_building_language(ARRIVAL_TEXT, **values),
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
        if entry is not None and tell_host_of_arrival(visit_id, entry, arrived_at) is not None:
            written += 1
    return written
