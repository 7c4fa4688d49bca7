"""The Official Account's callback protocol, without a web framework.

WeChat calls one URL per account: ``GET`` to verify it (``echostr``), ``POST`` with a message
or an event as XML. A view hands the query string and the raw body to ``verify_url`` or
``receive`` and answers with what they return; everything WeChat could get wrong or an
attacker could forge is refused here with a ``CallbackError`` whose ``code`` is stable:

- ``parameters_missing``: a query parameter WeChat always sends is absent;
- ``too_large``: the body is longer than ``MAX_BODY_BYTES`` (read no more than that);
- ``signature_invalid``: the ``signature`` or ``msg_signature`` does not match the token;
- ``timestamp_stale``: the timestamp is outside ``TIMESTAMP_WINDOW_SECONDS`` of our clock;
- ``encryption_required``: a plain message to an account that accepts only safe mode;
- ``xml_forbidden``: a DOCTYPE (hence entity declarations), refused before any parsing;
- ``xml_malformed``: not XML, or not the ``<xml>`` envelope WeChat sends;
- ``decrypt_failed``: the AES payload does not decrypt for this account's key and appid;
- ``replayed``: the message was seen before (WeChat retries after 5 s; an attacker replays).

A view should answer ``replayed`` with ``success`` (WeChat then stops retrying) and the other
codes with a 400: nothing was done.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import xml.parsers.expat
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import xmltodict
from wechatpy import create_reply, parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.messages import BaseMessage
from wechatpy.replies import BaseReply

from kernel.errors import DomainError

# WeChat's messages are a few hundred bytes; 64 KiB leaves room and bounds the parser's work.
MAX_BODY_BYTES = 64 * 1024
# A request whose timestamp is further than this from our clock is refused: a captured request
# cannot be replayed later, and our clock may drift a little from WeChat's.
TIMESTAMP_WINDOW_SECONDS = 5 * 60
# A message id is remembered for twice the window: a replay within the window is caught here,
# a later one by the timestamp check.
SEEN_TTL_SECONDS = 2 * TIMESTAMP_WINDOW_SECONDS
# WeChat's answer meaning "received, no reply": it stops retrying.
NO_REPLY = "success"

Mode = Literal["plain", "compatible", "safe"]


class CallbackError(DomainError):
    """The request was refused; nothing has been done. ``code`` is listed in the module doc."""


@dataclass(frozen=True)
class CallbackAccount:
    """What the callback needs to know of an Official Account (the model comes later).

    ``encoding_aes_key`` is the 43-character EncodingAESKey; without it only plain mode works.
    ``require_encryption`` refuses plain messages (the account is in safe mode), so a forger
    who knows the token still cannot choose the unauthenticated plain body.
    """

    appid: str
    token: str
    encoding_aes_key: str = ""
    require_encryption: bool = False

    def crypto(self) -> WeChatCrypto:
        return WeChatCrypto(self.token, self.encoding_aes_key, self.appid)


class SeenStore(Protocol):
    """Remembers which messages were received, so that a retry or a replay is handled once."""

    def first_time(self, key: str, ttl_seconds: int) -> bool:
        """Record ``key``; True if it was not recorded already (atomically)."""
        ...

    def forget(self, key: str) -> None:
        """Drop ``key``, so that WeChat's next retry is taken (the handling failed)."""
        ...


class RedisSeenStore:
    """``SET NX EX`` in Redis: one answer for every process of every server."""

    def __init__(self, redis: Any, prefix: str = "wechat:seen") -> None:
        self.redis = redis
        self.prefix = prefix

    def _key(self, key: str) -> str:
        return f"{self.prefix}:{key}"

    def first_time(self, key: str, ttl_seconds: int) -> bool:
        return bool(self.redis.set(self._key(key), b"1", nx=True, ex=ttl_seconds))

    def forget(self, key: str) -> None:
        self.redis.delete(self._key(key))


@dataclass(frozen=True)
class Inbound:
    """A message or event received from WeChat, authenticated and seen for the first time.

    ``kind`` is the message type (``text``, ``event``, ...); ``event`` the event in lower case
    with wechatpy's names (``subscribe``, ``subscribe_scan``, ``scan``, ``click``, ``view``);
    ``scene`` the QR scene of ``subscribe_scan`` / ``scan`` (without ``qrscene_``); ``key`` a
    menu CLICK's key; ``url`` a menu VIEW's URL; ``text`` a text message's content.
    """

    appid: str
    mode: Mode
    openid: str
    kind: str
    event: str
    scene: str
    key: str
    url: str
    text: str
    seen_key: str
    message: BaseMessage
    nonce: str
    timestamp: str


def signature(token: str, timestamp: str, nonce: str, *extra: str) -> str:
    """WeChat's SHA-1 over the sorted strings (the ``msg_signature`` adds the ``Encrypt``)."""
    parts = sorted([token, timestamp, nonce, *extra])
    # WeChat defines the signature as SHA-1; we cannot choose another hash.
    return hashlib.sha1("".join(parts).encode()).hexdigest()  # noqa: S324


def verify_url(
    account: CallbackAccount, query: Mapping[str, str], *, now: float | None = None
) -> str:
    """WeChat's URL check: the ``echostr`` to answer with, once signature and time are good."""
    _signed_query(account, query, now)
    return _required(query, "echostr")


def receive(
    account: CallbackAccount,
    query: Mapping[str, str],
    body: bytes,
    seen: SeenStore,
    *,
    now: float | None = None,
) -> Inbound:
    """Authenticate, decrypt, parse and deduplicate one POSTed message; raise CallbackError."""
    if len(body) > MAX_BODY_BYTES:
        raise CallbackError("too_large", f"The body is over {MAX_BODY_BYTES} bytes.")
    timestamp, nonce = _signed_query(account, query, now)
    envelope = _parse_xml(body)
    encrypted = query.get("encrypt_type", "raw").lower() == "aes"
    if not encrypted:
        if account.require_encryption:
            raise CallbackError("encryption_required", "This account accepts safe mode only.")
        mode: Mode = "plain"
        plain: bytes | str = body
    else:
        mode = "compatible" if "MsgType" in envelope else "safe"
        plain = _decrypt(account, query, envelope, timestamp, nonce)
        _parse_xml(plain)  # the decrypted XML is screened like the envelope
    try:
        message = parse_message(plain)
    except (KeyError, AttributeError, TypeError, ValueError) as error:
        raise CallbackError("xml_malformed", "The message has no MsgType.") from error
    inbound = _inbound(account.appid, mode, message, nonce, timestamp)
    if not seen.first_time(inbound.seen_key, SEEN_TTL_SECONDS):
        raise CallbackError("replayed", "This message was received before.")
    return inbound


def reply(inbound: Inbound, account: CallbackAccount, content: str | BaseReply | None) -> str:
    """The body to answer ``inbound`` with: a text (or wechatpy reply) to the sender, encrypted
    when the message came encrypted; ``success`` when there is nothing to say."""
    if not content:
        return NO_REPLY
    rendered = create_reply(content, message=inbound.message, render=True)
    if inbound.mode == "plain":
        return str(rendered)
    return str(account.crypto().encrypt_message(rendered, inbound.nonce, inbound.timestamp))


def _required(query: Mapping[str, str], name: str) -> str:
    value = query.get(name)
    if not value:
        raise CallbackError("parameters_missing", f"The query has no {name}.")
    return value


def _signed_query(
    account: CallbackAccount, query: Mapping[str, str], now: float | None
) -> tuple[str, str]:
    """Check ``signature`` (token, timestamp, nonce) and the timestamp's window."""
    given = _required(query, "signature")
    timestamp = _required(query, "timestamp")
    nonce = _required(query, "nonce")
    expected = signature(account.token, timestamp, nonce)
    if not hmac.compare_digest(expected, given.lower()):
        raise CallbackError("signature_invalid", "The signature does not match.")
    try:
        sent_at = int(timestamp)
    except ValueError as error:
        raise CallbackError("timestamp_stale", "The timestamp is not a number.") from error
    current = time.time() if now is None else now
    if abs(current - sent_at) > TIMESTAMP_WINDOW_SECONDS:
        raise CallbackError("timestamp_stale", "The timestamp is outside the accepted window.")
    return timestamp, nonce


class _Forbidden(Exception):
    pass


def _refuse(*_args: object) -> None:
    raise _Forbidden


def _screen(data: bytes) -> None:
    """Refuse a DOCTYPE before anything in it is declared or expanded.

    expat reports the start of a DOCTYPE before reading the declarations inside it, so
    raising there stops external entities and nested expansions (billion laughs) before they
    exist. A ``<!ENTITY`` can only appear inside a DOCTYPE; the second handler is a backstop.
    """
    parser = xml.parsers.expat.ParserCreate()
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
    try:
        parser.Parse(data, True)
    except _Forbidden as error:
        raise CallbackError("xml_forbidden", "XML with a DOCTYPE is refused.") from error
    except xml.parsers.expat.ExpatError as error:
        raise CallbackError("xml_malformed", f"The body is not XML: {error}.") from error


def _parse_xml(data: bytes | str) -> dict[str, Any]:
    raw = data.encode() if isinstance(data, str) else data
    _screen(raw)
    try:
        document = xmltodict.parse(raw)
    except (ValueError, xml.parsers.expat.ExpatError) as error:
        raise CallbackError("xml_malformed", "The body is not XML.") from error
    envelope = document.get("xml")
    if not isinstance(envelope, dict):
        raise CallbackError("xml_malformed", "The body is not WeChat's <xml> envelope.")
    return envelope


def _decrypt(
    account: CallbackAccount,
    query: Mapping[str, str],
    envelope: dict[str, Any],
    timestamp: str,
    nonce: str,
) -> str:
    if not account.encoding_aes_key:
        raise CallbackError("decrypt_failed", "This account has no EncodingAESKey.")
    encrypted = envelope.get("Encrypt")
    if not isinstance(encrypted, str) or not encrypted:
        raise CallbackError("xml_malformed", "The encrypted message has no Encrypt.")
    given = _required(query, "msg_signature")
    if not hmac.compare_digest(signature(account.token, timestamp, nonce, encrypted), given):
        raise CallbackError("signature_invalid", "The message signature does not match.")
    try:
        plain = account.crypto().decrypt_message({"Encrypt": encrypted}, given, timestamp, nonce)
    except (InvalidSignatureException, InvalidAppIdException) as error:
        raise CallbackError("decrypt_failed", "The message is not for this account.") from error
    except Exception as error:  # bad base64, padding or length: all mean "not ours"
        raise CallbackError("decrypt_failed", "The message does not decrypt.") from error
    return str(plain)


def _inbound(appid: str, mode: Mode, message: BaseMessage, nonce: str, timestamp: str) -> Inbound:
    data = message._data
    kind = str(data.get("MsgType", "")).lower()
    event = str(getattr(message, "event", "") or "").lower() if kind == "event" else ""
    openid = str(data.get("FromUserName") or "")
    created = str(data.get("CreateTime") or "")
    if not openid or not created:
        raise CallbackError("xml_malformed", "The message has no sender or time.")
    message_id = str(data.get("MsgId") or data.get("MsgID") or "")
    if message_id and kind != "event":
        seen_key = f"{appid}:msg:{message_id}"
    else:
        seen_key = f"{appid}:event:{openid}:{created}:{data.get('Event', '')}"
    return Inbound(
        appid=appid,
        mode=mode,
        openid=openid,
        kind=kind,
        event=event,
        scene=str(getattr(message, "scene_id", "") or "") if event in _SCENE_EVENTS else "",
        key=str(data.get("EventKey") or "") if event == "click" else "",
        url=str(data.get("EventKey") or "") if event == "view" else "",
        text=str(data.get("Content") or "") if kind == "text" else "",
        seen_key=seen_key,
        message=message,
        nonce=nonce,
        timestamp=timestamp,
    )


_SCENE_EVENTS = ("subscribe_scan", "scan")
