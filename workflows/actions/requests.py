"""A visitor's request once submitted: routed to its flow, decided by the host's link,
withdrawn when the visitor cancels it, the host calls the invitation off or the watchlist
refuses it."""

from __future__ import annotations

import logging
import uuid
from typing import Unpack

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from forms.actions import submit
from forms.validation import ValidatedAnswers
from kernel.errors import (
    DomainError,
)
from visit_platform.access.actions import publish_visit_change, revoke_pass
from visit_platform.access.models import Pass
from visit_platform.audit.actions import Actor, record
from visit_platform.directory.models import Host
from visit_platform.notifications.choices import Purpose
from visit_platform.visits import actions as visit_actions
from visit_platform.visits.actions import EntryFields, decide_visit
from visit_platform.visits.choices import VisitStatus
from visit_platform.visits.models import Visit, WatchlistEntry
from visit_platform.visits.notices import local_window
from workflows.actions.links import open_action_link, spend_open_links, use_action_link
from workflows.actions.steps import (
    DESK_SCENARIOS,
    after_decision,
    start_visit_flow,
    tell_visitor,
)
from workflows.actions.tasks import cancel_open_tasks, finish_task, open_approval_task
from workflows.choices import LinkOutcome

logger = logging.getLogger(__name__)


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
        finish_task(actor, task, {"decision": outcome, "by": actor.name, "via": "link"})
    elif visit.scenario not in DESK_SCENARIOS:
        # A visit without a flow (made before the flows existed): decide it the old way.
        after_decision(actor, visit)
    return visit


@transaction.atomic
def withdraw_request(actor: Actor, visit: Visit) -> int:
    """A request the visitor withdrew: its open decision links die with it (the host who taps
    one is told), and its flow's open tasks are cancelled so nobody is asked to decide it any
    more. Returns how many links were spent."""
    spent = spend_open_links(visit, LinkOutcome.WITHDRAWN)
    if spent:
        record(actor, "action_link.withdrawn", visit, links=spent)
    cancel_open_tasks(visit)
    return spent


@transaction.atomic
def cancel_request(actor: Actor, visit: Visit) -> Visit:
    """The visitor calls off a visit that still waits for approval (the visits' action of the
    same name), and whatever still waits for a decision on it, the host's link and the
    flow's task, is withdrawn in the same transaction. The live screens hear of it."""
    visit = visit_actions.cancel_request(actor, visit)
    withdraw_request(actor, visit)
    publish_visit_change(visit.pk, "cancelled")
    return visit


INVITATION_CANCELLED_TEXT = gettext_noop(
    "[%(building)s] Your visit to %(company)s on %(day)s was cancelled by your host."
)


@transaction.atomic
def cancel_invitation(actor: Actor, visit: Visit) -> Visit:
    """The host (or whoever invited for them) calls off an invitation. One still waiting for
    approval is cancelled as the visitor would (``cancel_request``). An approved one that
    has not been used at a gate (the visits' action of the same name decides, so an arrival
    at the same moment wins) loses its passes at once, whatever waits on it is withdrawn,
    the live screens stop expecting it, and the visitor is told, in the building's
    language, by WeChat or SMS."""
    if visit.status == VisitStatus.PENDING_APPROVAL:
        return cancel_request(actor, visit)
    visit = visit_actions.cancel_invitation(actor, visit)
    reason = _("Invitation cancelled by the host")
    for pass_record in Pass.objects.filter(visit=visit, revoked_at__isnull=True):
        revoke_pass(actor, pass_record, reason)
    withdraw_request(actor, visit)
    publish_visit_change(visit.pk, "cancelled")
    start, _end = local_window(visit)
    company = visit.host.company if visit.host is not None else visit.company
    tell_visitor(
        actor,
        visit,
        Purpose.DECISION,
        INVITATION_CANCELLED_TEXT,
        company=company.name if company is not None else "",
        day=start.strftime("%Y-%m-%d"),
    )
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


@transaction.atomic
def submit_request(
    actor: Actor,
    validated: ValidatedAnswers,
    *,
    submission_id: uuid.UUID | None = None,
    host: Host | None = None,
) -> tuple[Visit, bool]:
    """A visit from a form's answers (the forms' ``submit``) and, the first time, its flow
    started, in one transaction: (visit, replayed). A resent ``submission_id`` returns the
    visit it made and starts nothing. A flow that cannot start leaves the visit waiting for
    a person and is logged; the submission stands."""
    visit, replayed = submit(actor, validated, submission_id=submission_id, host=host)
    if not replayed:
        _route(actor, visit)
    return visit, replayed


def _route(actor: Actor, visit: Visit) -> None:
    try:
        with transaction.atomic():
            start_visit_flow(actor, visit)
    except DomainError as error:
        logger.warning("Visit %s was not routed: %s", visit.pk, error.code)
