"""The Official Account's callback (``/wechat/<appid>/``) and its building picker
(``/wechat/<appid>/go/<page>/``), on the platform's public host.

WeChat calls one URL per account, before any building is known: the account is found by its
AppID, the building later, from the scene or the person's choice. The protocol (signature,
time, AES, hostile XML, retries) is ``integrations.wechat.callback``; what is answered is
``handlers``. WeChat gives up after 5 seconds and retries: answers here are reads and one
audit row, nothing slow.
"""

from __future__ import annotations

import logging

import redis
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from integrations.wechat.callback import (
    MAX_BODY_BYTES,
    CallbackError,
    receive,
    reply,
    verify_url,
)
from tenants.official_accounts import APPID_PATTERN
from visit_platform.notifications.wechat import callback_account, seen_store
from visit_platform.notifications.wechat_accounts import (
    PAGES,
    ServedAccount,
    building_page,
    served_account,
)
from visit_platform.wechat import handlers

logger = logging.getLogger(__name__)


def _problem(status: int, code: str, message: str) -> JsonResponse:
    response = JsonResponse({"code": code, "message": message}, status=status)
    response["Cache-Control"] = "no-store"
    return response


def _served(appid: str) -> ServedAccount | None:
    """The account of ``appid``; anything not shaped like an AppID is not looked up."""
    return served_account(appid) if APPID_PATTERN.fullmatch(appid) else None


def _bounded_body(request: HttpRequest) -> bytes | None:
    """The body, read no further than ``MAX_BODY_BYTES`` (None past it): a declared length
    over the bound is refused before reading a byte."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_BODY_BYTES:
        return None
    body = request.read(MAX_BODY_BYTES + 1)
    return None if len(body) > MAX_BODY_BYTES else body


@csrf_exempt
def callback(request: HttpRequest, appid: str) -> HttpResponse:
    """GET: WeChat checks the URL (answer its ``echostr``). POST: a message or an event."""
    if request.method not in ("GET", "POST"):
        response = _problem(405, "method_not_allowed", "GET or POST only.")
        response["Allow"] = "GET, POST"
        return response
    body = _bounded_body(request) if request.method == "POST" else b""
    if body is None:
        return _problem(400, "too_large", f"The body is over {MAX_BODY_BYTES} bytes.")
    served = _served(appid)
    if served is None:
        return _problem(404, "account_unknown", "No Official Account with this AppID.")
    protocol = callback_account(served.account)
    query = request.GET.dict()
    if request.method == "GET":
        try:
            echostr = verify_url(protocol, query)
        except CallbackError as error:
            return _problem(400, error.code, error.message)
        return HttpResponse(echostr, content_type="text/plain; charset=utf-8")
    seen = seen_store()
    try:
        inbound = receive(protocol, query, body, seen)
    except CallbackError as error:
        if error.code == "replayed":
            return HttpResponse("success", content_type="text/plain")  # handled the first time
        return _problem(400, error.code, error.message)
    except redis.RedisError:
        logger.exception("WeChat callback of %s: the dedupe store is unavailable", appid)
        return _problem(503, "unavailable", "Try again later.")
    try:
        answer = reply(inbound, protocol, handlers.answer(served, inbound))
    except Exception:
        # Forget the message so that WeChat's retry is handled rather than taken for a replay.
        logger.exception("WeChat callback of %s failed on %s", appid, inbound.seen_key)
        try:
            seen.forget(inbound.seen_key)
        except redis.RedisError:
            logger.exception("…and the message could not be forgotten")
        return _problem(500, "internal_error", "The message could not be handled.")
    return HttpResponse(answer, content_type="application/xml; charset=utf-8")


def building_picker(request: HttpRequest, appid: str, page: str) -> HttpResponse:
    """Where the menu's buttons lead: the account's buildings by name, each opening ``page``
    on its own domain through WeChat's sign-in; straight there when it serves one."""
    served = _served(appid)
    if served is None or page not in PAGES:
        return _picker_problem(request, _("This page does not exist."), 404)
    buildings = served.buildings
    if not buildings:
        return _picker_problem(request, _("This account serves no building yet."), 404)
    if len(buildings) == 1:
        return HttpResponseRedirect(building_page(buildings[0].schema_name, page))
    choices = [
        {"name": building.name, "url": building_page(building.schema_name, page)}
        for building in buildings
    ]
    response = render(
        request, "wechat/building_picker.html", {"account": served.account, "choices": choices}
    )
    response["Cache-Control"] = "no-store"
    return response


def _picker_problem(request: HttpRequest, message: str, status: int) -> HttpResponse:
    response = render(request, "wechat/problem.html", {"problem": message}, status=status)
    response["Cache-Control"] = "no-store"
    return response
