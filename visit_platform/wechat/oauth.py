"""Who is holding the phone: WeChat's OAuth (``snsapi_base``) on a building's H5 pages.

A page that needs the WeChat user (``@wechat_user_required``) sends a browser without a
WeChat sign-in in this building to ``/wx/start/``, which sends it to WeChat's authorize page;
WeChat sends it back to ``/wx/oauth/`` with a code, which the platform exchanges for the
user's openid under the building's Official Account and signs them in to this building's pages
(``visit_platform.notifications.wechat_session``: for this building only, even when one
account serves several).

The OAuth ``state`` is a random value kept in the session, so a code obtained by someone else
cannot be planted in this browser (login CSRF).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from wechatpy.exceptions import WeChatException

from kernel.mobile_pages import local_path
from tenants.actions import building_url
from tenants.db import current_schema
from visit_platform.notifications.wechat import account_of_building, oauth_for
from visit_platform.notifications.wechat_session import (
    SESSION_KEY,
    SIGN_IN_LIFETIME,
    remember_openid,
    wechat_openid,
)

__all__ = [
    "SESSION_KEY",
    "SIGN_IN_LIFETIME",
    "oauth_return",
    "remember_openid",
    "start",
    "wechat_openid",
    "wechat_user_required",
]

STATE_KEY = "wechat_oauth_state"
# WeChat's codes and our states are short; anything longer is not one of them.
MAX_PARAMETER_LENGTH = 128


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
    return local_path(value, reverse("wechat:home"))


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
