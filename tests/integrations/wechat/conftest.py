"""Fixtures for the WeChat tests: a real Redis (REDIS_URL), the sandbox served on a free port,
and a tiny callback server that uses integrations.wechat.callback as the platform's view will.

No network: everything listens on 127.0.0.1. Each test's Redis keys carry a prefix of their
own and are deleted afterwards.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import pytest
import redis
from django.conf import settings

from integrations.wechat import callback
from integrations.wechat.sandbox import SandboxAccount, WeChatSandbox, serve_wsgi

APPID = "wx5a1db0x0sandbox"


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    prefix = f"test-wechat-{secrets.token_hex(4)}"
    yield prefix
    client = redis.Redis.from_url(settings.REDIS_URL)
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)
    client.close()


@pytest.fixture
def redis_client(redis_prefix: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(settings.REDIS_URL)
    yield client
    client.close()


@pytest.fixture
def seen(redis_client: redis.Redis, redis_prefix: str) -> callback.RedisSeenStore:
    return callback.RedisSeenStore(redis_client, prefix=f"{redis_prefix}:seen")


@pytest.fixture
def sandbox() -> WeChatSandbox:
    return WeChatSandbox()


@pytest.fixture
def account(sandbox: WeChatSandbox) -> SandboxAccount:
    return sandbox.add_account(APPID)


@pytest.fixture
def sandbox_url(sandbox: WeChatSandbox) -> Iterator[str]:
    with sandbox.serve() as base_url:
        yield base_url


@pytest.fixture
def wechat(account: SandboxAccount) -> callback.CallbackAccount:
    """The platform's view of the sandbox's account: same appid, token and key."""
    return callback.CallbackAccount(
        appid=account.appid, token=account.token, encoding_aes_key=account.encoding_aes_key
    )


@dataclass
class CallbackServer:
    """What the tiny callback server received and refused, for the test to read."""

    url: str
    received: list[callback.Inbound] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


@pytest.fixture
def callback_server(
    account: SandboxAccount, wechat: callback.CallbackAccount, seen: callback.RedisSeenStore
) -> Iterator[CallbackServer]:
    """The platform's callback view in miniature: verify or receive, reply to text."""

    def application(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        query = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        try:
            if environ["REQUEST_METHOD"] == "GET":
                answer = callback.verify_url(wechat, query)
            else:
                length = int(environ.get("CONTENT_LENGTH") or 0)
                body = environ["wsgi.input"].read(min(length, callback.MAX_BODY_BYTES + 1))
                inbound = callback.receive(wechat, query, body, seen)
                server.received.append(inbound)
                text = f"收到: {inbound.text}" if inbound.kind == "text" else None
                answer = callback.reply(inbound, wechat, text)
        except callback.CallbackError as error:
            server.refused.append(error.code)
            if error.code == "replayed":
                start_response("200 OK", [("Content-Type", "text/plain")])
                return [callback.NO_REPLY.encode()]
            start_response("400 Bad Request", [("Content-Type", "text/plain")])
            return [error.code.encode()]
        start_response("200 OK", [("Content-Type", "application/xml; charset=utf-8")])
        return [answer.encode()]

    with serve_wsgi(application) as base_url:
        server = CallbackServer(url=f"{base_url}/wechat/{account.appid}/")
        yield server
