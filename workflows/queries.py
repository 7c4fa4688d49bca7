"""Which of the flows' tasks a person sees in this building: their own (inbox), those they
may take (queue), and those colleagues have taken. Narrowed by the person's memberships here,
so a host sees their own approvals, a company admin their company's, reception reception's;
the rows live in the building's schema, so nothing crosses buildings."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from visit_platform.directory.backends import active_memberships
from visit_platform.directory.roles import ROLE_PERMISSIONS
from workflows.choices import Approver

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
