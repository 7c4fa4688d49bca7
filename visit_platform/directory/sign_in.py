"""Sign-in throttling on django-axes: an account locks after a few wrong passwords, a client
(an address) after a few more, for a cool-off period; the lockout is audited.

Accounts are shared by every building, so their failure counters are platform-wide: they live
in their own cache (``CACHES["sign_in"]``), whose keys do not change with the building.
Axes compares every counter with one limit; ``SignInThrottle`` gives each its own.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

from asgiref.sync import iscoroutinefunction
from axes.handlers.cache import AxesCacheHandler
from axes.helpers import (
    get_cache_timeout,
    get_client_cache_keys,
    get_client_username,
)
from axes.signals import user_locked_out
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.decorators import sync_and_async_middleware
from django.utils.translation import gettext_lazy as _

from tenants.db import current_schema

log = logging.getLogger(__name__)

PAUSED_MESSAGE = _(
    "Too many sign-in attempts. Sign-in is paused for a while; please try again later."
)


def client_address(request: HttpRequest) -> str | None:
    """The client's address as the server saw it (``REMOTE_ADDR``): a header can be forged.
    An IPv6 client is counted by its /64 network, which one subscriber usually holds whole."""
    address = request.META.get("REMOTE_ADDR")
    try:
        parsed = ipaddress.ip_address(address or "")
    except ValueError:
        return address
    if parsed.version == 6:
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False).network_address)
    return str(parsed)


def account_name(request: HttpRequest, credentials: dict[str, Any] | None) -> str | None:
    """The account typed, as the authentication backend matches it (trimmed, lower case), so
    ``Admin@X`` and ``admin@x`` share one counter."""
    if credentials:
        username = credentials.get("username")
    else:
        username = getattr(request, "POST", {}).get("username")
    return username.strip().lower()[:254] if isinstance(username, str) else None


def _limits() -> list[int]:
    # In the order of AXES_LOCKOUT_PARAMETERS: the account, then the client.
    return [settings.SIGN_IN_FAILURES_PER_ACCOUNT, settings.SIGN_IN_FAILURES_PER_CLIENT]


class SignInThrottle(AxesCacheHandler):
    """Axes' cache handler with a limit per counter: the account's and the client's."""

    def is_locked(self, request: Any, credentials: dict[str, Any] | None = None) -> bool:
        keys = get_client_cache_keys(request, credentials)
        counts = [self.cache.get(key, default=0) for key in keys]
        return any(count >= limit for count, limit in zip(counts, _limits(), strict=True))

    def get_failures(self, request: Any, credentials: dict[str, Any] | None = None) -> int:
        keys = get_client_cache_keys(request, credentials)
        return max(self.cache.get(key, default=0) for key in keys)

    def user_login_failed(
        self, sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any
    ) -> None:
        if request is None:
            return
        username = get_client_username(request, credentials)
        if request.axes_locked_out:
            # Refused while locked (AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT is off): the
            # attempt is not counted, so the cool-off ends on time whatever an attacker does.
            request.axes_credentials = credentials
            return
        if self.is_whitelisted(request, credentials):
            return
        timeout = get_cache_timeout(request)
        counts = []
        for key in get_client_cache_keys(request, credentials):
            if self.cache.add(key, 1, timeout=timeout):
                counts.append(1)
            else:
                counts.append(self.cache.incr(key))
                self.cache.touch(key, timeout=timeout)
        request.axes_failures_since_start = max(counts)
        reached = [count >= limit for count, limit in zip(counts, _limits(), strict=True)]
        if not any(reached):
            return
        request.axes_locked_out = True
        request.axes_credentials = credentials
        # Only the failure that reaches a limit starts a lockout; the attempts refused after it
        # are not counted, so each lockout is signalled (and audited) once.
        if any(count == limit for count, limit in zip(counts, _limits(), strict=True)):
            user_locked_out.send(
                "axes",
                request=request,
                username=username,
                ip_address=request.axes_ip_address,
                by_account=reached[0],
                failures=max(counts),
            )

    def reset_attempts(
        self,
        *,
        ip_address: str | None = None,
        username: str | None = None,
        ip_or_username: bool = False,
    ) -> int:
        """Without an address or an account: forget every counter (``manage.py axes_reset``)."""
        if ip_address is None and username is None:
            cache: Any = self.cache
            client = cache._cache.get_client(write=True)
            keys = list(client.scan_iter(match=f"*{settings.CACHES['sign_in']['KEY_PREFIX']}*"))
            return int(client.delete(*keys)) if keys else 0
        return super().reset_attempts(
            ip_address=ip_address, username=username, ip_or_username=ip_or_username
        )


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    """429 Too Many Requests with the page the sign-in view drew (its form says sign-in is
    paused, whether the account exists or not), or that sentence alone."""
    response = original_response
    if not isinstance(response, HttpResponse):
        response = getattr(request, "sign_in_page", None)
    if response is None or not isinstance(response, HttpResponse) or response.status_code != 200:
        response = HttpResponse(PAUSED_MESSAGE, content_type="text/plain; charset=utf-8")
    response.status_code = 429
    response.reason_phrase = "Too Many Requests"
    seconds = get_cache_timeout(request)
    if seconds:
        response["Retry-After"] = str(seconds)
    return response


@sync_and_async_middleware
def keep_sign_in_page(get_response: Any) -> Any:
    """The innermost middleware: keeps the page the sign-in view drew on the request.

    Axes' middleware, on its asynchronous path (the one ASGI takes), hands ``lockout_response``
    its arguments out of order (django-axes 8.3.1), so the page is not among them.
    """
    if iscoroutinefunction(get_response):

        async def keep_async(request: HttpRequest) -> HttpResponse:
            response = await get_response(request)
            request.sign_in_page = response  # type: ignore[attr-defined]
            return response

        return keep_async

    def keep(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        request.sign_in_page = response  # type: ignore[attr-defined]
        return response

    return keep


def audit_lockout(sender: Any, request: HttpRequest, username: str | None, **kwargs: Any) -> None:
    """Receiver of axes' ``user_locked_out``: audit the lockout in the building whose host was
    signed in to; the platform's own host (the admin site) has no audit log, only this log."""
    from visit_platform.directory.actions import record_sign_in_lockout

    ip_address = kwargs.get("ip_address")
    by_account = bool(kwargs.get("by_account"))
    log.warning(
        "Sign-in paused after %s failures (%s) for account %r from %s on schema %s",
        kwargs.get("failures"),
        "account" if by_account else "client",
        username,
        ip_address,
        current_schema(),
    )
    if current_schema() == settings.PUBLIC_SCHEMA_NAME:
        return
    record_sign_in_lockout(
        username=username or "",
        ip_address=ip_address,
        by_account=by_account,
        failures=int(kwargs.get("failures") or 0),
        cool_off_seconds=get_cache_timeout(request) or 0,
    )
