"""Language of the console: the person's choice, else their building's default language;
and the security headers every page carries.

Django's LocaleMiddleware would follow the browser's Accept-Language; in a Chinese building
the console speaks Chinese unless the person switches, whatever their browser says.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.translation import check_for_language


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
