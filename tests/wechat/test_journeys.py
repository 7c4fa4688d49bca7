"""The journeys of issue 13 end to end, over HTTP, with WeChat played by the sandbox: an
employee binds their WeChat; a visitor scans a code (the building's, or the host's own),
links their number, applies; the host approves in WeChat; the pass arrives in the visitor's
WeChat and opens the turnstile; the host is told of the arrival in WeChat. And the same with
an invitation the host sends from WeChat and forwards there.

Every step goes through the platform's real code: the callback (signed, encrypted events),
OAuth through the sandbox, the SMS codes as the log holds them, the notification log's
delivery to the sandbox's template API, the gate decision on the pass page's rotating token.
Only the Celery worker is played by the test (it runs the queued tasks itself).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from integrations.wechat.sandbox import ReceivedMessage, SandboxUser
from tenants.models import Building
from tests.access.conftest import make_gate, make_host
from tests.notifications.conftest import RedisServer
from tests.notifications.conftest import broker as broker
from tests.wechat.callback_client import send
from tests.wechat.employees import Phone, bind_over_http, wechat_phone
from tests.wechat.visitor_phone import E164, link_wechat, phone, request_form_data
from tests.wechat_office import WeChatOffice, sign_in_with_wechat
from visit_platform.access.actions import decide_scan
from visit_platform.access.models import Gate
from visit_platform.access.tasks import tell_host_of_arrival_task
from visit_platform.directory.invite_tokens import host_invite_token
from visit_platform.directory.models import Host
from visit_platform.notifications.actions import deliver_notification
from visit_platform.notifications.models import Notification
from visit_platform.visits.choices import VisitStatus
from visit_platform.visits.models import Visit, WeChatLink

pytestmark = pytest.mark.django_db

HOST_MOBILE = "13911112222"  # the host request_form_data() names
HOST_E164 = "+8613911112222"


def deliver_wechat_messages() -> None:
    """What the worker does with the queued WeChat messages: hand them to WeChat (the
    sandbox), through the notification log's own delivery."""
    for notice in Notification.objects.filter(channel="wechat", status="queued"):
        deliver_notification(notice.pk)


def only_message(inbox: list[ReceivedMessage], template_id: str) -> ReceivedMessage:
    [message] = [message for message in inbox if message.template_id == template_id]
    return message


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def link_in(text: str) -> str:
    """The one address on the building in a reply of the account, as a path."""
    found = re.search(r"https?://alpha\.localhost[^\s\"<]*", text)
    assert found, text
    return path_of(found.group(0))


def starting_now() -> dict[str, str]:
    """A visit whose window has begun, so that its pass page shows a code the gate takes."""
    now = timezone.localtime()
    return {
        "visit_start": now.strftime("%Y-%m-%dT%H:%M"),
        "visit_end": (now + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
    }


@pytest.fixture
def host(in_alpha: Building) -> Host:
    return make_host(HOST_MOBILE)


@pytest.fixture
def gate(in_alpha: Building) -> Gate:
    return make_gate(name="A1 闸机")


def employee_binds(alpha: Building, office: WeChatOffice, host: Host) -> Phone:
    """5.1: the employee opens 员工服务, proves the mobile the company registered, is bound."""
    employee = wechat_phone(alpha, office, "李雷", next_path="/wx/staff/")
    status, _page = bind_over_http(employee, HOST_E164)
    host.refresh_from_db()
    assert status in (200, 302) and host.wechat_openid == employee.openid
    return employee


def visitor_applies(office: WeChatOffice, visitor: SandboxUser, scene: str, **form: Any) -> Client:
    """The visitor scans a code with WeChat, follows the account's answer into the request
    form (OAuth), links their number with the texted code, and applies."""
    answer = send(office, visitor.openid, "subscribe", scene=scene)
    assert answer.status_code == 200, answer.body
    entry = urlsplit(link_in(answer.text))
    assert entry.path == "/wx/start/"
    [next_path] = parse_qs(entry.query)["next"]
    client = phone()
    form_path = sign_in_with_wechat(client, office, visitor.openid, next_path)
    assert form_path == next_path, (form_path, next_path, answer.text)
    link_wechat(client, next_path=form_path)
    response = client.post(form_path, request_form_data(**{**starting_now(), **form}))
    assert response.status_code == 302, response.content.decode()[:3000]
    return client


def host_approves_in_wechat(office: WeChatOffice, employee: Phone, visit: Visit) -> None:
    deliver_wechat_messages()
    request = only_message(office.sandbox.inbox(employee.openid), "tpl-approval_request")
    assert path_of(request.url) == f"/wx/tasks/{visit.pk}/"
    page = employee.client.get(path_of(request.url))
    assert page.status_code == 200 and "韩**" in page.content.decode()
    decided = employee.client.post(path_of(request.url), {"decision": "approve"})
    assert decided.status_code in (200, 302), decided.content.decode()[:2000]
    visit.refresh_from_db()
    assert visit.status == VisitStatus.APPROVED


def pass_opens_the_turnstile(
    office: WeChatOffice,
    visitor: SandboxUser,
    client: Client,
    gate: Gate,
    broker: RedisServer,
    capture: Any,
) -> None:
    """The pass arrives in the visitor's WeChat; its page's rotating code opens the gate;
    the host's arrival notice goes out once the worker has run."""
    deliver_wechat_messages()
    notice = only_message(office.sandbox.inbox(visitor.openid), "tpl-pass_link")
    pass_page = path_of(notice.url)
    assert re.fullmatch(r"/p/[^/]+/", pass_page), notice.url
    enter_with_the_pass_page(client, pass_page, gate, broker, capture)


def enter_with_the_pass_page(
    client: Client, pass_page: str, gate: Gate, broker: RedisServer, capture: Any
) -> None:
    """The page's rotating code is granted at the gate; the worker then runs the arrival
    notice the gate handed to the broker."""
    token = client.get(f"{pass_page}token.json").json()["token"]
    with capture(execute=True):
        decision = decide_scan(gate=gate, token=token, direction="in")
    assert decision.granted, decision
    for name, args, schema in broker.queued():
        if name == "tell_host_of_arrival_task" and schema == "alpha":
            tell_host_of_arrival_task(*args)


def test_a_visitor_scans_the_buildings_code_and_the_host_approves_in_wechat(
    alpha: Building,
    wechat_office: WeChatOffice,
    host: Host,
    gate: Gate,
    broker: RedisServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    employee = employee_binds(alpha, wechat_office, host)
    visitor = wechat_office.user("韩梅梅")

    client = visitor_applies(wechat_office, visitor, "b:alpha:apply")
    visit = Visit.objects.get(host=host)
    host_approves_in_wechat(wechat_office, employee, visit)
    pass_opens_the_turnstile(
        wechat_office, visitor, client, gate, broker, django_capture_on_commit_callbacks
    )
    deliver_wechat_messages()

    visit.refresh_from_db()
    assert visit.status == VisitStatus.CHECKED_IN
    arrival = only_message(wechat_office.sandbox.inbox(employee.openid), "tpl-arrival")
    assert arrival.data["gate"]["value"] == "A1 闸机"
    # Everything went by WeChat: the only texts were the two one-time codes.
    assert sorted(Notification.objects.filter(channel="sms").values_list("purpose", flat=True)) == [
        "one_time_code",
        "one_time_code",
    ]


def test_a_visitor_scans_the_hosts_own_code_and_applies_without_typing_the_host(
    alpha: Building,
    wechat_office: WeChatOffice,
    host: Host,
    gate: Gate,
    broker: RedisServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    employee = employee_binds(alpha, wechat_office, host)
    visitor = wechat_office.user("韩梅梅")

    client = visitor_applies(
        wechat_office, visitor, f"b:alpha:host:{host_invite_token(host)}", host_mobile=None
    )
    visit = Visit.objects.get(host=host)
    host_approves_in_wechat(wechat_office, employee, visit)
    pass_opens_the_turnstile(
        wechat_office, visitor, client, gate, broker, django_capture_on_commit_callbacks
    )
    deliver_wechat_messages()

    only_message(wechat_office.sandbox.inbox(employee.openid), "tpl-arrival")
    assert visit.visitor.mobile == E164 and visit.visitor.wechat_openid == visitor.openid


def test_a_host_invites_from_wechat_and_the_visitor_opens_the_forwarded_invitation(
    alpha: Building,
    wechat_office: WeChatOffice,
    host: Host,
    gate: Gate,
    broker: RedisServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    employee = employee_binds(alpha, wechat_office, host)
    form = employee.client.get("/wx/staff/invite/")
    assert form.status_code == 200 and 'id="registration"' in form.content.decode()
    data = request_form_data(host_mobile=None, form_version=None, **starting_now())
    data["form_version"] = re.search(
        r'name="form_version" value="(\d+)"', form.content.decode()
    ).group(1)  # type: ignore[union-attr]
    sent = employee.client.post("/wx/staff/invite/", data)
    assert sent.status_code == 302, sent.content.decode()[:3000]
    invitation = sent["Location"]
    assert invitation.startswith("/wx/invitations/")
    visit = Visit.objects.get(host=host, scenario="invite")
    assert visit.status == VisitStatus.APPROVED

    # The host forwards the card in WeChat; the visitor opens it there and takes the pass.
    visitor = wechat_office.user("韩梅梅")
    client = phone()
    assert sign_in_with_wechat(client, wechat_office, visitor.openid, invitation) == invitation
    opened = client.post(f"{invitation}open/")
    assert opened.status_code == 302 and opened["Location"].startswith("/p/")
    enter_with_the_pass_page(
        client, opened["Location"], gate, broker, django_capture_on_commit_callbacks
    )
    deliver_wechat_messages()

    only_message(wechat_office.sandbox.inbox(employee.openid), "tpl-arrival")
    # The visitor's WeChat is now linked to the invited number: later notices go there.
    assert WeChatLink.objects.get(openid=visitor.openid).mobile_index == visit.visitor.mobile_index
