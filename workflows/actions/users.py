"""A person leaving the platform: their account is deactivated, never deleted.

Deleting a user would cascade into every building's tables (memberships, audit entries,
tasks, visits registered by them) and fails on the protected ones; and the audit log must
keep naming who did what. So a user is deactivated by visiting every building in turn.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from tenants.jobs import in_every_building
from tenants.models import User
from visit_platform.audit.actions import Actor, record, record_many
from visit_platform.directory.backends import forget_memberships
from visit_platform.directory.models import Host, Membership


def deactivate_user(actor: Actor, user: User) -> dict[str, str]:
    """Sign ``user`` out of the platform for good: the account can no longer sign in, and in
    every building their roles are revoked, the WeChat of the employees linked to the account
    is unbound, and the tasks they had claimed go back to their queues, each audited there.

    The account is deactivated first (in the public schema), so a building that fails on
    the way cannot leave the person able to act; running it again finishes the rest.
    Returns what was done in each building, keyed by schema ("failed: ..." for a failure).
    """
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(is_active=False)
    user.is_active = False
    return in_every_building(lambda: _leave_building(actor, user))


@transaction.atomic
def _leave_building(actor: Actor, user: User) -> str:
    memberships = list(Membership.objects.select_for_update().filter(user=user, is_active=True))
    Membership.objects.filter(pk__in=[m.pk for m in memberships]).update(
        is_active=False, deactivated_with_company=False, revoked_at=timezone.now()
    )
    record_many(actor, "membership.revoked", memberships, email=user.email, reason="user_left")

    bound = list(Host.objects.select_for_update().filter(user=user).exclude(wechat_openid=""))
    Host.objects.filter(pk__in=[host.pk for host in bound]).update(
        wechat_openid="", wechat_bound_at=None
    )
    record_many(actor, "host.wechat_unbound", bound, reason="user_left")

    handed_back = 0
    claimed = Task.objects.filter(owner=user, flow_task_type="HUMAN", status=STATUS.ASSIGNED)
    for task in claimed:
        with task.activation() as activation:
            if activation.unassign.can_proceed():
                activation.unassign()
                record(actor, "task.released", task.process, step=task.flow_task.name)
                handed_back += 1

    forget_memberships(user)
    summary = {
        "memberships": len(memberships),
        "wechat_unbound": len(bound),
        "tasks_handed_back": handed_back,
    }
    record(actor, "user.deactivated", user, **summary)
    return ", ".join(f"{key} {value}" for key, value in summary.items())
