"""The building's WeChat Official Account as the platform uses it: its API client (token
shared through Redis), what its callback needs, and the delivery of one template message.

The account itself is a public-schema row (``tenants.models.OfficialAccount``); a building
has at most one. Every WeChat message is a notification (channel ``wechat``) with an SMS to
send instead when WeChat cannot deliver it (ADR 0015).
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import redis
from django.conf import settings

from integrations.wechat.callback import CallbackAccount, RedisSeenStore
from integrations.wechat.client import (
    PlatformWeChatClient,
    SendResult,
    WeChatEndpoints,
    make_client,
    make_oauth,
    send_template,
)
from tenants.db import current_schema
from tenants.models import Building, OfficialAccount

# Keys in Redis: the platform's, not a building's (an account serves several buildings).
SESSION_PREFIX = "wechat:session"
SEEN_PREFIX = "wechat:seen"


@cache
def _redis() -> redis.Redis:
    """One connection pool per process, for the token store and the callback's dedupe."""
    return redis.Redis.from_url(str(settings.REDIS_URL), socket_timeout=5)


def endpoints() -> WeChatEndpoints:
    """WeChat's servers, or the sandbox's when ``WECHAT_API_BASE_URL`` is set."""
    base = settings.WECHAT_API_BASE_URL
    return WeChatEndpoints.at(base) if base else WeChatEndpoints()


def client_for(account: OfficialAccount) -> PlatformWeChatClient:
    return make_client(
        account.appid, account.secret, redis=_redis(), endpoints=endpoints(), prefix=SESSION_PREFIX
    )


def oauth_for(account: OfficialAccount, redirect_uri: str, state: str = "") -> Any:
    return make_oauth(
        account.appid, account.secret, redirect_uri, state=state, endpoints=endpoints()
    )


def callback_account(account: OfficialAccount) -> CallbackAccount:
    return CallbackAccount(
        appid=account.appid,
        token=account.token,
        encoding_aes_key=account.encoding_aes_key,
        require_encryption=account.require_encryption,
    )


def seen_store() -> RedisSeenStore:
    return RedisSeenStore(_redis(), prefix=SEEN_PREFIX)


def account_of_building(schema: str | None = None) -> OfficialAccount | None:
    """The Official Account serving the building (the current one by default), if any."""
    building = (
        Building.objects.select_related("wechat_account")
        .filter(schema_name=schema or current_schema())
        .first()
    )
    return building.wechat_account if building is not None else None


def template_payload(template_id: str, data: dict[str, str], url: str = "") -> str:
    """What a WeChat notification keeps in ``payload``: WeChat's template message, with each
    value in WeChat's ``{"value": ...}`` shape."""
    return json.dumps(
        {
            "template_id": template_id,
            "url": url,
            "data": {key: {"value": value} for key, value in data.items()},
        },
        ensure_ascii=False,
    )


def deliver_template(openid: str, payload: str) -> SendResult:
    """Send one template message through the current building's account. Never raises:
    WeChat's refusals, its absence and an account removed meanwhile are all a ``SendResult``
    with an error code, and the caller falls back to SMS."""
    account = account_of_building()
    if account is None:
        return SendResult(40013, "The building has no WeChat Official Account any more.")
    try:
        message = json.loads(payload)
        template_id, data, url = message["template_id"], message["data"], message["url"]
    except (ValueError, KeyError, TypeError):
        return SendResult(40037, "The template message is malformed.")
    if not template_id:
        return SendResult(40037, "The account has no template for this notice.")
    try:
        return send_template(client_for(account), openid, template_id, data, url=url or None)
    except redis.RedisError as error:
        # Without the shared token store no token can be fetched safely: treat as unreachable.
        return SendResult(-1, f"Token store unavailable: {type(error).__name__}")
