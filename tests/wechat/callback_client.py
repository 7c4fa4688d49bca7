"""Talking to the platform's WeChat callback as WeChat does, through Django's test client on
the platform's public host: requests signed and encrypted by the sandbox (wechatpy's crypto),
replies decrypted as WeChat reads them."""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import xmltodict
from django.conf import settings
from django.test import Client
from wechatpy.crypto import WeChatCrypto

from integrations.wechat.callback import signature
from tests.wechat_office import WeChatOffice


def public_client() -> Client:
    """A client on the platform's own host, where WeChat calls: with CSRF checks on, as for
    any caller without a session (WeChat sends no CSRF token)."""
    return Client(HTTP_HOST=settings.BASE_DOMAIN, enforce_csrf_checks=True)


@dataclass(frozen=True)
class Answer:
    """The callback's HTTP answer, and the reply WeChat would show the user (decrypted)."""

    status_code: int
    body: bytes
    reply: dict[str, Any] | None

    @property
    def text(self) -> str:
        return str((self.reply or {}).get("Content", ""))

    @property
    def problem(self) -> dict[str, Any]:
        return dict(json.loads(self.body))


def post(office: WeChatOffice, query: dict[str, str], body: bytes, appid: str = "") -> Answer:
    appid = appid or office.remote.appid
    response = public_client().post(
        f"/wechat/{appid}/?{urlencode(query)}", data=body, content_type="text/xml"
    )
    reply = read_reply(office, response.content) if response.status_code == 200 else None
    return Answer(response.status_code, response.content, reply)


def send(
    office: WeChatOffice, openid: str, event: str, *, mode: str = "safe", **details: Any
) -> Answer:
    """``openid`` does ``event`` in WeChat (see ``WeChatSandbox.event_xml``)."""
    fields = office.sandbox.event_xml(office.remote.appid, openid, event, **details)
    query, body = office.sandbox.signed_request(office.remote.appid, fields, mode=mode)
    return post(office, query, body)


def read_reply(office: WeChatOffice, answer: bytes) -> dict[str, Any] | None:
    """The reply as WeChat reads it: None for ``success`` or nothing, decrypted in safe mode."""
    if not answer.strip() or answer.strip() == b"success":
        return None
    document: dict[str, Any] = xmltodict.parse(answer)["xml"]
    if "Encrypt" in document:
        remote = office.remote
        crypto = WeChatCrypto(remote.token, remote.encoding_aes_key, remote.appid)
        inner = crypto.decrypt_message(
            document, document["MsgSignature"], document["TimeStamp"], document["Nonce"]
        )
        document = xmltodict.parse(inner)["xml"]
    return document


def sealed_at(office: WeChatOffice, plain: str, timestamp: str) -> tuple[dict[str, str], bytes]:
    """A safe-mode request for ``plain`` made at ``timestamp`` (to test the time window)."""
    remote = office.remote
    nonce = secrets.token_hex(5)
    crypto = WeChatCrypto(remote.token, remote.encoding_aes_key, remote.appid)
    sealed = xmltodict.parse(crypto.encrypt_message(plain, nonce, timestamp))["xml"]
    query = {
        "signature": signature(remote.token, timestamp, nonce),
        "timestamp": timestamp,
        "nonce": nonce,
        "encrypt_type": "aes",
        "msg_signature": sealed["MsgSignature"],
    }
    body = (
        f"<xml><ToUserName><![CDATA[{remote.original_id}]]></ToUserName>"
        f"<Encrypt><![CDATA[{sealed['Encrypt']}]]></Encrypt></xml>"
    )
    return query, body.encode()


def signed_query(office: WeChatOffice, timestamp: str | None = None) -> dict[str, str]:
    """A query with a good plain signature (it covers no body): for hostile bodies."""
    timestamp = timestamp or str(int(time.time()))
    nonce = secrets.token_hex(5)
    return {
        "signature": signature(office.remote.token, timestamp, nonce),
        "timestamp": timestamp,
        "nonce": nonce,
    }
