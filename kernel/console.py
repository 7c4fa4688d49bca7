"""What every console page shares, whichever layer its view lives in: the guard (signed in, a
member of this building, allowed) and the building's time zone for the times it shows."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

View = Callable[..., HttpResponse]


def console_view(permission: str | None = None) -> Callable[[View], View]:
    """Wrap a console view: anonymous users go to the login page; users without a role in
    this building, or without ``permission``, get a readable 403 page."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not list(request.memberships):  # type: ignore[attr-defined]
                return render(request, "web/no_access.html", status=403)
            if permission is not None and not request.user.has_perm(permission):
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
