"""The link in an overstay notice, with which the host answers from their phone: extend the
visit a little (never past the building's end of day), or say the visitor has left.

The link is a stamped signed reference (``kernel.references``) to the visit and the moment
its overstay was noted: nothing is stored, it names one overstay of one visit in one building.
Once the host has answered (or the visitor left, or the day ended), the overstay it names is
over and the page says what happened instead; a forged or altered link names nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from kernel.errors import DomainError, GoneError, NotFoundError
from kernel.references import stamped_reference_for, stamped_referenced
from tenants.actions import building_url
from tenants.db import current_schema
from tenants.models import Building
from visit_platform.access.actions.stays import check_out_on_word, extend_visit
from visit_platform.audit.actions import Actor
from visit_platform.visits.choices import LeftOnWordOf, VisitStatus
from visit_platform.visits.models import Visit

OVERSTAY_REFERENCE = "access.overstay"
# After this the link answers nothing: the day-end checkout has long settled the visit.
OVERSTAY_LINK_LIFETIME = timedelta(hours=12)
# What the host may choose: this many minutes more, from now.
EXTENSION_MINUTES = (30, 60, 120)


def _stamp(moment: datetime) -> int:
    return int(moment.timestamp())


def overstay_url(visit: Visit) -> str:
    """The address of the host's page for the visit's current overstay."""
    assert visit.overstay_noted_at is not None
    code = stamped_reference_for(
        OVERSTAY_REFERENCE, current_schema(), visit.pk, _stamp(visit.overstay_noted_at)
    )
    return building_url(current_schema(), reverse("access:overstay_page", args=[code]))


def open_overstay_link(code: str, *, lock: bool = False) -> Visit:
    """The visit whose overstay ``code`` names, if it is still open; otherwise a DomainError
    saying why (forged, expired, the visitor left, already extended)."""
    named = stamped_referenced(OVERSTAY_REFERENCE, current_schema(), code)
    unknown = NotFoundError("link_unknown", _("This link is not valid."))
    if named is None:
        raise unknown
    pk, stamp = named
    visits = Visit.objects.select_related("visitor", "host")
    if lock:
        visits = visits.select_for_update(of=("self",))
    visit = visits.filter(pk=pk).first()
    if visit is None:
        raise unknown
    building = Building.objects.get(schema_name=current_schema())
    if visit.status != VisitStatus.CHECKED_IN:
        left = visit.checked_out_at
        raise GoneError(
            "visit_not_inside",
            _("The visitor is no longer inside (checked out at %(time)s).")
            % {"time": building.local_time(left).strftime("%H:%M") if left else "—"},
        )
    noted = visit.overstay_noted_at
    if noted is None or _stamp(noted) != stamp:
        raise GoneError(
            "overstay_answered",
            _("This overstay was already answered: the visit now ends at %(time)s.")
            % {"time": building.local_time(visit.valid_until).strftime("%H:%M")},
        )
    if timezone.now() >= noted + OVERSTAY_LINK_LIFETIME:
        raise GoneError("link_expired", _("This link has expired."))
    return visit


def extension_choices(visit: Visit, now: datetime | None = None) -> dict[int, datetime]:
    """The new ends the host may choose (by minutes from now), cut at the building's end of
    day; the choices the day end makes the same or empty are left out."""
    now = now or timezone.now()
    building = Building.objects.get(schema_name=current_schema())
    day_end = building.next_day_end(now)
    choices: dict[int, datetime] = {}
    for minutes in EXTENSION_MINUTES:
        until = min((now + timedelta(minutes=minutes)).replace(second=0, microsecond=0), day_end)
        if until > now and until > visit.valid_until and until not in choices.values():
            choices[minutes] = until
    return choices


def _host_actor(visit: Visit, ip_address: str | None) -> Actor:
    host = visit.host
    label = f"host {host.name} (overstay link)" if host else "overstay link"
    return Actor(user=host.user if host else None, ip_address=ip_address, label=label)


@transaction.atomic
def extend_by_link(code: str, minutes: int, *, ip_address: str | None = None) -> Visit:
    """The host extends the visit by ``minutes`` (one of the choices) through the link; a
    second answer on the same link is told the overstay was answered."""
    visit = open_overstay_link(code, lock=True)
    until = extension_choices(visit).get(minutes)
    if until is None:
        raise DomainError(
            "extension_invalid", _("Choose one of the times offered."), field="minutes"
        )
    return extend_visit(_host_actor(visit, ip_address), visit, until)


@transaction.atomic
def left_by_link(code: str, *, ip_address: str | None = None) -> Visit:
    """The host says the visitor has left: the visit is checked out on their word."""
    visit = open_overstay_link(code, lock=True)
    return check_out_on_word(_host_actor(visit, ip_address), visit, word_of=LeftOnWordOf.HOST)
