"""A visitor's short sign-in to their own pages, proved with a one-time SMS code.

The session holds the building's schema, a keyed hash of the mobile (the visitor's
``mobile_index``, never the number), when the sign-in ends, and a keyed proof over the three,
so that neither a session from another building nor session data written by anything but
this module opens anyone's visits.
"""

from __future__ import annotations

import hmac
import time
from datetime import timedelta
from typing import Any

from django.http import HttpRequest

from kernel.privacy import blind_index
from tenants.db import current_schema
from visit_platform.visits.models import MOBILE_INDEX

SESSION_KEY = "visitor_pages"
SIGN_IN_LIFETIME = timedelta(minutes=30)
PROOF_INDEX = "visitor_pages.session"


def _proof(schema: str, mobile_index: str, until: int) -> str:
    return blind_index(f"{schema}|{mobile_index}|{until}", PROOF_INDEX)


def sign_in(request: HttpRequest, number: str) -> None:
    """Sign the visitor with this (verified, E.164) number in, in the current building only.
    A new session key, so that a session planted before the sign-in is worth nothing after."""
    sign_in_mobile_index(request, blind_index(number, MOBILE_INDEX))


def sign_in_mobile_index(request: HttpRequest, mobile_index: str) -> None:
    """``sign_in`` for a visitor known by the keyed hash of their mobile only: one whose
    WeChat is linked to it (``WeChatLink``), proved by an SMS code when it was linked."""
    if len(mobile_index) != 64:
        raise ValueError("A mobile index is a 64-character keyed hash.")
    request.session.cycle_key()
    schema = current_schema()
    until = int(time.time() + SIGN_IN_LIFETIME.total_seconds())
    request.session[SESSION_KEY] = {
        "schema": schema,
        "mobile": mobile_index,
        "until": until,
        "proof": _proof(schema, mobile_index, until),
    }


def signed_in_mobile(request: HttpRequest) -> str | None:
    """The keyed hash of the signed-in visitor's mobile, if they signed in to this building
    less than 30 minutes ago; otherwise None."""
    data: Any = request.session.get(SESSION_KEY)
    if not isinstance(data, dict):
        return None
    schema, mobile_index, until, proof = (
        data.get("schema"),
        data.get("mobile"),
        data.get("until"),
        data.get("proof"),
    )
    if not (
        isinstance(schema, str)
        and isinstance(mobile_index, str)
        and isinstance(until, int)
        and isinstance(proof, str)
    ):
        return None
    if schema != current_schema() or until <= time.time() or len(mobile_index) != 64:
        return None
    if not hmac.compare_digest(proof, _proof(schema, mobile_index, until)):
        return None
    return mobile_index


def sign_out(request: HttpRequest) -> None:
    request.session.pop(SESSION_KEY, None)
