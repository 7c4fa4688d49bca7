"""WeChat's JS-SDK on a building's H5 pages: the values of ``wx.config`` for one page,
signed with the Official Account's jsapi ticket, with which the page may set the card WeChat
shows when it is forwarded (``updateAppMessageShareData``).

The ticket is fetched through the account's client and kept in the shared Redis store with
the access token (wechatpy's ``get_jsapi_ticket``), so every process uses one ticket until it
expires, as WeChat asks (fetches are counted).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

import redis
import requests
from wechatpy.exceptions import WeChatClientException

from visit_platform.notifications.wechat import account_of_building, client_for

JS_SDK_SCRIPT = "https://res.wx.qq.com/open/js/jweixin-1.6.0.js"


@dataclass(frozen=True)
class JsSdkConfig:
    """``wx.config``'s values, named as WeChat's script wants them (see ``as_dict``)."""

    app_id: str
    timestamp: int
    nonce_str: str
    signature: str

    def as_dict(self) -> dict[str, object]:
        return {
            "appId": self.app_id,
            "timestamp": self.timestamp,
            "nonceStr": self.nonce_str,
            "signature": self.signature,
        }


def in_wechat(user_agent: str) -> bool:
    """Whether the page was opened in WeChat's browser (which alone runs the JS-SDK)."""
    return "MicroMessenger" in user_agent


def js_sdk_config(url: str) -> JsSdkConfig | None:
    """``wx.config`` for the page at ``url`` (its whole address as the browser shows it; the
    fragment is not signed), or None when the building has no account or WeChat gave no
    ticket: the page then works without the JS-SDK."""
    account = account_of_building()
    if account is None:
        return None
    client = client_for(account)
    try:
        ticket = str(client.jsapi.get_jsapi_ticket())
    except (WeChatClientException, requests.RequestException, redis.RedisError, KeyError):
        return None
    nonce = secrets.token_hex(8)
    timestamp = int(time.time())
    signature = client.jsapi.get_jsapi_signature(nonce, ticket, timestamp, url.split("#")[0])
    return JsSdkConfig(account.appid, timestamp, nonce, str(signature))
