"""The scenario flows end to end over HTTP, against the building's schema: each scenario's
happy path to a pass the gate decision admits, and the other paths (watchlist hit refused or
reviewed by security, host refuses, the deadline's reminder, escalation and expiry fired by
the timer job, a pass used up), with the permissions on each task."""

from __future__ import annotations

import io
import json
import re
import uuid
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone
from PIL import Image
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from forms.queries import current_version
from kernel.zones import company_zones
from tenants.models import Building, User
from tests.access.conftest import make_gate, slip_token
from tests.conftest import client_for, member
from tests.forms.conftest import make_host, request_answers
from visit_platform.access.actions import decide_scan
from visit_platform.access.models import Pass
from visit_platform.audit.actions import Actor
from visit_platform.audit.models import AuditEntry
from visit_platform.directory.choices import Role
from visit_platform.notifications.models import Notification
from visit_platform.visits.choices import Scenario
from visit_platform.visits.models import Visit
from workflows.actions import add_to_watchlist
from workflows.actions.policies import update_policy
from workflows.actions.terminals import record_face_match, register_desk_terminal
from workflows.models import ScenarioPolicy, VisitProcess
from workflows.tasks import fire_workflow_timers_task

SYSTEM = Actor.system("tests")
VISITOR_MOBILE = "+8613800138000"


def set_policy(scenario: str, **changes: Any) -> None:
    update_policy(SYSTEM, ScenarioPolicy.objects.get(scenario=scenario), changes)


def submit_request(building: Building, **answers: Any) -> Visit:
    body = {
        "version_id": current_version(Scenario.REQUEST).pk,
        "submission_id": str(uuid.uuid4()),
        "answers": request_answers(**answers),
    }
    response = client_for(building).post(
        "/api/forms/request/submissions", json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 201, response.content
    return Visit.objects.get(pk=response.json()["visit_id"])


def link_in(purpose: str, path: str) -> str:
    """The last link of ``path`` ('/a/' or '/p/') texted for ``purpose``."""
    text = Notification.objects.filter(purpose=purpose).order_by("-pk").first().text
    found = re.search(rf"https?://[^\s]+({path}[^\s/]+/)", text)
    assert found, text
    return found.group(1)


def admitted(visit: Visit) -> bool:
    pass_record = Pass.objects.get(visit=visit, revoked_at__isnull=True)
    decision = decide_scan(
        gate=make_gate(name=f"gate {uuid.uuid4().hex[:6]}"),
        token=slip_token(pass_record),
        direction="in",
        now=visit.valid_from + timedelta(minutes=5),
    )
    return decision.granted


def open_task(visit: Visit, node: str) -> Task:
    return Task.objects.get(
        process__visitprocess__visit=visit,
        flow_task_type="HUMAN",
        status__in=[STATUS.NEW, STATUS.ASSIGNED],
        flow_task=getattr(type(visit.process.flow_class.instance), node),
    )


def fire_timers(node_suffix: str) -> None:
    """Let the time of one timer come, then run the periodic job as celery beat would."""
    due = [
        task.pk
        for task in Task.objects.filter(flow_task_type="TIMER", status=STATUS.SCHEDULED)
        if task.flow_task.name.endswith(node_suffix)
    ]
    assert due, f"no {node_suffix} timer is waiting"
    Task.objects.filter(pk__in=due).update(scheduled=timezone.now() - timedelta(seconds=1))
    reports = fire_workflow_timers_task()
    assert reports["alpha"].startswith(f"{len(due)} timer(s) fired"), reports


@pytest.fixture
def host(in_alpha: Building) -> Any:
    return make_host()


@pytest.fixture
def company_admin(alpha: Building, host: Any) -> User:
    return member(alpha, "boss@company.example", Role.COMPANY_ADMIN, host.company)


@pytest.fixture
def property_admin(alpha: Building) -> User:
    return User.objects.get(email="admin@alpha.example")


# --- Request (5.2.2) ------------------------------------------------------------------------


def test_request_approved_through_the_hosts_link_gets_a_pass_the_gate_admits(
    alpha: Building, host: Any
) -> None:
    visit = submit_request(alpha)
    assert open_task(visit, "approve").flow_task.name == "approve"
    decision_link = link_in("approval_request", "/a/")

    page = client_for(alpha).get(decision_link)
    response = client_for(alpha).post(decision_link, {"decision": "approve"})

    assert page.status_code == 200
    assert response.status_code == 200
    visit.refresh_from_db()
    assert visit.status == "approved"
    assert link_in("pass_link", "/p/").startswith("/p/")
    assert admitted(visit)
    process = VisitProcess.objects.get(visit=visit)
    assert process.status == STATUS.DONE
    timeline = client_for(alpha, User.objects.get(email="admin@alpha.example")).get(
        f"/visits/{visit.pk}/timeline/"
    )
    assert "李雷" in timeline.content.decode()  # who approved: the host, through the link


def test_the_host_refuses_with_a_reason_and_the_visitor_is_told(alpha: Building, host: Any) -> None:
    visit = submit_request(alpha)
    decision_link = link_in("approval_request", "/a/")

    without_reason = client_for(alpha).post(decision_link, {"decision": "reject"})
    refused = client_for(alpha).post(decision_link, {"decision": "reject", "reason": "出差"})

    assert without_reason.status_code == 400
    assert refused.status_code == 200
    visit.refresh_from_db()
    assert visit.status == "rejected"
    assert "出差" in Notification.objects.get(purpose="decision").text
    assert not Pass.objects.filter(visit=visit).exists()
    assert VisitProcess.objects.get(visit=visit).status == STATUS.DONE


@pytest.mark.parametrize("decision", ["", "approved", "APPROVE", "yes", "refuse", "reject\x00"])
def test_a_decision_that_is_neither_approve_nor_reject_is_refused_and_changes_nothing(
    alpha: Building, host: Any, decision: str
) -> None:
    """Any value but the page's two buttons used to count as a refusal of the visit."""
    visit = submit_request(alpha)
    decision_link = link_in("approval_request", "/a/")

    response = client_for(alpha).post(decision_link, {"decision": decision, "reason": "出差"})

    page = response.content.decode()
    assert response.status_code == 400
    # A NUL is refused at the edge, before the page's own check, with the edge's words.
    assert any(words in page for words in ("approve or to refuse", "批准", "控制字符"))
    visit.refresh_from_db()
    assert visit.status == "pending_approval"
    assert not Notification.objects.filter(purpose="decision").exists()
    assert open_task(visit, "approve").flow_task.name == "approve"
    assert client_for(alpha).get(decision_link).status_code == 200


def test_a_watchlisted_visitor_is_refused_without_the_host_being_asked(
    alpha: Building, host: Any
) -> None:
    add_to_watchlist(SYSTEM, reason="theft", mobile=VISITOR_MOBILE)

    visit = submit_request(alpha)

    visit.refresh_from_db()
    assert visit.status == "rejected"
    assert VisitProcess.objects.get(visit=visit).watchlist_hit
    assert not Notification.objects.filter(purpose="approval_request").exists()
    told = Notification.objects.get(purpose="decision").text
    assert "watchlist" not in told and "theft" not in told
    assert not Pass.objects.filter(visit=visit).exists()


@pytest.mark.parametrize(
    ("decision", "status"), [("clear", "pending_approval"), ("refuse", "rejected")]
)
def test_with_security_review_a_watchlist_match_waits_for_security(
    alpha: Building, host: Any, company_admin: User, decision: str, status: str
) -> None:
    set_policy(Scenario.REQUEST, watchlist_hit="security_review")
    add_to_watchlist(SYSTEM, reason="namesake?", mobile=VISITOR_MOBILE)
    security = member(alpha, "guard@alpha.example", Role.SECURITY)

    visit = submit_request(alpha)
    review = open_task(visit, "security_review")

    assert client_for(alpha, company_admin).get(f"/tasks/{review.pk}/").status_code == 404
    assert f'data-task="{review.pk}"' in client_for(alpha, security).get("/tasks/").content.decode()
    no_note = client_for(alpha, security).post(f"/tasks/{review.pk}/", {"decision": decision})
    assert no_note.status_code == 400
    done = client_for(alpha, security).post(
        f"/tasks/{review.pk}/", {"decision": decision, "note": "checked the ID by phone"}
    )
    assert done.status_code == 302
    visit.refresh_from_db()
    assert visit.status == status
    asked = Notification.objects.filter(purpose="approval_request").exists()
    assert asked == (decision == "clear")


def test_security_sees_the_visitors_full_name_on_tasks_and_each_view_is_audited(
    alpha: Building, host: Any, company_admin: User
) -> None:
    set_policy(Scenario.REQUEST, watchlist_hit="security_review")
    add_to_watchlist(SYSTEM, reason="namesake?", mobile=VISITOR_MOBILE)
    security = member(alpha, "guard@alpha.example", Role.SECURITY)
    visit = submit_request(alpha)
    review = open_task(visit, "security_review")
    name = visit.visitor_name

    queue = client_for(alpha, security).get("/tasks/").content.decode()
    screen = client_for(alpha, security).get(f"/tasks/{review.pk}/").content.decode()

    assert name in queue and name in screen
    views = AuditEntry.objects.filter(verb="visits.viewed", actor=security).order_by("pk")
    assert [entry.detail["page"] for entry in views] == ["tasks", "task"]
    assert all(entry.detail["full_names"] for entry in views)


def test_a_company_admin_sees_the_visitors_name_masked_on_tasks(
    alpha: Building, host: Any, company_admin: User
) -> None:
    visit = submit_request(alpha)
    open_task(visit, "approve")

    queue = client_for(alpha, company_admin).get("/tasks/").content.decode()

    assert visit.visitor_name not in queue
    assert not AuditEntry.objects.filter(verb="visits.viewed", actor=company_admin).exists()


def test_the_deadline_reminds_escalates_and_expires_on_the_timer_job(
    alpha: Building, host: Any, company_admin: User
) -> None:
    visit = submit_request(alpha)  # defaults: remind after 2 h, escalate to the company admin

    fire_timers("approve__timeout")  # the reminder
    assert Notification.objects.filter(purpose="reminder").count() == 1
    assert open_task(visit, "approve")  # still the host's

    fire_timers("approve__timeout_2")  # the deadline: escalation
    escalated = open_task(visit, "approve_escalated")
    assert (
        f'data-task="{escalated.pk}"'
        in client_for(alpha, company_admin).get("/tasks/").content.decode()
    )
    first_link = link_in("approval_request", "/a/")
    assert client_for(alpha).get(first_link).status_code == 410  # the host's links died

    fire_timers("approve_escalated__timeout")  # nobody decided: expiry
    visit.refresh_from_db()
    assert visit.status == "expired"
    assert "未在时限内" in Notification.objects.get(purpose="decision").text  # building: zh
    assert VisitProcess.objects.get(visit=visit).status == STATUS.DONE


def test_the_escalation_target_approves_in_the_console(
    alpha: Building, host: Any, company_admin: User
) -> None:
    visit = submit_request(alpha)
    fire_timers("approve__timeout_2")
    escalated = open_task(visit, "approve_escalated")

    response = client_for(alpha, company_admin).post(
        f"/tasks/{escalated.pk}/", {"decision": "approve"}
    )

    assert response.status_code == 302
    visit.refresh_from_db()
    assert visit.status == "approved"
    assert visit.approved_by == company_admin
    assert admitted(visit)


def assert_flow_finished(visit: Visit) -> None:
    """The visit's process is DONE and nothing of it waits: no person's task, no timer."""
    process = VisitProcess.objects.get(visit=visit)
    waiting = Task.objects.filter(
        process=process,
        status__in=[STATUS.NEW, STATUS.ASSIGNED, STATUS.SCHEDULED, STATUS.STARTED],
    )
    assert [(task.flow_task.name, task.status) for task in waiting] == []
    assert process.status == STATUS.DONE


# The reminder two hours in (the default) not fired yet when the deadline comes, as when the
# job was down; and no reminder at all (its timer is armed for a time that never comes).
REMINDERS = pytest.mark.parametrize("reminder_hours", [2, 0])


@REMINDERS
def test_after_an_escalation_the_targets_approval_finishes_the_flow(
    alpha: Building, host: Any, company_admin: User, reminder_hours: int
) -> None:
    set_policy(Scenario.REQUEST, reminder_hours=reminder_hours)
    visit = submit_request(alpha)
    fire_timers("approve__timeout_2")  # the deadline: escalation to the company admin
    escalated = open_task(visit, "approve_escalated")

    response = client_for(alpha, company_admin).post(
        f"/tasks/{escalated.pk}/", {"decision": "approve"}
    )

    assert response.status_code == 302
    visit.refresh_from_db()
    assert visit.status == "approved"
    assert_flow_finished(visit)
    assert fire_workflow_timers_task()["alpha"].startswith("0 timer(s) fired")


@REMINDERS
def test_a_request_expired_at_the_deadline_finishes_the_flow(
    alpha: Building, host: Any, reminder_hours: int
) -> None:
    set_policy(Scenario.REQUEST, reminder_hours=reminder_hours, escalate_to="")
    visit = submit_request(alpha)

    fire_timers("approve__timeout_2")  # the deadline: nobody to escalate to

    visit.refresh_from_db()
    assert visit.status == "expired"
    assert_flow_finished(visit)


@REMINDERS
def test_a_request_expired_after_its_escalation_finishes_the_flow(
    alpha: Building, host: Any, company_admin: User, reminder_hours: int
) -> None:
    set_policy(Scenario.REQUEST, reminder_hours=reminder_hours)
    visit = submit_request(alpha)
    fire_timers("approve__timeout_2")

    fire_timers("approve_escalated__timeout")  # the escalation target did not decide either

    visit.refresh_from_db()
    assert visit.status == "expired"
    assert_flow_finished(visit)


@REMINDERS
def test_a_request_approved_before_its_timers_finishes_the_flow(
    alpha: Building, host: Any, reminder_hours: int
) -> None:
    set_policy(Scenario.REQUEST, reminder_hours=reminder_hours)
    visit = submit_request(alpha)

    response = client_for(alpha).post(link_in("approval_request", "/a/"), {"decision": "approve"})

    assert response.status_code == 200
    assert_flow_finished(visit)
    assert fire_workflow_timers_task()["alpha"].startswith("0 timer(s) fired")


def test_two_approvers_at_once_one_wins_and_the_other_is_told(
    alpha: Building, host: Any, company_admin: User, property_admin: User
) -> None:
    set_policy(Scenario.REQUEST, approver="company_admin", escalate_to="")
    visit = submit_request(alpha)
    task = open_task(visit, "approve")

    first = client_for(alpha, company_admin).post(f"/tasks/{task.pk}/", {"decision": "approve"})
    second = client_for(alpha, property_admin).post(
        f"/tasks/{task.pk}/", {"decision": "reject", "reason": "no"}
    )

    assert first.status_code == 302
    assert second.status_code == 409  # told plainly who got there first
    assert "boss@company.example" in second.content.decode()
    visit.refresh_from_db()
    assert visit.status == "approved"
    assert Pass.objects.filter(visit=visit).count() == 1


def test_a_decision_through_the_link_beats_a_console_decision_made_later(
    alpha: Building, host: Any, company_admin: User
) -> None:
    visit = submit_request(alpha)
    task = open_task(visit, "approve")
    client_for(alpha).post(link_in("approval_request", "/a/"), {"decision": "approve"})

    late = client_for(alpha, company_admin).post(
        f"/tasks/{task.pk}/", {"decision": "reject", "reason": "no"}
    )

    assert late.status_code == 409
    assert 'data-code="task_closed"' in late.content.decode()
    visit.refresh_from_db()
    assert visit.status == "approved"


def test_another_company_and_another_building_cannot_see_or_act_on_a_task(
    alpha: Building, beta: Building, host: Any
) -> None:
    set_policy(Scenario.REQUEST, approver="company_admin", escalate_to="")
    visit = submit_request(alpha)
    task = open_task(visit, "approve")
    other = make_host("13900000002")
    outsider = member(alpha, "other@company.example", Role.COMPANY_ADMIN, other.company)
    from_beta = member(beta, "admin2@beta.example", Role.PROPERTY_ADMIN)

    assert client_for(alpha, outsider).get(f"/tasks/{task.pk}/").status_code == 404
    assert (
        client_for(alpha, outsider).post(f"/tasks/{task.pk}/", {"decision": "approve"}).status_code
        == 404
    )
    assert (
        f'data-task="{task.pk}"' not in client_for(alpha, outsider).get("/tasks/").content.decode()
    )
    visit.refresh_from_db()
    assert visit.status == "pending_approval"
    assert client_for(beta, from_beta).get(f"/tasks/{task.pk}/").status_code == 404


def test_a_policy_change_routes_new_visits_only(alpha: Building, host: Any) -> None:
    waiting = submit_request(alpha)
    set_policy(Scenario.REQUEST, requires_approval=False)

    at_once = submit_request(alpha, visitor_mobile="13800138001")

    waiting.refresh_from_db()
    at_once.refresh_from_db()
    assert (waiting.status, at_once.status) == ("pending_approval", "approved")
    assert VisitProcess.objects.get(visit=waiting).policy["requires_approval"] is True
    assert open_task(waiting, "approve")
    assert admitted(at_once)


def test_a_returning_visitor_is_approved_at_once_when_the_policy_says_so(
    alpha: Building, host: Any
) -> None:
    set_policy(Scenario.REQUEST, auto_approve_returning=True)
    first = submit_request(alpha)
    client_for(alpha).post(link_in("approval_request", "/a/"), {"decision": "approve"})

    again = submit_request(alpha)

    again.refresh_from_db()
    assert (first.pk != again.pk, again.status) == (True, "approved")


# --- Invitation (5.2.1) ---------------------------------------------------------------------


def invite(alpha: Building, user: User, **answers: Any) -> Any:
    version = current_version(Scenario.INVITE)
    start = timezone.localtime() + timedelta(hours=1)
    data = {
        "form_version": version.pk,
        "submission_id": str(uuid.uuid4()),
        "visitor_name": "王芳",
        "visitor_mobile": "13700137000",
        "visit_start": start.strftime("%Y-%m-%dT%H:%M"),
        "visit_end": (start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        "purpose": "business",
        **answers,
    }
    return client_for(alpha, user).post("/invite/", data)


def test_an_invitation_sends_a_pass_limited_by_the_policy_which_is_used_up(
    alpha: Building, host: Any
) -> None:
    set_policy(Scenario.INVITE, default_uses=1)
    user = member(alpha, "host@company.example", Role.HOST, host.company)
    host.user = user
    host.save()

    response = invite(alpha, user)

    assert response.status_code == 302, response.content.decode()[:2000]
    visit = Visit.objects.get(scenario="invite")
    assert (visit.status, visit.host, visit.invited_by) == ("approved", host, user)
    pass_record = Pass.objects.get(visit=visit)
    assert pass_record.max_uses == 1
    assert link_in("pass_link", "/p/")
    gate = make_gate(name="lobby")
    when = visit.valid_from + timedelta(minutes=5)
    token = slip_token(pass_record)
    entry = decide_scan(gate=gate, token=token, direction="in", now=when)
    decide_scan(gate=gate, token=token, direction="out", now=when + timedelta(minutes=1))
    again = decide_scan(gate=gate, token=token, direction="in", now=when + timedelta(minutes=2))
    assert (entry.granted, again.granted, again.reason) == (True, False, "uses_exhausted")


@pytest.mark.parametrize(
    ("setting", "zones"),
    [("会议中心, 大堂", ["会议中心", "大堂"]), ("*", []), ("", "company")],
    ids=["listed", "every zone", "the company's"],
)
def test_an_invitations_pass_opens_the_zones_the_policy_names(
    alpha: Building, host: Any, setting: str, zones: list[str] | str
) -> None:
    """A property admin sets a scenario's zones; left empty, the pass opens the zones of the
    company visited (its zone and floors)."""
    set_policy(Scenario.INVITE, zones=setting)
    user = member(alpha, "host@company.example", Role.HOST, host.company)
    host.user = user
    host.save()

    invite(alpha, user)

    pass_record = Pass.objects.get(visit__scenario="invite")
    company = host.company
    expected = company_zones(company.zone, company.floors) if zones == "company" else zones
    assert sorted(pass_record.zones) == sorted(expected)


def test_an_invitation_for_a_watchlisted_visitor_is_refused(alpha: Building, host: Any) -> None:
    user = member(alpha, "host@company.example", Role.HOST, host.company)
    host.user = user
    host.save()
    add_to_watchlist(SYSTEM, reason="fraud", mobile="+8613700137000")

    invite(alpha, user)

    visit = Visit.objects.get(scenario="invite")
    assert visit.status == "rejected"
    assert not Pass.objects.filter(visit=visit).exists()


def test_reception_and_unlinked_accounts_cannot_invite(alpha: Building, host: Any) -> None:
    reception = member(alpha, "desk@alpha.example", Role.RECEPTION)
    unlinked = member(alpha, "nobody@company.example", Role.HOST, host.company)

    assert invite(alpha, reception).status_code == 403
    assert invite(alpha, unlinked).status_code == 200  # the page explains; nothing is made
    assert not Visit.objects.exists()


# --- Walk-ins at the desk (5.2.3, 5.2.4) ----------------------------------------------------


def photo_upload() -> io.BytesIO:
    data = io.BytesIO()
    Image.new("RGB", (40, 40), "white").save(data, "JPEG")
    data.seek(0)
    data.name = "face.jpg"
    return data


def terminal_reports(visit: Visit, score: int) -> None:
    """The desk's visitor terminal reports its face comparison for the visit."""
    terminal, _key = register_desk_terminal(SYSTEM, name="前台访客机")
    record_face_match(
        terminal,
        visit_id=visit.pk,
        score=score,
        vendor="ZKTeco",
        model="FaceDepot",
        taken_at=timezone.now(),
        nonce=uuid.uuid4().hex,
    )


# The desk check's answers when the host agrees and the face is compared (the visitor's
# consent to face data is its own step before: ``consent_to_face``).
FACE_CHECK = {"host_consent": "yes", "identity_check": "face"}


def consent_to_face(client: Client, verify_url: str) -> None:
    """The visitor agrees to the face consent text in force, at the desk check, before any
    photo or comparison (ADR 0036)."""
    from workflows.actions.face_consent import face_consent_text_in_force

    version = face_consent_text_in_force().version
    response = client.post(f"{verify_url}face-consent/", {"version": str(version)})
    assert response.status_code == 302, response.content.decode()[:2000]


def register_walk_in(client: Client, scenario: str = "walk_in", **answers: Any) -> Any:
    version = current_version(scenario)
    start = timezone.localtime()
    data = {
        "form_version": version.pk,
        "submission_id": str(uuid.uuid4()),
        "visitor_name": "张伟",
        "visitor_mobile": "13600136000",
        "host_mobile": "13900139000",
        "visit_start": start.strftime("%Y-%m-%dT%H:%M"),
        "visit_end": (start + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"),
        "purpose": "business",
        "privacy_consent": "on",
        **answers,
    }
    if scenario == "walk_in":
        data.update({"id_document_0": "resident_id", "id_document_1": "11010519491231002X"})
    else:
        data["face_photo"] = photo_upload()
    return client.post(f"/reception/{scenario}/", data)


@pytest.fixture
def desk(alpha: Building, in_alpha: Building) -> Client:
    make_host("13900139000")
    return client_for(alpha, member(alpha, "desk@alpha.example", Role.RECEPTION))


def test_a_walk_in_goes_from_registration_to_the_printed_slip_in_three_screens(
    alpha: Building, desk: Client
) -> None:
    registered = register_walk_in(desk)  # screen 1

    assert registered.status_code == 302, registered.content.decode()[:3000]
    verify_url = registered["Location"]
    visit = Visit.objects.get(scenario="walk_in")
    assert verify_url == f"/tasks/{open_task(visit, 'verify').pk}/"
    assert Notification.objects.filter(purpose="approval_request").exists()  # host's link too

    consent_to_face(desk, verify_url)
    terminal_reports(visit, 60)
    low = desk.post(verify_url, {**FACE_CHECK, "photo": photo_upload()})
    assert low.status_code == 400  # under the building's 80 %
    terminal_reports(visit, 93)
    checked = desk.post(
        verify_url, {**FACE_CHECK, "consent_note": "李雷 on the phone", "photo": photo_upload()}
    )  # screen 2
    assert checked.status_code == 302
    hand_over_url = checked["Location"]
    assert hand_over_url == f"/tasks/{open_task(visit, 'hand_over').pk}/"
    page = desk.get(hand_over_url)
    pass_record = Pass.objects.get(visit=visit)
    assert f"/passes/{pass_record.pk}/slip.pdf" in page.content.decode()

    printed = desk.post(hand_over_url, {"how": "slip"})  # screen 3
    slip = desk.get(f"/passes/{pass_record.pk}/slip.pdf", follow=True)

    assert printed.status_code == 302
    assert slip.content.startswith(b"%PDF")
    # The hand-over and the window it opened are one print: one audit row (ADR 0027).
    assert AuditEntry.objects.filter(verb="pass.slip_printed").count() == 1
    visit.refresh_from_db()
    assert (visit.status, visit.process.face_match_score) == ("approved", 93)
    assert (visit.process.identity_check, visit.process.face_consent) == ("face", True)
    assert visit.process.status == STATUS.DONE
    assert admitted(visit)


def suggested(page: str, name: str) -> str:
    """The value the desk's form puts in a field, as the browser would send it back."""
    tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', page)
    assert tag, name
    value = re.search(r'value="([^"]*)"', tag.group(0))
    assert value, tag.group(0)
    return value.group(1)


@pytest.mark.parametrize("scenario", ["walk_in", "no_id"])
def test_a_walk_in_registered_with_the_suggested_window_is_admitted_at_once(
    alpha: Building, desk: Client, scenario: str
) -> None:
    form = desk.get(f"/reception/{scenario}/").content.decode()
    window = {name: suggested(form, name) for name in ("visit_start", "visit_end")}
    verify_url = register_walk_in(desk, scenario, **window)["Location"]
    checked = desk.post(
        verify_url,
        {
            "host_consent": "yes",
            "identity_check": "eye",
            "checked_by_eye": "on",
        },
    )
    desk.post(checked["Location"], {"how": "slip"})

    visit = Visit.objects.get(scenario=scenario)
    decision = decide_scan(
        gate=make_gate(name="lobby"),
        token=slip_token(Pass.objects.get(visit=visit)),
        direction="in",
        now=timezone.now(),
    )

    assert (decision.granted, decision.reason) == (True, "granted")
    # The form suggested the minute of registration, and the visit kept it.
    local_start = timezone.localtime(visit.valid_from, ZoneInfo(alpha.time_zone))
    assert local_start.strftime("%Y-%m-%dT%H:%M") == window["visit_start"]


def test_a_walk_in_start_typed_ahead_is_brought_forward_to_the_registration(
    alpha: Building, desk: Client
) -> None:
    later = (timezone.localtime() + timedelta(hours=1)).replace(minute=0)
    before = timezone.now()

    register_walk_in(
        desk,
        visit_start=later.strftime("%Y-%m-%dT%H:%M"),
        visit_end=(later + timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M"),
    )

    visit = Visit.objects.get(scenario="walk_in")
    assert before - timedelta(seconds=1) <= visit.valid_from <= timezone.now()
    assert visit.valid_until == later.replace(second=0, microsecond=0) + timedelta(hours=4)


def test_a_host_refusing_on_the_phone_ends_the_walk_in_without_a_pass(
    alpha: Building, desk: Client
) -> None:
    verify_url = register_walk_in(desk)["Location"]
    client_for(alpha).post(
        link_in("approval_request", "/a/"), {"decision": "reject", "reason": "不认识"}
    )

    page = desk.get(verify_url)
    done = desk.post(verify_url, {})  # a refusal needs no photo, score or tick

    assert "不认识" in page.content.decode()
    assert done.status_code == 302
    visit = Visit.objects.get(scenario="walk_in")
    assert visit.status == "rejected"
    assert not Pass.objects.filter(visit=visit).exists()


def test_a_watchlisted_walk_in_is_refused_and_reception_is_not_told_why(
    alpha: Building, desk: Client
) -> None:
    add_to_watchlist(SYSTEM, reason="violence", mobile="+8613600136000")

    response = register_walk_in(desk)

    assert response["Location"] == "/tasks/"
    page = desk.get("/tasks/").content.decode()
    assert "violence" not in page
    assert Visit.objects.get(scenario="walk_in").status == "rejected"


def test_a_visitor_without_id_gets_the_pass_link_by_sms(alpha: Building, desk: Client) -> None:
    verify_url = register_walk_in(desk, "no_id")["Location"]
    # The no-ID form took the photo already: the desk check does not ask for it again.
    checked = desk.post(verify_url, {"host_consent": "yes", "consent_note": "企业前台确认"})

    sent = desk.post(checked["Location"], {"how": "sms"})

    assert sent.status_code == 302
    visit = Visit.objects.get(scenario="no_id")
    assert visit.status == "approved"
    assert client_for(alpha).get(link_in("pass_link", "/p/")).status_code == 200
    assert admitted(visit)


def test_two_receptionists_never_work_the_same_visitor(alpha: Building, desk: Client) -> None:
    verify_url = register_walk_in(desk)["Location"]
    task_id = int(verify_url.strip("/").split("/")[-1])
    other = client_for(alpha, member(alpha, "desk2@alpha.example", Role.RECEPTION))

    meddling = other.post(verify_url, {"host_consent": "no"})
    desk.post(f"/tasks/{task_id}/release/")
    claimed = other.post(f"/tasks/{task_id}/claim/")
    too_late = desk.post(f"/tasks/{task_id}/claim/", follow=True)

    assert meddling.status_code == 409
    assert claimed.status_code == 302
    assert "desk2@alpha.example" in too_late.content.decode()
    assert Task.objects.get(pk=task_id).owner.email == "desk2@alpha.example"


def test_the_policy_page_draws_the_flow_with_the_active_branches(
    alpha: Building, in_alpha: Building, property_admin: User
) -> None:
    set_policy(Scenario.REQUEST, watchlist_hit="reject")
    chart = client_for(alpha, property_admin).get("/policies/request/chart.svg")

    assert chart["Content-Type"] == "image/svg+xml"
    svg = chart.content.decode()
    assert re.search(r'id="refuse"[^>]*class="done"', svg)
    assert not re.search(r'id="security_review"[^>]*class="done"', svg)


def test_a_watchlist_entry_approved_while_a_request_waits_ends_its_flow(
    alpha: Building, host: Any, property_admin: User
) -> None:
    from visit_platform.visits.actions import propose_watchlist_entry
    from workflows.actions import approve_watchlist_entry

    visit = submit_request(alpha)
    guard = member(alpha, "guard@alpha.example", Role.SECURITY)
    entry = propose_watchlist_entry(
        Actor(user=guard), reason="theft on floor 8", mobile=VISITOR_MOBILE
    )

    approve_watchlist_entry(Actor(user=property_admin), entry)

    visit.refresh_from_db()
    process = VisitProcess.objects.get(visit=visit)
    assert visit.status == "rejected"
    assert process.status == "CANCELED"
    assert not Task.objects.filter(
        process=process, status__in=[STATUS.NEW, STATUS.ASSIGNED, STATUS.SCHEDULED]
    ).exists()
    assert client_for(alpha).get(link_in("approval_request", "/a/")).status_code == 410
    reports = fire_workflow_timers_task()  # nothing left to escalate
    assert reports["alpha"].startswith("0 timer(s) fired")


def test_the_policy_caps_companions_and_suggests_its_default_window(
    alpha: Building, host: Any, property_admin: User
) -> None:
    set_policy(Scenario.REQUEST, companions_allowed=1, default_window_hours=3)
    two = [{"name": "甲", "mobile": "13800000011"}, {"name": "乙", "mobile": "13800000012"}]
    body = {
        "version_id": current_version(Scenario.REQUEST).pk,
        "submission_id": str(uuid.uuid4()),
        "answers": request_answers(companions=two),
    }

    refused = client_for(alpha).post(
        "/api/forms/request/submissions", json.dumps(body), content_type="application/json"
    )
    page = client_for(alpha).get("/visit/request/")

    assert refused.status_code == 422, refused.content
    assert "companions" in refused.json()["details"]["fields"]
    assert not Visit.objects.exists()
    start = page.context["form"].initial["visit_start"]
    assert page.context["form"].initial["visit_end"] - start == timedelta(hours=3)
