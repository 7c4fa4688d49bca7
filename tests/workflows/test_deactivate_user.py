"""A person leaving the platform is deactivated in every building (roles revoked, the WeChat
of their employee record unbound, claimed tasks handed back to the queue), audited in each;
never deleted, because a delete cascades into the buildings' tables."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django_tenants.utils import schema_context
from viewflow.workflow.status import STATUS

from tenants.models import Building, User
from tests.conftest import member
from tests.forms.conftest import make_host
from tests.workflows.test_flows import open_task, submit_request
from visit_platform.audit.actions import Actor
from visit_platform.audit.models import AuditEntry
from visit_platform.directory.choices import Role
from visit_platform.directory.models import Host, Membership
from workflows.actions.tasks import claim_task
from workflows.actions.users import deactivate_user

pytestmark = pytest.mark.django_db

OPERATOR = Actor.system("tests")


@pytest.fixture
def leaver(alpha: Building, beta: Building) -> tuple[User, Any, Any]:
    """A company admin in alpha who is also an employee there (WeChat bound) and holds a
    role in beta, with an approval task claimed in alpha."""
    with schema_context("alpha"):
        host = make_host()
    user = member(alpha, "leaver@company.example", Role.COMPANY_ADMIN, host.company)
    member(beta, "leaver@company.example", Role.RECEPTION)
    with schema_context("alpha"):
        Host.objects.filter(pk=host.pk).update(user=user, wechat_openid="o-leaver")
        visit = submit_request(alpha)
        task = open_task(visit, "approve")
        if task.owner_id is None:  # the flow gives it to the host's account itself
            claim_task(Actor(user=user), task)
            task.refresh_from_db()
        assert task.owner_id == user.pk
    return user, host, task


def test_deactivation_visits_every_building(leaver: tuple[User, Any, Any]) -> None:
    user, host, task = leaver

    reports = deactivate_user(OPERATOR, user)

    assert set(reports) >= {"alpha", "beta"}
    assert not any(report.startswith("failed") for report in reports.values())
    user.refresh_from_db()
    assert user.is_active is False
    for schema in ("alpha", "beta"):
        with schema_context(schema):
            assert not Membership.objects.filter(user=user, is_active=True).exists()
            assert AuditEntry.objects.filter(verb="user.deactivated", object_id=str(user.pk))
            assert AuditEntry.objects.filter(verb="membership.revoked").exists()
    with schema_context("alpha"):
        host.refresh_from_db()
        assert host.wechat_openid == ""
        task.refresh_from_db()
        assert task.status == STATUS.NEW and task.owner_id is None  # back in the queue
        assert AuditEntry.objects.filter(verb="task.released").exists()
    # Nothing was deleted: the account and its rows remain for the audit log.
    assert User.objects.filter(pk=user.pk).exists()


def test_running_it_again_changes_nothing_more(leaver: tuple[User, Any, Any]) -> None:
    user, _host, _task = leaver
    deactivate_user(OPERATOR, user)
    again = deactivate_user(OPERATOR, user)
    assert again["alpha"] == "memberships 0, wechat_unbound 0, tasks_handed_back 0"


def test_the_command_deactivates_and_refuses_an_unknown_email(
    leaver: tuple[User, Any, Any],
) -> None:
    user, _host, _task = leaver
    with pytest.raises(CommandError):
        call_command("deactivate_user", "nobody@nowhere.example")
    with pytest.raises(CommandError):
        call_command("deactivate_user", "x" * 300)
    call_command("deactivate_user", "LEAVER@company.example")
    user.refresh_from_db()
    assert user.is_active is False


@pytest.fixture
def operator(db: None) -> Client:
    user = User.objects.create_superuser("operator@platform.example", "x" * 20)
    client = Client(HTTP_HOST="localhost")
    client.force_login(user, backend="visit_platform.directory.backends.MembershipBackend")
    return client


def test_the_admin_deactivates_and_never_deletes(
    operator: Client, leaver: tuple[User, Any, Any]
) -> None:
    user, _host, _task = leaver
    listing = "/admin/tenants/user/"
    assert operator.get(f"{listing}{user.pk}/delete/").status_code == 403
    forged = operator.post(
        listing, {"action": "delete_selected", "_selected_action": [user.pk], "post": "yes"}
    )
    assert forged.status_code in (200, 302)
    assert User.objects.filter(pk=user.pk, is_active=True).exists()

    answer = operator.post(listing, {"action": "deactivate", "_selected_action": [user.pk]})

    assert answer.status_code == 302
    user.refresh_from_db()
    assert user.is_active is False
    with schema_context("beta"):
        assert not Membership.objects.filter(user=user, is_active=True).exists()
