"""Reminding visitors that their visit is near: once per approved visit, a few hours before
its window opens (``VISITOR_REMINDER_HOURS``), by WeChat where their mobile is linked, else
by SMS. The periodic job (``workflows.tasks.remind_visitors_task``) calls it in every
building; running it twice, or in two workers at once, reminds nobody twice."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_noop

from tenants.actions import building_url
from tenants.db import current_schema
from visit_platform.access.models import Pass
from visit_platform.audit.actions import Actor, record
from visit_platform.notifications.choices import Purpose
from visit_platform.visits.choices import VisitStatus
from visit_platform.visits.models import Visit
from visit_platform.visits.notices import local_window
from workflows.actions.steps import FLOW_ACTOR, tell_visitor

# What one run reminds at most per building; the next run takes the rest.
REMINDER_BATCH = 500
REMINDER = gettext_noop(
    "[%(building)s] Reminder: your visit starts at %(time)s on %(day)s. Show your pass at the "
    "gate; My visits has it too: %(link)s"
)


def remind_visitors(now: datetime | None = None, *, actor: Actor = FLOW_ACTOR) -> int:
    """Remind every approved visit with a live pass that starts within the next
    ``VISITOR_REMINDER_HOURS``, once. A visit approved within that time before its start is
    left alone: its pass arrived a moment ago. Returns how many visits were reminded."""
    ahead = timedelta(hours=float(settings.VISITOR_REMINDER_HOURS))
    if ahead <= timedelta(0):
        return 0
    now = now or timezone.now()
    live_pass = Pass.objects.filter(
        visit=OuterRef("pk"), revoked_at__isnull=True, valid_until__gt=now
    )
    due = (
        Visit.objects.filter(
            status=VisitStatus.APPROVED,
            visitor_reminded_at__isnull=True,
            valid_from__gt=now,
            valid_from__lte=now + ahead,
        )
        .filter(Q(decided_at__isnull=True) | Q(decided_at__lte=F("valid_from") - ahead))
        .filter(Exists(live_pass))
        .order_by("valid_from", "pk")
        .values_list("pk", flat=True)[:REMINDER_BATCH]
    )
    return sum(1 for pk in list(due) if remind_visitor(actor, pk, now))


@transaction.atomic
def remind_visitor(actor: Actor, visit_id: int, now: datetime) -> bool:
    """Remind one visit's visitor, unless someone did already: the visit is claimed with one
    conditional UPDATE, in the transaction that queues the notice."""
    claimed = Visit.objects.filter(
        pk=visit_id, status=VisitStatus.APPROVED, visitor_reminded_at__isnull=True
    ).update(visitor_reminded_at=now)
    if not claimed:
        return False
    visit = Visit.objects.select_related("visitor", "host__company", "company").get(pk=visit_id)
    start, _end = local_window(visit)
    record(actor, "visit.visitor_reminded", visit)
    tell_visitor(
        actor,
        visit,
        Purpose.REMINDER,
        REMINDER,
        url=building_url(current_schema(), reverse("wechat:me")),
        link=building_url(current_schema(), reverse("visits:my_visits")),
        day=f"{start:%Y-%m-%d}",
        time=f"{start:%H:%M}",
    )
    return True
