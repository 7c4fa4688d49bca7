"""What the scenario flows' nodes do (workflows/flows/). The flows only route: every change
is one of these actions, which the console's task pages and the host's links call as well."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from kernel.errors import (
    ConflictError,
    DomainError,
)
from visit_platform.access.actions import (
    issue_pass,
    pass_url,
)
from visit_platform.audit.actions import Actor, record
from visit_platform.notifications.actions import in_building_language, send_notice
from visit_platform.notifications.choices import Purpose
from visit_platform.visits.actions import decide_visit
from visit_platform.visits.choices import ADMITTING_STATUSES, Scenario, VisitStatus
from visit_platform.visits.models import Visit
from visit_platform.visits.notices import notice_data
from visit_platform.visits.queries import linked_openid, visit_is_watchlisted, visit_mobile_index
from workflows.actions.links import send_decision_link, spend_open_links, tell_queue_in_wechat
from workflows.choices import Approver, LinkOutcome
from workflows.models import VisitProcess

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
    tell_visitor(
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
    """Tell the approver a decision waits: the host gets a decision link (in WeChat when
    bound, else by SMS); company admins and the property office find the task in their
    queue, and those of them bound to WeChat are told there. At the desk the queue has no
    task of theirs (reception calls the company), so they are not told."""
    visit = process.visit
    if approver == Approver.HOST:
        if visit.host is not None and visit.host.mobile:
            send_decision_link(FLOW_ACTOR, visit)
    elif visit.scenario not in DESK_SCENARIOS:
        tell_queue_in_wechat(FLOW_ACTOR, visit, approver, purpose=Purpose.APPROVAL_REQUEST)


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
    escalation target (its task appears in their queue, and those of them bound to WeChat
    are told there), and the host's links die."""
    visit = process.visit
    spend_open_links(visit, LinkOutcome.EXPIRED)
    target = process.setting("escalate_to")
    record(FLOW_ACTOR, "visit.escalated", visit, to=target)
    tell_queue_in_wechat(FLOW_ACTOR, visit, target, purpose=Purpose.ESCALATION)


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
    spend_open_links(visit, LinkOutcome.EXPIRED)
    record(FLOW_ACTOR, "visit.expired", visit)
    tell_visitor(
        FLOW_ACTOR,
        visit,
        Purpose.DECISION,
        gettext_noop(
            "[%(building)s] Your visit request for %(day)s was not answered in time. "
            "Please apply again or call your host."
        ),
        day=timezone.localtime(visit.valid_from).strftime("%Y-%m-%d"),
    )


def policy_zones(setting: str) -> list[str] | None:
    """A policy's ``zones`` as ``issue_pass`` takes them: None (empty: the visited company's
    zones), [] ("*": every zone) or the names listed. Visits started before the setting
    existed have none in their snapshot, hence the company's zones."""
    names = [name.strip() for name in re.split(r"[,，、]", setting or "") if name.strip()]
    if not names:
        return None
    return [] if "*" in names else names


def after_decision(actor: Actor, visit: Visit, *, send_link: bool = True) -> str:
    """What follows a decision: an approved visitor gets their pass (limited by the policy's
    default entries) and, when ``send_link``, a text with its link; a refused visitor a text
    with the reason. Returns the pass link code ("" when none was issued)."""
    if visit.status == VisitStatus.APPROVED:
        process = VisitProcess.objects.filter(visit=visit).first()
        max_uses = process.setting("default_uses") if process is not None else None
        zones = policy_zones(process.policy.get("zones", "")) if process is not None else None
        issued = issue_pass(actor, visit, max_uses=max_uses, zones=zones)
        if send_link:
            send_pass_link(actor, visit, issued.link_code)
        return issued.link_code
    if visit.status == VisitStatus.REJECTED:
        tell_visitor(
            actor,
            visit,
            Purpose.DECISION,
            gettext_noop("[%(building)s] Your visit on %(day)s was not approved: %(reason)s"),
            day=timezone.localtime(visit.valid_from).strftime("%Y-%m-%d"),
            reason=visit.decision_reason,
        )
    return ""


PASS_LINK_TEXT = gettext_noop("[%(building)s] Your visit is approved. Your pass: %(link)s")


def send_pass_link(actor: Actor, visit: Visit, link_code: str) -> None:
    """The pass to the visitor: a WeChat message that opens the pass page, or the text with
    its link."""
    link = pass_url(link_code)
    tell_visitor(actor, visit, Purpose.PASS_LINK, PASS_LINK_TEXT, url=link, link=link)


def tell_visitor(
    actor: Actor, visit: Visit, purpose: str, text: str, *, url: str = "", **values: str
) -> None:
    """Tell the visitor, at the mobile the visit was made with, in the building's language
    (``text``, a message id, is translated there, whatever language the person deciding
    uses): by WeChat when that mobile is linked to a WeChat here (a template message with the
    visit's facts that opens ``url``), else by SMS. The SMS is the whole ``text``, also when
    it stands in for a WeChat message that could not be delivered."""
    if not visit.visitor_mobile:
        return
    message = in_building_language(text, **values)
    send_notice(
        actor,
        purpose=purpose,
        text=message,
        mobile=visit.visitor_mobile,
        openid=linked_openid(visit_mobile_index(visit)),
        data=notice_data(visit, reason=values.get("reason", "")),
        url=url,
        visit=visit,
    )
