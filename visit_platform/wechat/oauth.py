"""Who is holding the phone: WeChat's OAuth (``snsapi_base``) on a building's H5 pages.

A page that needs the WeChat user (``@wechat_user_required``) sends a browser without a
WeChat sign-in in this building to ``/wx/start/``, which sends it to WeChat's authorize page;
WeChat sends it back to ``/wx/oauth/`` with a code, which the platform exchanges for the
user's openid under the building's Official Account. The session then holds
``{schema, appid, openid, until, proof}``: honoured only in the building it names, for the
account that building has now, until its end, and with a keyed proof over the rest, as the
visitor's SMS sign-in (``visit_platform.visits.visitor_session``) is. So an openid's session
in one building gives nothing in another, even when one account serves both.

The OAuth ``state`` is a random value kept in the session, so a code obtained by someone else
cannot be planted in this browser (login CSRF).
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from wechatpy.exceptions import WeChatException

from kernel.privacy import blind_index
from tenants.actions import building_url
from tenants.db import current_schema
from visit_platform.notifications.wechat import account_of_building, oauth_for

SESSION_KEY = "wechat_user"
STATE_KEY = "wechat_oauth_state"
SIGN_IN_LIFETIME = timedelta(hours=2)
PROOF_INDEX = "wechat.session"
# WeChat's codes and our states are short; anything longer is not one of them.
MAX_PARAMETER_LENGTH = 128


def _proof(schema: str, appid: str, openid: str, until: int) -> str:
    return blind_index(f"{schema}|{appid}|{openid}|{until}", PROOF_INDEX)


def remember_openid(request: HttpRequest, appid: str, openid: str) -> None:
    """Sign the WeChat user in to the current building's pages (a new session key)."""
    request.session.cycle_key()
    schema = current_schema()
    until = int(time.time() + SIGN_IN_LIFETIME.total_seconds())
    request.session[SESSION_KEY] = {
        "schema": schema,
        "appid": appid,
        "openid": openid,
        "until": until,
        "proof": _proof(schema, appid, openid, until),
    }


def wechat_openid(request: HttpRequest) -> str | None:
    """The openid of the WeChat user signed in to this building's pages, or None."""
    data: Any = request.session.get(SESSION_KEY)
    if not isinstance(data, dict):
        return None
    schema, appid, openid, until, proof = (data.get(k) for k in _FIELDS)
    if not (
        isinstance(schema, str)
        and isinstance(appid, str)
        and isinstance(openid, str)
        and isinstance(until, int)
        and isinstance(proof, str)
    ):
        return None
    if schema != current_schema() or until <= time.time():
        return None
    if not hmac.compare_digest(proof, _proof(schema, appid, openid, until)):
        return None
    account = account_of_building()
    if account is None or account.appid != appid:
        return None  # the building's account changed: the openid means nothing here now
    return openid


_FIELDS = ("schema", "appid", "openid", "until", "proof")


def wechat_user_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The view runs for a WeChat user signed in to this building; others go through OAuth
    first and come back to the same address."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if wechat_openid(request) is None:
            start = reverse("wechat:start")
            return redirect(f"{start}?{urlencode({'next': request.get_full_path()})}")
        return view(request, *args, **kwargs)

    return wrapper


def _local_path(value: str) -> str:
    """``next`` only ever leads to a page of this site."""
    if value.startswith("/") and not value.startswith(("//", "/\\")) and len(value) < 1000:
        return value
    return reverse("wechat:home")


def _problem(request: HttpRequest, message: str, status: int) -> HttpResponse:
    response = render(request, "wechat/problem.html", {"problem": message}, status=status)
    response["Cache-Control"] = "no-store"
    return response


def start(request: HttpRequest) -> HttpResponse:
    """Off to WeChat's authorize page, which comes back to ``oauth_return``."""
    account = account_of_building()
    if account is None:
        return _problem(request, _("This building has no WeChat Official Account."), 404)
    state = secrets.token_urlsafe(16)
    request.session[STATE_KEY] = {
        "state": state,
        "next": _local_path(request.GET.get("next", "")),
    }
    redirect_uri = building_url(current_schema(), reverse("wechat:oauth"))
    return redirect(oauth_for(account, redirect_uri, state=state).authorize_url)


def oauth_return(request: HttpRequest) -> HttpResponse:
    """WeChat's answer: exchange the code for the openid, remember it, go where asked."""
    code = request.GET.get("code", "")
    state = request.GET.get("state", "")
    pending: Any = request.session.get(STATE_KEY)
    if (
        not code
        or len(code) > MAX_PARAMETER_LENGTH
        or len(state) > MAX_PARAMETER_LENGTH
        or not isinstance(pending, dict)
        or not hmac.compare_digest(str(pending.get("state", "")), state)
    ):
        return _problem(
            request, _("This WeChat sign-in is not valid. Please open the page again."), 400
        )
    account = account_of_building()
    if account is None:
        return _problem(request, _("This building has no WeChat Official Account."), 404)
    del request.session[STATE_KEY]
    redirect_uri = building_url(current_schema(), reverse("wechat:oauth"))
    try:
        answer = oauth_for(account, redirect_uri).fetch_access_token(code)
        openid = str(answer["openid"])
    except (WeChatException, KeyError, ValueError, OSError):
        return _problem(request, _("WeChat did not confirm who you are. Please try again."), 502)
    if not openid or len(openid) > 64:
        return _problem(request, _("WeChat did not confirm who you are. Please try again."), 502)
    remember_openid(request, account.appid, openid)
    return redirect(_local_path(str(pending.get("next", ""))))
