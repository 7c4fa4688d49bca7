"""A local stand-in for WeChat's servers, for the demo and the tests.

It answers the endpoints the platform calls, with WeChat's JSON shapes and error codes, from
state kept in memory (accounts, users, the messages each user received), and it sends events
to an account's callback the way WeChat does: signature, timestamp and nonce in the query,
the XML encrypted with the account's EncodingAESKey in safe mode. The platform's code is the
same against it as against WeChat: only the base URL differs (client.py).

It is a plain WSGI application (no Django): ``with sandbox.serve() as base_url: ...`` runs it
on a free loopback port in a thread. Endpoints, all under one base URL:

- ``GET /cgi-bin/token``, ``POST /cgi-bin/message/template/send``, ``POST /cgi-bin/menu/create``,
  ``GET /cgi-bin/menu/get``, ``POST /cgi-bin/qrcode/create``, ``GET /cgi-bin/showqrcode``,
  ``GET /cgi-bin/ticket/getticket``;
- OAuth: ``GET /connect/oauth2/authorize`` redirects back with a code for the user holding the
  simulated phone (the ``sandbox_openid`` query parameter or cookie, the sandbox's one
  addition), ``GET /sns/oauth2/access_token`` exchanges the code for the openid;
- the simulated phones (``phone.py``, the sandbox's other addition): ``GET /phone/`` and
  ``GET /phone/<openid>``, where a person sees what a WeChat user sees and acts as them.
"""

from __future__ import annotations

import io
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
from xml.parsers.expat import ExpatError

import qrcode
import requests
import xmltodict
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import WeChatException
from wechatpy.utils import WeChatSigner

from integrations.wechat import phone

TOKEN_LIFETIME_SECONDS = 7200
# WeChat gives up on a callback that has not answered within 5 seconds.
CALLBACK_TIMEOUT_SECONDS = 5

# WeChat's in-app browser on an iPhone, as H5 pages see it (``MicroMessenger`` marks WeChat).
# Browser tests open the platform's H5 pages with it; the phone page cannot change the UA of
# the browser showing it, so pages opened from there see the browser's own.
WECHAT_USER_AGENT = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.49(0x1800312d) "
    "NetType/WIFI Language/zh_CN"
)

# WeChat's error codes that the platform has to handle, with WeChat's own messages.
ERRORS = {
    40001: "invalid credential, access_token is invalid or not latest",
    40003: "invalid openid",
    40013: "invalid appid",
    40016: "invalid button size",
    40029: "invalid code",
    40037: "invalid template_id",
    40125: "invalid appsecret",
    41001: "access_token missing",
    42001: "access_token expired",
    43004: "require subscribe",
    45009: "reach max api daily quota limit",
    40053: "invalid action info",
}

Environ = dict[str, Any]
StartResponse = Callable[..., Any]


@dataclass
class SandboxAccount:
    """An Official Account as WeChat knows it; ``original_id`` is its ``gh_`` id.

    What its admin page holds besides: ``name`` (shown on the phones), ``callback_url`` (where
    the phones' messages and menu clicks go), and ``templates`` (template id -> its title, as
    chosen from WeChat's template library). ``h5_entry`` is the sandbox's own: see
    ``phone.py`` (why the phones open the platform's pages through its OAuth entry).
    """

    appid: str
    secret: str
    token: str
    encoding_aes_key: str
    original_id: str
    menu: dict[str, Any] | None = None
    name: str = ""
    callback_url: str = ""
    templates: dict[str, str] = field(default_factory=dict)
    h5_entry: str = ""


@dataclass
class SandboxUser:
    """A WeChat user of one account: openids are per account, as in WeChat."""

    appid: str
    openid: str
    nickname: str
    subscribed: bool


@dataclass(frozen=True)
class ReceivedMessage:
    """What a user's phone shows: a template message, or the account's reply to them."""

    openid: str
    kind: str  # "template" or "reply"
    msgid: int
    template_id: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    url: str = ""
    text: str = ""
    received_at: float = field(default_factory=time.time, compare=False)


@dataclass(frozen=True)
class UserMessage:
    """What a user did on a simulated phone: sent a text, or clicked a menu button (``key``).
    ``problem`` says why the account got no answer, if so (shown under it on the phone)."""

    openid: str
    kind: str  # "text", "click" or "view"
    msgid: int
    text: str = ""
    key: str = ""
    problem: str = ""
    sent_at: float = field(default_factory=time.time, compare=False)


@dataclass(frozen=True)
class CallbackExchange:
    """One event sent to a callback: what was sent, the HTTP answer, and the reply decrypted."""

    query: dict[str, str]
    body: bytes
    status: int
    answer: bytes
    reply: dict[str, Any] | None


@dataclass
class _Token:
    appid: str
    expires_at: float


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class WeChatSandbox:
    """WeChat's servers, in memory. Thread-safe: the WSGI server answers from threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.accounts: dict[str, SandboxAccount] = {}
        self.users: dict[tuple[str, str], SandboxUser] = {}
        self.inboxes: dict[str, list[ReceivedMessage]] = {}
        self.outboxes: dict[str, list[UserMessage]] = {}
        self.token_requests: dict[str, int] = {}
        self._tokens: dict[str, _Token] = {}
        self._tickets: dict[str, str] = {}  # QR ticket -> the URL the code carries
        self.jsapi_tickets: dict[str, list[str]] = {}  # appid -> JS-SDK tickets issued
        self._codes: dict[str, tuple[str, str]] = {}  # OAuth code -> (appid, openid)
        self._failures: list[tuple[str, int]] = []  # (path or "", errcode), oldest first
        self._next_msgid = 1000

    # --- state, for the demo and the tests ------------------------------------------------

    def add_account(
        self,
        appid: str,
        *,
        secret: str | None = None,
        token: str | None = None,
        encoding_aes_key: str | None = None,
        name: str = "",
        callback_url: str = "",
        templates: dict[str, str] | None = None,
        h5_entry: str = "",
    ) -> SandboxAccount:
        account = SandboxAccount(
            appid=appid,
            secret=secret or secrets.token_hex(16),
            token=token or secrets.token_hex(8),
            encoding_aes_key=encoding_aes_key or _new_aes_key(),
            original_id="gh_" + secrets.token_hex(6),
            name=name,
            callback_url=callback_url,
            templates=dict(templates or {}),
            h5_entry=h5_entry,
        )
        with self._lock:
            self.accounts[appid] = account
        return account

    def add_user(
        self, appid: str, *, openid: str | None = None, nickname: str = "", subscribed: bool = True
    ) -> SandboxUser:
        user = SandboxUser(
            appid=appid,
            openid=openid or "o" + secrets.token_urlsafe(20),
            nickname=nickname,
            subscribed=subscribed,
        )
        with self._lock:
            self.users[(appid, user.openid)] = user
        return user

    def inbox(self, openid: str) -> list[ReceivedMessage]:
        with self._lock:
            return list(self.inboxes.get(openid, []))

    def outbox(self, openid: str) -> list[UserMessage]:
        """What the user sent from the simulated phone, oldest first."""
        with self._lock:
            return list(self.outboxes.get(openid, []))

    def user(self, openid: str) -> SandboxUser | None:
        """The WeChat user with ``openid``, of whichever account (openids are per account)."""
        with self._lock:
            return next((u for (_, o), u in self.users.items() if o == openid), None)

    def expire_tokens(self, appid: str) -> None:
        """Every access token of the account expires now (WeChat answers 42001 to them)."""
        with self._lock:
            for issued in self._tokens.values():
                if issued.appid == appid:
                    issued.expires_at = 0

    def fail_next(self, errcode: int, path: str = "") -> None:
        """The next API call (to ``path`` when given, e.g. ``/cgi-bin/message/template/send``)
        answers ``errcode`` instead of doing its work."""
        with self._lock:
            self._failures.append((path, errcode))

    # --- the HTTP side --------------------------------------------------------------------

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> AbstractContextManager[str]:
        """Serve on ``host:port`` (a free port by default) in a thread; yield the base URL."""
        return serve_wsgi(self, host, port)

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/phone" or path.startswith("/phone/"):
            return phone.respond(self, environ, start_response)
        query = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        route = self._routes().get((environ["REQUEST_METHOD"], path))
        if route is None:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found"]
        status, headers, body = route(environ, query)
        start_response(status, headers)
        return [body]

    def _routes(self) -> dict[tuple[str, str], Callable[[Environ, dict[str, str]], _Response]]:
        return {
            ("GET", "/cgi-bin/token"): self._token,
            ("POST", "/cgi-bin/message/template/send"): self._template_send,
            ("POST", "/cgi-bin/menu/create"): self._menu_create,
            ("GET", "/cgi-bin/menu/get"): self._menu_get,
            ("POST", "/cgi-bin/qrcode/create"): self._qrcode_create,
            ("GET", "/cgi-bin/showqrcode"): self._showqrcode,
            ("GET", "/cgi-bin/ticket/getticket"): self._getticket,
            ("GET", "/connect/oauth2/authorize"): self._authorize,
            ("GET", "/sns/oauth2/access_token"): self._oauth_access_token,
        }

    def _token(self, environ: Environ, query: dict[str, str]) -> _Response:
        account = self.accounts.get(query.get("appid", ""))
        if account is None:
            return _error(40013)
        if query.get("secret") != account.secret:
            return _error(40125)
        access_token = secrets.token_urlsafe(32)
        with self._lock:
            self.token_requests[account.appid] = self.token_requests.get(account.appid, 0) + 1
            self._tokens[access_token] = _Token(account.appid, time.time() + TOKEN_LIFETIME_SECONDS)
        return _json({"access_token": access_token, "expires_in": TOKEN_LIFETIME_SECONDS})

    def _authorised(self, environ: Environ, query: dict[str, str]) -> tuple[str, int]:
        """The account the access token belongs to, or WeChat's error for it; then a failure
        that a test queued for this path."""
        access_token = query.get("access_token", "")
        with self._lock:
            issued = self._tokens.get(access_token)
            path = environ.get("PATH_INFO", "")
            for index, (failing_path, errcode) in enumerate(self._failures):
                if failing_path in ("", path):
                    del self._failures[index]
                    return (issued.appid if issued else ""), errcode
        if not access_token:
            return "", 41001
        if issued is None:
            return "", 40001
        if issued.expires_at <= time.time():
            return issued.appid, 42001
        return issued.appid, 0

    def _template_send(self, environ: Environ, query: dict[str, str]) -> _Response:
        appid, errcode = self._authorised(environ, query)
        if errcode:
            return _error(errcode)
        payload = _read_json(environ)
        user = self.users.get((appid, str(payload.get("touser", ""))))
        if user is None:
            return _error(40003)
        if not user.subscribed:
            return _error(43004)
        if not payload.get("template_id"):
            return _error(40037)
        message = self._deliver(
            user.openid,
            kind="template",
            template_id=str(payload["template_id"]),
            data=dict(payload.get("data") or {}),
            url=str(payload.get("url") or ""),
        )
        return _json({"errcode": 0, "errmsg": "ok", "msgid": message.msgid})

    def _menu_create(self, environ: Environ, query: dict[str, str]) -> _Response:
        appid, errcode = self._authorised(environ, query)
        if errcode:
            return _error(errcode)
        menu = _read_json(environ)
        buttons = menu.get("button")
        if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
            return _error(40016)
        with self._lock:
            self.accounts[appid].menu = menu
        return _json({"errcode": 0, "errmsg": "ok"})

    def _menu_get(self, environ: Environ, query: dict[str, str]) -> _Response:
        appid, errcode = self._authorised(environ, query)
        if errcode:
            return _error(errcode)
        menu = self.accounts[appid].menu
        if menu is None:
            return _json({"errcode": 46003, "errmsg": "menu no exist"})
        return _json({"menu": menu})

    def _qrcode_create(self, environ: Environ, query: dict[str, str]) -> _Response:
        _, errcode = self._authorised(environ, query)
        if errcode:
            return _error(errcode)
        payload = _read_json(environ)
        scene = (payload.get("action_info") or {}).get("scene") or {}
        action = payload.get("action_name")
        permanent = action in ("QR_LIMIT_SCENE", "QR_LIMIT_STR_SCENE")
        if action not in ("QR_SCENE", "QR_STR_SCENE", "QR_LIMIT_SCENE", "QR_LIMIT_STR_SCENE"):
            return _error(40053)
        if not (scene.get("scene_str") or scene.get("scene_id")):
            return _error(40053)
        ticket = secrets.token_urlsafe(24)
        url = f"http://weixin.qq.com/q/{ticket}"
        with self._lock:
            self._tickets[ticket] = url
        answer: dict[str, Any] = {"ticket": ticket, "url": url}
        if not permanent:
            answer["expire_seconds"] = int(payload.get("expire_seconds") or 60)
        return _json(answer)

    def _showqrcode(self, environ: Environ, query: dict[str, str]) -> _Response:
        url = self._tickets.get(query.get("ticket", ""))
        if url is None:
            return "404 Not Found", [("Content-Type", "text/plain")], b"invalid ticket"
        image = io.BytesIO()
        qrcode.make(url).save(image)
        return "200 OK", [("Content-Type", "image/png")], image.getvalue()

    def _getticket(self, environ: Environ, query: dict[str, str]) -> _Response:
        appid, errcode = self._authorised(environ, query)
        if errcode:
            return _error(errcode)
        ticket = secrets.token_urlsafe(32)
        with self._lock:
            self.jsapi_tickets.setdefault(appid, []).append(ticket)
        return _json(
            {"errcode": 0, "errmsg": "ok", "ticket": ticket, "expires_in": TOKEN_LIFETIME_SECONDS}
        )

    def _authorize(self, environ: Environ, query: dict[str, str]) -> _Response:
        appid = query.get("appid", "")
        cookies = SimpleCookie(environ.get("HTTP_COOKIE", ""))
        openid = query.get("sandbox_openid") or (
            cookies["sandbox_openid"].value if "sandbox_openid" in cookies else ""
        )
        redirect_uri = query.get("redirect_uri", "")
        if appid not in self.accounts or not redirect_uri.startswith(("http://", "https://")):
            return "400 Bad Request", [("Content-Type", "text/plain")], b"invalid appid or uri"
        if (appid, openid) not in self.users:
            return "400 Bad Request", [("Content-Type", "text/plain")], b"no sandbox user"
        code = secrets.token_urlsafe(16)
        with self._lock:
            self._codes[code] = (appid, openid)
        parts = urlsplit(redirect_uri)
        extra = urlencode({"code": code, "state": query.get("state", "")})
        location = urlunsplit(parts._replace(query="&".join(filter(None, [parts.query, extra]))))
        return "302 Found", [("Location", location)], b""

    def _oauth_access_token(self, environ: Environ, query: dict[str, str]) -> _Response:
        account = self.accounts.get(query.get("appid", ""))
        if account is None:
            return _error(40013)
        if query.get("secret") != account.secret:
            return _error(40125)
        with self._lock:
            granted = self._codes.pop(query.get("code", ""), None)  # a code works once
        if granted is None or granted[0] != account.appid:
            return _error(40029)
        return _json(
            {
                "access_token": secrets.token_urlsafe(32),
                "expires_in": TOKEN_LIFETIME_SECONDS,
                "refresh_token": secrets.token_urlsafe(32),
                "openid": granted[1],
                "scope": "snsapi_base",
            }
        )

    def _deliver(self, openid: str, **fields: Any) -> ReceivedMessage:
        with self._lock:
            self._next_msgid += 1
            message = ReceivedMessage(openid=openid, msgid=self._next_msgid, **fields)
            self.inboxes.setdefault(openid, []).append(message)
        return message

    # --- events to the platform's callback ------------------------------------------------

    def event_xml(
        self,
        appid: str,
        openid: str,
        event: str,
        *,
        scene: str = "",
        key: str = "",
        text: str = "",
        created: int | None = None,
    ) -> dict[str, Any]:
        """The fields WeChat sends for ``event``: ``subscribe`` (with ``scene``: scanned a
        code), ``unsubscribe``, ``SCAN`` (already subscribed, scanned a code), ``CLICK``
        (``key``), ``VIEW`` (``key`` is the URL) or ``text`` (a message with ``text``)."""
        account = self.accounts[appid]
        fields: dict[str, Any] = {
            "ToUserName": account.original_id,
            "FromUserName": openid,
            "CreateTime": str(created if created is not None else int(time.time())),
        }
        if event == "text":
            with self._lock:
                self._next_msgid += 1
                msgid = self._next_msgid
            fields.update(MsgType="text", Content=text, MsgId=str(msgid))
            return fields
        fields.update(MsgType="event", Event=event)
        if event == "subscribe" and scene:
            fields.update(EventKey=f"qrscene_{scene}", Ticket=secrets.token_urlsafe(24))
        elif event == "subscribe":
            fields["EventKey"] = ""
        elif event == "SCAN":
            fields.update(EventKey=scene, Ticket=secrets.token_urlsafe(24))
        elif event in ("CLICK", "VIEW"):
            fields["EventKey"] = key
        return fields

    def signed_request(
        self, appid: str, fields: dict[str, Any], *, mode: str = "safe", plain: str = ""
    ) -> tuple[dict[str, str], bytes]:
        """The query string and body WeChat sends for ``fields`` in ``mode`` (``plain``,
        ``compatible`` or ``safe``), signed and encrypted with wechatpy's crypto. ``plain``
        replaces the XML made of ``fields`` (a test's hostile payload, sealed all the same)."""
        account = self.accounts[appid]
        timestamp = str(int(time.time()))
        nonce = secrets.token_hex(5)
        signer = WeChatSigner()
        signer.add_data(account.token, timestamp, nonce)
        query = {
            "signature": signer.signature,
            "timestamp": timestamp,
            "nonce": nonce,
            "openid": str(fields["FromUserName"]),
        }
        plain = plain or _xml(fields)
        if mode == "plain":
            return query, plain.encode()
        crypto = WeChatCrypto(account.token, account.encoding_aes_key, appid)
        sealed = xmltodict.parse(crypto.encrypt_message(plain, nonce, timestamp))["xml"]
        query.update(encrypt_type="aes", msg_signature=sealed["MsgSignature"])
        envelope = dict(fields) if mode == "compatible" else {"ToUserName": account.original_id}
        envelope["Encrypt"] = sealed["Encrypt"]
        return query, _xml(envelope).encode()

    def post_callback(
        self, appid: str, callback_url: str, query: dict[str, str], body: bytes
    ) -> CallbackExchange:
        """POST a signed request to the callback as WeChat does; read the reply like WeChat
        (decrypted in safe mode) and put it in the user's inbox."""
        response = requests.post(
            f"{callback_url}?{urlencode(query)}",
            data=body,
            headers={"Content-Type": "text/xml"},
            timeout=CALLBACK_TIMEOUT_SECONDS,
        )
        reply = self._read_reply(appid, response.content) if response.ok else None
        if reply and reply.get("MsgType") == "text":
            self._deliver(str(reply.get("ToUserName", "")), kind="reply", text=reply["Content"])
        return CallbackExchange(query, body, response.status_code, response.content, reply)

    def send_event(
        self,
        appid: str,
        callback_url: str,
        openid: str,
        event: str,
        *,
        mode: str = "safe",
        **details: Any,
    ) -> CallbackExchange:
        """A user does something in WeChat; WeChat tells the account's callback."""
        fields = self.event_xml(appid, openid, event, **details)
        if event in ("subscribe", "unsubscribe"):
            with self._lock:
                user = self.users.get((appid, openid))
                if user is not None:
                    user.subscribed = event == "subscribe"
        query, body = self.signed_request(appid, fields, mode=mode)
        return self.post_callback(appid, callback_url, query, body)

    def user_sends(self, openid: str, event: str, **details: Any) -> UserMessage:
        """The user holding the simulated phone sends a text (``text``) or clicks a menu
        button (``CLICK`` with ``key``, or ``VIEW`` with the page's URL as ``key``); the
        account's callback gets it as from WeChat, and its reply lands in the inbox. Texts and
        clicks show on the phone (``outbox``), VIEW clicks only open the page. Never raises for
        the callback's failures: what went wrong is the ``problem``."""
        user = self.user(openid)
        if user is None:
            raise KeyError(openid)
        account = self.accounts[user.appid]
        fields = self.event_xml(account.appid, openid, event, **details)
        if "MsgId" in fields:
            msgid = int(fields["MsgId"])
        else:
            with self._lock:
                self._next_msgid += 1
                msgid = self._next_msgid
        problem = ""
        if not account.callback_url:
            problem = "no callback URL"
        else:
            query, body = self.signed_request(account.appid, fields)
            try:
                exchange = self.post_callback(account.appid, account.callback_url, query, body)
            except requests.Timeout:
                problem = f"no answer within {CALLBACK_TIMEOUT_SECONDS} s"
            except requests.RequestException as error:
                problem = f"unreachable ({type(error).__name__})"
            except (ValueError, ExpatError, WeChatException) as error:
                problem = f"unreadable reply ({type(error).__name__})"
            else:
                problem = "" if exchange.status == 200 else f"HTTP {exchange.status}"
        message = UserMessage(
            openid=openid,
            kind={"text": "text", "CLICK": "click"}.get(event, event.lower()),
            msgid=msgid,
            text=str(details.get("text", "")),
            key=str(details.get("key", "")),
            problem=problem,
        )
        if message.kind in ("text", "click"):
            with self._lock:
                self.outboxes.setdefault(openid, []).append(message)
        return message

    def _read_reply(self, appid: str, answer: bytes) -> dict[str, Any] | None:
        if not answer.strip() or answer.strip() == b"success":
            return None
        document: dict[str, Any] = xmltodict.parse(answer)["xml"]
        if "Encrypt" in document:
            account = self.accounts[appid]
            crypto = WeChatCrypto(account.token, account.encoding_aes_key, appid)
            inner = crypto.decrypt_message(
                document, document["MsgSignature"], document["TimeStamp"], document["Nonce"]
            )
            document = xmltodict.parse(inner)["xml"]
        return document


_Response = tuple[str, list[tuple[str, str]], bytes]


@contextmanager
def serve_wsgi(application: Any, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Run a WSGI application in a thread (one more per request) until the block ends."""
    server = make_server(
        host, port, application, server_class=_ThreadingServer, handler_class=_QuietHandler
    )
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="wechat-wsgi", daemon=True
    )
    thread.start()
    try:
        yield f"http://{host}:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _new_aes_key() -> str:
    """A 43-character EncodingAESKey, as WeChat's admin page makes them."""
    return secrets.token_urlsafe(32)[:43].replace("-", "A").replace("_", "B")


def _xml(fields: dict[str, Any]) -> str:
    inner = "".join(
        f"<{name}>{value}</{name}>"
        if name in ("CreateTime", "MsgId")
        else f"<{name}><![CDATA[{str(value).replace(']]>', ']]]]><![CDATA[>')}]]></{name}>"
        for name, value in fields.items()
    )
    return f"<xml>{inner}</xml>"


def _json(payload: dict[str, Any]) -> _Response:
    body = json.dumps(payload, ensure_ascii=False).encode()
    return "200 OK", [("Content-Type", "application/json; charset=utf-8")], body


def _error(errcode: int) -> _Response:
    # WeChat answers its errors with HTTP 200 and the code in the body.
    return _json({"errcode": errcode, "errmsg": ERRORS.get(errcode, "system error")})


def _read_json(environ: Environ) -> dict[str, Any]:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    try:
        payload = json.loads(environ["wsgi.input"].read(length) or b"{}")
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}
