"""Telling approvers that a decision waits. Hosts' decision links: a code sent by SMS (or
in WeChat, to a host who bound it) with which a host, without an account, approves or
refuses a visit once; and the WeChat notices to the people of an approval queue."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
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
from visit_platform.directory.choices import Role
from visit_platform.directory.models import Host, Membership
from visit_platform.notifications.actions import send_notice
from visit_platform.notifications.choices import Purpose
from visit_platform.visits.choices import VisitStatus
from visit_platform.visits.models import Visit
from workflows.choices import Approver, LinkOutcome, LinkPurpose
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
    """Tell the visit's host a decision waits, with a link with which to approve or reject
    it, in the building's language. The host needs no account: the link is the authority,
    once. A host who bound their WeChat gets it there, as a template message opening the
    WeChat approval page; the SMS with the link is what an unbound host gets, and what a
    WeChat message that fails falls back to."""
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
            "day": building.local_time(visit.valid_from).strftime("%Y-%m-%d %H:%M"),
            "link": action_link_url(issued.code),
        }
    send_notice(
        actor,
        purpose=purpose,
        text=text,
        mobile=host.mobile,
        openid=host.wechat_openid,
        data=approval_notice_data(visit, building),
        url=wechat_approval_url(visit),
        visit=visit,
    )
    return issued


def wechat_approval_url(visit: Visit) -> str:
    """The WeChat approval page of the visit, on the current building's domain (opened inside
    WeChat, which proves who is holding the phone)."""
    return building_url(current_schema(), reverse("wechat:approval", args=[visit.pk]))


def approval_notice_data(visit: Visit, building: Building) -> dict[str, str]:
    """What a WeChat approval request shows: the visitor (masked), the company visited, the
    window and the purpose, in the building's language and time zone."""
    company = visit.company or (visit.host.company if visit.host else None)
    start, end = (
        building.local_time(visit.valid_from),
        building.local_time(visit.valid_until),
    )
    same_day = start.date() == end.date()
    return {
        "visitor": mask_name(visit.visitor_name),
        "company": company.name if company else "",
        "window": f"{start:%Y-%m-%d %H:%M} – {end:%H:%M}"
        if same_day
        else f"{start:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M}",
        "purpose": visit.purpose or "—",
    }


def spend_open_links(visit: Visit, outcome: str) -> int:
    """Close the visit's decision links nobody used (withdrawn, decided elsewhere, expired):
    the host who taps one is told why. Returns how many were closed."""
    return ActionLink.objects.filter(visit=visit, used_at__isnull=True).update(
        used_at=timezone.now(), outcome=outcome
    )


# --- Telling an approval queue -----------------------------------------------------------------


def queue_holders_in_wechat(visit: Visit, approver: str) -> list[Host]:
    """The employees bound to WeChat whose account holds the role ``approver`` names for
    this visit: the visit's company's admins, or the property office (property admins)."""
    if approver == Approver.COMPANY_ADMIN:
        company_id = visit.company_id or (visit.host.company_id if visit.host else None)
        if company_id is None:
            return []
        roles = Q(role=Role.COMPANY_ADMIN, company_id=company_id)
    elif approver == Approver.PROPERTY:
        roles = Q(role=Role.PROPERTY_ADMIN)
    else:
        return []
    users = Membership.objects.filter(roles, is_active=True).values("user_id")
    return list(
        Host.objects.filter(user_id__in=users, is_active=True, company__is_active=True)
        .exclude(wechat_openid="")
        .order_by("pk")
    )


def tell_queue_in_wechat(actor: Actor, visit: Visit, approver: str, *, purpose: str) -> int:
    """Tell the people of the approval queue ``approver`` (company admins, the property
    office) that the visit waits for them, in WeChat: best effort, only those bound to
    WeChat (the others see the task in their console queue, as before). The message opens
    the WeChat approval page; should WeChat not deliver it, the SMS that replaces it points
    to the console's task list. Returns how many were told."""
    holders = queue_holders_in_wechat(visit, approver)
    if not holders:
        return 0
    building = Building.objects.get(schema_name=current_schema())
    data = approval_notice_data(visit, building)
    with translation.override(building.default_language):
        text = _(
            "[%(building)s] %(visitor)s asks to visit %(company)s on %(day)s and waits for "
            "your decision: %(link)s"
        ) % {
            "building": building.name,
            "visitor": data["visitor"],
            "company": data["company"],
            "day": building.local_time(visit.valid_from).strftime("%Y-%m-%d %H:%M"),
            "link": building_url(current_schema(), reverse("workflows:task_list")),
        }
    for holder in holders:
        send_notice(
            actor,
            purpose=purpose,
            text=text,
            mobile=holder.mobile,
            openid=holder.wechat_openid,
            data=data,
            url=wechat_approval_url(visit),
            visit=visit,
        )
    return len(holders)
