"""Helpers for the tests of employees in WeChat: the codes texted to a phone, a phone whose
WeChat user is signed in to a building's pages, and one bound to an employee."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.test import Client

from integrations.wechat.sandbox import SandboxUser
from tenants.models import Building
from tests.conftest import client_for
from tests.wechat_office import WeChatOffice, sign_in_with_wechat
from visit_platform.audit.actions import Actor
from visit_platform.directory.actions import bind_host_wechat
from visit_platform.directory.models import Host
from visit_platform.notifications.models import Notification

SYSTEM = Actor.system("tests")


def texted_code(mobile: str) -> str:
    """The last one-time code texted to ``mobile`` (E.164), read from the notification log
    as the person holding that phone would read it."""
    for notice in Notification.objects.filter(purpose="one_time_code").order_by("-id"):
        if notice.recipient == mobile:  # encrypted at rest: compared after reading
            found = re.search(r"\b(\d{6})\b", notice.text)
            assert found, notice.text
            return found.group(1)
    raise AssertionError(f"no code was texted to {mobile}")


@dataclass
class Phone:
    """A WeChat user's phone: their browser on the building's pages, signed in through OAuth."""

    user: SandboxUser
    client: Client

    @property
    def openid(self) -> str:
        return self.user.openid


def wechat_phone(
    building: Building, office: WeChatOffice, nickname: str = "", next_path: str = "/wx/staff/"
) -> Phone:
    user = office.user(nickname)
    client = client_for(building)
    sign_in_with_wechat(client, office, user.openid, next_path)
    return Phone(user, client)


def bound_phone(building: Building, office: WeChatOffice, host: Host) -> Phone:
    """The phone of ``host``, whose WeChat is bound to their record (binding itself is
    tested over HTTP in test_host_binding.py)."""
    phone = wechat_phone(building, office, host.name)
    bind_host_wechat(SYSTEM, host, phone.openid)
    host.refresh_from_db()
    return phone


def bind_over_http(phone: Phone, mobile: str) -> tuple[int, str]:
    """Ask for a code to ``mobile``, read it from that phone's texts, and bind with it:
    (status of the bind answer, its body)."""
    asked = phone.client.post("/wx/staff/code/", {"mobile": mobile})
    assert asked.status_code == 200, asked.content.decode()[:500]
    answer = phone.client.post("/wx/staff/bind/", {"mobile": mobile, "code": texted_code(mobile)})
    return answer.status_code, answer.content.decode()
