"""How people act from their phones without an account (hosts' decision links, visitors'
one-time codes), and where a visitor's request goes once submitted."""

from __future__ import annotations

import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Unpack

from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.db.models import F, QuerySet
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from viewflow.workflow.models import Task
from viewflow.workflow.status import PROCESS, STATUS

from forms.choices import FieldType
from forms.fields import sniff_content_type
from kernel.errors import (
    ConflictError,
    DomainError,
    GoneError,
    NotFoundError,
    RateLimitedError,
)
from kernel.phones import normalise_mobile
from kernel.privacy import blind_index, mask_name, secret_hash
from tenants.actions import building_url
from tenants.db import current_schema
from tenants.models import Building
from visit_platform.access.actions import (
    issue_pass,
    note_slip_printed,
    pass_url,
    refresh_pass_link,
)
from visit_platform.access.models import Pass
from visit_platform.audit.actions import Actor, record
from visit_platform.directory.models import Host
from visit_platform.notifications.actions import in_building_language, send_notification
from visit_platform.notifications.choices import Channel, Purpose
from visit_platform.visits import actions as visit_actions
from visit_platform.visits.actions import EntryFields, decide_visit
from visit_platform.visits.choices import ADMITTING_STATUSES, Scenario, VisitStatus
from visit_platform.visits.models import Visit, WatchlistEntry
from visit_platform.visits.queries import visit_is_watchlisted
from workflows.choices import Approver, LinkOutcome, LinkPurpose
from workflows.models import ActionLink, OneTimeCode, VisitProcess

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


@transaction.atomic
def decide_by_link(code: str, *, approve: bool, reason: str = "") -> Visit:
    """The host's decision through their link: the link is spent and the visit decided in one
    transaction (a refused decision spends nothing). Where the visit's flow waits on an
    approval task, the decision completes it and the flow issues the pass or tells the
    visitor; at the desk (walk-ins) the decision stands and reception carries on."""
    link = open_action_link(code)
    host = link.host
    actor = Actor(user=host.user, label=f"host {host.name} (link)")
    outcome = LinkOutcome.APPROVED if approve else LinkOutcome.REJECTED
    visit = decide_visit(actor, link.visit, approve=approve, reason=reason)
    use_action_link(actor, code, outcome)
    task = open_approval_task(visit)
    if task is not None:
        _finish_task(actor, task, {"decision": outcome, "by": actor.name, "via": "link"})
    elif visit.scenario not in DESK_SCENARIOS:
        # A visit without a flow (made before the flows existed): decide it the old way.
        after_decision(actor, visit)
    return visit


def _spend_open_links(visit: Visit, outcome: str) -> int:
    """Close the visit's decision links nobody used (withdrawn, decided elsewhere, expired):
    the host who taps one is told why. Returns how many were closed."""
    return ActionLink.objects.filter(visit=visit, used_at__isnull=True).update(
        used_at=timezone.now(), outcome=outcome
    )


@transaction.atomic
def withdraw_request(actor: Actor, visit: Visit) -> int:
    """A request the visitor withdrew: its open decision links die with it (the host who taps
    one is told), and its flow's open tasks are cancelled so nobody is asked to decide it any
    more. Returns how many links were spent."""
    spent = _spend_open_links(visit, LinkOutcome.WITHDRAWN)
    if spent:
        record(actor, "action_link.withdrawn", visit, links=spent)
    _cancel_open_tasks(visit)
    return spent


@transaction.atomic
def cancel_request(actor: Actor, visit: Visit) -> Visit:
    """The visitor calls off a visit that still waits for approval (the visits' action of the
    same name), and whatever still waits for a decision on it, the host's link and the
    flow's task, is withdrawn in the same transaction."""
    visit = visit_actions.cancel_request(actor, visit)
    withdraw_request(actor, visit)
    return visit


@transaction.atomic
def approve_watchlist_entry(
    actor: Actor, entry: WatchlistEntry, *, reason: str = ""
) -> WatchlistEntry:
    """Approve a proposed entry and enforce it (the visits' actions); the flows of the
    visits it refuses end, so nobody is asked to decide them any more."""
    entry = visit_actions.approve_watchlist_entry(actor, entry, reason=reason)
    _enforce(actor, entry)
    return entry


@transaction.atomic
def add_to_watchlist(
    actor: Actor, *, approve: bool = True, **fields: Unpack[EntryFields]
) -> WatchlistEntry:
    """Write an entry directly, for programs (the visits' action of the same name), and
    enforce it as ``approve_watchlist_entry`` does."""
    entry = visit_actions.add_to_watchlist(actor, approve=approve, **fields)
    _enforce(actor, entry)
    return entry


def _enforce(actor: Actor, entry: WatchlistEntry) -> None:
    for visit in visit_actions.enforce_watchlist_entry(actor, entry):
        withdraw_request(actor, visit)


# --- Flow steps -----------------------------------------------------------------------------
#
# What the scenario flows' nodes do (workflows/flows/). The flows only route: every change is
# one of these actions, which the console's task pages and the host's links call as well.

# Scenarios where the visitor stands at the reception desk while the flow runs.
DESK_SCENARIOS = frozenset({Scenario.WALK_IN, Scenario.NO_ID})
FLOW_ACTOR = Actor.system("visit flow")
# Visits a host approved this recently make a returning visitor (policy
# ``auto_approve_returning``).
RETURNING_WITHIN = timedelta(days=90)
_FLOW_OF_SCENARIO: dict[str, str] = {
    Scenario.INVITE: "workflows.flows.visits.InviteFlow",
    Scenario.REQUEST: "workflows.flows.visits.RequestFlow",
    Scenario.WALK_IN: "workflows.flows.visits.WalkInFlow",
    Scenario.NO_ID: "workflows.flows.visits.NoIdFlow",
}


def flow_of(scenario: str) -> Any:
    """The flow class of a scenario (None for one that runs another way, like events)."""
    path = _FLOW_OF_SCENARIO.get(scenario)
    return import_string(path) if path else None


def start_visit_flow(actor: Actor, visit: Visit) -> VisitProcess:
    """Start the visit's scenario flow, under the policy in force now. The flow runs its
    automatic steps at once (watchlist, routing, a pass where no one need approve) and stops
    at the first task for a person or a timer."""
    if VisitProcess.objects.filter(visit=visit).exists():
        raise ConflictError("flow_started", _("This visit is already on its way."))
    flow_class = flow_of(visit.scenario)
    if flow_class is None:
        raise DomainError("no_flow", _("This scenario has no flow."))
    process: VisitProcess = flow_class.start.run(actor=actor, visit=visit)
    return process


def screen_visitor(process: VisitProcess) -> bool:
    """Whether the visitor matches the watchlist; kept on the process for the routing and
    the timeline (the entry itself is never shown to the people on the flow)."""
    process.watchlist_hit = visit_is_watchlisted(process.visit)
    process.save(update_fields=["watchlist_hit"])
    if process.watchlist_hit:
        record(FLOW_ACTOR, "visit.watchlist_hit", process.visit)
    return process.watchlist_hit


def refuse_watchlisted(process: VisitProcess) -> None:
    """Refuse a watchlisted visitor. The visitor and the host are told only that the visit
    was not approved: a watchlist is never disclosed."""
    visit = decide_visit(
        FLOW_ACTOR,
        process.visit,
        approve=False,
        reason=gettext_noop("Not admitted under the building's security rules."),
    )
    _tell_visitor(
        FLOW_ACTOR,
        visit,
        Purpose.DECISION,
        gettext_noop("[%(building)s] Your visit on %(day)s was not approved."),
        day=timezone.localtime(visit.valid_from).strftime("%Y-%m-%d"),
    )


def is_returning_visitor(visit: Visit) -> bool:
    """The host approved this visitor in the last 90 days (another visit)."""
    if visit.host_id is None:
        return False
    return (
        Visit.objects.filter(
            visitor_id=visit.visitor_id,
            host_id=visit.host_id,
            status__in=list(ADMITTING_STATUSES),
            decided_at__gte=timezone.now() - RETURNING_WITHIN,
        )
        .exclude(pk=visit.pk)
        .exists()
    )


def needs_approval(process: VisitProcess) -> bool:
    if not process.setting("requires_approval"):
        return False
    returning = process.setting("auto_approve_returning") and is_returning_visitor(process.visit)
    return not returning


def approve_automatically(process: VisitProcess) -> Visit:
    """No one need approve (policy, or a returning visitor): the visit is approved by the
    flow, which the timeline shows as such."""
    visit = process.visit
    if visit.status == VisitStatus.APPROVED:
        return visit
    return decide_visit(FLOW_ACTOR, visit, approve=True)


def ask_for_approval(process: VisitProcess, approver: str) -> None:
    """Tell the approver a decision waits: the host gets a decision link by SMS; company
    admins and the property office find the task in their queue (and an e-mail-free
    console badge), so nothing is sent to them here."""
    visit = process.visit
    if approver == Approver.HOST and visit.host is not None and visit.host.mobile:
        send_decision_link(FLOW_ACTOR, visit)


def remind_approver(process: VisitProcess) -> None:
    """The approval deadline is near: remind the host once, with a fresh link (the first
    may be lost in their messages)."""
    visit = process.visit
    if visit.status != VisitStatus.PENDING_APPROVAL:
        return
    record(FLOW_ACTOR, "visit.reminder_sent", visit)
    if process.setting("approver") == Approver.HOST and visit.host and visit.host.mobile:
        send_decision_link(FLOW_ACTOR, visit, purpose=Purpose.REMINDER)


def escalate_approval(process: VisitProcess) -> None:
    """The first approver let the deadline pass: the decision moves to the policy's
    escalation target (its task appears in their queue), and the host's links die."""
    visit = process.visit
    _spend_open_links(visit, LinkOutcome.EXPIRED)
    record(FLOW_ACTOR, "visit.escalated", visit, to=process.setting("escalate_to"))


@transaction.atomic
def expire_request(process: VisitProcess) -> None:
    """Nobody decided in time: the request expires (one conditional UPDATE, so a decision
    landing at the same moment wins or loses cleanly), its links die, the visitor is told."""
    visit = process.visit
    expired = Visit.objects.filter(pk=visit.pk, status=VisitStatus.PENDING_APPROVAL).update(
        status=VisitStatus.EXPIRED, decided_at=timezone.now(), updated_at=timezone.now()
    )
    if not expired:
        return
    visit.refresh_from_db()
    _spend_open_links(visit, LinkOutcome.EXPIRED)
    record(FLOW_ACTOR, "visit.expired", visit)
    _tell_visitor(
        FLOW_ACTOR,
        visit,
        Purpose.DECISION,
        gettext_noop(
            "[%(building)s] Your visit request for %(day)s was not answered in time. "
            "Please apply again or call your host."
        ),
        day=timezone.localtime(visit.valid_from).strftime("%Y-%m-%d"),
    )


def after_decision(actor: Actor, visit: Visit, *, send_link: bool = True) -> str:
    """What follows a decision: an approved visitor gets their pass (limited by the policy's
    default entries) and, when ``send_link``, a text with its link; a refused visitor a text
    with the reason. Returns the pass link code ("" when none was issued)."""
    if visit.status == VisitStatus.APPROVED:
        process = VisitProcess.objects.filter(visit=visit).first()
        max_uses = process.setting("default_uses") if process is not None else None
        issued = issue_pass(actor, visit, max_uses=max_uses)
        if send_link:
            _send_pass_link(actor, visit, issued.link_code)
        return issued.link_code
    if visit.status == VisitStatus.REJECTED:
        _tell_visitor(
            actor,
            visit,
            Purpose.DECISION,
            gettext_noop("[%(building)s] Your visit on %(day)s was not approved: %(reason)s"),
            day=timezone.localtime(visit.valid_from).strftime("%Y-%m-%d"),
            reason=visit.decision_reason,
        )
    return ""


def route_new_request(actor: Actor, visit: Visit) -> None:
    """For the channels that take requests (the visitor's page, the forms API): start the
    request's flow. A failure leaves the visit waiting for a person and is logged; the
    visitor's submission stands."""
    try:
        with transaction.atomic():
            start_visit_flow(actor, visit)
    except DomainError as error:
        logger.warning("Visit %s was not routed: %s", visit.pk, error.code)


# --- Tasks: the people's steps of the flows -------------------------------------------------

APPROVAL_NODES = ("approve", "approve_escalated")
OPEN = (STATUS.NEW, STATUS.ASSIGNED)


def open_tasks_of(visit: Visit) -> QuerySet[Task]:
    return Task.objects.filter(
        process__visitprocess__visit=visit, flow_task_type="HUMAN", status__in=OPEN
    )


def open_approval_task(visit: Visit) -> Task | None:
    for task in open_tasks_of(visit).order_by("created"):
        if task.flow_task.name in APPROVAL_NODES:
            return task
    return None


def _cancel_open_tasks(visit: Visit) -> None:
    """End the visit's flow where it stands: its people's tasks and its timers (a deadline
    left armed would escalate a request nobody need decide any more) are cancelled."""
    process = VisitProcess.objects.filter(visit=visit).first()
    if process is None or process.finished is not None:
        return
    waiting = Task.objects.filter(
        process=process, status__in=(STATUS.NEW, STATUS.ASSIGNED, STATUS.SCHEDULED)
    )
    for task in waiting:
        with task.activation() as activation:
            if activation.cancel.can_proceed():
                activation.cancel()
    process.status = PROCESS.CANCELED
    process.finished = timezone.now()
    process.save(update_fields=["status", "finished"])


def _finish_task(actor: Actor, task: Task, data: dict[str, Any]) -> None:
    """Complete a person's task on their behalf and let the flow move on. Runs under the
    flow's lock (a row lock on the process): of two people finishing one task, the second
    finds it done and is told so."""
    with task.activation() as activation:
        if task.status not in OPEN:
            raise ConflictError("task_done", _("Someone else has already done this."))
        if task.status == STATUS.NEW:
            activation.assign(actor.user)
        task.data = {**task.data, **data, "by": actor.name}
        activation.start(None)
        activation.execute()
    record(actor, "task.done", task.process, step=task.flow_task.name, **data)


@transaction.atomic
def claim_task(actor: Actor, task: Task) -> Task:
    """Take a task from the queue, so nobody else works the same visitor. Of two people
    claiming at once, one gets it and the other is told who has it."""
    with task.activation() as activation:
        if task.status != STATUS.NEW:
            owner = task.owner.email if task.owner else _("someone")
            raise ConflictError(
                "task_claimed", _("%(owner)s is already on this.") % {"owner": owner}
            )
        activation.assign(actor.user)
    record(actor, "task.claimed", task.process, step=task.flow_task.name)
    return task


@transaction.atomic
def release_task(actor: Actor, task: Task) -> Task:
    """Put a claimed task back in the queue."""
    with task.activation() as activation:
        if task.status != STATUS.ASSIGNED:
            raise ConflictError("task_not_claimed", _("This task is not claimed."))
        activation.unassign()
    record(actor, "task.released", task.process, step=task.flow_task.name)
    return task


@transaction.atomic
def decide_task(actor: Actor, task: Task, *, approve: bool, reason: str = "") -> Visit:
    """An approver's decision in the console: the visit is decided (one conditional
    UPDATE; a second approver gets ``already_decided``) and the task completed."""
    process = VisitProcess.objects.get(pk=task.process_id)
    if task.flow_task.name not in APPROVAL_NODES:
        raise DomainError("not_an_approval", _("This task is not an approval."))
    visit = decide_visit(actor, process.visit, approve=approve, reason=reason)
    _spend_open_links(visit, LinkOutcome.WITHDRAWN)
    outcome = LinkOutcome.APPROVED if approve else LinkOutcome.REJECTED
    _finish_task(actor, task, {"decision": outcome})
    return visit


@transaction.atomic
def review_watchlist_hit(actor: Actor, task: Task, *, clear: bool, note: str) -> None:
    """Security's review of a watchlist match: cleared (a namesake, say) lets the visit go
    on its usual way; otherwise it is refused. A note is required either way: the
    decision is accountable."""
    note = note.strip()
    if not note or len(note) > 500:
        raise DomainError("note_required", _("Write a note of up to 500 characters."))
    if task.flow_task.name != "security_review":
        raise DomainError("not_a_review", _("This task is not a watchlist review."))
    _finish_task(actor, task, {"cleared": clear, "note": note})


@transaction.atomic
def verify_at_desk(
    actor: Actor,
    task: Task,
    *,
    host_consent: bool,
    consent_note: str = "",
    face_match_score: int | None = None,
    photo: UploadedFile | None = None,
    checked_by_eye: bool = False,
) -> Visit:
    """Reception's second screen for a walk-in: the host's (or company's) consent, taken
    by phone, and the visitor's photo and face-match score from the desk terminal, checked
    against the policy. Approves or refuses the visit; a host who already decided through
    their link has the last word."""
    process = VisitProcess.objects.select_related("visit").get(pk=task.process_id)
    visit = process.visit
    if task.flow_task.name != "verify":
        raise DomainError("not_a_verification", _("This task is not a desk check."))
    if photo is not None:
        _check_photo(photo)
    elif process.setting("photo_required") and not (
        visit.visitor.photo or _photo_in_answers(visit)
    ):
        raise DomainError("photo_required", _("Take the visitor's photo first."), field="photo")
    if face_match_score is not None and not 0 <= face_match_score <= 100:
        raise DomainError(
            "face_match_invalid", _("The face match score is 0 to 100."), field="face_match_score"
        )
    threshold = int(process.setting("face_match_threshold"))
    if process.setting("id_check_required") and visit.scenario == Scenario.WALK_IN:
        if face_match_score is None:
            raise DomainError(
                "face_match_required",
                _("Record the face match score from the desk terminal."),
                field="face_match_score",
            )
        if face_match_score < threshold and not checked_by_eye:
            raise DomainError(
                "face_match_low",
                _(
                    "The face matches the document by %(score)s%%, under the %(threshold)s%% "
                    "the building asks. Compare them yourself and tick the box, or refuse."
                )
                % {"score": face_match_score, "threshold": threshold},
                field="face_match_score",
            )
    process.face_match_score = face_match_score
    process.save(update_fields=["face_match_score"])
    if photo is not None:
        visit.visitor.photo.save(f"{secrets.token_hex(8)}.jpg", photo, save=True)
    if visit.status == VisitStatus.PENDING_APPROVAL:
        if host_consent or not process.setting("requires_approval"):
            visit = decide_visit(actor, visit, approve=True, reason=consent_note)
        else:
            visit = decide_visit(
                actor, visit, approve=False, reason=consent_note or _("The host did not agree.")
            )
    _finish_task(
        actor,
        task,
        {
            "host_consent": host_consent,
            "face_match_score": face_match_score,
            "checked_by_eye": checked_by_eye,
        },
    )
    visit.refresh_from_db()
    return visit


MAX_PHOTO_BYTES = 5 * 1024 * 1024


def _photo_in_answers(visit: Visit) -> bool:
    """A photo taken with the registration form (the no-ID form asks for one) counts."""
    if visit.form_version is None:
        return False
    return any(
        spec["type"] == FieldType.PHOTO and isinstance(visit.answers.get(spec["key"]), dict)
        for spec in visit.form_version.fields
    )


def _check_photo(photo: UploadedFile) -> None:
    if photo.size is None or photo.size > MAX_PHOTO_BYTES:
        raise DomainError("photo_too_large", _("The photo is over 5 MB."), field="photo")
    if not sniff_content_type(photo).startswith("image/"):
        raise DomainError(
            "photo_invalid", _("The photo is not a JPEG or PNG image."), field="photo"
        )


@transaction.atomic
def hand_over_pass(actor: Actor, task: Task, *, by_sms: bool) -> Pass:
    """Reception's last screen: the visitor leaves the desk with a printed slip, or a text
    with their pass link (visitors without a document often have a phone)."""
    process = VisitProcess.objects.select_related("visit__visitor").get(pk=task.process_id)
    if task.flow_task.name != "hand_over":
        raise DomainError("not_a_hand_over", _("This task is not a hand-over."))
    pass_record = (
        Pass.objects.filter(visit=process.visit, revoked_at__isnull=True).order_by("-pk").first()
    )
    if pass_record is None:
        raise DomainError("no_pass", _("This visit has no pass."))
    if by_sms:
        if not process.visit.visitor_mobile:
            raise DomainError("no_mobile", _("The visitor gave no mobile number."))
        code = refresh_pass_link(pass_record)
        _send_pass_link(actor, process.visit, code)
    else:
        note_slip_printed(actor, pass_record)
    _finish_task(actor, task, {"handed_over": "sms" if by_sms else "slip"})
    return pass_record


def _send_pass_link(actor: Actor, visit: Visit, link_code: str) -> None:
    _tell_visitor(
        actor,
        visit,
        Purpose.PASS_LINK,
        gettext_noop("[%(building)s] Your visit is approved. Your pass: %(link)s"),
        link=pass_url(link_code),
    )


def _tell_visitor(actor: Actor, visit: Visit, purpose: str, text: str, **values: str) -> None:
    """Text the visitor, at the mobile the visit was made with, in the building's language
    (``text``, a message id, is translated there, whatever language the person deciding
    uses)."""
    if not visit.visitor_mobile:
        return
    message = in_building_language(text, **values)
    send_notification(
        actor,
        channel=Channel.SMS,
        to=visit.visitor_mobile,
        purpose=purpose,
        text=message,
        visit=visit,
    )
