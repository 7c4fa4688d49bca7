"""What the console calls on the watchlist: proposals start the watchlist flow
(``workflows.flows.watchlist``), and a review completes its task, which runs the visits'
action the flow routes to."""

from __future__ import annotations

from typing import Unpack

from django.db import transaction
from django.utils.translation import gettext as _
from viewflow.fsm import TransitionNotAllowed
from viewflow.workflow.exceptions import FlowLockFailed

from kernel.errors import ConflictError, PermissionDeniedError
from visit_platform.audit.actions import Actor
from visit_platform.visits import actions
from visit_platform.visits.actions import EntryFields
from visit_platform.visits.choices import WatchlistStatus
from visit_platform.visits.models import WatchlistEntry
from workflows.actions.requests import approve_watchlist_entry
from workflows.flows.watchlist import ADD, REMOVAL, WatchlistFlow, open_review


@transaction.atomic
def propose_entry(actor: Actor, **fields: Unpack[EntryFields]) -> WatchlistEntry:
    """Propose an entry and put its review in the property admins' queue."""
    entry: WatchlistEntry = WatchlistFlow.start.run(actor=actor, **fields)
    return entry


@transaction.atomic
def propose_removal(actor: Actor, entry: WatchlistEntry, *, reason: str) -> WatchlistEntry:
    """Propose to remove an enforced entry; it stays enforced until the review approves."""
    removed: WatchlistEntry = WatchlistFlow.start_removal.run(
        actor=actor, entry=entry, reason=reason
    )
    return removed


@transaction.atomic
def review(
    actor: Actor, entry: WatchlistEntry, *, approve: bool, reason: str = ""
) -> WatchlistEntry:
    """Decide the proposal the entry waits on (adding it, or removing it): completes the flow's
    review task, which runs the matching action. An entry written without a flow (by a
    program) is decided by the action alone."""
    kind = REMOVAL if entry.status == WatchlistStatus.REMOVAL_PROPOSED else ADD
    task = open_review(entry, kind)
    if task is None:
        return _decide_without_flow(actor, entry, kind, approve=approve, reason=reason)
    user = actor.user
    try:
        with task.activation() as activation:
            if activation.task.owner_id is None:
                if not activation.assign.has_perm(user):
                    raise PermissionDeniedError(
                        "not_allowed", _("Only property admins decide watchlist proposals.")
                    )
                activation.assign(user)
            elif activation.task.owner_id != getattr(user, "pk", None):
                raise ConflictError(
                    "task_taken", _("Another property admin is reviewing this proposal.")
                )
            activation.start(None)
            activation.process.data = {
                **activation.process.data,
                "decision": {
                    "approve": approve,
                    "reason": reason,
                    "user": getattr(user, "pk", None),
                    "ip": actor.ip_address,
                },
            }
            activation.process.save(update_fields=["data"])
            activation.execute()
    except (TransitionNotAllowed, FlowLockFailed) as error:
        raise ConflictError(
            "already_decided", _("Someone else has already decided this proposal.")
        ) from error
    entry.refresh_from_db()
    return entry


def _decide_without_flow(
    actor: Actor, entry: WatchlistEntry, kind: str, *, approve: bool, reason: str
) -> WatchlistEntry:
    if kind == REMOVAL:
        if approve:
            return actions.approve_watchlist_removal(actor, entry, reason=reason)
        return actions.reject_watchlist_removal(actor, entry, reason=reason)
    if approve:
        return approve_watchlist_entry(actor, entry, reason=reason)
    return actions.reject_watchlist_entry(actor, entry, reason=reason)
