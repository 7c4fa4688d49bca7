"""The demo building's WeChat: an Official Account that the local WeChat sandbox answers for,
its menu, and two WeChat users whose simulated phones the demo prints.

The sandbox keeps its state in memory and the demo starts it empty each time, while the
account row and any host binding stay in the database: so the sandbox's account is made from
the stored row (same appid, secret, token and EncodingAESKey), and the users get fixed openids.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.db import transaction
from django_tenants.utils import schema_context

from integrations.wechat.sandbox import SandboxUser, WeChatSandbox
from tenants.actions import platform_url
from tenants.models import Building, OfficialAccount
from visit_platform.audit.actions import Actor
from visit_platform.notifications.choices import Purpose
from visit_platform.notifications.wechat_accounts import push_menu

DEMO_APPID = "wxde70000000000001"
DEMO_ACCOUNT_NAME = "演示大厦物业 Demo Tower Property"
# The platform's H5 pages begin with WeChat's OAuth here, then go on to ``next``.
WECHAT_ENTRY = "/wx/start/?next="
# One template per notice sent by WeChat (codes always go by SMS): its id and the title WeChat's
# template library gives it, which the phones show.
DEMO_TEMPLATES = {
    Purpose.PASS_LINK: ("demo-pass-link", "通行证已签发 Pass issued"),
    Purpose.APPROVAL_REQUEST: ("demo-approval-request", "访客预约待审批 Visit request to approve"),
    Purpose.DECISION: ("demo-decision", "预约审批结果 Decision on a visit request"),
    Purpose.REMINDER: ("demo-reminder", "访问提醒 Visit reminder"),
    Purpose.ESCALATION: ("demo-escalation", "审批超时 Approval overdue"),
    Purpose.ARRIVAL: ("demo-arrival", "访客到达通知 Visitor arrived"),
    Purpose.OVERSTAY: ("demo-overstay", "访客逾时逗留 Visitor still inside"),
}


@dataclass(frozen=True)
class DemoWeChatUser:
    openid: str
    nickname: str


# Fixed openids: a binding stored in the database still matches after the demo restarts.
DEMO_WECHAT_USERS = (
    DemoWeChatUser("o_demo_visitor_000000000001", "访客 Visitor"),
    DemoWeChatUser("o_demo_zhang_wei_0000000001", "张伟 zhang.wei"),  # host 张伟 of the directory
)


def seed_demo_wechat_account(schema: str) -> OfficialAccount:
    """The building's Official Account, made for the demo when it has none, with a template
    for every notice WeChat carries. Idempotent; an account configured otherwise is kept."""
    with transaction.atomic():
        building = Building.objects.select_for_update().get(schema_name=schema)
        account = building.wechat_account
        if account is None:
            account = OfficialAccount.objects.filter(appid=DEMO_APPID).first()
        if account is None:
            account = OfficialAccount.objects.create(
                name=DEMO_ACCOUNT_NAME,
                appid=DEMO_APPID,
                secret=secrets.token_hex(16),
                token=secrets.token_hex(8),
                encoding_aes_key=_new_aes_key(),
            )
        templates = dict(account.templates) if isinstance(account.templates, dict) else {}
        missing = {p: t for p, (t, _) in DEMO_TEMPLATES.items() if not templates.get(p)}
        if missing:
            account.templates = {**templates, **missing}
            account.save(update_fields=["templates", "updated_at"])
        if building.wechat_account_id != account.pk:
            building.wechat_account = account
            building.save(update_fields=["wechat_account"])
    return account


def open_demo_wechat(
    sandbox: WeChatSandbox, account: OfficialAccount, schema: str
) -> list[SandboxUser]:
    """Make ``account`` known to the (freshly started) sandbox as it is stored, with its
    callback on the platform's public host; push the account's menu as the console does
    (``push_menu``); add the demo's WeChat users. The sandbox must be served already, at
    ``settings.WECHAT_API_BASE_URL``."""
    sandbox.add_account(
        account.appid,
        secret=account.secret,
        token=account.token,
        encoding_aes_key=account.encoding_aes_key,
        name=account.name,
        callback_url=platform_url(f"/wechat/{account.appid}/"),
        templates={
            account.template_id(purpose): title
            for purpose, (_, title) in DEMO_TEMPLATES.items()
            if account.template_id(purpose)
        },
        h5_entry=WECHAT_ENTRY,
    )
    with schema_context(schema):
        push_menu(Actor.system("demo"), account)
    return [
        sandbox.add_user(account.appid, openid=user.openid, nickname=user.nickname)
        for user in DEMO_WECHAT_USERS
    ]


def _new_aes_key() -> str:
    """A 43-character EncodingAESKey (letters and digits), as WeChat's admin page makes them."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(43))
