"""Who holds the phone, once WeChat's OAuth said so: the WeChat user's sign-in to a building's
pages, kept in the session.

The session holds ``{schema, appid, openid, until, proof}``: honoured only in the building it
names, for the account that building has now, until its end, and with a keyed proof over the
rest, as the visitor's SMS sign-in (``visit_platform.visits.visitor_session``) is. So an
openid's session in one building gives nothing in another, even when one account serves both.

The OAuth pages (``visit_platform.wechat.oauth``) write it; it lives here, below the pages,
so that the pages of the flows and forms (the visitor's form, My visits) can read it too.
"""

from __future__ import annotations

import hmac
import time
from datetime import timedelta
from typing import Any

from django.http import HttpRequest

from kernel.privacy import blind_index
from tenants.db import current_schema
from visit_platform.notifications.wechat import account_of_building

SESSION_KEY = "wechat_user"
SIGN_IN_LIFETIME = timedelta(hours=2)
PROOF_INDEX = "wechat.session"
_FIELDS = ("schema", "appid", "openid", "until", "proof")


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
