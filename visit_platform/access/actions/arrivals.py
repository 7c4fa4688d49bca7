"""The host's arrival notice (seed 003, 到达提醒): when a visitor first passes the gate, their
host is told, in WeChat when bound, else by SMS.

The gate's path only notes the first entry and, after commit, hands the notice to a worker
(``announce_arrival``): no message is composed, and WeChat is never called, while a
turnstile waits. The worker writes the notice (``tell_host_of_arrival``) once per visit.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext_noop

from kernel.privacy import mask_name
from tenants.db import current_schema
from tenants.models import Building
from visit_platform.access.models import Gate
from visit_platform.audit.actions import Actor
from visit_platform.notifications.actions import hand_over, in_building_language, send_notice
from visit_platform.notifications.choices import Purpose
from visit_platform.notifications.models import Notification
from visit_platform.visits.models import Visit

ARRIVAL_ACTOR = Actor.system("arrival notice")

ARRIVAL_TEXT = gettext_noop("[%(building)s] %(visitor)s has arrived at %(gate)s at %(time)s.")


def announce_arrival(visit_id: int, gate_id: int, arrived_at: datetime) -> None:
    """Called on a visit's first entry, inside the gate's transaction: once it commits, a
    worker tells the host. A rolled-back entry announces nothing; a broker that is away
    loses the notice (logged by ``hand_over``), never the entry."""
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
