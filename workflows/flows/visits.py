"""The visit scenarios as viewflow flows (seed 5.2.1 to 5.2.4).

Each flow is a graph whose gateways read the policy the visit started under
(``VisitProcess.policy``), so a property admin changes the route without code. The nodes only
route: every change is an action in ``workflows.actions``, which the console's task pages and
the hosts' links call as well. Human steps are ``flow.View`` tasks in viewflow's task tables;
our console completes them through the activation API (``workflows.actions.finish_task``).

Shared steps (the watchlist screen, approval with its timers, the pass) are written once in
mixins; viewflow copies the nodes of each flow class, so each flow has its own.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils.translation import gettext_lazy as _
from viewflow import this
from viewflow.workflow import flow, lock
from viewflow.workflow.activation import Activation
from viewflow.workflow.models import Task
from viewflow.workflow.nodes import TimerBoundary
from viewflow.workflow.signals import task_finished
from viewflow.workflow.status import STATUS

from visit_platform.audit.actions import Actor
from visit_platform.directory.roles import APPROVE_VISITS, REGISTER_VISITS, REVIEW_WATCHLIST_HITS
from visit_platform.visits.choices import Scenario, VisitStatus
from visit_platform.visits.models import Visit
from workflows import actions
from workflows.choices import Approver, WatchlistHitAction
from workflows.models import VisitProcess
from workflows.policies import policy_snapshot
from workflows.views import task_page

# A reminder due at or after the deadline never comes: the deadline cancels it first
# (``_Boundaries``).
NEVER = timedelta(days=3650)


def _process(activation: Activation) -> VisitProcess:
    process: VisitProcess = activation.process
    return process


def _hours(activation: Activation, name: str) -> timedelta:
    return timedelta(hours=int(_process(activation).setting(name)))


def _reminder_delay(activation: Activation) -> timedelta:
    remind, deadline = _hours(activation, "reminder_hours"), _hours(activation, "approval_hours")
    return remind if timedelta(0) < remind < deadline else NEVER


def _visit_of(process: Any) -> Visit:
    """The visit a process is about (viewflow hands over the plain Process at times)."""
    return Visit.objects.get(process__pk=process.pk)


def _finished(activation: Activation, node: str) -> Task:
    return Task.objects.filter(
        process_id=activation.process.pk,
        flow_task=getattr(activation.flow_class, node),
        status=STATUS.DONE,
    ).latest("finished")


def _done(activation: Activation, node: str) -> dict[str, Any]:
    """What the person who did the flow's last ``node`` task entered."""
    data: dict[str, Any] = _finished(activation, node).data
    return data


def _done_by(activation: Activation, node: str) -> Any:
    return _finished(activation, node).owner


def _approver_user(activation: Activation) -> Any:
    """A host with an account gets the approval in their own inbox; otherwise (and for the
    other approvers) the task waits in the queue of those allowed to take it."""
    process = _process(activation)
    if process.setting("approver") != Approver.HOST:
        return None
    host = process.visit.host
    return host.user if host is not None and host.user_id else None


class _Boundaries:
    """Two gaps in viewflow's boundary events (timers on a task), closed for every visit flow.

    Viewflow copies each node into every flow class with ``copy.copy``, so copies of a node
    from a shared mixin share its list of boundary events, and every flow would arm the other
    flows' timers too. Each copy keeps only its own flow's.

    Viewflow cancels the timers left on a task when the task is done (``task_finished``), but
    an interrupting timer cancels its task without that signal, so the task's other timers
    stay scheduled: after the approval's deadline the reminder would wait on (for ever when
    the policy has none, see ``NEVER``), and viewflow's ``End`` finishes a process only when
    none of its tasks is left unfinished, so the visit's process never got DONE. A fired
    interrupting timer therefore disarms the timers left on the task it cancelled.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for node in getattr(cls, "_nodes_by_name", {}).values():
            node._boundary_events = [
                event for event in node._boundary_events if event.flow_class is cls
            ]
        task_finished.connect(_disarm_interrupted_task, sender=cls)


def _disarm_interrupted_task(task: Task, **kwargs: Any) -> None:
    """When an interrupting timer has fired, cancel what else is armed on the task it
    cancelled, as viewflow does for a task that is done (``_on_host_finished``)."""
    node = task.flow_task
    if not isinstance(node, TimerBoundary) or not node._interrupting:
        return
    for interrupted in task.previous.filter(status=STATUS.CANCELED):
        for boundary in interrupted.flow_task._boundary_events:
            boundary._on_host_finished(task=interrupted)


class _Start:
    """The start shared by every visit flow: the visit is made by the channel (a form,
    the desk, an invitation) and handed to its flow with the policy in force now."""

    start = (
        flow.StartHandle(this.start_process)
        .Annotation(title=_("Visit registered"))
        .Next(this.screen)
    )

    def start_process(self, activation: Activation, *, actor: Actor, visit: Visit) -> VisitProcess:
        process: VisitProcess = activation.process
        process.visit = visit
        process.policy = policy_snapshot(visit.scenario)
        activation.task.data = {"by": actor.name}
        return process


class _Expiry:
    """Nobody decided before the deadline: the request expires and the visitor is told."""

    expire = (
        flow.Function(this.expire_request)
        .Annotation(title=_("Expired: nobody decided"))
        .Next(this.end)
    )

    def expire_request(self, activation: Activation) -> None:
        actions.expire_request(_process(activation))


class _Screening:
    """Watchlist check: a match is refused, or reviewed by security, by policy."""

    screen = (
        flow.Function(this.screen_visitor)
        .Annotation(title=_("Watchlist checked"))
        .Next(this.check_watchlist)
    )
    check_watchlist = (
        flow.If(lambda a: _process(a).watchlist_hit)
        .Annotation(title=_("On the watchlist?"))
        .Then(this.on_watchlist_hit)
        .Else(this.route)
    )
    on_watchlist_hit = (
        flow.If(
            lambda a: _process(a).setting("watchlist_hit") == WatchlistHitAction.SECURITY_REVIEW
        )
        .Annotation(title=_("Security reviews matches?"))
        .Then(this.security_review)
        .Else(this.refuse)
    )
    security_review = (
        flow.View(task_page)
        .Annotation(title=_("Security reviews the watchlist match"))
        .Permission(REVIEW_WATCHLIST_HITS)
        .Next(this.check_review)
    )
    check_review = (
        flow.If(lambda a: bool(_done(a, "security_review").get("cleared")))
        .Annotation(title=_("Cleared by security?"))
        .Then(this.route)
        .Else(this.refuse)
    )
    refuse = (
        flow.Function(this.refuse_watchlisted)
        .Annotation(title=_("Refused under the security rules"))
        .Next(this.end)
    )

    def screen_visitor(self, activation: Activation) -> None:
        actions.screen_visitor(_process(activation))

    def refuse_watchlisted(self, activation: Activation) -> None:
        actions.refuse_watchlisted(_process(activation))


class _Approval(_Expiry):
    """Approval by the policy's approver, with a reminder before the deadline and, at the
    deadline, escalation to the policy's target or expiry. The timers are viewflow's
    database timers, fired for every building by the periodic job."""

    route = (
        flow.If(lambda a: actions.needs_approval(_process(a)))
        .Annotation(title=_("Needs approval?"))
        .Then(this.ask_approver)
        .Else(this.approve_automatically)
    )
    approve_automatically = (
        flow.Function(this.approve_by_policy)
        .Annotation(title=_("Approved by the building's policy"))
        .Next(this.issue)
    )
    ask_approver = (
        flow.Function(this.ask_for_approval)
        .Annotation(title=_("Approver asked"))
        .Next(this.approve)
    )
    approve = (
        flow.View(task_page)
        .Annotation(title=_("The approver decides"))
        .onCreate(this.note_approver)
        .Assign(_approver_user)
        .Permission(APPROVE_VISITS, obj=_visit_of)
        .OnTimeout(_reminder_delay, this.remind, interrupting=False, title=_("Reminder"))
        .OnTimeout(lambda a: _hours(a, "approval_hours"), this.deadline_passed, title=_("Deadline"))
        .Next(this.check_decision)
    )
    remind = (
        flow.Function(this.remind_approver)
        .Annotation(title=_("Approver reminded"))
        .Next(this.reminded)
    )
    reminded = flow.End().Annotation(title=_("Reminder done"))
    deadline_passed = (
        flow.If(lambda a: bool(_process(a).setting("escalate_to")))
        .Annotation(title=_("Escalate?"))
        .Then(this.escalate)
        .Else(this.expire)
    )
    escalate = (
        flow.Function(this.escalate_approval)
        .Annotation(title=_("Escalated"))
        .Next(this.approve_escalated)
    )
    approve_escalated = (
        flow.View(task_page)
        .Annotation(title=_("Escalated: the escalation target decides"))
        .onCreate(this.note_approver)
        .Permission(APPROVE_VISITS, obj=_visit_of)
        .OnTimeout(lambda a: _hours(a, "approval_hours"), this.expire, title=_("Deadline"))
        .Next(this.check_decision)
    )
    check_decision = (
        flow.If(lambda a: _process(a).visit.status == VisitStatus.APPROVED)
        .Annotation(title=_("Approved?"))
        .Then(this.issue)
        .Else(this.tell_refused)
    )
    tell_refused = (
        flow.Function(this.tell_visitor_refused)
        .Annotation(title=_("Visitor told of the refusal"))
        .Next(this.end)
    )

    def note_approver(self, activation: Activation) -> None:
        """Keep on the task who the policy asks to decide, for the queues."""
        setting = "escalate_to" if activation.flow_task.name == "approve_escalated" else "approver"
        activation.task.data = {
            **activation.task.data,
            "approver": _process(activation).setting(setting),
        }
        activation.task.save(update_fields=["data"])

    def approve_by_policy(self, activation: Activation) -> None:
        actions.approve_automatically(_process(activation))

    def ask_for_approval(self, activation: Activation) -> None:
        actions.ask_for_approval(_process(activation), _process(activation).setting("approver"))

    def remind_approver(self, activation: Activation) -> None:
        actions.remind_approver(_process(activation))

    def escalate_approval(self, activation: Activation) -> None:
        actions.escalate_approval(_process(activation))

    def tell_visitor_refused(self, activation: Activation) -> None:
        actions.after_decision(actions.FLOW_ACTOR, _process(activation).visit)


class _PassByText:
    """The approved visitor gets a pass and a text with its link."""

    issue = (
        flow.Function(this.issue_pass).Annotation(title=_("Pass issued and texted")).Next(this.end)
    )
    end = flow.End().Annotation(title=_("Done"))

    def issue_pass(self, activation: Activation) -> None:
        actions.after_decision(actions.FLOW_ACTOR, _process(activation).visit)


class InviteFlow(_Boundaries, _Start, _Screening, _Approval, _PassByText, flow.Flow):
    """Invitation (邀请访客, 5.2.1)

    A host or company admin invites a visitor; the watchlist is checked; where the policy
    asks, an approver decides; the visitor gets a pass, limited by window and entries, and a
    text with its link.
    """

    process_title = Scenario.INVITE.label
    process_class = VisitProcess
    lock_impl = lock.select_for_update_lock


class RequestFlow(_Boundaries, _Start, _Screening, _Approval, _PassByText, flow.Flow):
    """Visit request (预约登记, 5.2.2)

    A visitor applies on their phone naming the host by mobile number; the watchlist is
    checked; the approver decides, reminded before the deadline, escalated or expired at
    it; the approved visitor gets their pass.
    """

    process_title = Scenario.REQUEST.label
    process_class = VisitProcess
    lock_impl = lock.select_for_update_lock


class _Desk(_Expiry):
    """Walk-ins at the desk: the host is asked (a link to their phone, or reception calls),
    reception checks the visitor (consent, photo, face match) on one screen, the pass is
    issued, and reception hands it over as a printed slip or a text. Three screens."""

    route = flow.Function(this.ask_host).Annotation(title=_("Host asked")).Next(this.verify)
    verify = (
        flow.View(task_page)
        .Annotation(title=_("Reception checks the visitor"))
        .Assign(lambda a: _process(a).visit.registered_by)
        .Permission(REGISTER_VISITS)
        .OnTimeout(lambda a: _hours(a, "approval_hours"), this.expire, title=_("Deadline"))
        .Next(this.check_decision)
    )
    check_decision = (
        flow.If(lambda a: _process(a).visit.status == VisitStatus.APPROVED)
        .Annotation(title=_("Approved?"))
        .Then(this.issue)
        .Else(this.end)
    )
    issue = flow.Function(this.issue_pass).Annotation(title=_("Pass issued")).Next(this.hand_over)
    hand_over = (
        flow.View(task_page)
        .Annotation(title=_("Reception hands over the pass"))
        .Assign(lambda a: _done_by(a, "verify"))
        .Permission(REGISTER_VISITS)
        .Next(this.end)
    )
    end = flow.End().Annotation(title=_("Done"))

    def ask_host(self, activation: Activation) -> None:
        process = _process(activation)
        if actions.needs_approval(process):
            actions.ask_for_approval(process, process.setting("approver"))

    def issue_pass(self, activation: Activation) -> None:
        actions.after_decision(actions.FLOW_ACTOR, _process(activation).visit, send_link=False)


class WalkInFlow(_Boundaries, _Start, _Screening, _Desk, flow.Flow):
    """Walk-in with ID (现场登记, 5.2.3)

    Reception registers the visitor from the ID-card reader; the watchlist is checked; the
    host consents (by phone to reception, or through their link); reception takes the photo
    and records the face-match score; the pass is issued and the slip printed.
    """

    process_title = Scenario.WALK_IN.label
    process_class = VisitProcess
    lock_impl = lock.select_for_update_lock


class NoIdFlow(_Boundaries, _Start, _Screening, _Desk, flow.Flow):
    """Walk-in without ID (无证件/外籍访客, 5.2.4)

    Reception confirms with the company, types the visitor in and takes a photo; the pass
    is handed over as a printed slip or an SMS link.
    """

    process_title = Scenario.NO_ID.label
    process_class = VisitProcess
    lock_impl = lock.select_for_update_lock
