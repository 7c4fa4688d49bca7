"""Helpers for the visitor's WeChat tests: a phone inside WeChat (the sandbox's OAuth), the SMS
codes as the visitor reads them from the notification log, and linking with one."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.test import Client
from django.utils import timezone

from forms.queries import current_version
from tenants.actions import building_domain
from tests.wechat_office import WeChatOffice, sign_in_with_wechat
from visit_platform.notifications.models import Notification
from visit_platform.visits.choices import Scenario

MOBILE = "13800000001"  # tests.access.conftest.make_visitor()'s number
E164 = "+8613800000001"
OTHER_MOBILE = "13700000002"
OTHER_E164 = "+8613700000002"
WECHAT_USER_AGENT = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI"
)


def phone(schema: str = "alpha", *, wechat: bool = True) -> Client:
    """A phone's browser on the building's domain (WeChat's, by its user agent), in English."""
    extra = {"HTTP_USER_AGENT": WECHAT_USER_AGENT} if wechat else {}
    client = Client(HTTP_HOST=building_domain(schema), **extra)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def in_wechat(office: WeChatOffice, openid: str, next_path: str, schema: str = "alpha") -> Client:
    """A phone whose WeChat user ``openid`` went through OAuth and landed on ``next_path``."""
    client = phone(schema)
    assert sign_in_with_wechat(client, office, openid, next_path) == next_path
    return client


def texted_code(mobile: str = E164) -> str:
    """The code in the latest SMS to ``mobile``, as the visitor reads it."""
    texts = [
        n.text
        for n in Notification.objects.filter(purpose="one_time_code").order_by("-id")
        if n.recipient == mobile
    ]
    assert texts, "no code was texted"
    match = re.search(r"\b(\d{6})\b", texts[0])
    assert match is not None, texts[0]
    return match.group(1)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def ask_for_code(client: Client, mobile: str = MOBILE, next_path: str = "/me/") -> Any:
    response = client.post("/wx/link/code/", {"mobile": mobile, "next": next_path})
    assert response.status_code == 200, response.content.decode()[:2000]
    assert 'data-step="code"' in response.content.decode()
    return response


def link_wechat(
    client: Client, mobile: str = MOBILE, e164: str = E164, next_path: str = "/me/"
) -> Any:
    """Link the phone's WeChat to ``mobile`` with the code texted to it."""
    ask_for_code(client, mobile, next_path)
    response = client.post(
        "/wx/link/check/", {"mobile": mobile, "code": texted_code(e164), "next": next_path}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return response


def shown_visit_ids(response: Any) -> list[int]:
    return [int(pk) for pk in re.findall(r'data-visit="(\d+)"', response.content.decode())]


def is_sign_in_page(response: Any) -> bool:
    return 'id="sign-in"' in response.content.decode()


def _local(moment: Any) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def request_form_data(**changes: Any) -> dict[str, Any]:
    """What a phone posts with the building's request form (for a host at 13911112222)."""
    start = (timezone.now() + timedelta(hours=3)).replace(second=0, microsecond=0)
    data = {
        "form_version": str(current_version(Scenario.REQUEST).pk),
        "submission_id": str(uuid.uuid4()),
        "visitor_name": "韩梅梅",
        "visitor_mobile": MOBILE,
        "host_mobile": "13911112222",
        "visit_start": _local(start),
        "visit_end": _local(start + timedelta(hours=2)),
        "purpose": "business",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}
