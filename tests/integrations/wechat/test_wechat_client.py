"""The platform's WeChat client against the running sandbox, the token shared in real Redis."""

from __future__ import annotations

import json

import pytest
import redis
import requests
from wechatpy.exceptions import WeChatClientException

from integrations.wechat.client import (
    UNREACHABLE,
    PlatformWeChatClient,
    WeChatEndpoints,
    make_client,
    make_oauth,
    qrcode_image_url,
    send_template,
)
from integrations.wechat.sandbox import SandboxAccount, WeChatSandbox

TEMPLATE = "pass-issued-template"
DATA = {"first": {"value": "您的通行证已签发"}, "keyword1": {"value": "Alpha Tower"}}


@pytest.fixture
def client(
    account: SandboxAccount, redis_client: redis.Redis, redis_prefix: str, sandbox_url: str
) -> PlatformWeChatClient:
    return _client(account, redis_client, redis_prefix, sandbox_url)


def _client(account: SandboxAccount, redis_client: redis.Redis, prefix: str, url: str, **kw):  # type: ignore[no-untyped-def]
    return make_client(
        account.appid,
        kw.get("secret", account.secret),
        redis=redis_client,
        endpoints=WeChatEndpoints.at(url),
        prefix=f"{prefix}:session",
    )


def test_two_clients_share_one_token_through_redis(
    sandbox: WeChatSandbox,
    account: SandboxAccount,
    sandbox_url: str,
    redis_client: redis.Redis,
    redis_prefix: str,
) -> None:
    visitor = sandbox.add_user(account.appid)
    first = _client(account, redis_client, redis_prefix, sandbox_url)
    second = _client(account, redis_client, redis_prefix, sandbox_url)

    one = send_template(first, visitor.openid, TEMPLATE, DATA, url="https://alpha.example/p/1")
    two = send_template(second, visitor.openid, TEMPLATE, DATA)

    assert (one.sent, two.sent) == (True, True)
    assert sandbox.token_requests == {account.appid: 1}
    stored = redis_client.get(f"{redis_prefix}:session:{account.appid}_access_token")
    assert stored is not None and json.loads(stored) == first.access_token == second.access_token
    inbox = sandbox.inbox(visitor.openid)
    assert [(m.kind, m.template_id, m.msgid) for m in inbox] == [
        ("template", TEMPLATE, one.msgid),
        ("template", TEMPLATE, two.msgid),
    ]
    assert inbox[0].data == DATA and inbox[0].url == "https://alpha.example/p/1"


@pytest.mark.parametrize("errcode", [42001, 40001])
def test_a_refused_token_is_refreshed_once(
    errcode: int,
    sandbox: WeChatSandbox,
    account: SandboxAccount,
    sandbox_url: str,
    client: PlatformWeChatClient,
) -> None:
    visitor = sandbox.add_user(account.appid)
    assert send_template(client, visitor.openid, TEMPLATE, DATA).sent
    if errcode == 42001:
        sandbox.expire_tokens(account.appid)
    else:
        sandbox.fail_next(40001, "/cgi-bin/message/template/send")

    result = send_template(client, visitor.openid, TEMPLATE, DATA)

    assert result.sent
    assert sandbox.token_requests == {account.appid: 2}
    assert len(sandbox.inbox(visitor.openid)) == 2


def test_a_token_refused_twice_is_not_refreshed_again(
    sandbox: WeChatSandbox,
    account: SandboxAccount,
    sandbox_url: str,
    client: PlatformWeChatClient,
) -> None:
    """wechatpy's own retry would loop; ours refreshes once and reports WeChat's answer."""
    visitor = sandbox.add_user(account.appid)
    sandbox.fail_next(40001, "/cgi-bin/message/template/send")
    sandbox.fail_next(40001, "/cgi-bin/message/template/send")
    sandbox.fail_next(40001, "/cgi-bin/message/template/send")

    result = send_template(client, visitor.openid, TEMPLATE, DATA)

    assert (result.sent, result.errcode) == (False, 40001)
    assert sandbox.token_requests == {account.appid: 2}


def test_a_client_picks_up_the_token_another_client_refreshed(
    sandbox: WeChatSandbox,
    account: SandboxAccount,
    sandbox_url: str,
    redis_client: redis.Redis,
    redis_prefix: str,
) -> None:
    visitor = sandbox.add_user(account.appid)
    slow = _client(account, redis_client, redis_prefix, sandbox_url)
    quick = _client(account, redis_client, redis_prefix, sandbox_url)
    assert send_template(slow, visitor.openid, TEMPLATE, DATA).sent
    sandbox.expire_tokens(account.appid)
    assert send_template(quick, visitor.openid, TEMPLATE, DATA).sent  # quick refreshes

    assert send_template(slow, visitor.openid, TEMPLATE, DATA).sent

    assert sandbox.token_requests == {account.appid: 2}


@pytest.mark.parametrize(
    ("subscribed", "openid", "queued", "errcode"),
    [
        (False, None, None, 43004),
        (True, "o-nobody", None, 40003),
        (True, None, 45009, 45009),
    ],
    ids=["not-subscribed", "bad-openid", "quota"],
)
def test_a_send_weChat_refuses_returns_its_errcode(
    subscribed: bool,
    openid: str | None,
    queued: int | None,
    errcode: int,
    sandbox: WeChatSandbox,
    account: SandboxAccount,
    sandbox_url: str,
    client: PlatformWeChatClient,
) -> None:
    visitor = sandbox.add_user(account.appid, subscribed=subscribed)
    if queued:
        sandbox.fail_next(queued, "/cgi-bin/message/template/send")

    result = send_template(client, openid or visitor.openid, TEMPLATE, DATA)

    assert (result.sent, result.errcode, result.msgid) == (False, errcode, None)
    assert sandbox.inbox(visitor.openid) == []


def test_wechat_unreachable_is_a_result_too(
    account: SandboxAccount, redis_client: redis.Redis, redis_prefix: str
) -> None:
    with WeChatSandbox().serve() as gone:
        pass  # the port is closed again: nothing listens there
    client = _client(account, redis_client, redis_prefix, gone)

    result = send_template(client, "o-someone", TEMPLATE, DATA)

    assert (result.sent, result.errcode) == (False, UNREACHABLE)


@pytest.mark.parametrize(
    ("appid", "secret", "errcode"), [("wxunknown", None, 40013), (None, "wrong", 40125)]
)
def test_bad_credentials_give_wechats_codes(
    appid: str | None,
    secret: str | None,
    errcode: int,
    account: SandboxAccount,
    sandbox_url: str,
    redis_client: redis.Redis,
    redis_prefix: str,
) -> None:
    client = make_client(
        appid or account.appid,
        secret or account.secret,
        redis=redis_client,
        endpoints=WeChatEndpoints.at(sandbox_url),
        prefix=f"{redis_prefix}:session",
    )

    with pytest.raises(WeChatClientException) as refused:
        client.fetch_access_token()
    result = send_template(client, "o-someone", TEMPLATE, DATA)

    assert refused.value.errcode == errcode
    assert result.errcode == errcode


def test_menu_and_scene_qr_code(
    sandbox: WeChatSandbox,
    account: SandboxAccount,
    sandbox_url: str,
    client: PlatformWeChatClient,
) -> None:
    menu = {
        "button": [
            {"type": "view", "name": "访客预约", "url": "https://alpha.example/wechat/apply"},
            {"type": "click", "name": "我的通行证", "key": "MY_PASSES"},
            {"type": "view", "name": "员工服务", "url": "https://alpha.example/wechat/staff"},
        ]
    }

    client.menu.create(menu)
    code = client.qrcode.create(
        {"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": "b:alpha"}}}
    )
    image = requests.get(
        qrcode_image_url(code["ticket"], WeChatEndpoints.at(sandbox_url)), timeout=5
    )

    assert client.menu.get() == {"menu": menu}
    assert sandbox.accounts[account.appid].menu == menu
    assert image.status_code == 200 and image.headers["Content-Type"] == "image/png"
    assert image.content.startswith(b"\x89PNG\r\n\x1a\n")
    with pytest.raises(WeChatClientException) as too_many:
        client.menu.create({"button": menu["button"] * 2})
    assert too_many.value.errcode == 40016


def test_oauth_gives_the_openid_of_the_phone_holder(
    sandbox: WeChatSandbox, account: SandboxAccount, sandbox_url: str
) -> None:
    visitor = sandbox.add_user(account.appid, subscribed=False)
    oauth = make_oauth(
        account.appid,
        account.secret,
        "https://alpha.example/wechat/oauth?next=/apply",
        state="alpha",
        endpoints=WeChatEndpoints.at(sandbox_url),
    )
    assert oauth.authorize_url.startswith(f"{sandbox_url}/connect/oauth2/authorize?appid=")

    redirect = requests.get(
        oauth.authorize_url.split("#")[0],
        cookies={"sandbox_openid": visitor.openid},
        allow_redirects=False,
        timeout=5,
    )
    location = requests.utils.urlparse(redirect.headers["Location"])
    params = dict(p.split("=", 1) for p in location.query.split("&"))
    answer = oauth.fetch_access_token(params["code"])

    assert redirect.status_code == 302
    assert location.netloc == "alpha.example" and params["next"] == "/apply"
    assert params["state"] == "alpha"
    assert answer["openid"] == visitor.openid == oauth.open_id
    with pytest.raises(WeChatClientException) as reused:
        oauth.fetch_access_token(params["code"])
    assert reused.value.errcode == 40029


def test_jssdk_ticket(client: PlatformWeChatClient) -> None:

    ticket = client.jsapi.get_jsapi_ticket()
    signature = client.jsapi.get_jsapi_signature("nonce", ticket, 1700000000, "https://a.example/")

    assert len(ticket) > 20 and len(signature) == 40
    assert client.jsapi.get_jsapi_ticket() == ticket  # kept in the shared session
