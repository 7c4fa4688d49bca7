"""The sandbox's simulated phone over HTTP: the account's menu, the messages received, texts and
menu clicks sent to the callback (the tiny callback server of conftest) with the reply shown,
H5 pages opened as the phone's user; bad input refused with nothing sent."""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests

from integrations.wechat.sandbox import SandboxAccount, SandboxUser, WeChatSandbox

MENU = {
    "button": [
        {"type": "view", "name": "访客预约", "url": "http://alpha.localhost:8000/visit/request/"},
        {"type": "click", "name": "我的通行证", "key": "MY_PASSES"},
        {
            "name": "员工服务",
            "sub_button": [{"type": "view", "name": "绑定", "url": "http://alpha.localhost/b/"}],
        },
    ]
}


@pytest.fixture
def phone_account(account: SandboxAccount, callback_server: Any) -> SandboxAccount:
    """The conftest's account, set up as WeChat's admin page would: a name, the callback,
    template titles, a menu (pushed through the API, as the platform does)."""
    account.name = "阿尔法物业 Alpha Property"
    account.callback_url = callback_server.url
    account.templates = {"tpl-pass": "通行证已签发 Pass issued"}
    return account


@pytest.fixture
def visitor(sandbox: WeChatSandbox, phone_account: SandboxAccount) -> SandboxUser:
    return sandbox.add_user(phone_account.appid, openid="o_visitor_1", nickname="访客 Visitor")


def _token(sandbox_url: str, account: SandboxAccount) -> str:
    answer = requests.get(
        f"{sandbox_url}/cgi-bin/token",
        params={
            "grant_type": "client_credential",
            "appid": account.appid,
            "secret": account.secret,
        },
        timeout=5,
    ).json()
    return str(answer["access_token"])


def _push_menu(sandbox_url: str, account: SandboxAccount) -> None:
    answer = requests.post(
        f"{sandbox_url}/cgi-bin/menu/create",
        params={"access_token": _token(sandbox_url, account)},
        json=MENU,
        timeout=5,
    ).json()
    assert answer["errcode"] == 0


def _phone(sandbox_url: str, user: SandboxUser) -> str:
    page = requests.get(f"{sandbox_url}/phone/{user.openid}", timeout=5)
    assert page.status_code == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    return page.text


def _post(sandbox_url: str, path: str, **form: str) -> requests.Response:
    return requests.post(f"{sandbox_url}{path}", data=form, allow_redirects=False, timeout=10)


def test_the_phone_shows_the_account_and_its_menu_as_buttons(
    sandbox_url: str, phone_account: SandboxAccount, visitor: SandboxUser
) -> None:
    before = _phone(sandbox_url, visitor)
    _push_menu(sandbox_url, phone_account)

    page = _phone(sandbox_url, visitor)

    assert "暂无菜单 No menu yet" in before
    assert "阿尔法物业 Alpha Property" in page and "访客 Visitor" in page
    menu = page[page.index('<nav class="menu"') :]
    assert re.findall(r'data-menu="(\w+)"[^>]*>([^<]+)<', menu) == [
        ("view", "访客预约"),
        ("click", "我的通行证"),
        ("view", "绑定"),
    ]
    assert "<summary>员工服务</summary>" in menu
    view_link = (
        "/phone/o_visitor_1/open?url=http%3A%2F%2Falpha.localhost%3A8000%2Fvisit%2Frequest%2F"
    )
    assert f'href="{view_link}&amp;menu=1"' in menu
    assert '<input type="hidden" name="key" value="MY_PASSES">' in menu


def test_a_template_message_sent_through_the_api_shows_like_wechat_draws_it(
    sandbox_url: str, phone_account: SandboxAccount, visitor: SandboxUser
) -> None:
    sent = requests.post(
        f"{sandbox_url}/cgi-bin/message/template/send",
        params={"access_token": _token(sandbox_url, phone_account)},
        json={
            "touser": visitor.openid,
            "template_id": "tpl-pass",
            "url": "http://alpha.localhost/p/abc/",
            "data": {
                "first": {"value": "您的通行证已签发"},
                "keyword1": {"value": "韩梅梅 <b>"},
                "remark": {"value": "点击详情出示二维码"},
            },
        },
        timeout=5,
    ).json()

    page = _phone(sandbox_url, visitor)

    assert sent["errcode"] == 0
    card = page[page.index('<article class="template" data-template="tpl-pass">') :]
    card = card[: card.index("</article>")]
    assert "<h2>通行证已签发 Pass issued</h2>" in card
    assert '<p class="first">您的通行证已签发</p>' in card
    assert "<dt>keyword1</dt><dd>韩梅梅 &lt;b&gt;</dd>" in card  # the platform's text, escaped
    assert '<p class="remark">点击详情出示二维码</p>' in card
    assert 'href="/phone/o_visitor_1/open?url=http%3A%2F%2Falpha.localhost%2Fp%2Fabc%2F"' in card
    assert "详情 Details" in card


def test_a_text_typed_on_the_phone_reaches_the_callback_and_the_reply_shows(
    sandbox_url: str, visitor: SandboxUser, callback_server: Any
) -> None:
    sent = _post(sandbox_url, f"/phone/{visitor.openid}/send", text=" 通行证 ")

    assert (sent.status_code, sent.headers["Location"]) == (303, f"/phone/{visitor.openid}")
    [inbound] = callback_server.received
    assert (inbound.mode, inbound.openid, inbound.kind, inbound.text) == (
        "safe",
        visitor.openid,
        "text",
        "通行证",
    )
    chat = requests.get(f"{sandbox_url}/phone/{visitor.openid}/chat", timeout=5).text
    mine = chat.index('<div class="row out"><p class="bubble">通行证</p>')
    reply = chat.index('<div class="row in">')
    assert mine < reply
    assert '<p class="bubble">收到: 通行证</p>' in chat[reply:]
    assert "Not delivered" not in chat
    assert "收到: 通行证" in _phone(sandbox_url, visitor)


def test_a_menu_click_goes_to_the_callback_as_a_click_event(
    sandbox_url: str, phone_account: SandboxAccount, visitor: SandboxUser, callback_server: Any
) -> None:
    _push_menu(sandbox_url, phone_account)

    clicked = _post(sandbox_url, f"/phone/{visitor.openid}/click", key="MY_PASSES")

    assert clicked.status_code == 303
    [inbound] = callback_server.received
    assert (inbound.kind, inbound.event, inbound.key) == ("event", "click", "MY_PASSES")
    assert '<p class="system">点击菜单 Menu: 我的通行证</p>' in _phone(sandbox_url, visitor)


def test_a_callback_that_refuses_or_is_away_shows_under_the_message(
    sandbox: WeChatSandbox,
    sandbox_url: str,
    phone_account: SandboxAccount,
    visitor: SandboxUser,
    callback_server: Any,
) -> None:
    phone_account.token = "not-the-platform-s"  # signed with a token the platform does not know
    _post(sandbox_url, f"/phone/{visitor.openid}/send", text="你好")
    phone_account.callback_url = "http://127.0.0.1:9/wechat/"  # nothing listens on port 9
    _post(sandbox_url, f"/phone/{visitor.openid}/send", text="在吗")

    page = _phone(sandbox_url, visitor)

    assert callback_server.refused == ["signature_invalid"]
    assert [(m.text, m.problem) for m in sandbox.outbox(visitor.openid)] == [
        ("你好", "HTTP 400"),
        ("在吗", "unreachable (ConnectionError)"),
    ]
    assert '<p class="problem">未送达 Not delivered: HTTP 400</p>' in page
    assert "未送达 Not delivered: unreachable (ConnectionError)" in page
    assert sandbox.inbox(visitor.openid) == []


def test_opening_a_page_signs_in_as_the_phone_user_through_the_h5_entry(
    sandbox: WeChatSandbox, sandbox_url: str, phone_account: SandboxAccount, visitor: SandboxUser
) -> None:
    phone_account.h5_entry = "/wx/start/?next="
    browser = requests.Session()

    opened = browser.get(
        f"{sandbox_url}/phone/{visitor.openid}/open",
        params={"url": "http://alpha.localhost:8000/p/abc/?x=1"},
        allow_redirects=False,
        timeout=5,
    )
    already_entry = browser.get(
        f"{sandbox_url}/phone/{visitor.openid}/open",
        params={"url": "http://alpha.localhost:8000/wx/start/?next=/me/"},
        allow_redirects=False,
        timeout=5,
    )
    on_the_platform_host = browser.get(
        f"{sandbox_url}/phone/{visitor.openid}/open",
        params={"url": f"{phone_account.callback_url}go/request/"},
        allow_redirects=False,
        timeout=5,
    )
    # The platform's entry sends the browser to WeChat's authorize page; the cookie says who.
    authorized = browser.get(
        f"{sandbox_url}/connect/oauth2/authorize",
        params={"appid": phone_account.appid, "redirect_uri": "http://alpha.localhost/wx/oauth/"},
        allow_redirects=False,
        timeout=5,
    )

    assert opened.status_code == 302
    assert opened.headers["Location"] == (
        "http://alpha.localhost:8000/wx/start/?next=/p/abc/%3Fx%3D1"
    )
    assert (
        "sandbox_openid=o_visitor_1; Path=/; HttpOnly; SameSite=Lax"
        in (opened.headers["Set-Cookie"])
    )
    assert already_entry.headers["Location"] == "http://alpha.localhost:8000/wx/start/?next=/me/"
    # The building picker on the platform's own host (the callback's) leads to an entry itself.
    assert on_the_platform_host.headers["Location"] == f"{phone_account.callback_url}go/request/"
    assert authorized.status_code == 302
    code = re.search(r"code=([^&]+)", authorized.headers["Location"])
    assert code is not None
    assert sandbox._codes[code.group(1)] == (phone_account.appid, visitor.openid)


def test_the_side_by_side_view_frames_every_phone(
    sandbox: WeChatSandbox, sandbox_url: str, phone_account: SandboxAccount, visitor: SandboxUser
) -> None:
    host = sandbox.add_user(phone_account.appid, openid="o_host_1", nickname="张伟 zhang.wei")

    page = requests.get(f"{sandbox_url}/phone/", timeout=5)

    assert page.status_code == 200
    assert re.findall(r'<iframe src="(/phone/[^"]+)"', page.text) == [
        f"/phone/{visitor.openid}",
        f"/phone/{host.openid}",
    ]
    assert page.headers["X-Frame-Options"] == "SAMEORIGIN"


@pytest.mark.parametrize(
    ("path", "form", "headers", "status"),
    [
        ("/phone/o_visitor_1/send", {"text": ""}, {}, 400),
        ("/phone/o_visitor_1/send", {"text": "   "}, {}, 400),
        ("/phone/o_visitor_1/send", {"text": "长" * 601}, {}, 400),
        ("/phone/o_visitor_1/send", {"text": "x" * 9000}, {}, 413),
        ("/phone/o_visitor_1/send", {"text": "hi"}, {"Origin": "http://evil.example"}, 403),
        ("/phone/o_visitor_1/send", {"text": "hi"}, {"Origin": "null"}, 403),
        ("/phone/o_visitor_1/click", {"key": "NOT_IN_MENU"}, {}, 400),
        ("/phone/o_visitor_1/click", {"key": ""}, {}, 400),
        ("/phone/o_nobody/send", {"text": "hi"}, {}, 404),
        ("/phone/..%2Fcgi-bin/send", {"text": "hi"}, {}, 404),
        ("/phone/o_visitor_1/delete", {"text": "hi"}, {}, 404),
    ],
)
def test_bad_input_from_a_phone_is_refused_and_nothing_is_sent(
    sandbox: WeChatSandbox,
    sandbox_url: str,
    visitor: SandboxUser,
    callback_server: Any,
    path: str,
    form: dict[str, str],
    headers: dict[str, str],
    status: int,
) -> None:
    answer = requests.post(
        f"{sandbox_url}{path}", data=form, headers=headers, allow_redirects=False, timeout=5
    )

    assert answer.status_code == status
    assert callback_server.received == []
    assert sandbox.outbox(visitor.openid) == []


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "//evil.example/", "data:text/html,x", "http://a/" + "x" * 2000]
)
def test_only_web_pages_open_from_a_phone(sandbox_url: str, visitor: SandboxUser, url: str) -> None:
    answer = requests.get(
        f"{sandbox_url}/phone/{visitor.openid}/open",
        params={"url": url},
        allow_redirects=False,
        timeout=5,
    )

    assert answer.status_code == 400
    assert "Set-Cookie" not in answer.headers
