"""What every console page shares, whichever layer its view lives in: the guard (signed in, a
member of this building, allowed) and the building's time zone for the times it shows."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.views.csrf import csrf_failure as html_csrf_failure

View = Callable[..., HttpResponse]


def wants_json(request: HttpRequest) -> bool:
    """The console's scripts (the security screen) ask for JSON with their Accept header; a
    form posted by the browser itself gets the page."""
    return "application/json" in request.headers.get("Accept", "")


def json_error(code: str, message: str, status: int) -> JsonResponse:
    return JsonResponse({"code": code, "message": message}, status=status)


def console_view(permission: str | None = None) -> Callable[[View], View]:
    """Wrap a console view: anonymous users go to the login page; users without a role in
    this building, or without ``permission``, get a readable 403 page (a script asking for
    JSON gets ``{"code", "message"}`` with 401 or 403 instead)."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                if wants_json(request):
                    return json_error("not_signed_in", _("Please sign in again."), 401)
                return redirect_to_login(request.get_full_path())
            if not list(request.memberships):  # type: ignore[attr-defined]
                if wants_json(request):
                    return json_error("forbidden", _("You have no role in this building."), 403)
                return render(request, "web/no_access.html", status=403)
            if permission is not None and not request.user.has_perm(permission):
                if wants_json(request):
                    return json_error("forbidden", _("Your role does not allow this."), 403)
                return render(request, "web/forbidden.html", status=403)
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


def building_zone(request: HttpRequest) -> ZoneInfo:
    """The time zone of the building the request is for (times on its pages are local)."""
    name = getattr(getattr(request, "tenant", None), "time_zone", "") or settings.TIME_ZONE
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(settings.TIME_ZONE)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A post without a valid CSRF token (forged, or a page left open past its session): a
    script asking for JSON gets ``{"code", "message"}``, a browser our 403 page saying the page
    expired, in the person's language (Django's own page, with its technical reason, only
    while developing)."""
    if wants_json(request):
        return json_error("csrf_failed", _("The page has expired: reload it and try again."), 403)
    if settings.DEBUG:
        return html_csrf_failure(request, reason)
    return HttpResponseForbidden(render_to_string("web/403.html", {"csrf_failed": True}))


# The largest key a row can have (PostgreSQL's bigint); larger numbers are no row's key and
# would fail in the database, not as "not found".
MAX_ROW_ID = 2**63 - 1


def posted_row_id(text: str | None) -> int | None:
    """The row key a form sent (a company picked from a list...), or None when it is not a
    key at all ("abc", "-1", a number past bigint): the view answers that as a form error."""
    if not text or len(text) > 19 or not (text.isascii() and text.isdigit()):
        return None
    number = int(text)
    return number if 0 < number <= MAX_ROW_ID else None
