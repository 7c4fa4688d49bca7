"""Rate limits on what anonymous people can make the platform do that sends a message or costs
work (texting a code, asking for a visit, trying a decision link, the forms API).

Each limit counts hits per client (its IP address) and per building in fixed windows held in
Redis: two counters, both taken in one round trip (a pipeline of INCR and EXPIRE). A client
over its own limit is refused; a building over its limit refuses everyone, which is what caps
the texts an abuser with many addresses can cause. The per-client limit sits well below the
building's, so one abuser is stopped long before a legitimate visitor of the same building
notices anything.

When Redis cannot be reached the check lets the request through and logs a warning (fails
open): the limits guard against cost, not against intrusion (codes, links and forms keep their
own checks), and locking every visitor out of every building while Redis restarts would be
worse than a few minutes without a ceiling. The daily text ceiling in the notification path
is counted the same way.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.templatetags.static import static
from django.utils import timezone, translation
from django.utils.html import format_html
from django.utils.translation import gettext as _

from kernel.errors import RateLimitedError
from tenants.db import current_schema

logger = logging.getLogger(__name__)

# Redis answers in well under a millisecond; one that takes longer than this is treated as
# down, so a stalled Redis delays a visitor by at most this much.
REDIS_TIMEOUT_SECONDS = 0.5


@dataclass(frozen=True)
class Limit:
    """At most ``per_client`` hits from one client and ``per_building`` hits in all, per
    building, in each window of ``window`` seconds."""

    per_client: int
    per_building: int
    window: int


@dataclass(frozen=True)
class Refusal:
    """A hit over a limit: who is over it, and in how many seconds to try again."""

    scope: str
    by: str  # "client" or "building"
    retry_after: int

    def message(self) -> str:
        if self.by == "client":
            text = _("Too many attempts from this device. Please try again in %(minutes)d min.")
        else:
            text = _(
                "This building receives too many requests right now. "
                "Please try again in %(minutes)d min."
            )
        return text % {"minutes": max(1, -(-self.retry_after // 60))}

    def error(self) -> RateLimitedError:
        return RateLimitedError("rate_limited", self.message(), retry_after=self.retry_after)

    def page(self) -> HttpResponse:
        """A readable page for people (the mobile pages' 429)."""
        # Styled like the phone pages (their stylesheet), without their template: the limit
        # answers before any view, for pages of every kind.
        body = format_html(
            '<!doctype html><html lang="{}"><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<link rel="stylesheet" href="{}">'
            '<title>{}</title><body><main class="m-main"><div class="m-card">'
            "<h1>{}</h1><p>{}</p></div></main></body></html>",
            translation.get_language() or "zh-hans",
            static("web/mobile.css"),
            _("Too many requests"),
            _("Too many requests"),
            self.message(),
        )
        return with_retry_after(HttpResponse(body, status=429), self.retry_after)

    def json(self) -> HttpResponse:
        """The APIs' 429: ``{"code", "message", "details": {"retry_after"}}``."""
        return with_retry_after(JsonResponse(self.error().as_dict(), status=429), self.retry_after)


def with_retry_after(response: HttpResponse, seconds: int) -> HttpResponse:
    response["Retry-After"] = str(max(1, seconds))
    return response


def limit_of(scope: str) -> Limit:
    per_client, per_building, window = settings.RATE_LIMITS[scope]
    return Limit(per_client=per_client, per_building=per_building, window=window)


def client_address(request: HttpRequest) -> str:
    """The client's IP address: ``REMOTE_ADDR``, or the header a trusted proxy in front sets
    (``CLIENT_IP_HEADER``, e.g. ``X-Real-IP``), whose last comma-separated value is the one
    that proxy saw."""
    header = settings.CLIENT_IP_HEADER
    if header:
        forwarded = request.META.get("HTTP_" + header.upper().replace("-", "_"), "")
        address = forwarded.rsplit(",", 1)[-1].strip()
        if address:
            return address[:64]
    return str(request.META.get("REMOTE_ADDR") or "unknown")[:64]


@functools.cache
def _redis() -> redis.Redis:
    return redis.Redis.from_url(
        str(settings.REDIS_URL),
        socket_timeout=REDIS_TIMEOUT_SECONDS,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
    )


def check(request: HttpRequest, scope: str) -> Refusal | None:
    """Count one hit of ``scope`` for this client in the current building; the refusal if the
    client or the building is over the limit (the hit is counted either way, so hammering
    while refused keeps a client refused)."""
    limit = limit_of(scope)
    now = int(time.time())
    window_start = now - now % limit.window
    prefix = f"ratelimit:{current_schema()}:{scope}:{window_start}"
    client_key = f"{prefix}:client:{client_address(request)}"
    building_key = f"{prefix}:building"
    try:
        pipeline = _redis().pipeline(transaction=False)
        pipeline.incr(client_key)
        pipeline.expire(client_key, limit.window)
        pipeline.incr(building_key)
        pipeline.expire(building_key, limit.window)
        client_hits, _set, building_hits, _set_too = pipeline.execute()
    except redis.RedisError as error:
        logger.warning("Rate limit %s not checked, Redis unavailable: %s", scope, error)
        return None
    retry_after = window_start + limit.window - now
    if client_hits > limit.per_client:
        return Refusal(scope, "client", retry_after)
    if building_hits > limit.per_building:
        logger.warning("Building %s is over its %s limit", current_schema(), scope)
        return Refusal(scope, "building", retry_after)
    return None


def limit_posts(scope: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """A page view whose POSTs count against ``scope``; over the limit, the visitor gets a 429
    page saying when to try again, and the view does not run."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def limited(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method == "POST":
                refusal = check(request, scope)
                if refusal is not None:
                    return refusal.page()
            return view(request, *args, **kwargs)

        return limited

    return decorate


def count_today(name: str) -> int | None:
    """Add one to the current building's counter ``name`` for today (in the project's time
    zone) and return the new count; None when Redis cannot be reached (the caller lets the
    thing through: see the module's docstring)."""
    key = f"ratelimit:{current_schema()}:{name}:{timezone.localdate().isoformat()}"
    try:
        pipeline = _redis().pipeline(transaction=False)
        pipeline.incr(key)
        pipeline.expire(key, 2 * 24 * 3600)
        count, _set = pipeline.execute()
    except redis.RedisError as error:
        logger.warning("Daily counter %s not counted, Redis unavailable: %s", name, error)
        return None
    return int(count)
