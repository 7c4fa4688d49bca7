"""The callback's protocol, with real payloads signed and encrypted by wechatpy's crypto (the
sandbox builds them as WeChat does) and the dedupe store in the real Redis."""

from __future__ import annotations

import dataclasses
import time

import pytest
import redis
import xmltodict
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

from integrations.wechat import callback
from integrations.wechat.sandbox import SandboxAccount, WeChatSandbox

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<xml><ToUserName>gh_x</ToUserName><FromUserName>o1</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&secret;</Content><MsgId>1</MsgId></xml>"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE xml [
 <!ENTITY a "ha">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
 <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
 <!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">
 <!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">
]>
<xml><ToUserName>gh_x</ToUserName><FromUserName>o1</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&f;</Content><MsgId>2</MsgId></xml>"""


def _text(sandbox: WeChatSandbox, account: SandboxAccount, text: str = "通行证") -> dict:
    user = sandbox.add_user(account.appid)
    return sandbox.event_xml(account.appid, user.openid, "text", text=text)


def _refused(code: str, *args: object, **kwargs: object) -> None:
    with pytest.raises(callback.CallbackError) as refused:
        callback.receive(*args, **kwargs)  # type: ignore[arg-type]
    assert refused.value.code == code


def _verification_query(token: str, timestamp: str) -> dict[str, str]:
    signer = WeChatSigner()
    signer.add_data(token, timestamp, "n0nce")
    return {"signature": signer.signature, "timestamp": timestamp, "nonce": "n0nce", "echostr": "e"}


def test_url_verification_answers_the_echostr(
    account: SandboxAccount, wechat: callback.CallbackAccount
) -> None:
    query = _verification_query(account.token, str(int(time.time())))
    query["echostr"] = "7319384625"

    assert callback.verify_url(wechat, query) == "7319384625"


def test_url_verification_refuses_a_forged_signature_and_an_old_timestamp(
    account: SandboxAccount,
    wechat: callback.CallbackAccount,
) -> None:
    forged = _verification_query("not-the-token", str(int(time.time())))
    old = _verification_query(account.token, str(int(time.time()) - 301))

    with pytest.raises(callback.CallbackError) as signature:
        callback.verify_url(wechat, forged)
    with pytest.raises(callback.CallbackError) as stale:
        callback.verify_url(wechat, old)

    assert signature.value.code == "signature_invalid"
    assert stale.value.code == "timestamp_stale"


@pytest.mark.parametrize("mode", ["plain", "compatible", "safe"])
def test_each_mode_gives_the_message_and_a_reply_in_the_same_mode(
    mode: str,
    sandbox: WeChatSandbox,
    account: SandboxAccount,
    wechat: callback.CallbackAccount,
    seen: callback.RedisSeenStore,
) -> None:
    fields = _text(sandbox, account, "通行证")
    query, body = sandbox.signed_request(account.appid, fields, mode=mode)

    inbound = callback.receive(wechat, query, body, seen)
    answer = callback.reply(inbound, wechat, "您没有有效的通行证")

    assert (inbound.mode, inbound.kind, inbound.text) == (mode, "text", "通行证")
    assert inbound.openid == fields["FromUserName"]
    document = xmltodict.parse(answer)["xml"]
    if mode != "plain":
        assert set(document) == {"Encrypt", "MsgSignature", "TimeStamp", "Nonce"}
        crypto = WeChatCrypto(account.token, account.encoding_aes_key, account.appid)
        inner = crypto.decrypt_message(
            answer, document["MsgSignature"], query["timestamp"], query["nonce"]
        )
        document = xmltodict.parse(inner)["xml"]
    assert document["MsgType"] == "text"
    assert document["Content"] == "您没有有效的通行证"
    assert document["ToUserName"] == fields["FromUserName"]
    assert document["FromUserName"] == account.original_id


def test_nothing_to_say_answers_success(
    sandbox: WeChatSandbox,
    account: SandboxAccount,
    wechat: callback.CallbackAccount,
    seen: callback.RedisSeenStore,
) -> None:
    query, body = sandbox.signed_request(account.appid, _text(sandbox, account))

    inbound = callback.receive(wechat, query, body, seen)

    assert callback.reply(inbound, wechat, None) == "success"


@pytest.mark.parametrize(
    ("event", "details", "expected"),
    [
        ("subscribe", {}, {"event": "subscribe", "scene": ""}),
        (
            "subscribe",
            {"scene": "building:alpha"},
            {"event": "subscribe_scan", "scene": "building:alpha"},
        ),
        ("SCAN", {"scene": "host:42"}, {"event": "scan", "scene": "host:42"}),
        ("CLICK", {"key": "MY_PASSES"}, {"event": "click", "key": "MY_PASSES"}),
        (
            "VIEW",
            {"key": "https://alpha.example/wechat/apply"},
            {"event": "view", "url": "https://alpha.example/wechat/apply"},
        ),
        ("unsubscribe", {}, {"event": "unsubscribe"}),
    ],
)
def test_each_event_is_parsed(
    event: str,
    details: dict[str, str],
    expected: dict[str, str],
    sandbox: WeChatSandbox,
    account: SandboxAccount,
    wechat: callback.CallbackAccount,
    seen: callback.RedisSeenStore,
) -> None:
    user = sandbox.add_user(account.appid)
    fields = sandbox.event_xml(account.appid, user.openid, event, **details)
    query, body = sandbox.signed_request(account.appid, fields)

    inbound = callback.receive(wechat, query, body, seen)

    assert inbound.kind == "event"
    assert inbound.openid == user.openid
    assert {name: getattr(inbound, name) for name in expected} == expected


def test_a_forged_signature_is_refused(
    sandbox: WeChatSandbox,
    account: SandboxAccount,
    wechat: callback.CallbackAccount,
    seen: callback.RedisSeenStore,
) -> None:
    query, body = sandbox.signed_request(account.appid, _text(sandbox, account), mode="plain")
    query["signature"] = "0" * 40

    _refused("signature_invalid", wechat, query, body, seen)


def test_a_forged_message_signature_is_refused(
    sandbox: WeChatSandbox,
    account: SandboxAccount,
    wechat: callback.CallbackAccount,
    seen: callback.RedisSeenStore,
) -> None:
    """The query's signature is good (it covers only token, time and nonce), the payload is
    another account's: the msg_signature over the Encrypt gives it away."""
    other = sandbox.add_account("wx0ther0account00")
    fields = _text(sandbox, account)
    query, _ = sandbox.signed_request(account.appid, fields)
    _, foreign_body = sandbox.signed_request(other.appid, fields)

    _refused("signature_invalid", wechat, query, foreign_body, seen)


def test_a_stale_timestamp_is_refused(
    sandbox: WeChatSandbox,
    account: SandboxAccount,
    wechat: callback.CallbackAccount,
    seen: callback.RedisSeenStore,
) -> None:
    query, body = sandbox.signed_request(account.appid, _text(sandbox, account))
    later = int(query["timestamp"]) + callback.TIMESTAMP_WINDOW_SECONDS + 1

    _refused("timestamp_stale", wechat, query, body, seen, now=later)


def test_a_message_encrypted_for_another_appid_is_refused(
    sandbox: WeChatSandbox, account: SandboxAccount, seen: callback.RedisSeenStore
) -> None:
    query, body = sandbox.signed_request(account.appid, _text(sandbox, account))
    wrong_appid = callback.CallbackAccount(
        appid="wx0ther0account00", token=account.token, encoding_aes_key=account.encoding_aes_key
    )

    _refused("decrypt_failed", wrong_appid, query, body, seen)


def test_a_replayed_message_is_refused_even_with_a_new_signature(
    sandbox: WeChatSandbox,
    account: SandboxAccount,
    wechat: callback.CallbackAccount,
    seen: callback.RedisSeenStore,
    redis_client: redis.Redis,
    redis_prefix: str,
) -> None:
    """WeChat retries with a new timestamp and nonce; the MsgId is what stays the same."""
    fields = _text(sandbox, account)
    first = sandbox.signed_request(account.appid, fields)
    retry = sandbox.signed_request(account.appid, fields)
    assert first[0]["nonce"] != retry[0]["nonce"]

    callback.receive(wechat, *first, seen)
    _refused("replayed", wechat, *retry, seen)

    key = f"{redis_prefix}:seen:{account.appid}:msg:{fields['MsgId']}"
    assert 0 < redis_client.ttl(key) <= callback.SEEN_TTL_SECONDS


def test_a_replayed_event_is_refused_by_sender_time_and_event(
    sandbox: WeChatSandbox,
    account: SandboxAccount,
    wechat: callback.CallbackAccount,
    seen: callback.RedisSeenStore,
) -> None:
    user = sandbox.add_user(account.appid)
    scan = sandbox.event_xml(account.appid, user.openid, "SCAN", scene="event:7", created=1700)
    click = sandbox.event_xml(account.appid, user.openid, "CLICK", key="K", created=1700)

    callback.receive(wechat, *sandbox.signed_request(account.appid, scan), seen)
    callback.receive(wechat, *sandbox.signed_request(account.appid, click), seen)
    _refused("replayed", wechat, *sandbox.signed_request(account.appid, scan), seen)


def test_the_same_message_id_in_two_accounts_is_two_messages(
    sandbox: WeChatSandbox,
    account: SandboxAccount,
    wechat: callback.CallbackAccount,
    seen: callback.RedisSeenStore,
) -> None:
    other = sandbox.add_account("wx0ther0account00")
    fields = _text(sandbox, account)
    foreign = dict(fields, ToUserName=other.original_id)

    callback.receive(wechat, *sandbox.signed_request(account.appid, fields), seen)
    inbound = callback.receive(
        dataclasses.replace(
            wechat, appid=other.appid, token=other.token, encoding_aes_key=other.encoding_aes_key
        ),
        *sandbox.signed_request(other.appid, foreign),
        seen,
    )

    assert inbound.appid == other.appid


@pytest.mark.parametrize("body", [b"not xml at all", b"<xml><MsgType>text</MsgType>", b"<other/>"])
def test_malformed_xml_is_refused(
    body: bytes,
    sandbox: WeChatSandbox,
    account: SandboxAccount,
    wechat: callback.CallbackAccount,
    seen: callback.RedisSeenStore,
) -> None:
    query, _ = sandbox.signed_request(account.appid, _text(sandbox, account), mode="plain")

    _refused("xml_malformed", wechat, query, body, seen)


def test_a_message_without_sender_is_refused(
    sandbox: WeChatSandbox,
    account: SandboxAccount,
    wechat: callback.CallbackAccount,
    seen: callback.RedisSeenStore,
) -> None:
    query, _ = sandbox.signed_request(account.appid, _text(sandbox, account), mode="plain")
    body = b"<xml><MsgType>text</MsgType><Content>hi</Content></xml>"

    _refused("xml_malformed", wechat, query, body, seen)


@pytest.mark.parametrize("body", [XXE, BILLION_LAUGHS], ids=["external-entity", "billion-laughs"])
def test_entities_are_refused_in_plain_mode(
    body: bytes,
    sandbox: WeChatSandbox,
    account: SandboxAccount,
    wechat: callback.CallbackAccount,
    seen: callback.RedisSeenStore,
) -> None:
    query, _ = sandbox.signed_request(account.appid, _text(sandbox, account), mode="plain")

    _refused("xml_forbidden", wechat, query, body, seen)


@pytest.mark.parametrize("inner", [XXE, BILLION_LAUGHS], ids=["external-entity", "billion-laughs"])
def test_entities_are_refused_inside_the_encrypted_message(
    inner: bytes,
    sandbox: WeChatSandbox,
    account: SandboxAccount,
    wechat: callback.CallbackAccount,
    seen: callback.RedisSeenStore,
) -> None:
    """Even a payload that decrypts correctly (signed with the account's own key) is screened."""
    fields = _text(sandbox, account)
    query, body = sandbox.signed_request(account.appid, fields, plain=inner.decode())

    _refused("xml_forbidden", wechat, query, body, seen)


def test_an_oversized_body_is_refused_before_it_is_read(
    sandbox: WeChatSandbox,
    account: SandboxAccount,
    wechat: callback.CallbackAccount,
    seen: callback.RedisSeenStore,
) -> None:
    fields = _text(sandbox, account, "字" * callback.MAX_BODY_BYTES)
    query, body = sandbox.signed_request(account.appid, fields, mode="plain")

    _refused("too_large", wechat, query, body, seen)


def test_an_account_in_safe_mode_refuses_plain_messages(
    sandbox: WeChatSandbox,
    account: SandboxAccount,
    wechat: callback.CallbackAccount,
    seen: callback.RedisSeenStore,
) -> None:
    query, body = sandbox.signed_request(account.appid, _text(sandbox, account), mode="plain")

    _refused(
        "encryption_required",
        dataclasses.replace(wechat, require_encryption=True),
        query,
        body,
        seen,
    )


def test_a_refused_message_is_not_remembered(
    sandbox: WeChatSandbox,
    account: SandboxAccount,
    wechat: callback.CallbackAccount,
    seen: callback.RedisSeenStore,
) -> None:
    """A forged copy of a real message must not make WeChat's genuine one look like a replay."""
    fields = _text(sandbox, account)
    query, body = sandbox.signed_request(account.appid, fields)
    forged = dict(query, signature="0" * 40)
    _refused("signature_invalid", wechat, forged, body, seen)

    inbound = callback.receive(wechat, query, body, seen)

    assert inbound.text == "通行证"
