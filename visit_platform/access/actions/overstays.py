"""Overstays and the end of the day (issue 14, section 4): who is still inside after their
visit's window has ended.

A visitor still checked in past their window's end plus the building's grace
(``Building.overstay_grace_minutes``) is an overstay: the visit is flagged once
(``Visit.overstay_noted_at``, claimed with one conditional UPDATE, so two runs or two workers
flag it once) and the host is told once, in WeChat when bound, else by SMS, with a link to
answer it (``overstay_links``: extend the visit, or say the visitor left); the visitor too, by
SMS, when the building says so (``overstay_tells_visitor``). An overstay nobody answers within
``overstay_escalation_minutes`` becomes an alert for security, once.

At the building's end of day (``Building.day_end_time``, local time), visits still checked in
whose window ended that day (or earlier) are checked out, flagged ``left_unseen`` ("not seen
leaving"): the turnstile missed their exit, or they walked out with a group. A visit ending
after the day end (a 22:00-23:30 evening visit) is checked out as soon as its window ends on
that same day; one ending after midnight waits for the next day end. A visit whose window is
still running (a 24-hour event pass) is never touched.

Both run in every building from the periodic job (``access.tasks.check_overstays_task``).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext_noop

from kernel.privacy import mask_name
from tenants.db import current_schema
from tenants.models import Building
from visit_platform.access.actions._common import publish_visit_change
from visit_platform.access.actions.alerts import raise_alert
from visit_platform.access.actions.overstay_links import overstay_url
from visit_platform.access.choices import AlertKind
from visit_platform.access.models import Alert, Pass
from visit_platform.access.queries import visit_inside
from visit_platform.audit.actions import Actor, record
from visit_platform.notifications.actions import in_building_language, send_notice
from visit_platform.notifications.choices import Purpose
from visit_platform.visits.choices import VisitStatus
from visit_platform.visits.models import Visit

OVERSTAY_ACTOR = Actor.system("overstay check")
DAY_END_ACTOR = Actor.system("end of day")

# What one run handles at most per building; the next run takes the rest.
OVERSTAY_BATCH = 500

OVERSTAY_TEXT = gettext_noop(
    "[%(building)s] %(visitor)s is still inside; their visit ended at %(time)s. "
    "Extend it or tell us they left: %(link)s"
)
OVERSTAY_VISITOR_TEXT = gettext_noop(
    "[%(building)s] Hello, your visit ended at %(time)s. If you are still in the building, "
    "please make your way out, or ask your host to extend your visit. Thank you."
)


def _building() -> Building:
    return Building.objects.get(schema_name=current_schema())


def find_overstays(now: datetime | None = None) -> list[int]:
    """The visits (ids) still inside past their window plus the building's grace, and not
    yet noted: the ones ``note_overstays`` will flag."""
    now = now or timezone.now()
    grace = timedelta(minutes=_building().overstay_grace_minutes)
    return list(
        Visit.objects.filter(
            status=VisitStatus.CHECKED_IN,
            overstay_noted_at__isnull=True,
            valid_until__lte=now - grace,
        )
        .order_by("valid_until", "pk")
        .values_list("pk", flat=True)[:OVERSTAY_BATCH]
    )


def note_overstays(now: datetime | None = None) -> int:
    """Flag every overstay found now and tell its host, once. Returns how many it flagged."""
    now = now or timezone.now()
    return sum(1 for pk in find_overstays(now) if note_overstay(pk, now))


@transaction.atomic
def note_overstay(visit_id: int, now: datetime) -> bool:
    """Flag one visit as an overstay and tell its host, unless it was flagged already or the
    visitor has left since: the claim is one conditional UPDATE, in the transaction that
    queues the notice. Visits without a host (an event's attendees) are flagged and audited
    and tell nobody."""
    building = _building()
    claimed = Visit.objects.filter(
        pk=visit_id,
        status=VisitStatus.CHECKED_IN,
        overstay_noted_at__isnull=True,
        valid_until__lte=now - timedelta(minutes=building.overstay_grace_minutes),
    ).update(overstay_noted_at=now)
    if not claimed:
        return False
    visit = Visit.objects.select_related("visitor", "host", "company").get(pk=visit_id)
    ended = building.local_time(visit.valid_until)
    record(OVERSTAY_ACTOR, "visit.overstay_noted", visit, window_ended=ended.isoformat())
    publish_visit_change(visit_id, "overstay", visit_inside(visit))
    _tell_of_overstay(visit, building, ended)
    return True


def _tell_of_overstay(visit: Visit, building: Building, ended: datetime) -> None:
    """The host, with the link to their answer (in WeChat the template opens it), and, if the
    building says so, the visitor, politely, by SMS."""
    time_ended = ended.strftime("%H:%M")
    host = visit.host
    if host is not None and host.is_active:
        values = {"visitor": mask_name(visit.visitor_name), "time": time_ended}
        link = overstay_url(visit)
        send_notice(
            OVERSTAY_ACTOR,
            purpose=Purpose.OVERSTAY,
            text=in_building_language(OVERSTAY_TEXT, link=link, **values),
            mobile=host.mobile,
            openid=host.wechat_openid,
            data=values,
            url=link,
            visit=visit,
        )
    if building.overstay_tells_visitor and visit.visitor_mobile:
        send_notice(
            OVERSTAY_ACTOR,
            purpose=Purpose.OVERSTAY_VISITOR,
            text=in_building_language(OVERSTAY_VISITOR_TEXT, time=time_ended),
            mobile=visit.visitor_mobile,
            visit=visit,
        )


@transaction.atomic
def check_out_at_day_end(now: datetime | None = None) -> int:
    """Check out, as "not seen leaving", the visits still inside whose window ended on a day
    whose end (the building's ``day_end_time``) has passed, and whose window is over. Safe to
    run again: a visit checked out is no longer inside. Returns how many it checked out."""
    now = now or timezone.now()
    building = _building()
    last_day_end = building.last_day_end(now)
    # Windows ending before the next local midnight after the last day end ended on a day
    # that is over.
    next_midnight = datetime.combine(
        last_day_end.date() + timedelta(days=1), time(0), tzinfo=last_day_end.tzinfo
    )
    ids = list(
        Visit.objects.select_for_update(skip_locked=True)
        .filter(
            status=VisitStatus.CHECKED_IN,
            valid_until__lte=now,
            valid_until__lt=next_midnight,
        )
        .values_list("pk", flat=True)
    )
    if not ids:
        return 0
    Visit.objects.filter(pk__in=ids, status=VisitStatus.CHECKED_IN).update(
        status=VisitStatus.CHECKED_OUT, checked_out_at=now, left_unseen=True, updated_at=now
    )
    # Their passes are no longer inside: anti-passback and the count of people inside agree.
    Pass.objects.filter(visit_id__in=ids, is_inside=True).update(is_inside=False)
    visits = Visit.objects.filter(pk__in=ids).select_related("visitor", "host", "company")
    for visit in visits:
        record(
            DAY_END_ACTOR,
            "visit.checked_out_unseen",
            visit,
            day_end=last_day_end.isoformat(),
            window_ended=building.local_time(visit.valid_until).isoformat(),
        )
        publish_visit_change(visit.pk, "checked_out")
    return len(ids)


def escalate_overstays(now: datetime | None = None) -> int:
    """Raise one alert for security for each overstay still open the building's
    ``overstay_escalation_minutes`` after it was noted: the visitor is still inside and nobody
    extended the visit (which clears the overstay). Once per overstay: the alert's key is the
    visit and the moment its overstay was noted. Returns how many alerts it raised."""
    now = now or timezone.now()
    building = _building()
    deadline = now - timedelta(minutes=building.overstay_escalation_minutes)
    raised_already = Alert.objects.filter(
        visit=OuterRef("pk"),
        kind=AlertKind.OVERSTAY,
        occurred_at__gte=OuterRef("overstay_noted_at"),
    )
    visits = (
        Visit.objects.filter(status=VisitStatus.CHECKED_IN, overstay_noted_at__lte=deadline)
        .exclude(Exists(raised_already))
        .order_by("overstay_noted_at", "pk")[:OVERSTAY_BATCH]
    )
    raised = 0
    for visit in visits:
        noted = visit.overstay_noted_at
        assert noted is not None
        _alert, before = raise_alert(
            AlertKind.OVERSTAY,
            key=f"{visit.pk}:{noted.isoformat()}",
            visit=visit,
            details={
                "window_ended": building.local_time(visit.valid_until).isoformat(),
                "noted_at": building.local_time(noted).isoformat(),
            },
            occurred_at=now,
        )
        raised += not before
    return raised


def check_overstays(now: datetime | None = None) -> str:
    """The checks in the current building, for the periodic job: overstays first, so a host
    hears that their visitor stayed before the end of day checks them out; then the overstays
    nobody answered in time go to security."""
    now = now or timezone.now()
    noted = note_overstays(now)
    escalated = escalate_overstays(now)
    checked_out = check_out_at_day_end(now)
    return (
        f"{noted} overstay(s) noted, {escalated} escalated to security, "
        f"{checked_out} visit(s) checked out at day end"
    )
