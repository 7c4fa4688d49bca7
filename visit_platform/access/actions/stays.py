"""A visitor's stay, changed by a person rather than a gate: a visit extended while the visitor
is inside, and a visit checked out on someone's word (their host says they left). The live
screens hear of both."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kernel.errors import DomainError, GoneError
from tenants.db import current_schema
from tenants.models import Building
from visit_platform.access.actions._common import publish_visit_change
from visit_platform.access.models import Pass
from visit_platform.access.queries import visit_inside
from visit_platform.audit.actions import Actor, record
from visit_platform.visits.choices import LeftOnWordOf, VisitStatus
from visit_platform.visits.models import Visit


def _not_inside(visit: Visit) -> GoneError:
    return GoneError("visit_not_inside", _("The visitor is no longer inside."))


@transaction.atomic
def extend_visit(actor: Actor, visit: Visit, until: datetime) -> Visit:
    """Let a visitor who is inside stay until ``until``: the visit's window and its passes'
    end there, never past the building's end of day. An overstay noted on the visit is
    cleared, so the check fires again if they stay past the new end."""
    now = timezone.now()
    locked = Visit.objects.select_for_update().filter(pk=visit.pk).first()
    if locked is None or locked.status != VisitStatus.CHECKED_IN:
        raise _not_inside(visit)
    building = Building.objects.get(schema_name=current_schema())
    day_end = building.next_day_end(now)
    if until <= now or until <= locked.valid_until:
        raise DomainError(
            "extension_invalid", _("The new end must be later than now and than the visit's.")
        )
    if until > day_end:
        raise DomainError(
            "extension_past_day_end",
            _("A visit cannot be extended past the building's end of day (%(time)s).")
            % {"time": building.local_time(day_end).strftime("%H:%M")},
        )
    previous_end, noted = locked.valid_until, locked.overstay_noted_at
    Visit.objects.filter(pk=locked.pk).update(
        valid_until=until, overstay_noted_at=None, updated_at=now
    )
    Pass.objects.filter(visit_id=locked.pk, revoked_at__isnull=True).update(valid_until=until)
    locked.refresh_from_db()
    record(
        actor,
        "visit.extended",
        locked,
        previous_end=previous_end.isoformat(),
        new_end=until.isoformat(),
        overstay_noted_at=noted.isoformat() if noted else None,
    )
    publish_visit_change(locked.pk, "extended", visit_inside(locked))
    return locked


@transaction.atomic
def check_out_on_word(actor: Actor, visit: Visit, *, word_of: LeftOnWordOf) -> Visit:
    """Check out a visitor the gate did not see leave, because ``word_of`` (their host, a
    member of staff) says they left. One conditional UPDATE: of two such answers, or an answer
    and the gate, the first wins and the other is told the visitor is no longer inside."""
    now = timezone.now()
    checked_out = Visit.objects.filter(pk=visit.pk, status=VisitStatus.CHECKED_IN).update(
        status=VisitStatus.CHECKED_OUT, checked_out_at=now, left_on_word_of=word_of, updated_at=now
    )
    if not checked_out:
        raise _not_inside(visit)
    Pass.objects.filter(visit_id=visit.pk, is_inside=True).update(is_inside=False)
    visit.refresh_from_db()
    record(actor, "visit.checked_out_on_word", visit, word_of=word_of)
    publish_visit_change(visit.pk, "checked_out")
    return visit
