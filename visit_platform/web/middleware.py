"""Middleware of the pages: the console's language, the guard against control characters, and
the security headers every page carries.

Language of the console: the person's choice, else their building's default language.

Django's LocaleMiddleware would follow the browser's Accept-Language; in a Chinese building
the console speaks Chinese unless the person switches, whatever their browser says.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import DisallowedHost, RequestDataTooBig, TooManyFieldsSent
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    JsonResponse,
    QueryDict,
)
from django.http.multipartparser import MultiPartParserError
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import check_for_language
from django.utils.translation import gettext as _

from kernel.control_characters import has_control_characters, json_has_control_characters


class BuildingLocaleMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = self._language(request)
        translation.activate(language)
        request.LANGUAGE_CODE = language  # type: ignore[attr-defined]
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        response.headers.setdefault("Vary", "Cookie")
        return response

    def _language(self, request: HttpRequest) -> str:
        supported = {code for code, _name in settings.LANGUAGES}
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        if chosen in supported and check_for_language(chosen):
            return chosen
        building_default = getattr(getattr(request, "tenant", None), "default_language", "")
        if building_default in supported:
            return str(building_default)
        return str(settings.LANGUAGE_CODE)


class ControlCharacterGuard:
    """Refuses, with 400, a request whose path, query or form fields hold NUL or another
    control character (tab, CR and LF are text), before any view reads them.

    No field of ours holds control characters, and PostgreSQL refuses NUL with a server
    error, so refusing at the edge answers every form, search and link the same way and
    changes nothing; stripping would silently store something other than what was sent.
    Multipart uploads are checked by their text fields only (files are bytes). JSON bodies
    are checked here for the pages that take them; the JSON APIs check their own bodies in
    their parser (kernel.json_api), which also serves the gate API's own handler.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self._has_control_characters(request):
            return self._refusal(request)
        return self.get_response(request)

    def _has_control_characters(self, request: HttpRequest) -> bool:
        if has_control_characters(request.path_info):
            return True
        if _any_control_characters(request.GET):
            return True
        if request.method != "POST" or request.path_info.startswith(API_PREFIX):
            return False
        if _declared_length(request) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            # Views that take large uploads refuse them by size before reading (forms.views);
            # reading the body here would defeat that.
            return False
        if request.content_type == "application/json":
            try:
                return json_has_control_characters(request.body)
            except RequestDataTooBig:
                return False  # the view answers it, as it would without this guard
        if request.content_type in FORM_CONTENT_TYPES:
            try:
                return _any_control_characters(request.POST)
            except (RequestDataTooBig, TooManyFieldsSent, MultiPartParserError):
                return False  # the view answers these, as it would without this guard
        return False

    def _refusal(self, request: HttpRequest) -> HttpResponse:
        message = _(
            "The request contains control characters (such as NUL) that no field accepts. "
            "Remove them and try again."
        )
        if request.path_info.startswith(API_PREFIX) or "json" in (request.content_type or ""):
            return JsonResponse({"code": "control_characters", "message": message}, status=400)
        # Rendered without the request: sessions and users may not be loaded yet.
        page = render_to_string("web/bad_input.html", {"message": message})
        return HttpResponseBadRequest(page)


API_PREFIX = "/api/"
FORM_CONTENT_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _any_control_characters(data: QueryDict) -> bool:
    return any(
        has_control_characters(key) or any(has_control_characters(value) for value in values)
        for key, values in data.lists()
    )


# --- Content-Security-Policy and secret links (issue 15) ------------------------------------

# The WeChat JS-SDK is the only script from elsewhere (share menus inside WeChat).
_WECHAT_SCRIPTS = "https://res.wx.qq.com https://res2.wx.qq.com"

# Pages whose address is the credential (a pass, a decision, an invitation, a password link):
# no cache, shared or private, may keep them.
SECRET_URL_NAMES = frozenset(
    {
        "pass_page",
        "pass_token",
        "access:overstay_page",
        "workflows:decision_page",
        "web:set_password",
        "wechat:invitation",
        "wechat:invitation_open",
        "wechat:invitation_sms",
        "wechat:event",
        "wechat:event_pass",
    }
)


def content_security_policy(nonce: str, host: str) -> str:
    """Scripts only from our own files or inline with this response's nonce; the security
    screen's socket only to this host; never framed."""
    sockets = f" ws://{host} wss://{host}" if host else ""
    return "; ".join(
        (
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}' {_WECHAT_SCRIPTS}",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data: blob:",
            f"connect-src 'self'{sockets}",
            "frame-ancestors 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "object-src 'none'",
        )
    )


class SecurityHeadersMiddleware:
    """A per-request nonce (``request.csp_nonce``, for inline ``<script nonce=...>``) and the
    Content-Security-Policy that names it, on every response that has none of its own (an
    uploaded file keeps its stricter one); ``Cache-Control: no-store`` on secret links."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        nonce = secrets.token_urlsafe(16)
        request.csp_nonce = nonce  # type: ignore[attr-defined]
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = content_security_policy(nonce, _host(request))
        match = getattr(request, "resolver_match", None)
        if match is not None and match.view_name in SECRET_URL_NAMES:
            response["Cache-Control"] = "no-store"
        return response


def _host(request: HttpRequest) -> str:
    try:
        return request.get_host()
    except DisallowedHost:
        return ""
