"""Hosts' decision links: a code sent by SMS with which a host, without an account,
approves or refuses a visit once."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from kernel.errors import (
    DomainError,
    GoneError,
    NotFoundError,
)
from kernel.privacy import mask_name, secret_hash
from tenants.actions import building_url
from tenants.db import current_schema
from tenants.models import Building
from visit_platform.audit.actions import Actor, record
from visit_platform.directory.models import Host
from visit_platform.notifications.actions import send_notification
from visit_platform.notifications.choices import Channel, Purpose
from visit_platform.visits.choices import VisitStatus
from visit_platform.visits.models import Visit
from workflows.choices import LinkOutcome, LinkPurpose
from workflows.models import ActionLink

ACTION_LINK_LIFETIME = timedelta(hours=24)


# Codes are 22 characters (128 random bits); anything much longer is not one of ours.
MAX_ACTION_CODE_LENGTH = 64


@dataclass(frozen=True)
class IssuedLink:
    link: ActionLink
    code: str  # goes into the URL sent to the host; only its hash is stored


@transaction.atomic
def create_action_link(
    actor: Actor,
    *,
    visit: Visit,
    host: Host,
    purpose: str = LinkPurpose.DECIDE_VISIT,
    lifetime: timedelta = ACTION_LINK_LIFETIME,
) -> IssuedLink:
    code = secrets.token_urlsafe(16)
    link = ActionLink.objects.create(
        purpose=purpose,
        code_hash=secret_hash(code),
        visit=visit,
        host=host,
        expires_at=timezone.now() + lifetime,
    )
    record(actor, "action_link.created", link, visit=visit.pk, host=host.pk, purpose=purpose)
    return IssuedLink(link, code)


def open_action_link(code: str) -> ActionLink:
    """The link a code names, if it may still be used; otherwise a DomainError saying why."""
    link = _link(code)
    if link.used_at is not None and link.visit.status == VisitStatus.CANCELLED:
        raise GoneError("request_withdrawn", _("The visitor withdrew this request."))
    if link.used_at is not None:
        raise GoneError("link_used", _("This link has already been used."))
    if link.expires_at <= timezone.now():
        raise GoneError("link_expired", _("This link has expired."))
    return link


@transaction.atomic
def use_action_link(actor: Actor, code: str, outcome: str) -> ActionLink:
    """Spend the link on ``outcome``. One conditional UPDATE: of two taps on the same link
    (or two phones), exactly one gets through; the caller then acts in the same transaction."""
    if outcome not in LinkOutcome.values:
        raise DomainError("outcome_invalid", _("Unknown decision."), field="outcome")
    link = open_action_link(code)
    spent = ActionLink.objects.filter(
        pk=link.pk, used_at__isnull=True, expires_at__gt=timezone.now()
    ).update(used_at=timezone.now(), outcome=outcome)
    if not spent:
        open_action_link(code)  # raises used or expired, whichever it is now
        raise GoneError("link_used", _("This link has already been used."))
    link.refresh_from_db()
    record(actor, "action_link.used", link, visit=link.visit_id, outcome=outcome)
    return link


def _link(code: str) -> ActionLink:
    unknown = NotFoundError("link_unknown", _("This link is not valid."))
    if not code or len(code) > MAX_ACTION_CODE_LENGTH:
        raise unknown
    link = ActionLink.objects.select_related("visit", "host").filter(code_hash=secret_hash(code))
    found = link.first()
    if found is None:
        raise unknown
    return found


def action_link_url(code: str) -> str:
    """The link's address on the current building's domain."""
    return building_url(current_schema(), reverse("workflows:decision_page", args=[code]))


@transaction.atomic
def send_decision_link(
    actor: Actor, visit: Visit, *, purpose: str = Purpose.APPROVAL_REQUEST
) -> IssuedLink:
    """Text the visit's host a link with which to approve or reject it, in the building's
    language. The host needs no account: the link is the authority, once."""
    host = visit.host
    if host is None or not host.mobile:
        raise DomainError("host_unreachable", _("The visit has no host with a mobile number."))
    issued = create_action_link(actor, visit=visit, host=host)
    building = Building.objects.get(schema_name=current_schema())
    with translation.override(building.default_language):
        text = _(
            "[%(building)s] %(visitor)s asks to visit you on %(day)s. Approve or refuse: %(link)s"
        ) % {
            "building": building.name,
            "visitor": mask_name(visit.visitor_name),
            "day": timezone.localtime(visit.valid_from).strftime("%Y-%m-%d %H:%M"),
            "link": action_link_url(issued.code),
        }
    send_notification(
        actor,
        channel=Channel.SMS,
        to=host.mobile,
        purpose=purpose,
        text=text,
        visit=visit,
    )
    return issued


def spend_open_links(visit: Visit, outcome: str) -> int:
    """Close the visit's decision links nobody used (withdrawn, decided elsewhere, expired):
    the host who taps one is told why. Returns how many were closed."""
    return ActionLink.objects.filter(visit=visit, used_at__isnull=True).update(
        used_at=timezone.now(), outcome=outcome
    )
