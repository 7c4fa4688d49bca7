"""The WeChat journey in a real browser, on phones with WeChat's user agent, through the sandbox:
an employee binds their WeChat, a visitor opens the host's personal code, links their mobile and
applies, the host approves from the WeChat message, the visitor's pass arrives in WeChat and
its rotating code opens the gate, and My visits opens in WeChat without asking again.

Every H5 page is reached as WeChat reaches it: through the account's OAuth at the sandbox, whose
authorize page answers for the user holding the phone (the ``sandbox_openid`` cookie on the
sandbox's host). Messages go through the notification log: the live server queues them as it
commits, and this test hands each queued one to ``deliver_notification`` (the real delivery
code the Celery task runs) and reads it from the sandbox's inbox, as the phone shows it.
Screenshots at phone width, and of the approval and pass pages at desktop width too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone
from django_tenants.utils import schema_context

from integrations.wechat.sandbox import WECHAT_USER_AGENT, ReceivedMessage, WeChatSandbox
from tenants.models import Building, OfficialAccount
from tests.browser.conftest import LiveBuilding, screenshot, wait_for
from visit_platform.access.actions import create_gate, decide_scan
from visit_platform.access.actions.arrivals import tell_host_of_arrival
from visit_platform.access.models import Gate
from visit_platform.access.printing import qr_svg
from visit_platform.audit.actions import Actor
from visit_platform.directory.invite_tokens import host_invite_token
from visit_platform.directory.models import Host
from visit_platform.notifications.actions import deliver_notification
from visit_platform.notifications.demo import open_demo_wechat, seed_demo_wechat_account
from visit_platform.notifications.models import Notification
from visit_platform.visits.models import Visit

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1360, "height": 820}
HOST_MOBILE = "13911110001"  # 张伟 of the demo directory
VISITOR_MOBILE = "13800138777"
VISITOR_NAME = "李华"

T = TypeVar("T")


@dataclass
class Journey:
    """The live building's WeChat: the sandbox at ``base_url``, the two WeChat users, a gate."""

    live: LiveBuilding
    sandbox: WeChatSandbox
    base_url: str
    visitor_openid: str
    host_openid: str
    gate: Gate
    db_blocker: Any

    @property
    def schema(self) -> str:
        return self.live.building.schema_name


@pytest.fixture(scope="module")
def journey(live_building: LiveBuilding, django_db_blocker: Any) -> Iterator[Journey]:
    """The demo's Official Account for the live building, served by a sandbox the live server
    thread calls, and a gate; committed (the live server sees only committed rows) and removed
    again afterwards."""
    schema = live_building.building.schema_name
    sandbox = WeChatSandbox()
    port = str(urlsplit(live_building.url).port)
    with (
        sandbox.serve() as base_url,
        override_settings(WECHAT_API_BASE_URL=base_url, PUBLIC_PORT=port),
    ):
        with django_db_blocker.unblock():
            # An earlier browser module's clean-up may have ended this thread's connection.
            connection.close()
            account = seed_demo_wechat_account(schema)
            visitor, host = open_demo_wechat(sandbox, account, schema)
            with schema_context(schema):
                gate = create_gate(Actor.system("tests"), name="A1 闸机", direction="both")
        try:
            yield Journey(
                live_building,
                sandbox,
                base_url,
                visitor.openid,
                host.openid,
                gate,
                django_db_blocker,
            )
        finally:
            with django_db_blocker.unblock():
                Building.objects.filter(schema_name=schema).update(wechat_account=None)
                OfficialAccount.objects.filter(pk=account.pk).delete()


def in_wechat(browser: Any, journey: Journey, openid: str, viewport: dict[str, int] = PHONE) -> Any:
    """A browser context as the WeChat of ``openid``: WeChat's user agent, Simplified Chinese,
    and the sandbox's authorize page answering for that user."""
    phone = viewport == PHONE
    context = browser.new_context(
        viewport=viewport,
        device_scale_factor=2 if phone else 1,
        is_mobile=phone,
        has_touch=phone,
        locale="zh-CN",
        user_agent=WECHAT_USER_AGENT,
    )
    context.add_cookies([{"name": "sandbox_openid", "value": openid, "url": journey.base_url}])
    return context


def open_in_wechat(page: Any, journey: Journey, next_path: str) -> None:
    """Open a page of the building as a WeChat menu or code does: its OAuth entry first."""
    page.goto(f"{journey.live.url}/wx/start/?next={quote(next_path, safe='')}")
    page.wait_for_url(f"{journey.live.url}{next_path.split('?')[0]}**")


def committed(journey: Journey, work: Callable[[], T]) -> T:
    """Run ``work`` in the live building as a worker process would: on a database connection
    of its own, committed, outside this test's rolled-back transaction (which the live server
    could not see, and whose row locks it would wait for)."""

    def run() -> T:
        try:
            with schema_context(journey.schema):
                return work()
        finally:
            connection.close()  # this thread's own connection

    with journey.db_blocker.unblock(), ThreadPoolExecutor(max_workers=1) as worker:
        return worker.submit(run).result()


def texted_code(journey: Journey, mobile: str) -> str:
    """The code in the latest SMS to ``mobile``, read from the log as the phone's owner would."""

    def read() -> str:
        for notice in Notification.objects.filter(purpose="one_time_code").order_by("-id"):
            if notice.recipient == f"+86{mobile}":  # encrypted at rest: compared after reading
                found = re.search(r"\b(\d{6})\b", notice.text)
                assert found, notice.text
                return found.group(1)
        raise AssertionError(f"no code was texted to {mobile}")

    return committed(journey, read)


def delivered(journey: Journey, purpose: str, openid: str) -> ReceivedMessage:
    """Deliver the queued WeChat notice of ``purpose`` as the Celery task does, and return
    what arrived in the WeChat of ``openid``."""

    def deliver() -> None:
        queued = Notification.objects.filter(purpose=purpose, channel="wechat", status="queued")
        ids = [notice.pk for notice in queued if notice.recipient == openid]
        assert len(ids) == 1, f"{len(ids)} {purpose} notices queued for {openid}"
        sent = deliver_notification(ids[0])
        assert sent is not None and sent.status == "sent", sent and sent.last_error

    committed(journey, deliver)
    return journey.sandbox.inbox(openid)[-1]


def test_an_employee_binds_a_visitor_applies_the_host_approves_and_the_pass_opens_the_gate(
    journey: Journey, browser: Any
) -> None:
    from playwright.sync_api import expect

    url = journey.live.url

    # 1. 员工服务: zhang.wei proves the mobile his company registered and binds his WeChat.
    host_context = in_wechat(browser, journey, journey.host_openid)
    host = host_context.new_page()
    open_in_wechat(host, journey, "/wx/staff/")
    expect(host.locator("#staff-bind")).to_have_attribute("data-step", "mobile")
    host.fill("#mobile", HOST_MOBILE)
    with host.expect_navigation():
        host.click("#mobile-form button[type=submit]")
    expect(host.locator("#staff-bind")).to_have_attribute("data-step", "code")
    expect(host.locator("#staff-bind")).to_contain_text("139 **** 0001")
    host.fill("#code", texted_code(journey, HOST_MOBILE))
    with host.expect_navigation():
        host.click("#code-form button[type=submit]")
    assert urlsplit(host.url).path == "/wx/staff/"
    expect(host.locator("#employee")).to_have_text("张*")
    expect(host.locator("#company")).to_have_text("星河科技有限公司")
    expect(host.get_by_role("status")).to_have_text("您的微信已绑定到星河科技有限公司的张*。")
    expect(host.locator("#nothing-waiting")).to_be_visible()
    assert "张伟" not in host.content()
    screenshot(host, "wechat-staff-bound")
    zhang_wei = committed(journey, lambda: Host.objects.get(mobile=f"+86{HOST_MOBILE}"))
    assert zhang_wei.wechat_openid == journey.host_openid
    host_code = committed(journey, lambda: host_invite_token(zhang_wei))

    # 2. The visitor scans zhang.wei's personal code: the request form, with the host chosen.
    visitor_context = in_wechat(browser, journey, journey.visitor_openid)
    visitor = visitor_context.new_page()
    open_in_wechat(visitor, journey, f"/visit/request/?host={host_code}")
    expect(visitor.locator("#fixed-host")).to_contain_text("张伟")
    expect(visitor.locator("#fixed-host")).to_contain_text("星河科技有限公司")
    expect(visitor.locator("#id_host_mobile")).to_have_count(0)
    # Linking the WeChat to the mobile, from the form, with the code texted to it.
    with visitor.expect_navigation():
        visitor.click("#link-wechat a")
    expect(visitor.locator("#link-wechat")).to_have_attribute("data-step", "mobile")
    visitor.fill("#mobile", VISITOR_MOBILE)
    with visitor.expect_navigation():
        visitor.click("#mobile-form button[type=submit]")
    expect(visitor.locator("#link-wechat")).to_have_attribute("data-step", "code")
    expect(visitor.locator("#link-wechat")).to_contain_text("138 **** 8777")
    visitor.fill("#code", texted_code(journey, VISITOR_MOBILE))
    screenshot(visitor, "wechat-visitor-link")
    with visitor.expect_navigation():
        visitor.click("#code-form button[type=submit]")
    # Back on the form, applying with the linked number.
    assert urlsplit(visitor.url).path == "/visit/request/"
    expect(visitor.locator("#linked-wechat")).to_be_visible()
    expect(visitor.locator("#fixed-host")).to_contain_text("张伟")
    visitor.fill("#id_visitor_name", VISITOR_NAME)
    # The number just proved is filled in, and stays the one the visit is made with.
    mobile = visitor.locator("#id_visitor_mobile")
    expect(mobile).to_have_value("138 0013 8777")
    expect(mobile).not_to_be_editable()
    visitor.select_option("#id_purpose", "business")
    # From now (in the building's time), so that the pass is valid at once and shows its code.
    now = datetime.now(ZoneInfo(journey.live.building.time_zone))
    visitor.fill("#id_visit_start", f"{now:%Y-%m-%dT%H:%M}")
    visitor.fill("#id_visit_end", f"{now + timedelta(hours=2):%Y-%m-%dT%H:%M}")
    visitor.evaluate("document.activeElement.blur()")
    screenshot(visitor, "wechat-visitor-form")
    with visitor.expect_navigation():
        visitor.click("button.ff-submit")
    expect(visitor.locator("#sent")).to_be_visible()
    expect(visitor.locator("#sent h1")).to_have_text("您的申请已提交")
    screenshot(visitor, "wechat-visitor-sent")

    # 3. The host's WeChat gets the request; its link opens the approval page.
    request = delivered(journey, "approval_request", journey.host_openid)
    assert request.template_id == "demo-approval-request"
    assert request.data["visitor"]["value"] == "李*"
    approval_url = request.url
    assert approval_url.startswith(f"{url}/wx/tasks/"), approval_url
    host.goto(approval_url)
    expect(host.locator("#approval h1")).to_have_text("待您审批的访问")
    expect(host.locator("#visitor")).to_have_text("李*")
    expect(host.locator("#approval")).to_contain_text("商务洽谈")
    expect(host.locator("footer")).to_have_text("时间为当地时间（Asia/Shanghai）。")
    assert VISITOR_NAME not in host.content() and VISITOR_MOBILE not in host.content()
    screenshot(host, "wechat-host-approval")
    desktop_context = in_wechat(browser, journey, journey.host_openid, DESKTOP)
    desktop = desktop_context.new_page()
    open_in_wechat(desktop, journey, urlsplit(approval_url).path)
    expect(desktop.locator("#visitor")).to_have_text("李*")
    screenshot(desktop, "wechat-host-approval-desktop", full_page=False)
    desktop_context.close()
    with host.expect_navigation():
        host.click("#approve")
    expect(host.locator("#decided")).to_have_attribute("data-status", "approved")
    expect(host.locator("#decided h1")).to_have_text("已批准")
    # The message's link opened again: decided already, said plainly.
    response = host.goto(approval_url)
    assert response is not None and response.status == 409
    expect(host.locator("#problem")).to_have_text("此访问已不在待审批状态：已批准。")

    # The visitor's WeChat gets the pass; its link opens the pass page with the rotating code.
    issued = delivered(journey, "pass_link", journey.visitor_openid)
    assert issued.template_id == "demo-pass-link"
    assert issued.data["visitor"]["value"] == "李*"
    pass_url = issued.url
    assert re.fullmatch(rf"{re.escape(url)}/p/[\w-]+/", pass_url), pass_url
    visitor.goto(pass_url)
    expect(visitor.locator("#pass")).to_have_attribute("data-state", "valid")
    expect(visitor.locator("#state-label")).to_have_text("有效")
    expect(visitor.locator("#qr svg")).to_have_count(1)
    assert visitor.locator("#qr svg").bounding_box()["width"] > 250
    expect(visitor.locator(".m-name")).to_have_text("李*")
    screenshot(visitor, "wechat-visitor-pass")
    desktop_context = in_wechat(browser, journey, journey.visitor_openid, DESKTOP)
    desktop = desktop_context.new_page()
    desktop.goto(pass_url)
    expect(desktop.locator("#qr svg")).to_have_count(1)
    screenshot(desktop, "wechat-visitor-pass-desktop", full_page=False)
    desktop_context.close()

    # The code on the screen opens the gate: the token the page itself fetched and drew.
    token = shown_token(visitor, pass_url)
    decision = committed(journey, lambda: decide_scan(gate=journey.gate, token=token))
    assert (decision.granted, decision.reason) == (True, "granted")
    visit = committed(journey, lambda: Visit.objects.get(scenario="request"))
    assert visit.status == "checked_in"
    # What the worker does after the gate's commit: the host is told of the arrival.
    committed(journey, lambda: tell_host_of_arrival(visit.pk, journey.gate.pk, timezone.now()))
    arrival = delivered(journey, "arrival", journey.host_openid)
    assert arrival.template_id == "demo-arrival"
    assert arrival.data["visitor"]["value"] == "李*"
    assert arrival.data["gate"]["value"] == "A1 闸机"

    # 4. My visits from the menu, in a new session of the same WeChat: no code asked again.
    codes = Notification.objects.filter(purpose="one_time_code")
    codes_before = committed(journey, codes.count)
    later_context = in_wechat(browser, journey, journey.visitor_openid)
    later = later_context.new_page()
    later.goto(f"{url}/wx/start/?next=/wx/me/")
    later.wait_for_url(f"{url}/me/**")  # My visits, with WeChat's #wechat_redirect
    assert urlsplit(later.url).path == "/me/"
    expect(later.locator("#sign-in")).to_have_count(0)
    card = later.locator("article.m-visit")
    expect(card).to_have_count(1)
    expect(card).to_have_attribute("data-visit", str(visit.pk))
    expect(card).to_contain_text("张*")
    assert later.locator("article.m-visit").bounding_box()["width"] <= PHONE["width"]
    screenshot(later, "wechat-visitor-my-visits")
    assert committed(journey, codes.count) == codes_before
    for context in (later_context, visitor_context, host_context):
        context.close()


def shown_token(page: Any, pass_url: str) -> str:
    """The token of the QR code on the pass page: the page is reloaded to refresh its code
    every second, one of its own fetches is caught, and the code it then draws must be that
    token's (rendered again by the server's own renderer, module for module)."""
    with page.expect_response(lambda r: "/token" in r.url and r.status == 200) as caught:
        page.goto(f"{pass_url}?refresh=1")
    answer = caught.value.json()
    token = answer["token"]
    assert token and answer["state"] == "valid"
    modules = re.search(r'\bd="([^"]+)"', str(qr_svg(token)))
    assert modules is not None
    wait_for(
        page,
        "d => { const p = document.querySelector('#qr svg path');"
        " return p !== null && p.getAttribute('d') === d; }",
        arg=modules.group(1),
        timeout=10_000,
    )
    return str(token)
