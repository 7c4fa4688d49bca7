"""Employees in WeChat (seed 5.1, issue 13): binding a host's WeChat by an SMS code to the
mobile their company registered, deciding visits on the WeChat approval page, and telling
the people of an approval queue (company admins, the property office) that a task waits
(``links.tell_queue_in_wechat``, with the hosts' own notices).

Reached by module (``from workflows.actions import hosts``), as ``events`` and
``watchlist`` are.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from kernel.errors import ConflictError, NotFoundError, PermissionDeniedError
from visit_platform.audit.actions import Actor, record
from visit_platform.directory.actions import bind_host_wechat
from visit_platform.directory.models import Host
from visit_platform.directory.queries import host_of_mobile
from visit_platform.visits.actions import decide_visit
from visit_platform.visits.choices import VisitStatus
from visit_platform.visits.models import Visit
from workflows.actions.codes import verify_one_time_code
from workflows.actions.links import spend_open_links
from workflows.actions.steps import DESK_SCENARIOS, after_decision
from workflows.actions.tasks import finish_task, open_approval_task
from workflows.choices import LinkOutcome
from workflows.queries import wechat_decider


def wechat_actor(host: Host, ip_address: str | None = None) -> Actor:
    """An employee acting from WeChat: their account when they have one (so the audit log
    and the flow's timeline name them as the console would), labelled by their name."""
    return Actor(user=host.user, ip_address=ip_address, label=f"host {host.name} (WeChat)")


def bind_employee_wechat(actor: Actor, *, mobile: str, code: str, openid: str) -> Host:
    """Bind the WeChat user ``openid`` to the employee registered with ``mobile``, once
    ``code`` proves the number (the code was texted to it).

    The code is checked first, outside any transaction (a wrong guess stays counted), so
    only the holder of the number learns whether an employee has it. Nobody registered
    here with that number, or inactive: nothing is bound.
    """
    number = verify_one_time_code(mobile, code)
    host = host_of_mobile(number)
    if host is None:
        raise NotFoundError(
            "not_an_employee",
            _(
                "No employee of this building is registered with this number. "
                "Ask your company's administrator to add you, or to correct your number."
            ),
        )
    return bind_host_wechat(actor, host, openid)


@transaction.atomic
def decide_in_wechat(
    actor: Actor, host: Host, visit: Visit, *, approve: bool, reason: str = ""
) -> Visit:
    """The employee's decision on the WeChat approval page, as the host's link and the
    console decide: the visit is decided (one conditional UPDATE: of two approvers at once,
    by WeChat, link or console, one decides and the other is told), the host's open
    decision links are spent, and the flow's approval task is completed, so the flow issues
    the pass or tells the visitor. At the desk (walk-ins) the decision stands and reception
    carries on."""
    decider = wechat_decider(host, visit)
    if decider is None:
        visit.refresh_from_db()
        if visit.status != VisitStatus.PENDING_APPROVAL:
            raise ConflictError(
                "already_decided",
                _("This visit is no longer waiting for a decision: %(status)s.")
                % {"status": visit.get_status_display()},
            )
        raise PermissionDeniedError("not_your_decision", _("This decision is not yours to make."))
    outcome = LinkOutcome.APPROVED if approve else LinkOutcome.REJECTED
    visit = decide_visit(actor, visit, approve=approve, reason=reason)
    spend_open_links(visit, outcome if decider.as_host else LinkOutcome.WITHDRAWN)
    task = open_approval_task(visit)
    if task is not None:
        finish_task(actor, task, {"decision": outcome, "by": actor.name, "via": "wechat"})
    elif visit.scenario not in DESK_SCENARIOS:
        after_decision(actor, visit)
    return visit


def note_approval_viewed(actor: Actor, visit: Visit) -> None:
    """Audit an employee opening a visit's WeChat approval page: which personal data it
    showed (the visitor's name masked, nothing else of theirs)."""
    record(
        actor,
        "visit.viewed_in_wechat",
        visit,
        shown=["visitor_name_masked", "company", "window", "purpose", "companions"],
    )


def note_staff_page_viewed(actor: Actor, visit_ids: list[int]) -> None:
    """Audit an employee opening their WeChat staff page: which waiting visits it listed."""
    record(actor, "visits.viewed", None, visits=visit_ids, via="wechat_staff_page")
