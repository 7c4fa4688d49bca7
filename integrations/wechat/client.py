"""The platform's side of WeChat's API: wechatpy's client, pointed at a configurable base.

Production uses WeChat's servers (``WeChatEndpoints()``); the demo and the tests use the
sandbox (``WeChatEndpoints.at(base_url)``); the code is the same. The access token lives in
Redis (wechatpy's ``RedisStorage``): every process of every server shares one token, as WeChat
wants (each fetch invalidates the previous token after a while, and fetches are counted).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests
from wechatpy import WeChatClient, WeChatOAuth
from wechatpy.exceptions import WeChatClientException
from wechatpy.session.redisstorage import RedisStorage

logger = logging.getLogger(__name__)

# WeChat's answers meaning "this access token is no good": invalid (40001, 40014), expired.
TOKEN_REFUSED = frozenset({40001, 40014, 42001})
# Our code for "WeChat did not answer" (down, timed out, HTTP error): WeChat's own -1 means
# "system busy", which calls for the same handling.
UNREACHABLE = -1
REQUEST_TIMEOUT_SECONDS = 5


@dataclass(frozen=True)
class WeChatEndpoints:
    """Where WeChat's servers are: ``api`` (API calls), ``open`` (the OAuth page), ``mp``
    (QR code images). One base URL for all three in the sandbox."""

    api: str = "https://api.weixin.qq.com"
    open: str = "https://open.weixin.qq.com"
    mp: str = "https://mp.weixin.qq.com"

    @classmethod
    def at(cls, base_url: str) -> WeChatEndpoints:
        base = base_url.rstrip("/")
        return cls(api=base, open=base, mp=base)


class PlatformWeChatClient(WeChatClient):
    """wechatpy's client with the endpoints configurable and one token refresh per call.

    wechatpy's own retry (``auto_retry``) fetches a token and retries without a bound, and its
    token URL is fixed to WeChat's: both are replaced here.
    """

    def __init__(
        self, appid: str, secret: str, *, endpoints: WeChatEndpoints, session: Any, timeout: float
    ) -> None:
        super().__init__(appid, secret, session=session, timeout=timeout, auto_retry=False)
        self.endpoints = endpoints
        self.API_BASE_URL = f"{endpoints.api}/cgi-bin/"

    def fetch_access_token(self) -> dict[str, Any]:
        result: dict[str, Any] = self._fetch_access_token(
            url=f"{self.endpoints.api}/cgi-bin/token",
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
        )
        return result

    def _request(self, method: str, url_or_endpoint: str, **kwargs: Any) -> Any:
        used = self.access_token  # fetched here when there is none yet
        try:
            return super()._request(method, url_or_endpoint, **_fresh(kwargs))
        except WeChatClientException as error:
            if error.errcode not in TOKEN_REFUSED:
                raise
        # Another process may have fetched a new token already; fetch only if it has not.
        if self.session.get(self.access_token_key) == used:
            logger.info("WeChat refused the access token of %s; fetching a new one", self.appid)
            self.fetch_access_token()
        return super()._request(method, url_or_endpoint, **_fresh(kwargs))


def _fresh(kwargs: dict[str, Any]) -> dict[str, Any]:
    """wechatpy writes the token into ``params`` and encodes ``data`` in place: a retry starts
    from a copy of what the caller gave."""
    copied = dict(kwargs)
    if isinstance(copied.get("params"), dict):
        copied["params"] = dict(copied["params"])
    return copied


def make_client(
    appid: str,
    secret: str,
    *,
    redis: Any,
    endpoints: WeChatEndpoints | None = None,
    timeout: float = REQUEST_TIMEOUT_SECONDS,
    prefix: str = "wechat:session",
) -> PlatformWeChatClient:
    """A client for one Official Account whose token is shared through ``redis``."""
    return PlatformWeChatClient(
        appid,
        secret,
        endpoints=endpoints or WeChatEndpoints(),
        session=RedisStorage(redis, prefix=prefix),
        timeout=timeout,
    )


def make_oauth(
    appid: str,
    secret: str,
    redirect_uri: str,
    *,
    state: str = "",
    endpoints: WeChatEndpoints | None = None,
) -> WeChatOAuth:
    """wechatpy's OAuth (``snsapi_base``: the openid, no prompt) against ``endpoints``."""
    where = endpoints or WeChatEndpoints()
    oauth = WeChatOAuth(appid, secret, redirect_uri, scope="snsapi_base", state=state)
    oauth.API_BASE_URL = f"{where.api}/"
    oauth.OAUTH_BASE_URL = f"{where.open}/connect/"
    return oauth


def qrcode_image_url(ticket: str, endpoints: WeChatEndpoints | None = None) -> str:
    """Where the image of a scene QR code made by ``client.qrcode.create`` is downloaded."""
    where = endpoints or WeChatEndpoints()
    return f"{where.mp}/cgi-bin/showqrcode?ticket={quote(ticket)}"


@dataclass(frozen=True)
class SendResult:
    """What became of a template message: ``errcode`` 0 and WeChat's ``msgid`` when sent;
    otherwise WeChat's code (43004 not subscribed, 40003 bad openid, 45009 quota, ...) or
    ``UNREACHABLE``, and the caller sends the notice by SMS instead."""

    errcode: int
    errmsg: str
    msgid: int | None = None

    @property
    def sent(self) -> bool:
        return self.errcode == 0


def send_template(
    client: WeChatClient,
    openid: str,
    template_id: str,
    data: dict[str, Any],
    url: str | None = None,
) -> SendResult:
    """Send a template message; never raise for WeChat's refusals or absence."""
    try:
        answer = client.message.send_template(openid, template_id, data, url=url)
    except WeChatClientException as error:
        if error.errcode is None:
            return SendResult(UNREACHABLE, f"HTTP error from WeChat: {error.response}")
        return SendResult(int(error.errcode), str(error.errmsg))
    except requests.RequestException as error:
        return SendResult(UNREACHABLE, f"WeChat unreachable: {type(error).__name__}")
    return SendResult(0, str(answer.get("errmsg", "ok")), int(answer["msgid"]))
