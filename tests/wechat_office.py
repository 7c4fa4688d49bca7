"""Fixtures for tests of the platform's WeChat side: the WeChat sandbox served on a free port
(``settings.WECHAT_API_BASE_URL`` pointed at it) and an Official Account row that serves the
``alpha`` building (and ``beta`` too, with ``serves_beta``), with a template for every notice.

Loaded for every test by ``tests/conftest.py`` (``pytest_plugins``). Each test gets an appid of
its own, so the access token shared in Redis never leaks from one test into another.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from django.test import Client, override_settings

from integrations.wechat.sandbox import SandboxAccount, SandboxUser, WeChatSandbox
from tenants.models import Building, OfficialAccount

# The notices an account has templates for (notification purposes).
NOTICES = (
    "approval_request",
    "pass_link",
    "decision",
    "reminder",
    "escalation",
    "arrival",
    "overstay",
)


@dataclass
class WeChatOffice:
    """WeChat's servers (``sandbox``, at ``base_url``) and the platform's account for them."""

    sandbox: WeChatSandbox
    base_url: str
    remote: SandboxAccount  # the account as WeChat knows it
    account: OfficialAccount  # the account as the platform stores it

    def user(self, nickname: str = "", *, subscribed: bool = True) -> SandboxUser:
        """A WeChat user who follows the account (or not): an openid of this account."""
        return self.sandbox.add_user(self.remote.appid, nickname=nickname, subscribed=subscribed)

    def serve(self, building: Building) -> None:
        """Let the account serve ``building`` as well."""
        building.wechat_account = self.account
        building.save(update_fields=["wechat_account"])


@pytest.fixture
def wechat_office(alpha: Building) -> Iterator[WeChatOffice]:
    sandbox = WeChatSandbox()
    remote = sandbox.add_account("wx" + secrets.token_hex(8))
    account = OfficialAccount.objects.create(
        name="Alpha Property",
        appid=remote.appid,
        secret=remote.secret,
        token=remote.token,
        encoding_aes_key=remote.encoding_aes_key,
        templates={notice: f"tpl-{notice}" for notice in NOTICES},
    )
    office = None
    with sandbox.serve() as base_url, override_settings(WECHAT_API_BASE_URL=base_url):
        office = WeChatOffice(sandbox, base_url, remote, account)
        office.serve(alpha)
        yield office


def sign_in_with_wechat(client: Client, office: WeChatOffice, openid: str, next_path: str) -> str:
    """Go through WeChat's OAuth as the user holding ``openid``'s phone would, from
    ``/wx/start/`` to the sandbox's authorize page and back; return where it led."""
    started = client.get("/wx/start/", {"next": next_path})
    assert started.status_code == 302, started.status_code
    authorize = started["Location"].split("#")[0]
    answer = requests.get(
        authorize, params={"sandbox_openid": openid}, allow_redirects=False, timeout=5
    )
    assert answer.status_code == 302, answer.text
    back = urlsplit(answer.headers["Location"])
    landed = client.get(back.path, dict(parse_qsl(back.query)))
    assert landed.status_code == 302, landed.content[:300]
    return str(landed["Location"])
