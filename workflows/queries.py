"""Which of the flows' tasks a person sees in this building: their own (inbox), those they
may take (queue), and those colleagues have taken. Narrowed by the person's memberships here,
so a host sees their own approvals, a company admin their company's, reception reception's;
the rows live in the building's schema, so nothing crosses buildings. And who, bound to
WeChat, may decide a visit on the WeChat approval page (the same rules, through the
employee's account or their decision links)."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from kernel.privacy import secret_hash
from visit_platform.directory.backends import active_memberships
from visit_platform.directory.models import Host
from visit_platform.directory.roles import APPROVE_VISITS, ROLE_PERMISSIONS
from visit_platform.visits.choices import VisitStatus
from visit_platform.visits.models import Visit
from workflows.actions.tasks import APPROVAL_NODES, open_approval_task
from workflows.choices import Approver
from workflows.models import ActionLink, DeskTerminal, FaceMatchReport, VisitProcess

OPEN_STATUSES = (STATUS.NEW, STATUS.ASSIGNED)


def _permissions(user: Any) -> tuple[set[str], dict[int, set[str]]]:
    """(permissions held building-wide, permissions held for one company each)."""
    everywhere: set[str] = set()
    by_company: dict[int, set[str]] = {}
    for membership in active_memberships(user):
        granted = ROLE_PERMISSIONS[membership.role]
        if membership.is_company_scoped and membership.company_id is not None:
            by_company.setdefault(membership.company_id, set()).update(granted)
        else:
            everywhere |= granted
    return everywhere, by_company


def visible_tasks(user: Any) -> QuerySet[Task]:
    """Open human tasks the user may see: assigned to them, or open to a permission they
    hold (building-wide, or for the company of the task's visit). A company admin never sees
    a task the policy gave to the property office."""
    everywhere, by_company = _permissions(user)
    allowed = Q(owner=user) | Q(owner_permission__in=everywhere)
    for company_id, permissions in by_company.items():
        allowed |= (
            Q(owner_permission__in=permissions)
            & Q(process__visitprocess__visit__company_id=company_id)
            & ~Q(data__approver=Approver.PROPERTY)
        )
    return (
        Task.objects.filter(flow_task_type="HUMAN", status__in=OPEN_STATUSES)
        .filter(allowed)
        .select_related("owner", "process__visitprocess__visit__visitor")
        .order_by("created", "pk")
    )


def may_act_on(user: Any, task: Task) -> bool:
    """Whether the user may claim or complete this task (it is theirs, or unclaimed and
    in their queue)."""
    if task.status not in OPEN_STATUSES:
        return False
    if task.owner_id is not None:
        return bool(task.owner_id == user.pk)
    return visible_tasks(user).filter(pk=task.pk).exists()


@dataclass(frozen=True)
class WeChatDecider:
    """Someone who may decide a visit from WeChat now: its host, while they hold an open
    decision link on it (the WeChat page is the link's twin: what spends the links, a
    decision elsewhere, an escalation, a withdrawal, ends both), or a person whose console
    queue holds the visit's approval task (a company admin, the property office)."""

    host: Host
    as_host: bool
    task: Task | None


def wechat_decider(host: Host, visit: Visit) -> WeChatDecider | None:
    """How the employee ``host`` (bound to the WeChat user) may decide ``visit`` now, or
    None."""
    if visit.status != VisitStatus.PENDING_APPROVAL:
        return None
    task = open_approval_task(visit)
    if visit.host_id == host.pk and _open_links(host).filter(visit=visit).exists():
        return WeChatDecider(host, as_host=True, task=task)
    if task is not None and host.user is not None and may_act_on(host.user, task):
        return WeChatDecider(host, as_host=False, task=task)
    return None


def may_see_in_wechat(host: Host, visit: Visit) -> bool:
    """Whether the employee may see the visit's approval page at all (and be told how it was
    decided): its host, or someone allowed to approve the company's visits."""
    if visit.host_id == host.pk:
        return True
    return host.user is not None and host.user.has_perm(APPROVE_VISITS, visit)


# The staff page lists the oldest waiting first; a list longer than this is not read on a phone.
WAITING_LIMIT = 50


def visits_waiting_for(host: Host) -> list[Visit]:
    """The visits waiting for this employee's decision: as their host (an open link), or in
    their queue, soonest first."""
    now = timezone.now()
    own = list(
        Visit.objects.filter(
            status=VisitStatus.PENDING_APPROVAL,
            pk__in=_open_links(host).values("visit_id"),
            valid_until__gt=now,
        ).select_related("visitor", "company", "host__company")[:WAITING_LIMIT]
    )
    queued: list[Visit] = []
    if host.user is not None:
        for task in visible_tasks(host.user)[:200]:
            if task.flow_task.name not in APPROVAL_NODES or task.owner_id not in (
                None,
                host.user.pk,
            ):
                continue
            process = getattr(task.process, "visitprocess", None)
            if process is not None and process.visit.status == VisitStatus.PENDING_APPROVAL:
                queued.append(process.visit)
    seen: set[int] = set()
    waiting = []
    for visit in sorted(own + queued, key=lambda v: (v.valid_from, v.pk)):
        if visit.pk not in seen:
            seen.add(visit.pk)
            waiting.append(visit)
    return waiting[:WAITING_LIMIT]


def _open_links(host: Host) -> QuerySet[ActionLink]:
    return ActionLink.objects.filter(host=host, used_at__isnull=True, expires_at__gt=timezone.now())


def authenticate_terminal(key: str) -> DeskTerminal | None:
    """The active desk terminal holding ``key`` (``<prefix>.<secret>``), or None. Compares
    hashes in constant time, like a gate agent's key."""
    prefix, separator, secret = key.partition(".")
    if not separator or len(prefix) != 8 or not secret or len(key) > 200:
        return None
    terminal = DeskTerminal.objects.filter(key_prefix=prefix, is_active=True).first()
    if terminal is None or not hmac.compare_digest(terminal.key_hash, secret_hash(secret)):
        return None
    return terminal


def latest_face_match(process: VisitProcess) -> FaceMatchReport | None:
    """The comparison the desk check goes by: the last one received for the visit."""
    return (
        FaceMatchReport.objects.filter(process=process)
        .select_related("terminal")
        .order_by("-received_at", "-pk")
        .first()
    )
