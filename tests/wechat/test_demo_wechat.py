"""The demo's WeChat: its Official Account is stored once, and every (empty) sandbox the demo
starts learns it as stored, with the account's menu pushed as the console pushes it and the demo's
WeChat users under the same openids."""

from __future__ import annotations

import pytest
from django.test import override_settings

from integrations.wechat.sandbox import WeChatSandbox
from tenants.actions import platform_url
from tenants.models import Building, OfficialAccount
from tests.wechat_office import NOTICES, WeChatOffice
from visit_platform.notifications.demo import (
    DEMO_APPID,
    DEMO_TEMPLATES,
    DEMO_WECHAT_USERS,
    open_demo_wechat,
    seed_demo_wechat_account,
)
from visit_platform.notifications.wechat_accounts import picker_url

pytestmark = pytest.mark.django_db


def test_the_demo_account_is_stored_once_and_serves_the_building(alpha: Building) -> None:
    first = seed_demo_wechat_account("alpha")
    again = seed_demo_wechat_account("alpha")
    alpha.refresh_from_db()

    assert again.pk == first.pk
    assert OfficialAccount.objects.filter(appid=DEMO_APPID).count() == 1
    assert alpha.wechat_account_id == first.pk
    assert {notice: again.template_id(notice) for notice in NOTICES} == {
        notice: DEMO_TEMPLATES[notice][0] for notice in NOTICES
    }
    assert len(again.encoding_aes_key) == 43 and again.encoding_aes_key.isalnum()


def test_every_sandbox_the_demo_starts_knows_the_account_as_stored(alpha: Building) -> None:
    stored = seed_demo_wechat_account("alpha")
    seen = []
    for _ in range(2):  # the demo run twice: each time a new sandbox, empty
        sandbox = WeChatSandbox()
        with sandbox.serve() as base_url, override_settings(WECHAT_API_BASE_URL=base_url):
            users = open_demo_wechat(sandbox, stored, "alpha")
        remote = sandbox.accounts[DEMO_APPID]
        seen.append((remote.secret, remote.token, remote.encoding_aes_key))
        assert remote.callback_url == platform_url(f"/wechat/{DEMO_APPID}/")
        assert remote.h5_entry == "/wx/start/?next="
        assert remote.templates["demo-pass-link"] == "通行证已签发 Pass issued"
        assert remote.menu == {
            "button": [
                {"type": "view", "name": "访客预约", "url": picker_url(stored, "request")},
                {"type": "click", "name": "我的通行证", "key": "MY_PASSES"},
                {"type": "view", "name": "员工服务", "url": picker_url(stored, "staff")},
            ]
        }
        assert [(u.openid, u.nickname, u.subscribed) for u in users] == [
            (user.openid, user.nickname, True) for user in DEMO_WECHAT_USERS
        ]

    assert seen == [(stored.secret, stored.token, stored.encoding_aes_key)] * 2


def test_an_account_the_building_already_has_is_kept_and_completed(
    alpha: Building, wechat_office: WeChatOffice
) -> None:
    wechat_office.account.templates = {"pass_link": "tpl-own"}
    wechat_office.account.save()

    account = seed_demo_wechat_account("alpha")

    assert account.pk == wechat_office.account.pk
    assert not OfficialAccount.objects.filter(appid=DEMO_APPID).exists()
    assert account.template_id("pass_link") == "tpl-own"
    assert account.template_id("arrival") == "demo-arrival"
