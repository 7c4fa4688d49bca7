"""How people act from their phones without an account (hosts' decision links, visitors'
one-time codes), and where a visitor's request goes once submitted."""

from __future__ import annotations

import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from tenants.actions import building_url
from tenants.db import current_schema
from tenants.models import Building
from visit_platform.access.actions import issue_pass
from visit_platform.audit.actions import Actor, record
from visit_platform.directory.models import Host
from visit_platform.errors import DomainError, GoneError, NotFoundError, RateLimitedError
from visit_platform.notifications.actions import send_notification
from visit_platform.notifications.choices import Channel, Purpose
from visit_platform.phones import normalise_mobile
from visit_platform.privacy import blind_index, mask_name, secret_hash
from visit_platform.visits.actions import decide_visit
from visit_platform.visits.choices import VisitStatus
from visit_platform.visits.models import Visit
from workflows.choices import Approver, LinkOutcome, LinkPurpose
from workflows.models import ActionLink, OneTimeCode, ScenarioPolicy

logger = logging.getLogger(__name__)

ACTION_LINK_LIFETIME = timedelta(hours=24)
# Codes are 22 characters (128 random bits); anything much longer is not one of ours.
MAX_ACTION_CODE_LENGTH = 64

CODE_LIFETIME = timedelta(minutes=5)
CODE_ATTEMPTS = 5
# A number gets at most one code a minute and five an hour: SMS cost money and annoy.
CODE_INTERVAL = timedelta(minutes=1)
CODES_PER_HOUR = 5
MOBILE_INDEX = "one_time_code.mobile"
CODE_INDEX = "one_time_code.code"


# --- Action links ---------------------------------------------------------------------------


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
    if link.used_at is not None and not link.outcome:
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


@transaction.atomic
def withdraw_request(actor: Actor, visit: Visit) -> int:
    """The visitor called their request off: whatever still waits for someone's decision on
    it ends here. For now that is the visit's open action links, spent without an outcome
    (the host who taps one is told the request was withdrawn); the request flow hooks its
    open tasks in here. Returns how many links were spent."""
    now = timezone.now()
    spent = ActionLink.objects.filter(visit=visit, used_at__isnull=True).update(
        used_at=now, outcome=""
    )
    if spent:
        record(actor, "action_link.withdrawn", visit, links=spent)
    return spent


def _link(code: str) -> ActionLink:
    unknown = NotFoundError("link_unknown", _("This link is not valid."))
    if not code or len(code) > MAX_ACTION_CODE_LENGTH:
        raise unknown
    link = ActionLink.objects.select_related("visit", "host").filter(code_hash=secret_hash(code))
    found = link.first()
    if found is None:
        raise unknown
    return found


# --- One-time codes -------------------------------------------------------------------------


@transaction.atomic
def send_one_time_code(actor: Actor, mobile: str) -> OneTimeCode:
    """Text a six-digit code to ``mobile``, in the building's language."""
    number = normalise_mobile(mobile)
    index = blind_index(number, MOBILE_INDEX)
    with connection.cursor() as cursor:
        # Two requests for the same number at once: the second waits and then sees the first.
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [index])
    now = timezone.now()
    recent = OneTimeCode.objects.filter(mobile_index=index, created_at__gt=now - timedelta(hours=1))
    if recent.filter(created_at__gt=now - CODE_INTERVAL).exists():
        raise RateLimitedError(
            "code_too_soon", _("A code was sent less than a minute ago; wait a little.")
        )
    if recent.count() >= CODES_PER_HOUR:
        raise RateLimitedError(
            "too_many_codes", _("Too many codes for this number; try again later.")
        )
    code = f"{secrets.randbelow(10**6):06d}"
    one_time_code = OneTimeCode.objects.create(
        mobile_index=index,
        code_hash=blind_index(f"{index}:{code}", CODE_INDEX),
        expires_at=now + CODE_LIFETIME,
    )
    building = Building.objects.get(schema_name=current_schema())
    with translation.override(building.default_language):
        text = _("[%(building)s] Your code is %(code)s. It is valid for 5 minutes.") % {
            "building": building.name,
            "code": code,
        }
    send_notification(
        actor, channel=Channel.SMS, to=number, purpose=Purpose.ONE_TIME_CODE, text=text
    )
    return one_time_code


def verify_one_time_code(mobile: str, code: str) -> str:
    """The mobile number (E.164) if ``code`` is the latest live code sent to it.

    Every try counts, right or wrong, before the code is compared, and a code dies after a few:
    call this outside a transaction (views do), so that a wrong guess stays counted when the
    error is raised.
    """
    number = normalise_mobile(mobile)
    index = blind_index(number, MOBILE_INDEX)
    expired = DomainError(
        "code_expired", _("The code has expired; ask for a new one."), field="code"
    )
    latest = (
        OneTimeCode.objects.filter(
            mobile_index=index, used_at__isnull=True, expires_at__gt=timezone.now()
        )
        .order_by("-created_at")
        .first()
    )
    if latest is None:
        raise expired
    counted = OneTimeCode.objects.filter(pk=latest.pk, attempts__lt=CODE_ATTEMPTS).update(
        attempts=F("attempts") + 1
    )
    if not counted:
        raise DomainError(
            "too_many_attempts", _("Too many wrong codes; ask for a new one."), field="code"
        )
    given = blind_index(f"{index}:{code.strip()[:12]}", CODE_INDEX)
    if not hmac.compare_digest(latest.code_hash, given):
        raise DomainError("code_wrong", _("The code is not right."), field="code")
    if not OneTimeCode.objects.filter(pk=latest.pk, used_at__isnull=True).update(
        used_at=timezone.now()
    ):
        raise expired  # used by a simultaneous request a moment ago
    return number


# --- Hosts decide from their phone ----------------------------------------------------------


def action_link_url(code: str) -> str:
    """The link's address on the current building's domain."""
    return building_url(current_schema(), reverse("workflows:decision_page", args=[code]))


@transaction.atomic
def send_decision_link(actor: Actor, visit: Visit) -> IssuedLink:
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
            "visitor": mask_name(visit.visitor.name),
            "day": timezone.localtime(visit.valid_from).strftime("%Y-%m-%d %H:%M"),
            "link": action_link_url(issued.code),
        }
    send_notification(
        actor,
        channel=Channel.SMS,
        to=host.mobile,
        purpose=Purpose.APPROVAL_REQUEST,
        text=text,
        visit=visit,
    )
    return issued


@transaction.atomic
def decide_by_link(code: str, *, approve: bool, reason: str = "") -> Visit:
    """The host's decision through their link: the link is spent and the visit decided in one
    transaction (a refused decision spends nothing). An approved visitor gets their pass and
    a text with its link; a refused one a text with the reason."""
    link = open_action_link(code)
    host = link.host
    actor = Actor(user=host.user, label=f"host {host.name} (link)")
    outcome = LinkOutcome.APPROVED if approve else LinkOutcome.REJECTED
    visit = decide_visit(actor, link.visit, approve=approve, reason=reason)
    use_action_link(actor, code, outcome)
    if approve:
        _issue_and_send_pass(actor, visit)
    else:
        _tell_visitor(
            actor,
            visit,
            Purpose.DECISION,
            gettext_noop("[%(building)s] Your visit on %(day)s was not approved: %(reason)s"),
            day=timezone.localtime(visit.valid_from).strftime("%Y-%m-%d"),
            reason=visit.decision_reason,
        )
    return visit


@transaction.atomic
def route_request(actor: Actor, visit: Visit) -> Visit:
    """Where a visitor's request goes next, by the building's policy for requests: to the
    host's phone for a decision, or straight to a pass when no approval is needed.

    This stands in for the first steps of the request flow until the viewflow flows (issue 5)
    take over and call the same actions. A request whose approver is not the host waits in
    the console; a watchlisted visitor never gets a pass here (``issue_pass`` refuses, and the
    visit keeps waiting for a person)."""
    if visit.status != VisitStatus.PENDING_APPROVAL:
        return visit
    policy = ScenarioPolicy.objects.filter(scenario=visit.scenario).first()
    if policy is None:
        return visit
    if policy.requires_approval:
        if policy.approver == Approver.HOST and visit.host is not None:
            send_decision_link(actor, visit)
        return visit
    visit = decide_visit(actor, visit, approve=True)
    _issue_and_send_pass(actor, visit)
    return visit


def route_new_request(actor: Actor, visit: Visit) -> None:
    """For the channels that take requests (the visitor's page, the forms API): route a
    request just submitted. A failure leaves it waiting for a person and is logged; the
    visitor's submission stands."""
    try:
        route_request(actor, visit)
    except DomainError as error:
        logger.warning("Visit %s was not routed: %s", visit.pk, error.code)


def _issue_and_send_pass(actor: Actor, visit: Visit) -> None:
    issued = issue_pass(actor, visit)
    url = building_url(current_schema(), reverse("pass_page", args=[issued.link_code]))
    _tell_visitor(
        actor,
        visit,
        Purpose.PASS_LINK,
        gettext_noop("[%(building)s] Your visit is approved. Your pass: %(link)s"),
        link=url,
    )


def _tell_visitor(actor: Actor, visit: Visit, purpose: str, text: str, **values: str) -> None:
    """Text the visitor in the building's language (``text``, a message id, is translated
    there, whatever language the person deciding uses)."""
    if not visit.visitor.mobile:
        return
    building = Building.objects.get(schema_name=current_schema())
    with translation.override(building.default_language):
        message = _(text) % {"building": building.name, **values}
    send_notification(
        actor,
        channel=Channel.SMS,
        to=visit.visitor.mobile,
        purpose=purpose,
        text=message,
        visit=visit,
    )
