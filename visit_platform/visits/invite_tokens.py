"""Codes that lead a visitor to their pass inside WeChat: an event's code (5.2.5), which the
attendees of its list scan, and an invitation's (5.2.1), which the host forwards.

Both are signed references (``kernel.references``): nothing is stored, a code names one event
or one visit of one building. What a code lets its holder do is decided by the pages that take
it: an event's code shows a pass only to someone who proved a mobile on the list; an
invitation's is the authority for its visit, as a pass link is (docs/adr/0017).
"""

from __future__ import annotations

from kernel.references import reference_for, referenced_pk
from tenants.db import current_schema
from visit_platform.visits.choices import Scenario
from visit_platform.visits.models import Event, Visit

EVENT_INVITATION = "visits.event_invitation"
VISIT_INVITATION = "visits.invitation"


def event_invite_token(event: Event) -> str:
    """The event's code in the current building."""
    return reference_for(EVENT_INVITATION, current_schema(), event.pk)


def event_by_invite_token(token: str) -> Event | None:
    """The event of this building the code names, or None (malformed, forged, another
    building's). An event still waiting for its list is returned too: its page says so."""
    pk = referenced_pk(EVENT_INVITATION, current_schema(), token)
    if pk is None:
        return None
    return Event.objects.select_related("company").filter(pk=pk).first()


def invitation_token(visit: Visit) -> str:
    """The code of a host's invitation, for the share card the host forwards in WeChat."""
    return reference_for(VISIT_INVITATION, current_schema(), visit.pk)


def visit_by_invitation_token(token: str) -> Visit | None:
    """The invitation (a visit of scenario ``invite``) of this building the code names."""
    pk = referenced_pk(VISIT_INVITATION, current_schema(), token)
    if pk is None:
        return None
    return (
        Visit.objects.select_related("visitor", "host__company", "company")
        .filter(pk=pk, scenario=Scenario.INVITE)
        .first()
    )
