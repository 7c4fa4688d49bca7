"""The WeChat sandbox's simulated phone in a real browser, on a phone's viewport with WeChat's
user agent: the account's menu, a template message arriving while the page is open, and the
building's H5 page opened from it through the sandbox's OAuth as the phone's user.

The live building gets the demo's WeChat (``notifications.demo``): its Official Account, served
by a sandbox on a free port that the live server thread is pointed at.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from django.db import close_old_connections
from django.test import override_settings

from integrations.wechat.sandbox import WECHAT_USER_AGENT, SandboxUser, WeChatSandbox
from tenants.models import Building, OfficialAccount
from tests.browser.conftest import LiveBuilding, screenshot
from visit_platform.notifications.demo import open_demo_wechat, seed_demo_wechat_account

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

PHONE = {"width": 390, "height": 844}


@dataclass
class WeChatPhones:
    sandbox: WeChatSandbox
    base_url: str
    account: OfficialAccount
    visitor: SandboxUser
    host: SandboxUser


@pytest.fixture(scope="module")
def phones(live_building: LiveBuilding, django_db_blocker: Any) -> Iterator[WeChatPhones]:
    """The demo's WeChat for the live building, committed (the live server sees only committed
    rows), and removed again afterwards."""
    schema = live_building.building.schema_name
    sandbox = WeChatSandbox()
    port = str(urlsplit(live_building.url).port)
    # Links, OAuth redirects and the menu name the live server's port; the live server thread
    # calls WeChat at the sandbox.
    with (
        sandbox.serve() as base_url,
        override_settings(WECHAT_API_BASE_URL=base_url, PUBLIC_PORT=port),
    ):
        with django_db_blocker.unblock():
            close_old_connections()
            account = seed_demo_wechat_account(schema)
            visitor, host = open_demo_wechat(sandbox, account, schema)
        try:
            yield WeChatPhones(sandbox, base_url, account, visitor, host)
        finally:
            with django_db_blocker.unblock():
                close_old_connections()
                Building.objects.filter(schema_name=schema).update(wechat_account=None)
                OfficialAccount.objects.filter(pk=account.pk).delete()


@pytest.fixture
def phone(phones: WeChatPhones, browser: Any) -> Iterator[Any]:
    context = browser.new_context(
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        user_agent=WECHAT_USER_AGENT,
    )
    page = context.new_page()
    yield page
    context.close()


PASS_ISSUED = {
    "first": "您的访问已获批准，通行证已签发",
    "keyword1": "韩**",
    "keyword2": "星河科技有限公司 · 张伟",
    "keyword3": "今天 14:00 – 17:00",
    "remark": "点击详情，在闸机出示二维码",
}
REQUEST_TO_APPROVE = {
    "first": "有一位访客预约拜访您",
    "keyword1": "韩**",
    "keyword2": "今天 14:00 – 17:00",
    "keyword3": "商务洽谈",
    "remark": "点击详情，同意或拒绝",
}


def send_template(
    phones: WeChatPhones, openid: str, notice: str, data: dict[str, str], url: str
) -> None:
    """A notice sent through the sandbox's API with an access token, as WeChat takes it."""
    token = requests.get(
        f"{phones.base_url}/cgi-bin/token",
        params={
            "grant_type": "client_credential",
            "appid": phones.account.appid,
            "secret": phones.account.secret,
        },
        timeout=5,
    ).json()["access_token"]
    answer = requests.post(
        f"{phones.base_url}/cgi-bin/message/template/send",
        params={"access_token": token},
        json={
            "touser": openid,
            "template_id": phones.account.template_id(notice),
            "url": url,
            "data": {key: {"value": value} for key, value in data.items()},
        },
        timeout=5,
    ).json()
    assert answer["errcode"] == 0, answer


def test_the_phone_shows_the_menu_a_message_and_opens_the_building_page_as_its_user(
    phones: WeChatPhones, phone: Any, live_building: LiveBuilding
) -> None:
    page = phone.goto(f"{phones.base_url}/phone/{phones.visitor.openid}")

    assert page.status == 200
    assert phone.locator(".bar h1").inner_text() == "演示大厦物业 Demo Tower Property"
    assert phone.locator(".menu .item").all_inner_texts() == ["访客预约", "我的通行证", "员工服务"]
    assert phone.locator(".menu").bounding_box()["y"] > 700  # at the bottom, as in WeChat
    screenshot(phone, "wechat-phone-1-menu", full_page=False)

    # The platform sends a template message while the page is open: the page polls for it.
    send_template(
        phones, phones.visitor.openid, "pass_link", PASS_ISSUED, f"{live_building.url}/wx/"
    )
    card = phone.locator("article.template")
    card.wait_for(timeout=10_000)
    assert card.locator("h2").inner_text() == "通行证已签发 Pass issued"
    assert "星河科技有限公司 · 张伟" in card.inner_text()
    screenshot(phone, "wechat-phone-2-message", full_page=False)

    # "详情" opens the page in the phone, through WeChat's OAuth as the visitor.
    card.get_by_text("详情 Details").click()
    phone.wait_for_url(f"{live_building.url}/wx/**")
    assert urlsplit(phone.url).path == "/wx/"
    assert phone.locator("#wechat-home").count() == 1
    assert "MicroMessenger" in phone.evaluate("navigator.userAgent")
    screenshot(phone, "wechat-phone-3-h5-page", full_page=False)

    # The menu's 访客预约 opens the request form, signed in again as the phone's user.
    phone.goto(f"{phones.base_url}/phone/{phones.visitor.openid}")
    phone.get_by_role("link", name="访客预约").click()
    phone.wait_for_url(f"{live_building.url}/visit/request/**")
    assert phone.locator("form").count() >= 1
    assert [m.template_id for m in phones.sandbox.inbox(phones.visitor.openid)] == [
        "demo-pass-link"
    ]


def test_both_phones_side_by_side_on_a_desktop_open_pages_in_a_phone_sized_window(
    phones: WeChatPhones, browser: Any, live_building: LiveBuilding
) -> None:
    context = browser.new_context(viewport={"width": 1000, "height": 930}, locale="zh-CN")
    page = context.new_page()
    try:
        page.goto(f"{phones.base_url}/phone/")
        frames = page.locator("iframe")
        assert frames.count() == 2
        first, second = (frames.nth(i).bounding_box() for i in range(2))
        assert first["y"] == second["y"] and second["x"] > first["x"] + first["width"]
        assert first["y"] + first["height"] <= 930  # whole phones, in the window
        host_phone = page.frame_locator("iframe").nth(1)
        assert host_phone.locator(".who").inner_text() == "张伟 zhang.wei"

        if not phones.sandbox.inbox(phones.visitor.openid):  # the test before sent one
            send_template(phones, phones.visitor.openid, "pass_link", PASS_ISSUED, "http://x/")
        send_template(
            phones,
            phones.host.openid,
            "approval_request",
            REQUEST_TO_APPROVE,
            f"{live_building.url}/wx/",
        )
        card = host_phone.locator("article.template")
        card.wait_for(timeout=10_000)
        assert card.locator("h2").inner_text() == "访客预约待审批 Visit request to approve"
        screenshot(page, "wechat-phone-0-side-by-side", full_page=False)
        with page.expect_popup() as opened:
            host_phone.get_by_text("详情 Details").click()
        window = opened.value
        window.wait_for_url(f"{live_building.url}/wx/**")
        assert urlsplit(window.url).path == "/wx/"
        assert page.url == f"{phones.base_url}/phone/"  # the phones stay where they were
    finally:
        context.close()
