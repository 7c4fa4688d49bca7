"""Approvals in WeChat (issue 13, section 6) over HTTP, through the sandbox: the bound host gets
the request as a template message that opens the WeChat approval page, and approving or
refusing there completes the flow's task as the SMS link and the console do, so two approvers
still decide once. Company admins and the property office bound to WeChat are told of the
tasks in their queue. Nobody else sees or decides anything, across companies and buildings."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from kernel.errors import DomainError
from tenants.models import Building, User
from tests.access.conftest import make_host as make_other_host
from tests.access.conftest import make_visitor
from tests.conftest import admin_of, client_for, committed_building, member
from tests.forms.conftest import make_host
from tests.wechat.employees import SYSTEM, bound_phone, wechat_phone
from tests.wechat_office import WeChatOffice, sign_in_with_wechat
from tests.workflows.test_flows import fire_timers, link_in, set_policy, submit_request
from visit_platform.access.models import Pass
from visit_platform.audit.models import AuditEntry
from visit_platform.directory.actions import bind_host_wechat, create_company, create_host
from visit_platform.directory.choices import Role
from visit_platform.directory.models import Host
from visit_platform.notifications.actions import deliver_notification
from visit_platform.notifications.models import Notification
from visit_platform.visits.actions import create_visit
from visit_platform.visits.choices import Scenario
from visit_platform.visits.models import Visit
from workflows.actions import decide_by_link, start_visit_flow
from workflows.actions.hosts import decide_in_wechat, wechat_actor
from workflows.models import ActionLink, VisitProcess

pytestmark = pytest.mark.django_db


@pytest.fixture
def host(in_alpha: Building) -> Host:
    """The host a visitor names on the request form (by mobile)."""
    return make_host()


def english(client: Client) -> Client:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def page_of(visit: Visit) -> str:
    return f"/wx/tasks/{visit.pk}/"


def wechat_notices(purpose: str) -> list[Notification]:
    return list(Notification.objects.filter(channel="wechat", purpose=purpose).order_by("id"))


def open_task_count(visit: Visit, node: str) -> int:
    return sum(
        1
        for task in Task.objects.filter(
            process__visitprocess__visit=visit, status__in=[STATUS.NEW, STATUS.ASSIGNED]
        )
        if task.flow_task.name == node
    )


def employee_with_account(company: Any, user: User, mobile: str) -> Host:
    """An employee whose console account is ``user`` (a company admin, the property office)."""
    employee = create_host(SYSTEM, company, name="张伟", mobile=mobile)
    employee.user = user
    employee.save()
    return employee


# --- The host -------------------------------------------------------------------------------


def test_the_bound_host_gets_the_request_in_wechat_and_approves_it_there(
    alpha: Building, wechat_office: WeChatOffice, host: Host
) -> None:
    phone = bound_phone(alpha, wechat_office, host)

    visit = submit_request(alpha)
    [notice] = wechat_notices("approval_request")
    delivered = deliver_notification(notice.pk)
    [message] = wechat_office.sandbox.inbox(phone.openid)
    path = urlsplit(message.url).path
    shown = phone.client.get(path)
    decided = phone.client.post(path, {"decision": "approve"})

    assert delivered is not None and delivered.status == "sent"
    assert message.template_id == "tpl-approval_request"
    assert {key: value["value"] for key, value in message.data.items()} == {
        "visitor": "韩**",
        "company": host.company.name,
        "window": json.loads(notice.payload)["data"]["window"]["value"],
        "purpose": "商务洽谈",
    }
    assert urlsplit(message.url).netloc.startswith("alpha.")
    assert path == page_of(visit)
    assert re.search(r"/a/[\w-]+/", notice.text)  # the SMS it falls back to has the link
    assert shown.status_code == 200
    body = shown.content.decode()
    assert "韩*" in body and "韩梅梅" not in body
    assert AuditEntry.objects.filter(
        verb="visit.viewed_in_wechat", object_id=str(visit.pk)
    ).exists()
    assert decided.status_code == 200 and 'data-status="approved"' in decided.content.decode()
    visit.refresh_from_db()
    assert visit.status == "approved"
    assert VisitProcess.objects.get(visit=visit).status == STATUS.DONE
    assert Pass.objects.filter(visit=visit).count() == 1
    assert ActionLink.objects.get(visit=visit).outcome == "approved"  # the SMS link is spent


def test_the_window_in_the_message_is_the_buildings_local_time(
    alpha: Building, wechat_office: WeChatOffice, host: Host
) -> None:
    bound_phone(alpha, wechat_office, host)

    visit = submit_request(alpha)

    [notice] = wechat_notices("approval_request")
    window = json.loads(notice.payload)["data"]["window"]["value"]
    start = alpha.local_time(visit.valid_from)
    assert window.startswith(start.strftime("%Y-%m-%d %H:%M"))


def test_the_host_refuses_in_wechat_with_a_reason_and_the_visitor_is_told(
    alpha: Building, wechat_office: WeChatOffice, host: Host
) -> None:
    phone = bound_phone(alpha, wechat_office, host)
    visit = submit_request(alpha)
    english(phone.client)

    without_reason = phone.client.post(page_of(visit), {"decision": "reject"})
    refused = phone.client.post(page_of(visit), {"decision": "reject", "reason": "出差"})

    assert without_reason.status_code == 400
    assert "Say why the visit is refused." in without_reason.content.decode()
    assert refused.status_code == 200
    visit.refresh_from_db()
    assert (visit.status, visit.decision_reason) == ("rejected", "出差")
    assert "出差" in Notification.objects.get(purpose="decision").text
    assert not Pass.objects.filter(visit=visit).exists()
    assert VisitProcess.objects.get(visit=visit).status == STATUS.DONE


def test_an_unbound_host_keeps_the_sms_link(alpha: Building, host: Host) -> None:
    submit_request(alpha)

    [notice] = Notification.objects.filter(purpose="approval_request")

    assert (notice.channel, notice.recipient) == ("sms", host.mobile)
    assert link_in("approval_request", "/a/").startswith("/a/")


def test_a_wechat_message_that_fails_falls_back_to_the_sms_with_the_link_once(
    alpha: Building, wechat_office: WeChatOffice, host: Host
) -> None:
    phone = bound_phone(alpha, wechat_office, host)
    wechat_office.sandbox.fail_next(43004, "/cgi-bin/message/template/send")
    visit = submit_request(alpha)
    [notice] = wechat_notices("approval_request")

    deliver_notification(notice.pk)
    deliver_notification(notice.pk)  # a second run of the task changes nothing

    notice.refresh_from_db()
    assert (notice.status, notice.error_code) == ("failed", 43004)
    [sms] = Notification.objects.filter(channel="sms", purpose="approval_request")
    assert (sms.fallback_of_id, sms.recipient, sms.text) == (notice.pk, host.mobile, notice.text)
    assert wechat_office.sandbox.inbox(phone.openid) == []
    # The SMS link works as ever.
    assert client_for(alpha).post(link_in("approval_request", "/a/"), {"decision": "approve"})
    visit.refresh_from_db()
    assert visit.status == "approved"


def test_the_reminder_goes_to_the_bound_host_in_wechat(
    alpha: Building, wechat_office: WeChatOffice, host: Host
) -> None:
    phone = bound_phone(alpha, wechat_office, host)
    visit = submit_request(alpha)

    fire_timers("approve__timeout")  # the reminder

    [reminder] = wechat_notices("reminder")
    assert reminder.recipient == phone.openid
    assert json.loads(reminder.payload)["url"].endswith(page_of(visit))


# --- Two approvers --------------------------------------------------------------------------


def test_the_wechat_page_then_the_sms_link_decide_once(
    alpha: Building, wechat_office: WeChatOffice, host: Host
) -> None:
    phone = bound_phone(alpha, wechat_office, host)
    visit = submit_request(alpha)
    sms_link = link_in("approval_request", "/a/")

    in_wechat = phone.client.post(page_of(visit), {"decision": "approve"})
    by_link = english(client_for(alpha)).post(sms_link, {"decision": "reject", "reason": "no"})

    assert in_wechat.status_code == 200
    assert by_link.status_code == 410
    assert "already been used" in by_link.content.decode()
    visit.refresh_from_db()
    assert visit.status == "approved"
    assert AuditEntry.objects.filter(verb__in=["visit.approved", "visit.rejected"]).count() == 1


def test_the_sms_link_then_the_wechat_page_decide_once(
    alpha: Building, wechat_office: WeChatOffice, host: Host
) -> None:
    phone = bound_phone(alpha, wechat_office, host)
    visit = submit_request(alpha)
    english(phone.client)
    opened = phone.client.get(page_of(visit))  # the page is open on the phone meanwhile

    by_link = client_for(alpha).post(link_in("approval_request", "/a/"), {"decision": "approve"})
    in_wechat = phone.client.post(page_of(visit), {"decision": "reject", "reason": "no"})

    assert (opened.status_code, by_link.status_code) == (200, 200)
    assert in_wechat.status_code == 409
    assert "no longer waiting for a decision: Approved" in in_wechat.content.decode()
    visit.refresh_from_db()
    assert visit.status == "approved"
    assert Pass.objects.filter(visit=visit).count() == 1


def test_the_host_and_the_company_admin_in_wechat_decide_once(
    alpha: Building, wechat_office: WeChatOffice, host: Host
) -> None:
    """A host without an account: their approval task waits in the company's queue, so the
    company admin may decide it too, in the console or in WeChat."""
    boss = member(alpha, "boss@company.example", Role.COMPANY_ADMIN, host.company)
    boss_phone = bound_phone(
        alpha, wechat_office, employee_with_account(host.company, boss, "13600001111")
    )
    host_phone = bound_phone(alpha, wechat_office, host)
    visit = submit_request(alpha)

    first = boss_phone.client.post(page_of(visit), {"decision": "approve"})
    second = host_phone.client.post(page_of(visit), {"decision": "reject", "reason": "no"})

    assert (first.status_code, second.status_code) == (200, 409)
    visit.refresh_from_db()
    assert (visit.status, visit.approved_by) == ("approved", boss)


# --- The queues: company admins and the property office ------------------------------------


def test_an_escalation_reaches_the_company_admin_in_wechat_who_decides_there(
    alpha: Building, wechat_office: WeChatOffice, host: Host
) -> None:
    boss = member(alpha, "boss@company.example", Role.COMPANY_ADMIN, host.company)
    boss_phone = bound_phone(
        alpha, wechat_office, employee_with_account(host.company, boss, "13600002222")
    )
    host_phone = bound_phone(alpha, wechat_office, host)
    visit = submit_request(alpha)

    fire_timers("approve__timeout_2")  # the deadline: escalation to the company admin
    [escalation] = wechat_notices("escalation")
    too_late = host_phone.client.get(page_of(visit))
    decided = boss_phone.client.post(page_of(visit), {"decision": "approve"})

    assert escalation.recipient == boss_phone.openid
    assert json.loads(escalation.payload)["url"].endswith(page_of(visit))
    assert "/tasks/" in escalation.text  # its SMS fallback points to the console's queue
    assert too_late.status_code == 403  # the host's turn has passed with their links
    assert decided.status_code == 200
    visit.refresh_from_db()
    assert (visit.status, visit.approved_by) == ("approved", boss)
    assert open_task_count(visit, "approve_escalated") == 0  # the escalated task is done
    assert Pass.objects.filter(visit=visit).count() == 1


def test_a_company_admins_queue_is_told_in_wechat_and_nobody_else(
    alpha: Building, wechat_office: WeChatOffice, host: Host
) -> None:
    set_policy(Scenario.REQUEST, approver="company_admin", escalate_to="")
    boss = member(alpha, "boss@company.example", Role.COMPANY_ADMIN, host.company)
    boss_phone = bound_phone(
        alpha, wechat_office, employee_with_account(host.company, boss, "13600003333")
    )
    member(alpha, "unbound@company.example", Role.COMPANY_ADMIN, host.company)  # not told
    other = create_company(SYSTEM, name="别家公司")
    rival = member(alpha, "boss@other.example", Role.COMPANY_ADMIN, other)
    rival_phone = bound_phone(
        alpha, wechat_office, employee_with_account(other, rival, "13600004444")
    )
    host_phone = bound_phone(alpha, wechat_office, host)

    visit = submit_request(alpha)

    assert [notice.recipient for notice in wechat_notices("approval_request")] == [
        boss_phone.openid
    ]
    assert host_phone.client.get(page_of(visit)).status_code == 403  # not the host's call
    assert rival_phone.client.get(page_of(visit)).status_code == 403
    assert rival_phone.client.post(page_of(visit), {"decision": "approve"}).status_code == 403
    assert boss_phone.client.get(page_of(visit)).status_code == 200
    visit.refresh_from_db()
    assert visit.status == "pending_approval"


def test_the_property_office_is_told_in_wechat_of_the_tasks_in_its_queue(
    alpha: Building, wechat_office: WeChatOffice, host: Host
) -> None:
    set_policy(Scenario.REQUEST, approver="property", escalate_to="")
    office = create_company(SYSTEM, name="物业服务中心")
    admin = admin_of(alpha)
    office_phone = bound_phone(
        alpha, wechat_office, employee_with_account(office, admin, "13600005555")
    )
    boss = member(alpha, "boss@company.example", Role.COMPANY_ADMIN, host.company)
    boss_phone = bound_phone(
        alpha, wechat_office, employee_with_account(host.company, boss, "13600006666")
    )

    visit = submit_request(alpha)
    decided = office_phone.client.post(page_of(visit), {"decision": "reject", "reason": "满员"})

    assert [notice.recipient for notice in wechat_notices("approval_request")] == [
        office_phone.openid
    ]
    assert boss_phone.client.get(page_of(visit)).status_code == 409  # sees it was decided
    assert decided.status_code == 200
    visit.refresh_from_db()
    assert visit.status == "rejected"


# --- The staff page lists what waits -------------------------------------------------------


def test_the_staff_page_lists_the_requests_waiting_for_the_employee(
    alpha: Building, wechat_office: WeChatOffice, host: Host
) -> None:
    phone = bound_phone(alpha, wechat_office, host)
    visit = submit_request(alpha)

    waiting = phone.client.get("/wx/staff/").content.decode()
    phone.client.post(page_of(visit), {"decision": "approve"})
    after = phone.client.get("/wx/staff/").content.decode()

    assert f'data-visit="{visit.pk}"' in waiting
    assert f'href="{page_of(visit)}"' in waiting
    assert "韩*" in waiting and "韩梅梅" not in waiting
    assert f'data-visit="{visit.pk}"' not in after


# --- Nobody else ----------------------------------------------------------------------------


def test_an_unbound_wechat_user_is_refused(
    alpha: Building, wechat_office: WeChatOffice, host: Host
) -> None:
    visit = submit_request(alpha)
    stranger = wechat_phone(alpha, wechat_office, "stranger")

    shown = stranger.client.get(page_of(visit))
    posted = stranger.client.post(page_of(visit), {"decision": "approve"})

    assert (shown.status_code, posted.status_code) == (403, 403)
    visit.refresh_from_db()
    assert visit.status == "pending_approval"


def test_a_host_of_another_company_is_refused(
    alpha: Building, wechat_office: WeChatOffice, host: Host
) -> None:
    visit = submit_request(alpha)
    other = bound_phone(alpha, wechat_office, make_other_host())

    assert other.client.get(page_of(visit)).status_code == 403
    assert other.client.post(page_of(visit), {"decision": "approve"}).status_code == 403
    visit.refresh_from_db()
    assert visit.status == "pending_approval"


def test_a_page_without_a_wechat_sign_in_goes_through_oauth(
    alpha: Building, wechat_office: WeChatOffice, host: Host
) -> None:
    visit = submit_request(alpha)

    answer = client_for(alpha).post(page_of(visit), {"decision": "approve"})

    assert answer.status_code == 302 and answer["Location"].startswith("/wx/start/")
    visit.refresh_from_db()
    assert visit.status == "pending_approval"


def test_a_forged_session_with_the_hosts_openid_decides_nothing(
    alpha: Building, wechat_office: WeChatOffice, host: Host
) -> None:
    real = bound_phone(alpha, wechat_office, host)
    visit = submit_request(alpha)
    forger = wechat_phone(alpha, wechat_office, "forger")
    session = forger.client.session
    session["wechat_user"] = {**session["wechat_user"], "openid": real.openid}
    session.save()

    answer = forger.client.post(page_of(visit), {"decision": "approve"})

    assert answer.status_code == 302
    visit.refresh_from_db()
    assert visit.status == "pending_approval"


@pytest.mark.parametrize("path", ["/wx/tasks/999999999/", "/wx/tasks/0/"])
def test_an_unknown_visit_is_refused(
    alpha: Building, wechat_office: WeChatOffice, host: Host, path: str
) -> None:
    phone = bound_phone(alpha, wechat_office, host)

    assert phone.client.get(path).status_code == 403


def test_an_oversized_reason_is_refused_and_decides_nothing(
    alpha: Building, wechat_office: WeChatOffice, host: Host
) -> None:
    phone = bound_phone(alpha, wechat_office, host)
    visit = submit_request(alpha)

    answer = phone.client.post(page_of(visit), {"decision": "reject", "reason": "长" * 5000})

    assert answer.status_code == 400
    visit.refresh_from_db()
    assert visit.status == "pending_approval"


def test_a_host_bound_in_another_building_of_the_same_account_decides_nothing_here(
    alpha: Building, beta: Building, wechat_office: WeChatOffice, host: Host
) -> None:
    """beta is served by alpha's account too: the same openid is bound to an employee of
    beta. In alpha it is nobody; and beta's pages know no visit of alpha."""
    with schema_context("public"):
        wechat_office.serve(beta)
    visit = submit_request(alpha)
    with schema_context("beta"):
        beta_host = create_host(
            SYSTEM, create_company(SYSTEM, name="贝塔公司"), name="李雷", mobile="13911112222"
        )
        phone = bound_phone(beta, wechat_office, beta_host)
    in_alpha = client_for(alpha)
    sign_in_with_wechat(in_alpha, wechat_office, phone.openid, page_of(visit))

    from_alpha = in_alpha.post(page_of(visit), {"decision": "approve"})
    from_beta = phone.client.post(page_of(visit), {"decision": "approve"})

    assert (from_alpha.status_code, from_beta.status_code) == (403, 403)
    with schema_context("alpha"):
        visit.refresh_from_db()
        assert visit.status == "pending_approval"


# --- At the same moment (committed building, two threads) ----------------------------------

RACE = "wxrace"


@pytest.fixture(scope="module")
def waiting_in_wechat(django_db_setup: None, django_db_blocker: Any) -> Iterator[dict[str, Any]]:
    """A request waiting for its bound host, committed: the SMS link texted to the host and
    the WeChat page both open."""
    with django_db_blocker.unblock(), committed_building(RACE, "微信审批竞争"):
        with schema_context(RACE):
            host = make_other_host()
            bind_host_wechat(SYSTEM, host, "o-race-host-openid")
            start = timezone.now() + timedelta(hours=1)
            visit = create_visit(
                SYSTEM,
                scenario=Scenario.REQUEST,
                visitor=make_visitor(),
                host=host,
                valid_from=start,
                valid_until=start + timedelta(hours=2),
            )
            start_visit_flow(SYSTEM, visit)
            text = Notification.objects.get(purpose="approval_request").text
            code = re.search(r"/a/([\w-]+)/", text).group(1)  # type: ignore[union-attr]
        yield {"host_id": host.pk, "visit_id": visit.pk, "code": code}


@pytest.mark.django_db
def test_the_wechat_page_and_the_sms_link_at_the_same_moment_decide_once(
    waiting_in_wechat: dict[str, Any],
) -> None:
    barrier = threading.Barrier(2)
    results: dict[str, str] = {}

    def decide(way: str) -> None:
        try:
            with schema_context(RACE):
                connection.ensure_connection()
                host = Host.objects.get(pk=waiting_in_wechat["host_id"])
                visit = Visit.objects.get(pk=waiting_in_wechat["visit_id"])
                barrier.wait(timeout=10)
                if way == "wechat":
                    decide_in_wechat(wechat_actor(host), host, visit, approve=True)
                    results[way] = "approved"
                else:
                    decide_by_link(waiting_in_wechat["code"], approve=False, reason="不便接待")
                    results[way] = "rejected"
        except DomainError as error:
            results[way] = error.code
        finally:
            connection.close()

    threads = [threading.Thread(target=decide, args=(way,)) for way in ("wechat", "link")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    outcomes = set(results.values())
    winners = outcomes & {"approved", "rejected"}
    assert len(results) == 2 and len(winners) == 1, results
    assert (outcomes - winners) <= {"already_decided", "link_used", "task_done"}, results
    with schema_context(RACE):
        visit = Visit.objects.get(pk=waiting_in_wechat["visit_id"])
        assert visit.status == winners.pop()
        assert Pass.objects.filter(visit=visit).count() == (1 if visit.status == "approved" else 0)
        assert AuditEntry.objects.filter(verb__in=["visit.approved", "visit.rejected"]).count() == 1
        assert not ActionLink.objects.filter(visit=visit, used_at__isnull=True).exists()
