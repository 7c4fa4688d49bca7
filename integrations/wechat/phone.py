"""The sandbox's simulated phones: what a WeChat user sees of an Official Account, in a browser.

Served by the sandbox itself (it is WeChat's side, not the platform's):

- ``GET /phone/``: every sandbox user's phone side by side (a desktop's view of the demo);
- ``GET /phone/<openid>``: one phone, about 390 px wide: the account's name, the messages the
  user received (template messages drawn as WeChat draws them, the account's text replies),
  a text box and the account's menu at the bottom; it polls ``/phone/<openid>/chat``;
- ``POST /phone/<openid>/send`` (a text) and ``POST /phone/<openid>/click`` (a CLICK button):
  signed and encrypted to the account's callback as WeChat sends them; the reply shows;
- ``GET /phone/<openid>/open?url=...``: an H5 page opened from a menu (VIEW) or a message's
  "详情" link.

How H5 pages open, and why. The platform's pages are never framed: they keep Django's
``X-Frame-Options: DENY`` everywhere, and a frame of ``demo.localhost`` inside the sandbox's
``127.0.0.1`` page is cross-site, where the platform's ``SameSite=Lax`` session and CSRF cookies
are not sent, so its forms could not work there anyway. A page therefore opens at the top
level: in the same tab on a phone-sized screen, in a phone-sized window of its own from a
desktop or from the side-by-side view. On the way, ``open`` sets the ``sandbox_openid``
cookie on the sandbox's host, which the sandbox's OAuth authorize endpoint reads: the page
signs in as the user holding this phone. One browser shows several phones but keeps one set of
the platform's cookies for all of them, so a platform signed in as the visitor would show the
visitor's session on zhang.wei's phone. When the account names an ``h5_entry`` (the demo:
the platform's ``/wx/start/?next=``), every page on a building's host therefore opens through
it: OAuth runs again and signs in the user of the phone that opened it.

A browser keeps its own user agent: pages opened here do not see WeChat's ``MicroMessenger``
(browser tests set ``sandbox.WECHAT_USER_AGENT`` on their browser context instead).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit, urlunsplit

if TYPE_CHECKING:
    from integrations.wechat.sandbox import (
        ReceivedMessage,
        SandboxAccount,
        SandboxUser,
        UserMessage,
        WeChatSandbox,
    )

OPENID = re.compile(r"[A-Za-z0-9_-]{1,64}")
# WeChat takes texts of up to 2,048 bytes; a person typing on the phone page needs far less.
MAX_TEXT_CHARS = 600
MAX_FORM_BYTES = 8 * 1024
MAX_URL_CHARS = 2000
PHONE_WIDTH, PHONE_HEIGHT = 390, 844

Environ = dict[str, Any]
_Page = tuple[str, list[tuple[str, str]], bytes]


def respond(
    sandbox: WeChatSandbox, environ: Environ, start_response: Callable[..., Any]
) -> Iterable[bytes]:
    """Answer a ``/phone`` request of the sandbox's WSGI application."""
    status, headers, body = _route(sandbox, environ)
    start_response(status, headers)
    return [body]


def _route(sandbox: WeChatSandbox, environ: Environ) -> _Page:
    method = environ["REQUEST_METHOD"]
    parts = environ.get("PATH_INFO", "").strip("/").split("/")[1:]  # after "phone"
    if not parts:
        return _html(_index(sandbox)) if method == "GET" else _plain(405, "GET only")
    user = sandbox.user(parts[0]) if OPENID.fullmatch(parts[0]) else None
    if user is None or len(parts) > 2:
        return _plain(404, "没有这个沙盒用户 No such sandbox user")
    action = parts[1] if len(parts) == 2 else ""
    account = sandbox.accounts[user.appid]
    if method == "GET" and action == "":
        return _html(_phone(sandbox, account, user))
    if method == "GET" and action == "chat":
        return _html(_chat(sandbox, account, user))
    if method == "GET" and action == "open":
        return _open(sandbox, account, user, environ)
    if method == "POST" and action in ("send", "click"):
        return _act(sandbox, account, user, action, environ)
    return _plain(404, "not found")


# --- what the phone does ------------------------------------------------------------------


def _open(
    sandbox: WeChatSandbox, account: SandboxAccount, user: SandboxUser, environ: Environ
) -> _Page:
    query = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    url = query.get("url", "")
    if not url.startswith(("http://", "https://")) or len(url) > MAX_URL_CHARS:
        return _plain(400, "只能打开 http(s) 网页 Only http(s) pages open here")
    if query.get("menu") == "1":
        # WeChat tells the account about a VIEW click, and opens the page without waiting.
        threading.Thread(
            target=sandbox.user_sends,
            args=(user.openid, "VIEW"),
            kwargs={"key": url},
            daemon=True,
            name="wechat-view",
        ).start()
    location = _through_entry(account, url, environ.get("HTTP_HOST", ""))
    cookie = f"sandbox_openid={user.openid}; Path=/; HttpOnly; SameSite=Lax"
    return "302 Found", [("Location", location), ("Set-Cookie", cookie)], b""


def _through_entry(account: SandboxAccount, url: str, own_host: str) -> str:
    """``url`` by way of the account's H5 entry (see the module's docstring), unless it is the
    entry already, a page of the sandbox itself, or a page on the host of the account's
    callback: the platform's own host has no entry, its pages (a building picker) lead on to a
    building's entry themselves."""
    parts = urlsplit(url)
    entry = account.h5_entry
    own_hosts = (own_host, urlsplit(account.callback_url).netloc)
    if not entry or parts.netloc in own_hosts or parts.path == urlsplit(entry).path:
        return url
    target = urlunsplit(("", "", parts.path or "/", parts.query, ""))
    return f"{parts.scheme}://{parts.netloc}{entry}{quote(target, safe='/')}"


def _act(
    sandbox: WeChatSandbox,
    account: SandboxAccount,
    user: SandboxUser,
    action: str,
    environ: Environ,
) -> _Page:
    origin = environ.get("HTTP_ORIGIN")
    if origin is not None and urlsplit(origin).netloc != environ.get("HTTP_HOST"):
        return _plain(403, "只接受本页的表单 Only this page's own forms are accepted")
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = MAX_FORM_BYTES + 1
    if not 0 <= length <= MAX_FORM_BYTES:
        return _plain(413, "太长了 Too long")
    form = {
        k: v[-1]
        for k, v in parse_qs(environ["wsgi.input"].read(length).decode(errors="replace")).items()
    }
    if action == "send":
        text = form.get("text", "").strip()
        if not text or len(text) > MAX_TEXT_CHARS:
            return _plain(400, f"消息需 1 到 {MAX_TEXT_CHARS} 字 A text of 1 to 600 characters")
        sandbox.user_sends(user.openid, "text", text=text)
    else:
        key = form.get("key", "")
        if key not in _click_keys(account):
            return _plain(400, "菜单里没有这个按钮 No such button in the menu")
        sandbox.user_sends(user.openid, "CLICK", key=key)
    # Back to the phone, where the reply now shows (a reload does not send it again).
    return "303 See Other", [("Location", f"/phone/{user.openid}")], b""


def _buttons(account: SandboxAccount) -> list[dict[str, Any]]:
    menu = account.menu or {}
    buttons = menu.get("button")
    return [b for b in buttons if isinstance(b, dict)] if isinstance(buttons, list) else []


def _all_buttons(account: SandboxAccount) -> Iterable[dict[str, Any]]:
    for button in _buttons(account):
        yield button
        for sub in button.get("sub_button") or []:
            if isinstance(sub, dict):
                yield sub


def _click_keys(account: SandboxAccount) -> dict[str, str]:
    """The menu's CLICK buttons: key -> name."""
    return {
        str(b.get("key", "")): str(b.get("name", ""))
        for b in _all_buttons(account)
        if b.get("type") == "click"
    }


# --- pages ----------------------------------------------------------------------------------


def _index(sandbox: WeChatSandbox) -> str:
    users = list(sandbox.users.values())  # a copy: the server's threads may add users
    phones = "".join(
        f'<figure class="slot"><iframe src="/phone/{escape(u.openid)}" '
        f'title="{escape(u.nickname or u.openid)}" width="{PHONE_WIDTH}" '
        f'height="{PHONE_HEIGHT}"></iframe><figcaption><a href="/phone/{escape(u.openid)}">'
        f"{escape(u.nickname or u.openid)}</a> · "
        f"{escape(sandbox.accounts[u.appid].name or u.appid)}</figcaption></figure>"
        for u in users
    )
    body = (
        '<main class="desk"><h1>微信沙盒 WeChat sandbox</h1><p class="lead">每部手机是一位'
        "微信用户：点菜单、发消息、打开网页。 Each phone is one WeChat user: tap the menu, send a "
        "message, open the pages.</p>"
        f'<div class="phones">{phones or "<p>还没有沙盒用户 No sandbox users yet.</p>"}</div>'
        "</main>"
    )
    return _document("微信沙盒 WeChat sandbox", body, "desk-page")


def _phone(sandbox: WeChatSandbox, account: SandboxAccount, user: SandboxUser) -> str:
    openid = escape(user.openid)
    name = escape(account.name or account.appid)
    compose = (
        f'<form class="compose" method="post" action="/phone/{openid}/send">'
        f'<input name="text" maxlength="{MAX_TEXT_CHARS}" required autocomplete="off" '
        'aria-label="消息 Message" placeholder="发消息 Message">'
        '<button type="submit">发送 Send</button></form>'
    )
    body = (
        f'<div class="phone" data-openid="{openid}">'
        f'<header class="bar"><h1>{name}</h1><span class="who">{escape(user.nickname)}</span>'
        "</header>"
        f'<main class="chat" id="chat" aria-live="polite">{_chat(sandbox, account, user)}</main>'
        f"{compose}{_menu(account, user)}</div>"
        f"<script>{_SCRIPT}</script>"
    )
    return _document(f"{account.name or account.appid} · {user.nickname}", body, "phone-page")


def _menu(account: SandboxAccount, user: SandboxUser) -> str:
    buttons = _buttons(account)
    if not buttons:
        return '<nav class="menu"><span class="none">该公众号暂无菜单 No menu yet</span></nav>'
    items = []
    for button in buttons:
        subs = [s for s in button.get("sub_button") or [] if isinstance(s, dict)]
        if subs:
            inner = "".join(_button(s, user) for s in subs)
            items.append(
                f'<details class="item"><summary>{escape(str(button.get("name", "")))}</summary>'
                f'<div class="sub">{inner}</div></details>'
            )
        else:
            items.append(f'<div class="item">{_button(button, user)}</div>')
    return f'<nav class="menu" aria-label="菜单 Menu">{"".join(items)}</nav>'


def _button(button: dict[str, Any], user: SandboxUser) -> str:
    name = escape(str(button.get("name", "")))
    openid = escape(user.openid)
    if button.get("type") == "view":
        href = f"/phone/{openid}/open?" + urlencode({"url": str(button.get("url", "")), "menu": 1})
        return f'<a class="h5" data-menu="view" target="_top" href="{escape(href)}">{name}</a>'
    if button.get("type") == "click":
        key = escape(str(button.get("key", "")))
        return (
            f'<form method="post" action="/phone/{openid}/click">'
            f'<input type="hidden" name="key" value="{key}">'
            f'<button type="submit" data-menu="click">{name}</button></form>'
        )
    return f"<span>{name}</span>"  # a type the sandbox does not simulate (scancode, ...)


def _chat(sandbox: WeChatSandbox, account: SandboxAccount, user: SandboxUser) -> str:
    entries: list[tuple[int, float, str]] = [
        (m.msgid, m.received_at, _received(m, account)) for m in sandbox.inbox(user.openid)
    ]
    entries += [(m.msgid, m.sent_at, _sent(m, account)) for m in sandbox.outbox(user.openid)]
    if not entries:
        return '<p class="empty">还没有消息 No messages yet</p>'
    html, last_shown = [], 0.0
    for _, at, entry in sorted(entries, key=lambda e: e[0]):
        if at - last_shown > 180:  # WeChat shows the time when a few minutes have passed
            html.append(f'<p class="time">{time.strftime("%H:%M", time.localtime(at))}</p>')
            last_shown = at
        html.append(entry)
    return "".join(html)


def _received(message: ReceivedMessage, account: SandboxAccount) -> str:
    if message.kind != "template":
        return (
            f'<div class="row in"><span class="avatar" aria-hidden="true">公</span>'
            f'<p class="bubble">{_lines(message.text)}</p></div>'
        )
    data = {key: _value(value) for key, value in message.data.items()}
    title = account.templates.get(message.template_id) or message.template_id
    first = data.pop("first", "")
    remark = data.pop("remark", "")
    fields = "".join(
        f"<div><dt>{escape(key)}</dt><dd>{_lines(value)}</dd></div>" for key, value in data.items()
    )
    parts = [
        f'<article class="template" data-template="{escape(message.template_id)}">',
        f"<h2>{escape(title)}</h2>",
        f'<p class="date">{time.strftime("%m月%d日", time.localtime(message.received_at))}</p>',
        f'<p class="first">{_lines(first)}</p>' if first else "",
        f"<dl>{fields}</dl>" if fields else "",
        f'<p class="remark">{_lines(remark)}</p>' if remark else "",
    ]
    if message.url.startswith(("http://", "https://")):
        href = f"/phone/{escape(message.openid)}/open?" + urlencode({"url": message.url})
        parts.append(
            f'<a class="h5 more" target="_top" href="{escape(href)}">详情 Details<span>›</span></a>'
        )
    parts.append("</article>")
    return "".join(parts)


def _sent(message: UserMessage, account: SandboxAccount) -> str:
    problem = (
        f'<p class="problem">未送达 Not delivered: {escape(message.problem)}</p>'
        if message.problem
        else ""
    )
    if message.kind == "click":
        name = _click_keys(account).get(message.key, message.key)
        return f'<p class="system">点击菜单 Menu: {escape(name)}</p>{problem}'
    return (
        f'<div class="row out"><p class="bubble">{_lines(message.text)}</p>'
        f'<span class="avatar me" aria-hidden="true">我</span></div>{problem}'
    )


def _value(value: Any) -> str:
    """A template field as WeChat takes it (``{"value": ..., "color": ...}``) or a bare text."""
    return str(value.get("value", "")) if isinstance(value, dict) else str(value)


def _lines(text: str) -> str:
    return escape(text).replace("\n", "<br>")


def _document(title: str, body: str, page_class: str) -> str:
    return (
        '<!doctype html><html lang="zh-Hans"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f'<body class="{page_class}">{body}</body></html>'
    )


def _html(document: str) -> _Page:
    headers = [
        ("Content-Type", "text/html; charset=utf-8"),
        ("Cache-Control", "no-store"),
        ("X-Frame-Options", "SAMEORIGIN"),  # the side-by-side view frames its own phones only
    ]
    return "200 OK", headers, document.encode()


def _plain(status: int, text: str) -> _Page:
    reasons = {400: "Bad Request", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed"}
    reasons[413] = "Payload Too Large"
    return (
        f"{status} {reasons[status]}",
        [("Content-Type", "text/plain; charset=utf-8")],
        (text.encode()),
    )


# The page's look and behaviour, kept beside this module as the files they are.
_STYLE = (Path(__file__).parent / "phone.css").read_text()
_SCRIPT = (Path(__file__).parent / "phone.js").read_text()
