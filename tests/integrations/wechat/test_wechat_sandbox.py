"""The sandbox sends events to a callback over HTTP exactly as WeChat does; the tiny callback
server (conftest) uses integrations.wechat.callback and must get every one intact."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests
from wechatpy.utils import WeChatSigner

from integrations.wechat.sandbox import SandboxAccount, WeChatSandbox


def test_url_verification_over_http(account: SandboxAccount, callback_server: Any) -> None:
    timestamp = str(int(time.time()))
    signer = WeChatSigner()
    signer.add_data(account.token, timestamp, "abc")
    query = {"signature": signer.signature, "timestamp": timestamp, "nonce": "abc"}

    good = requests.get(callback_server.url, params={**query, "echostr": "42x"}, timeout=5)
    forged = requests.get(
        callback_server.url, params={**query, "signature": "f" * 40, "echostr": "1"}, timeout=5
    )

    assert (good.status_code, good.text) == (200, "42x")
    assert (forged.status_code, forged.text) == (400, "signature_invalid")


@pytest.mark.parametrize("mode", ["plain", "compatible", "safe"])
def test_every_event_arrives_intact(
    mode: str, sandbox: WeChatSandbox, account: SandboxAccount, callback_server: Any
) -> None:
    visitor = sandbox.add_user(account.appid, subscribed=False, nickname="访客")
    sent = [
        ("subscribe", {"scene": "building:alpha"}),
        ("SCAN", {"scene": "host:17"}),
        ("CLICK", {"key": "MY_PASSES"}),
        ("VIEW", {"key": "https://alpha.example/wechat/apply"}),
        ("text", {"text": "通行证"}),
        ("unsubscribe", {}),
        ("subscribe", {}),
    ]

    exchanges = [
        sandbox.send_event(
            account.appid, callback_server.url, visitor.openid, event, mode=mode, **details
        )
        for event, details in sent
    ]

    assert [e.status for e in exchanges] == [200] * len(sent)
    assert callback_server.refused == []
    got = [
        (i.mode, i.openid, i.kind, i.event, i.scene, i.key, i.url, i.text)
        for i in callback_server.received
    ]
    assert got == [
        (mode, visitor.openid, "event", "subscribe_scan", "building:alpha", "", "", ""),
        (mode, visitor.openid, "event", "scan", "host:17", "", "", ""),
        (mode, visitor.openid, "event", "click", "", "MY_PASSES", "", ""),
        (mode, visitor.openid, "event", "view", "", "", "https://alpha.example/wechat/apply", ""),
        (mode, visitor.openid, "text", "", "", "", "", "通行证"),
        (mode, visitor.openid, "event", "unsubscribe", "", "", "", ""),
        (mode, visitor.openid, "event", "subscribe", "", "", "", ""),
    ]
    # The reply to the text came back (decrypted by the sandbox in safe mode) to the phone.
    assert exchanges[4].reply is not None and exchanges[4].reply["Content"] == "收到: 通行证"
    assert [(m.kind, m.text) for m in sandbox.inbox(visitor.openid)] == [("reply", "收到: 通行证")]
    assert sandbox.users[(account.appid, visitor.openid)].subscribed is True


def test_a_retry_over_http_is_answered_success_and_handled_once(
    sandbox: WeChatSandbox, account: SandboxAccount, callback_server: Any
) -> None:
    visitor = sandbox.add_user(account.appid)
    fields = sandbox.event_xml(account.appid, visitor.openid, "SCAN", scene="event:9")

    first = sandbox.post_callback(
        account.appid, callback_server.url, *sandbox.signed_request(account.appid, fields)
    )
    retry = sandbox.post_callback(
        account.appid, callback_server.url, *sandbox.signed_request(account.appid, fields)
    )

    assert (first.status, retry.status, retry.answer) == (200, 200, b"success")
    assert len(callback_server.received) == 1
    assert callback_server.refused == ["replayed"]


def test_template_send_error_codes_over_http(
    sandbox: WeChatSandbox, account: SandboxAccount, sandbox_url: str
) -> None:
    """The sandbox's own answers, in WeChat's shapes (HTTP 200, errcode in the body)."""
    token = requests.get(
        f"{sandbox_url}/cgi-bin/token",
        params={
            "grant_type": "client_credential",
            "appid": account.appid,
            "secret": account.secret,
        },
        timeout=5,
    ).json()
    send = f"{sandbox_url}/cgi-bin/message/template/send"

    no_token = requests.post(send, json={"touser": "x"}, timeout=5).json()
    bad_token = requests.post(send, params={"access_token": "nope"}, json={}, timeout=5).json()
    no_such_user = requests.post(
        send, params={"access_token": token["access_token"]}, json={"touser": "x"}, timeout=5
    ).json()

    assert token["expires_in"] == 7200 and len(token["access_token"]) > 20
    assert no_token == {"errcode": 41001, "errmsg": "access_token missing"}
    assert bad_token["errcode"] == 40001
    assert no_such_user == {"errcode": 40003, "errmsg": "invalid openid"}
    assert sandbox.inbox("x") == []
